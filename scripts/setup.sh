#!/usr/bin/env bash
# Installs what SwarmLearning needs, and only what is missing: Debian packages, then NuGet packages.
# Idempotent and quick when everything is there. Needs root only when a package must be installed.
#
#   scripts/setup.sh              Debian packages + NuGet restore
#   scripts/setup.sh --no-restore Debian packages only (the ./swarm launcher restores as it builds)
#   scripts/setup.sh --quiet      say nothing unless something is installed or fails
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
restore=1
quiet=0
for arg in "$@"; do
    case "$arg" in
        --no-restore) restore=0 ;;
        --quiet) quiet=1 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "setup: unknown option '$arg' (see --help)" >&2; exit 2 ;;
    esac
done

say() { [[ $quiet == 1 ]] || echo "setup: $*" >&2; }

# The Debian packages the project uses, and why.
packages=(
    dataset-fashion-mnist   # Fashion-MNIST in IDX format: the training data of the examples and tests
    python3-numpy           # the NumPy side of the merge comparison benchmark; the Python client
    python3-torch           # the Python client's PyTorch callback, its tests and example
    python3-pytest          # runs the Python client's tests
    gcc                     # builds the STREAM-style memory bandwidth triad of the benchmark
    chromium                # the dashboard's browser tests (Playwright drives /usr/bin/chromium; no browser download)
    b3sum                   # BLAKE3's reference implementation: the Python tests check the model hash against it
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if ((${#missing[@]} > 0)); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "setup: missing Debian packages: ${missing[*]}" >&2
        echo "setup: install them as root: apt-get update && apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    # The package lists may be absent on a fresh machine; refresh them once, then install.
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    say "Debian packages installed"
else
    say "Debian packages present: ${packages[*]}"
fi

if [[ $restore == 1 ]]; then
    say "restoring NuGet packages"
    dotnet restore "$root/SwarmLearning.slnx" --nologo -v quiet
fi
