#!/usr/bin/env bash
# A/B of the round benchmark between two commits, alternating A, B, A, B, … so that a machine whose speed drifts
# from minute to minute (a shared VM: docs/performance.md) weighs on both alike. Each commit's CLI and benchmark are
# built once, in a git worktree of their own; each run is a fresh swarm (round_overhead.sh's round-overhead mode).
#
#   benchmarks/round/round_ab.sh A B [--reps K] [round-overhead options]
#   benchmarks/round/round_ab.sh cbabd61 HEAD --reps 3 --nodes 16 --params 50M --rounds 3
#
# A and B are anything `git rev-parse` takes. --reps (default 3) is the number of runs of each. The other options go
# to round-overhead as they are (--skip-failover is always added; see round_overhead.sh --help). Prints one line per
# run (the cell's row of the table) and then every run's overhead and CPU per round, per commit; the runs' JSON and
# standard error are kept in benchmarks/round/out/ab-<commit>-<k>.{json,err}.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
if [[ $# -lt 2 || $1 == --help || $1 == -h ]]; then
    usage
    [[ $# -ge 1 && ( $1 == --help || $1 == -h ) ]] && exit 0 || exit 2
fi

a="$(git -C "$root" rev-parse --short "$1^{commit}" 2>/dev/null)" || { echo "round_ab: '$1' is not a commit" >&2; exit 2; }
b="$(git -C "$root" rev-parse --short "$2^{commit}" 2>/dev/null)" || { echo "round_ab: '$2' is not a commit" >&2; exit 2; }
shift 2
reps=3
args=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --reps) reps="${2:?--reps needs a number}"; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "round_ab: --reps must be a positive integer, not '$reps'" >&2; exit 2; }

"$root/scripts/setup.sh" --quiet
work="$(mktemp -d "${TMPDIR:-/tmp}/round-ab.XXXXXX")"
cleanup() {
    for rev in "$a" "$b"; do git -C "$root" worktree remove --force "$work/$rev" >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT

for rev in "$a" "$b"; do
    [[ -d $work/$rev ]] && continue
    echo "round_ab: building $rev in $work/$rev" >&2
    git -C "$root" worktree add --detach --force "$work/$rev" "$rev" >/dev/null 2>&1
    dotnet build "$work/$rev/src/SwarmLearning.Cli/SwarmLearning.Cli.csproj" -c Release --nologo -v quiet -clp:ErrorsOnly
    dotnet build "$work/$rev/benchmarks/SwarmLearning.Benchmarks/SwarmLearning.Benchmarks.csproj" -c Release --nologo -v quiet -clp:ErrorsOnly
done

# As round_overhead.sh: the benchmark's own process runs with tiered compilation off, as the nodes do.
export DOTNET_TieredCompilation="${DOTNET_TieredCompilation:-0}"
mkdir -p "$here/out"
declare -A summary
for k in $(seq 1 "$reps"); do
    for rev in "$a" "$b"; do
        out="$here/out/ab-$rev-$k"
        set +e
        table="$(dotnet "$work/$rev/benchmarks/SwarmLearning.Benchmarks/bin/Release/net10.0/SwarmLearning.Benchmarks.dll" round-overhead \
            --swarm-dll "$work/$rev/src/SwarmLearning.Cli/bin/Release/net10.0/swarm.dll" --skip-failover --json "$out.json" \
            "${args[@]}" 2>"$out.err")"
        rc=$?
        set -e
        row="$(grep -E '^\| [0-9]+ \|' <<<"$table" | head -1 || true)"
        echo "$rev run $k (exit $rc): ${row:-no result; see $out.err}"
        if [[ -n $row ]]; then
            # Columns: nodes, params, S, overhead median, max, bound, ratio, verdict, parts, CPU per round, memory.
            overhead="$(awk -F'|' '{ gsub(/^ +| +$/, "", $5); print $5 }' <<<"$row")"
            cpu="$(awk -F'|' '{ split($11, c, " "); print c[1] }' <<<"$row")"
            summary[$rev]+="$overhead (${cpu} CPU-s), "
        fi
    done
done
for rev in "$a" "$b"; do
    echo "$rev: ${summary[$rev]:-no results}" | sed 's/, $//'
done
