#!/usr/bin/env bash
# Runs the side-by-side merge comparison: installs what is missing (Debian's python3-numpy, OpenBLAS so NumPy's
# BLAS calls are not flattered against us, gcc for the triad), builds the .NET harness in Release, prints the
# machine, and runs merge_compare.py with Debian's /usr/bin/python3. Every option is passed through:
#
#   benchmarks/compare/run.sh                                  # full run: 2,8,32 models x 1M,25M,100M params
#   benchmarks/compare/run.sh --quick                          # smoke test (small sizes)
#   benchmarks/compare/run.sh --models 2,8 --params 1M --methods mean,coordmedian --repeat 3
#
# See /usr/bin/python3 benchmarks/compare/merge_compare.py --help for all options.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python=/usr/bin/python3

missing=()
[[ -x $python ]] && $python -c 'import numpy' 2>/dev/null || missing+=(python3 python3-numpy)
dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q 'install ok installed' || missing+=(libopenblas0-pthread)
command -v gcc >/dev/null || missing+=(gcc)
echo 'int main(void){return 0;}' | gcc -fopenmp -x c - -o /dev/null 2>/dev/null || missing+=(libgomp1)
if ((${#missing[@]})); then
    echo "Installing: ${missing[*]}"
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "Building the harness (Release)..."
if ! build_log="$(dotnet build "$root/benchmarks/SwarmLearning.Benchmarks/SwarmLearning.Benchmarks.csproj" -c Release -nologo 2>&1)"; then
    echo "$build_log" | grep -E 'error|Error' >&2 || echo "$build_log" >&2
    echo "The harness did not build; see the errors above (dotnet build -c Release benchmarks/SwarmLearning.Benchmarks)." >&2
    exit 1
fi

echo ".NET runtime: $(dotnet --list-runtimes | grep Microsoft.NETCore.App | tail -1)"
exec "$python" "$here/merge_compare.py" "$@"
