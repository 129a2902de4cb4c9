#!/usr/bin/env bash
# Runs every test of SwarmLearning, doing its own setup first (Debian packages, NuGet restore, build):
#   1. all xUnit test projects, in Release;
#   2. the SIMD kernel tests again with AVX-512, then AVX2, then all hardware intrinsics switched off, so every
#      dispatch path runs on this machine.
# Ends with one line "N passed, N failed, N skipped" and exits non-zero if anything failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

scripts/setup.sh
echo "== build (Release)"
dotnet build SwarmLearning.slnx -c Release --nologo -v quiet -clp:ErrorsOnly

passed=0; failed=0; skipped=0; broken=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

run() {  # run LABEL [ENV=VALUE ...] -- dotnet test ARGS...
    local label="$1"; shift
    local envs=()
    while [[ "$1" != "--" ]]; do envs+=("$1"); shift; done
    shift
    echo "== $label"
    if env "${envs[@]}" "$@" 2>&1 | tee "$log" | grep -E "^(Passed|Failed)!|error|Failed [A-Za-z]" ; then :; fi
    local summary
    summary="$(grep -E "^(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+" "$log" || true)"
    if [[ -z "$summary" ]]; then
        echo "   no test summary from: $label" >&2
        tail -20 "$log" >&2
        broken=$((broken + 1))
        return
    fi
    while read -r line; do
        failed=$((failed + $(sed -E 's/.*Failed: +([0-9]+),.*/\1/' <<<"$line")))
        passed=$((passed + $(sed -E 's/.*Passed: +([0-9]+),.*/\1/' <<<"$line")))
        skipped=$((skipped + $(sed -E 's/.*Skipped: +([0-9]+),.*/\1/' <<<"$line")))
    done <<<"$summary"
}

for project in tests/*/*.csproj; do
    run "$(basename "$project" .csproj)" DOTNET_CLI_TELEMETRY_OPTOUT=1 -- \
        dotnet test "$project" -c Release --no-build --nologo
done

# .NET 10 names the AVX-512 switch DOTNET_EnableAVX512; DOTNET_EnableAVX512F (older runtimes) alone no longer turns
# it off, so both are set. KernelDispatchTests fails if a setting does not move the kernels to a narrower path.
for setting in "DOTNET_EnableAVX512F=0 DOTNET_EnableAVX512=0" DOTNET_EnableAVX2=0 DOTNET_EnableHWIntrinsic=0; do
    # shellcheck disable=SC2086 # the setting is a list of VAR=VALUE words
    run "SIMD kernels with $setting" $setting -- \
        dotnet test tests/SwarmLearning.Core.Tests/SwarmLearning.Core.Tests.csproj -c Release --no-build --nologo --filter "Category=Kernel"
done

echo
if ((broken > 0)); then
    echo "$broken test run(s) produced no summary (build or host failure); see above"
    failed=$((failed + broken))
fi
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
