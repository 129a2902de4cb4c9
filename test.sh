#!/usr/bin/env bash
# Runs every test of SwarmLearning, doing its own setup first (Debian packages, NuGet restore, build):
#   1. all xUnit test projects, in Release;
#   2. the SIMD kernel tests again with AVX-512, then AVX2, then all hardware intrinsics switched off, so every
#      dispatch path runs on this machine;
#   3. the Python client's tests (pytest, with Debian's PyTorch), which also start real SL nodes.
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
    local rc=0
    env "${envs[@]}" "$@" >"$log" 2>&1 || rc=$?
    grep -E "^(Passed|Failed|Skipped)!|error|Failed [A-Za-z]|Test Run Aborted|aborted|crashed" "$log" || true
    # Each failed test's message too (up to its stack trace, at most 12 lines), so that a CI log says why it failed.
    awk '/^  Failed [A-Za-z]/ { n = 12; print "   --- " $2; next } /^  Stack Trace:/ { n = 0 } n > 0 && !/^  Error Message:/ { print "   " $0; n-- }' "$log"
    local summary
    summary="$(grep -E "^(Passed|Failed|Skipped)! +- Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+" "$log" || true)"
    # A crashed test host still prints a summary of the results it sent before dying, so the exit code and the
    # abort message count too: a run that did not finish cleanly is broken whatever its summary says.
    if [[ -z "$summary" ]] || grep -qiE "Test Run Aborted|test run was aborted|Test host process crashed" "$log" \
        || { ((rc != 0)) && ! grep -qE "^Failed!" <<<"$summary"; }; then
        echo "   the run did not finish cleanly (exit code $rc): $label" >&2
        tail -20 "$log" >&2
        broken=$((broken + 1))
    fi
    [[ -z "$summary" ]] && return
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
    for project in tests/SwarmLearning.Core.Tests/SwarmLearning.Core.Tests.csproj tests/SwarmLearning.Training.Tests/SwarmLearning.Training.Tests.csproj; do
        # shellcheck disable=SC2086 # the setting is a list of VAR=VALUE words
        run "SIMD kernels of $(basename "$project" .Tests.csproj) with $setting" $setting -- \
            dotnet test "$project" -c Release --no-build --nologo --filter "Category=Kernel"
    done
done

# The Python client: pytest's summary line ("12 passed, 1 skipped in 3.4s") joins the totals.
echo "== Python client (pytest)"
rc=0
/usr/bin/python3 -m pytest clients/python/tests -q -p no:cacheprovider >"$log" 2>&1 || rc=$?
grep -E "^(FAILED|ERROR)|passed|failed|error" "$log" | tail -20 || true
summary="$(tail -1 "$log")"
if ! grep -qE "[0-9]+ (passed|failed)" <<<"$summary" || { ((rc != 0)) && ! grep -qE "[0-9]+ failed" <<<"$summary"; }; then
    echo "   the run did not finish cleanly (exit code $rc): Python client" >&2
    tail -20 "$log" >&2
    broken=$((broken + 1))
fi
for kind in passed failed skipped; do
    n="$(grep -oE "[0-9]+ $kind" <<<"$summary" | grep -oE "^[0-9]+" || true)"
    case "$kind" in
        passed) passed=$((passed + ${n:-0})) ;;
        failed) failed=$((failed + ${n:-0})) ;;
        skipped) skipped=$((skipped + ${n:-0})) ;;
    esac
done
n="$(grep -oE "[0-9]+ errors?" <<<"$summary" | grep -oE "^[0-9]+" || true)"
failed=$((failed + ${n:-0}))

echo
if ((broken > 0)); then
    echo "$broken test run(s) produced no summary (build or host failure); see above"
    failed=$((failed + broken))
fi
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
