#!/usr/bin/env bash
# Installs what brine needs on Debian/Ubuntu.
#   scripts/install-deps.sh build   compiler, CMake, Ninja (enough for the CLI and examples)
#   scripts/install-deps.sh test    + doctest and the independent references the tests compare
#                                   brine against (OpenSSL, zlib, PyTorch, torchvision, NumPy)
#   scripts/install-deps.sh fuzz    + clang with libFuzzer (the fuzz preset)
set -euo pipefail

what=${1:-build}
packages=(cmake ninja-build g++)
if [ "$what" = test ]; then
    packages+=(doctest-dev libssl-dev zlib1g-dev openssl python3-torch python3-torchvision python3-numpy)
fi
if [ "$what" = fuzz ]; then
    packages+=(clang libclang-rt-14-dev)
fi

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
