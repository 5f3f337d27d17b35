#!/usr/bin/python3
"""Differential test of brine's pickle reconstruction against CPython, over the committed corpus.

    run_pickle_corpus.py PICKLE_REWRITE CHECKER REPO WORKDIR

Benign fixtures (tests/fixtures/pickle/benign/expected.tsv): brine must rewrite each with nothing
removed, under the policy the row names (plus its needs_allow names), and CPython must load the
reconstruction to an object equal to the original (check_pickle_roundtrip.py).
Hostile fixtures (tests/fixtures/pickle/hostile/expected.tsv): for `error` and `root_blocked` rows
brine must refuse (exit 2) and leave no output; for `blocked` rows it must write a reconstruction
(exit 1) that names the finding, uses only allowlisted globals, and creates no marker file when
CPython loads it with a restricted unpickler.
Prints one line per mismatch and a closing "N passed, N failed" line; exit 1 on any mismatch.
"""
import os
import re
import subprocess
import sys


def rows(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                yield line.split("\t")


def torch_allowlist(repo):
    header = os.path.join(repo, "include", "brine", "policy", "torch_weights_only.hpp")
    text = open(header, encoding="utf-8").read()
    table = text[text.index("torch_weights_only_globals[]"):]
    table = table[:table.index("};")]
    return ["%s.%s" % (m, n) for m, n in re.findall(r'\{"([^"]+)", "([^"]+)"\}', table)]


def main(argv):
    if len(argv) != 5:
        print(__doc__)
        return 2
    tool, checker, repo, work = argv[1:]
    os.makedirs(work, exist_ok=True)
    passed, failed = 0, []
    allowlist = ",".join(torch_allowlist(repo))

    benign_dir = os.path.join(repo, "tests", "fixtures", "pickle", "benign")
    for name, protocol, policy, category, description in rows(os.path.join(benign_dir, "expected.tsv")):
        src = os.path.join(benign_dir, name)
        out = os.path.join(work, "benign_" + name)
        if os.path.exists(out):
            os.remove(out)
        extra = []
        if policy.startswith("needs_allow:"):
            extra = [n for n in policy[len("needs_allow:"):].split(",") if n]
            policy = "torch_weights_only"
        cmd = [tool, "--policy", policy]
        for n in extra:
            cmd += ["--allow", n]
        run = subprocess.run(cmd + [src, out], capture_output=True, text=True)
        if category == "surrogate":
            # CPython accepts lone surrogates in BINUNICODE; brine refuses them as invalid UTF-8.
            ok = run.returncode == 2 and not os.path.exists(out)
            (passed := passed + 1) if ok else failed.append("%s: expected a refusal of lone surrogates" % name)
            continue
        if run.returncode != 0:
            failed.append("%s: brine exit %d (expected 0): %s%s" % (name, run.returncode, run.stdout.strip(),
                                                                    run.stderr.strip()))
            continue
        check = [checker] + (["--allow", ",".join(extra)] if extra else []) + [src, out]
        verdict = subprocess.run(check, capture_output=True, text=True)
        if verdict.returncode != 0:
            failed.append("%s: CPython comparison failed: %s" % (name, verdict.stdout.strip()[:300]))
            continue
        passed += 1

    hostile_dir = os.path.join(repo, "tests", "fixtures", "pickle", "hostile")
    for name, row, verdict, finding, description in rows(os.path.join(hostile_dir, "expected.tsv")):
        src = os.path.join(hostile_dir, name)
        out = os.path.join(work, "hostile_" + name)
        if os.path.exists(out):
            os.remove(out)
        run = subprocess.run([tool, "--policy", "torch_weights_only", src, out], capture_output=True, text=True)
        if verdict in ("error", "root_blocked"):
            if run.returncode != 2 or os.path.exists(out):
                failed.append("%s (%s): expected a refusal (exit 2, no output), got exit %d: %s" %
                              (name, row, run.returncode, run.stdout.strip()[:200]))
            else:
                passed += 1
            continue
        if run.returncode != 1 or not os.path.exists(out):
            failed.append("%s (%s): expected exit 1 with a reconstruction, got exit %d: %s%s" %
                          (name, row, run.returncode, run.stdout.strip()[:200], run.stderr.strip()[:200]))
            continue
        # The finding must be named: the global (last dotted part) or the opcode.
        wanted = finding.split("→")[0].replace(":", ".").split("|")
        if "trailing_data" in wanted:
            wanted.append("after STOP")
        if not any(w.split(".")[-1] in run.stdout for w in wanted):
            failed.append("%s (%s): the report does not name %s: %s" % (name, row, finding, run.stdout.strip()[:200]))
            continue
        scan = subprocess.run([checker, "--scan-only", "--load-errors-ok", "--allow", allowlist, out],
                              capture_output=True, text=True)
        if scan.returncode != 0:
            failed.append("%s (%s): the reconstruction fails the independent scan: %s" %
                          (name, row, scan.stdout.strip()[:300]))
            continue
        passed += 1

    for line in failed:
        print("MISMATCH " + line)
    print("%d passed, %d failed" % (passed, len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
