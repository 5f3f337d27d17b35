#!/usr/bin/env bash
# Resource bounds (THREATS.md R rows, Z12): every hostile fixture and the inputs of make_inputs.py
# (1 GiB zip bombs, 200 000-level nesting) through `brine scan` and `brine disarm` under a 256 MiB
# address space, a 1 MiB stack and a 60 s timeout. Each run must end by itself with an expected
# exit code (never a signal, never the timeout), an exit 2 must say why, and a failed disarm must
# leave no file behind (neither the output nor a temporary). Files are checked in parallel. Last,
# a disarm interrupted by SIGINT must end with exit 2 and remove its temporary output.
#   check_resources.sh BRINE FIXTURES_DIR WORK_DIR
set -u
brine=$1
fixtures=$2
work=$3
rm -rf "$work"
mkdir -p "$work/in" "$work/runs"
python3 "$(dirname "$0")/make_inputs.py" "$work/in" || { echo "cannot generate the inputs"; exit 1; }

# check_file FILE EXPECTED_EXITS [MESSAGE_REGEX] [SCAN_EXITS]: one line per failure on stdout,
# then "runs N".
check_file() {
    local input=$1 message=${3:-} runs=0
    local dir
    dir=$(mktemp -d "$work/runs/XXXXXX")
    for command in scan disarm; do
        local expected=$2
        [ "$command" = scan ] && expected=${4:-$2}
        mkdir -p "$dir/out"
        local args=("$command" "$input")
        [ "$command" = disarm ] && args+=("$dir/out/result")
        local start=$SECONDS
        (ulimit -v 262144 -s 1024; exec timeout -s KILL 60 "$brine" "${args[@]}") >"$dir/said" 2>&1
        local rc=$?
        runs=$((runs + 1))
        local name=${input#"$fixtures"/}
        if [ $rc -gt 2 ]; then
            echo "FAIL: $command $name: exit $rc (signal or timeout) after $((SECONDS - start)) s: $(head -c 300 "$dir/said")"
            continue
        fi
        [[ $rc =~ ^($expected)$ ]] || echo "FAIL: $command $name: exit $rc, expected $expected: $(head -c 300 "$dir/said")"
        # scan reports on stdout (one line per file), disarm on stderr: both are in `said`.
        [ $rc -eq 2 ] && ! [ -s "$dir/said" ] && echo "FAIL: $command $name: exit 2 without a message"
        if [ $rc -eq 2 ] && [ -n "$message" ] && ! grep -Eq "$message" "$dir/said"; then
            echo "FAIL: $command $name: the message does not match '$message': $(head -c 300 "$dir/said")"
        fi
        if [ "$command" = disarm ] && [ $rc -eq 2 ] && [ -n "$(ls -A "$dir/out")" ]; then
            echo "FAIL: disarm $name: exit 2 but left $(ls "$dir/out")"
        fi
        rm -rf "$dir/out"
    done
    rm -rf "$dir"
    echo "runs $runs"
}
export -f check_file
export brine fixtures work

{
    # The generated inputs, each with what must happen.
    check_file "$work/in/bomb_pickle_1g.pt" 2 "limit_exceeded.*data.pkl|out of memory"
    check_file "$work/in/bomb_pickle_lies.pt" 2 "zip.size_mismatch"
    # scan judges the pickle and the archive's directory, not the records' bytes: 0 or the error.
    check_file "$work/in/bomb_storage_lies.pt" 2 "zip.size_mismatch" "0|2"
    check_file "$work/in/nested_marks.pkl" 2 "limit_exceeded"
    for deep in nested_lists nested_dicts nested_tuples; do
        check_file "$work/in/$deep.pkl" 0
    done
    # 2 million levels need about 200 MB: within 256 MiB it is read, else refused for memory.
    check_file "$work/in/nested_tuples_2m.pkl" "0|2" "out of memory|limit_exceeded"
    # Every hostile fixture: whatever the verdict (1: refused content removed; 2: refused), it ends.
    find "$fixtures" -path '*/hostile/*' -type f ! -name '*.tsv' -print0 | sort -z |
        xargs -0 -P "$(nproc 2>/dev/null || echo 2)" -I{} bash -c 'check_file "$1" "0|1|2"' _ {}
} >"$work/results"

# An interrupted disarm: SIGINT once its temporary output exists must end it with exit 2 and the
# message, and remove the temporary file (the handler's registry of unfinished outputs).
check_interrupt() {
    local dir=$work/runs/interrupt
    mkdir -p "$dir/out"
    "$brine" disarm "$work/in/interrupt_1g.pt" "$dir/out/result" 2>"$dir/said" &
    local pid=$! waited=0
    while ! compgen -G "$dir/out/result.brine-*" >/dev/null && [ $waited -lt 3000 ]; do
        kill -0 $pid 2>/dev/null || break
        sleep 0.01
        waited=$((waited + 1))
    done
    if ! compgen -G "$dir/out/result.brine-*" >/dev/null; then
        wait $pid
        echo "FAIL: interrupt: no temporary output appeared (disarm ended with $?)"
        return
    fi
    kill -INT $pid
    wait $pid
    local rc=$?
    [ $rc -eq 2 ] || echo "FAIL: interrupt: exit $rc, expected 2 (did disarm finish before the signal?): $(head -c 300 "$dir/said")"
    grep -q "interrupted; nothing was written" "$dir/said" || echo "FAIL: interrupt: no message: $(head -c 300 "$dir/said")"
    [ -z "$(ls -A "$dir/out")" ] || echo "FAIL: interrupt: left $(ls "$dir/out")"
    echo "runs 1"
}
check_interrupt >>"$work/results"

grep '^FAIL' "$work/results"
runs=$(awk '/^runs / {n += $2} END {print n + 0}' "$work/results")
failures=$(grep -c '^FAIL' "$work/results")
echo "$runs runs, $failures failures"
[ "$failures" -eq 0 ] && [ "$runs" -gt 100 ]
