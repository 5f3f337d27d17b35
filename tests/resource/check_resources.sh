#!/usr/bin/env bash
# Resource bounds (THREATS.md R rows, Z12): every hostile fixture and the inputs of make_inputs.py
# (1 GiB zip bombs, 200 000-level nesting) through `brine scan` and `brine disarm` under a 256 MiB
# address space, a 1 MiB stack and a 60 s timeout. Each run must end by itself with exit 0, 1
# or 2 (never a signal, never the timeout), an exit 2 must say why on stderr, and a failed
# disarm must leave no file behind (neither the output nor a temporary).
#   check_resources.sh BRINE FIXTURES_DIR WORK_DIR
set -u
brine=$1
fixtures=$2
work=$3
rm -rf "$work"
mkdir -p "$work/in" "$work/out"
python3 "$(dirname "$0")/make_inputs.py" "$work/in" || { echo "cannot generate the inputs"; exit 1; }

failures=0
runs=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

check() {  # check FILE EXPECTED_EXITS_REGEX [MESSAGE_REGEX] [SCAN_EXITS_REGEX]
    local input=$1 message=${3:-}
    for command in scan disarm; do
        local expected=$2
        [ "$command" = scan ] && expected=${4:-$2}
        local out="$work/out/result"
        rm -f "$work/out/"* 2>/dev/null
        local args=("$command" "$input")
        [ "$command" = disarm ] && args+=("$out")
        local start=$SECONDS
        (ulimit -v 262144 -s 1024; exec timeout -s KILL 60 "$brine" "${args[@]}") \
            >"$work/stdout" 2>"$work/stderr"
        local rc=$?
        runs=$((runs + 1))
        local name=${input#"$fixtures"/}
        if [ $rc -gt 2 ]; then
            fail "$command $name: exit $rc (signal or timeout) after $((SECONDS - start)) s: $(head -c 300 "$work/stderr")"
            continue
        fi
        if ! [[ $rc =~ ^($expected)$ ]]; then
            fail "$command $name: exit $rc, expected $expected: $(head -c 300 "$work/stderr")"
        fi
        # scan reports on stdout (one line per file), disarm on stderr.
        cat "$work/stdout" "$work/stderr" >"$work/said"
        if [ $rc -eq 2 ] && ! [ -s "$work/said" ]; then
            fail "$command $name: exit 2 without a message"
        fi
        if [ $rc -eq 2 ] && [ -n "$message" ] && ! grep -Eq "$message" "$work/said"; then
            fail "$command $name: the message does not match '$message': $(head -c 300 "$work/said")"
        fi
        if [ "$command" = disarm ] && [ $rc -eq 2 ] && [ -n "$(ls -A "$work/out")" ]; then
            fail "disarm $name: exit 2 but left $(ls "$work/out")"
        fi
    done
}

# The generated inputs, each with what must happen.
check "$work/in/bomb_pickle_1g.pt" 2 "limit_exceeded.*data.pkl|out of memory"
check "$work/in/bomb_pickle_lies.pt" 2 "zip.size_mismatch"
# scan judges the pickle and the archive's directory, not the records' bytes: 0 or the error.
check "$work/in/bomb_storage_lies.pt" 2 "zip.size_mismatch" "0|2"
check "$work/in/nested_marks.pkl" 2 "limit_exceeded"
for deep in nested_lists nested_dicts nested_tuples; do
    check "$work/in/$deep.pkl" 0
done
# 2 million levels need about 200 MB: within 256 MiB it is read, else refused for memory.
check "$work/in/nested_tuples_2m.pkl" "0|2" "out of memory|limit_exceeded"

# Every hostile fixture: whatever the verdict (1: refused content removed; 2: refused), it ends.
while IFS= read -r -d '' input; do
    check "$input" "0|1|2"
done < <(find "$fixtures" -path '*/hostile/*' -type f ! -name '*.tsv' -print0 | sort -z)

echo "$runs runs, $failures failures"
[ $failures -eq 0 ] && [ $runs -gt 100 ]
