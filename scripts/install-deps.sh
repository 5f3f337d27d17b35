#!/usr/bin/env bash
# Installs what brine needs on Debian/Ubuntu.
#   scripts/install-deps.sh build   compiler, CMake, Ninja (enough for the CLI and examples)
#   scripts/install-deps.sh test    + doctest and the independent references the tests compare
#                                   brine against (OpenSSL, zlib, Debian's PyTorch 1.13 with
#                                   torchvision and NumPy, and PyTorch 2.13 (CPU) with NumPy from
#                                   PyPI in build/venv-torch-2.13)
#   scripts/install-deps.sh fuzz    + clang with libFuzzer (the fuzz preset)
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-build}
packages=(cmake ninja-build g++)
if [ "$what" = test ]; then
    packages+=(doctest-dev libssl-dev zlib1g-dev openssl python3-torch python3-torchvision python3-numpy python3-venv)
fi
if [ "$what" = fuzz ]; then
    packages+=(clang libclang-rt-14-dev)
fi

# The second torch oracle: the current release, CPU build, pinned (an unpinned torch is a
# multi-GB CUDA download). Made once; a venv that cannot import torch is made again.
install_torch2() {
    local venv=build/venv-torch-2.13
    "$venv/bin/python" -c "import torch, numpy" 2>/dev/null && return 0
    echo "installing: torch==2.13.0 (CPU) and numpy into $venv" >&2
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check torch==2.13.0 numpy==2.4.6
}

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -ne 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    echo "installing: ${missing[*]}" >&2
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ "$what" = test ]; then install_torch2; fi
