#!/usr/bin/env bash
# Runs the side-by-side training comparison: `./swarm train` against PyTorch on the same machine, model, data,
# batch, learning rate, epochs and core count. Installs what is missing (Debian's python3-torch and python3-numpy,
# and OpenBLAS: without libopenblas0-pthread, Debian's PyTorch runs its matrix products on the reference BLAS and the
# comparison flatters us), says which BLAS PyTorch is built for and which one the system will give it, and runs
# train_compare.py with Debian's /usr/bin/python3. Every option is passed through:
#
#   benchmarks/compare/train_compare.sh                               # mlp 3 epochs, cnn 1 epoch, 60000 samples
#   benchmarks/compare/train_compare.sh --runs mlp:5 --repeat 3       # the MLP only, 5 epochs, best of 3
#   benchmarks/compare/train_compare.sh --runs mlp:2,cnn:1 --limit 10000 --torch-configs tuned
#
# See /usr/bin/python3 benchmarks/compare/train_compare.py --help for all options. Results go to
# benchmarks/compare/out/train-compare.md and .json.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python=/usr/bin/python3

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
[[ -x $python ]] && $python -c 'import numpy' 2>/dev/null || missing+=(python3 python3-numpy)
$python -c 'import torch' 2>/dev/null || missing+=(python3-torch)
installed libopenblas0-pthread || missing+=(libopenblas0-pthread)
if ((${#missing[@]})); then
    echo "Installing: ${missing[*]}"
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Debian's torch is built with BLAS_INFO=generic: it calls whatever libblas.so.3 the alternatives system points at.
echo "PyTorch $($python -c 'import torch; print(torch.__version__)'), built with:"
$python -c 'import torch; print(torch.__config__.show())' | grep -E 'BLAS_INFO|MKL-DNN|CPU capability|OpenMP' \
    | sed -e 's/^ *- */  /' -e 's/.*\(BLAS_INFO=[^,]*\).*\(LAPACK_INFO=[^,]*\).*\(USE_MKLDNN=[^,]*\).*/  \1, \2, \3/'
blas="$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo none)"
echo "  libblas.so.3 -> $blas"
if [[ $blas != *openblas* ]]; then
    echo "WARNING: libblas.so.3 is not OpenBLAS ($blas): PyTorch's matrix products run on the slow reference BLAS and" >&2
    echo "         the comparison flatters .NET. Fix: update-alternatives --set libblas.so.3-x86_64-linux-gnu \\" >&2
    echo "         /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3" >&2
fi
env | grep -E '^(OPENBLAS|OMP|GOMP)_' | sed 's/^/  environment: /' || true

exec "$python" "$here/train_compare.py" "$@"
