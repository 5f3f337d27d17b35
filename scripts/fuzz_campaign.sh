#!/usr/bin/env bash
# One fuzzing campaign: runs a libFuzzer harness for SECONDS of wall time on one core, seeded
# from its committed corpus and any extra directories (fixtures), then merges what it found into
# a reduced corpus (libFuzzer -merge=1: the smallest set keeping the coverage) and writes it back
# to tests/fuzz/corpus/HARNESS; files with names of their own (seeds, regression-* inputs) are
# always kept. Prints the executions, the CPU seconds and any crash.
#   scripts/fuzz_campaign.sh HARNESS SECONDS [SEED_DIR...]
# Needs the fuzz preset: scripts/install-deps.sh fuzz && cmake --preset fuzz && cmake --build --preset fuzz
set -euo pipefail
cd "$(dirname "$0")/.."
harness=$1
seconds=$2
shift 2
binary=build/fuzz/tests/fuzz/fuzz_$harness
corpus=tests/fuzz/corpus/$harness
work=build/fuzz/campaign/$harness
[ -x "$binary" ] || { echo "no $binary: build the fuzz preset first"; exit 2; }
rm -rf "$work"
mkdir -p "$work/found" "$work/crashes" "$work/merged" "$corpus"

start=$(date +%s)
/usr/bin/time -f "%U %S" -o "$work/cpu" "$binary" "$work/found" "$corpus" "$@" \
    -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -max_len=1048576 \
    -artifact_prefix="$work/crashes/" -print_final_stats=1 >"$work/log" 2>&1 || true
cpu=$(awk '{printf "%.0f", $1 + $2}' "$work/cpu")
runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$' || echo 0)
crashes=$(ls "$work/crashes" | wc -l)
"$binary" -merge=1 "$work/merged" "$corpus" "$work/found" >"$work/merge.log" 2>&1
# Named files are curated (generated seeds, regression-* inputs of fixed findings): they stay
# under their names whatever the merge keeps; the merge's copy of one (named by its SHA-1) goes.
mkdir -p "$work/curated"
find "$corpus" -maxdepth 1 -type f ! -regex '.*/[0-9a-f]\{40\}' -exec cp {} "$work/curated/" \;
rm -rf "$corpus"
cp -r "$work/merged" "$corpus"
for kept in "$work/curated"/*; do
    [ -e "$kept" ] || continue
    rm -f "$corpus/$(sha1sum "$kept" | cut -c1-40)"
    cp "$kept" "$corpus/"
done
echo "$harness: $((($(date +%s) - start))) s wall, $cpu CPU s, $runs executions, $crashes crashes, corpus $(ls "$corpus" | wc -l) inputs"
[ "$crashes" -eq 0 ] || { ls "$work/crashes"; exit 1; }
