#!/usr/bin/env bash
# Fuzzes the parsers that read bytes from outside (docs/fuzzing.md): the safetensors reader, the transaction decoder
# with the contracts' payload parsing, and the block decoder with the chain verifier. Builds the harness, runs it for a
# set time with a seed, prints inputs tried, inputs/s and findings, and exits 1 if there are findings.
#
#   scripts/fuzz.sh --target safetensors|transaction|block|all --seconds N [--seed S]
#   scripts/fuzz.sh --target transaction --seed S --start I --inputs 1     # regenerate one input of an earlier run
#   scripts/fuzz.sh --replay fuzz/out/findings/block-crash-1-379.bin       # re-run one saved finding
#
# --seconds is split evenly among the targets of 'all'. Findings (input .bin + reason .txt) go to fuzz/out/findings
# unless --findings DIR is given; a run's summary goes to fuzz/out/last-run.json. Other options: --timeout-ms MS
# (the per-input time bound, 5000), --inputs N (stop after N inputs per target instead of after a time).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project="$root/fuzz/SwarmLearning.Fuzz/SwarmLearning.Fuzz.csproj"
dll="$root/fuzz/SwarmLearning.Fuzz/bin/Release/net10.0/SwarmLearning.Fuzz.dll"

args=("$@")
findings=""
replay=0
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        --findings) findings="${args[i + 1]:-}" ;;
        --replay) replay=1 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    esac
done
if [[ -z "$findings" && $replay == 0 ]]; then
    findings="$root/fuzz/out/findings"
    args+=(--findings "$findings")
fi
mkdir -p "$root/fuzz/out"
if [[ $replay == 0 ]]; then
    args+=(--json "$root/fuzz/out/last-run.json")
fi

"$root/scripts/setup.sh" --quiet
dotnet build "$project" -c Release --nologo -v quiet -clp:ErrorsOnly
echo "load: $(uptime | sed 's/.*load average/load average/') on $(nproc) cores" >&2

rc=0
dotnet "$dll" "${args[@]}" || rc=$?
# A parser bug that kills the process (a stack overflow cannot be caught) ends the run without a report: the last
# progress line shows how far it got; regenerate the inputs after it with --seed S --start I to find the one.
if ((rc > 2)); then
    echo "fuzz: the harness process died (exit code $rc): a crash no handler can catch, such as a stack overflow" >&2
    exit 1
fi
exit "$rc"
