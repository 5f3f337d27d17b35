#!/usr/bin/env bash
# Compile time of a translation unit that uses brine: the whole single header with the default
# disarmer instantiated, against one that includes only the SHA-256 header, and an empty one
# (the compiler's own start-up). Best of N runs, one at a time, with each compiler found.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
probe=tests/bench/compile
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo 'int main() { return 0; }' > "$out/empty.cpp"
best() {  # best wall time of "$@", in seconds
    local best=
    for _ in $(seq "$runs"); do
        local start end
        start=$(date +%s.%N)
        "$@" >/dev/null
        end=$(date +%s.%N)
        best=$(echo "$start $end ${best:-999}" | awk '{t = $2 - $1; print (t < $3 ? t : $3)}')
    done
    printf '%.2f' "$best"
}
printf '%-10s %-4s %10s %14s %16s\n' compiler opt empty sha256_only whole_library
for cxx in g++-12 clang++-14; do
    command -v "$cxx" >/dev/null || continue
    for opt in -O0 -O2; do
        flags=(-std=c++17 "$opt" -c -o "$out/probe.o")
        printf '%-10s %-4s %9ss %13ss %15ss\n' "$cxx" "$opt" \
            "$(best "$cxx" "${flags[@]}" "$out/empty.cpp")" \
            "$(best "$cxx" "${flags[@]}" -Iinclude "$probe/sha256_only.cpp")" \
            "$(best "$cxx" "${flags[@]}" -Isingle_include "$probe/whole_library.cpp")"
    done
done
