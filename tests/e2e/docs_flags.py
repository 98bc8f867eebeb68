#!/usr/bin/env python3
"""Every recur command line in README.md and docs/*.md (fenced blocks and inline code) names a command recur has and only flags
that command takes (its --help lists them), so no documented command drifts from the program.
Usage: docs_flags.py RECUR REPO"""
import glob
import os
import re
import subprocess
import sys

recur, repo = sys.argv[1], sys.argv[2]
LAUNCHERS = {"simulate", "run-mpi", "slurm.sbatch"}
COMMANDS = ["prepare", "inspect", "decode", "train", "sample", "eval", "predict", "report"]
helps = {}


def flags_of(cmd):
    if cmd not in helps:
        out = subprocess.run([recur, cmd, "--help"], capture_output=True, text=True)
        helps[cmd] = set(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)", out.stdout + out.stderr))
    return helps[cmd]


def blocks(text):
    """the lines of fenced shell blocks, continuation lines joined"""
    out, inside, cur = [], False, ""
    for line in text.splitlines():
        if line.strip().startswith("```"):
            inside = not inside
            continue
        if not inside:
            continue
        cur += line.rstrip("\\").split("#")[0] + " "
        if not line.rstrip().endswith("\\"):
            out.append(cur)
            cur = ""
    return out


def spans(text):
    """inline code that runs recur (`recur sample MODEL --label NAME`)"""
    return re.findall(r"`((?:mpirun [^`\n]*|\S*/)?recur [a-z][^`\n]*)`", text)


bad, seen = [], 0
for path in [os.path.join(repo, "README.md")] + sorted(glob.glob(os.path.join(repo, "docs", "*.md"))):
    text = open(path).read()
    for line in blocks(text) + spans(text):
        for part in re.split(r"[|;&]|\$\(", line):  # each command of a pipeline
            words = part.split()
            at = [i for i, w in enumerate(words) if os.path.basename(w) == "recur"]
            if not at:  # a launcher's own flags, then recur's command and its flags
                launch = [i for i, w in enumerate(words) if os.path.basename(w) in LAUNCHERS]
                at = [j - 1 for j in range(launch[0] + 1, len(words)) if words[j] in COMMANDS][:1] if launch else []
            if not at or at[0] + 1 >= len(words):
                continue
            cmd = words[at[0] + 1]
            if cmd.startswith("-") or cmd in ("help",):
                continue
            if cmd not in COMMANDS:
                bad.append(f"{os.path.relpath(path, repo)}: 'recur {cmd}' is no command: {part.strip()}")
                continue
            seen += 1
            known = flags_of(cmd) | {"--help"}
            for w in words[at[0] + 2:]:
                f = w.split("=")[0]
                if re.fullmatch(r"--[a-z0-9][a-z0-9-]*", f) and f not in known:
                    bad.append(f"{os.path.relpath(path, repo)}: recur {cmd} has no flag {f}: {part.strip()}")
for b in bad:
    print("FAIL: " + b, file=sys.stderr)
print(f"docs_flags: {seen} recur command lines in README.md and docs/, {len(bad)} with unknown commands or flags")
sys.exit(1 if bad or seen < 20 else 0)
