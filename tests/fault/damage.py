#!/usr/bin/env python3
"""Damage copies of a file the way disks and copies do, run recur on each, count crashes and hangs.

  damage.py --copies N --seed S --work DIR [--jobs J] [--timeout S] [--dir] TARGET -- COMMAND ARGS...

TARGET is a file; with --dir, TARGET is DIR/FILE inside a directory that is copied whole for each
case (a checkpoint directory and one of its shards). Each case copies it, then either overwrites
16 random bytes (scattered or a run of 16) or truncates it at a random length. In COMMAND, {}
stands for the damaged copy (the file, or with --dir the copied directory). A case passes when
the command exits 0 (the damage hit bytes that are not read, or only padding) or exits 1-127 with
a line 'recur: error:' on stderr; it fails on a signal (crash), a sanitizer report, a timeout
(hang) or a non-zero exit without a named error. Prints one line per failure and a summary;
exits 1 if any case failed."""
import concurrent.futures, os, random, shutil, subprocess, sys

def main():
    a = sys.argv[1:]
    copies, seed, work, isdir, timeout, jobs = 80, 1, "damage-work", False, 60, 4
    while a and a[0] != "--" and a[0].startswith("--"):
        k = a.pop(0)
        if k == "--dir": isdir = True
        elif k == "--copies": copies = int(a.pop(0))
        elif k == "--seed": seed = int(a.pop(0))
        elif k == "--work": work = a.pop(0)
        elif k == "--timeout": timeout = float(a.pop(0))
        elif k == "--jobs": jobs = int(a.pop(0))
        else: sys.exit("damage.py: unknown flag " + k)
    target = a.pop(0)
    if not a or a.pop(0) != "--": sys.exit("damage.py: give -- COMMAND")
    cmd = a
    rng = random.Random(seed)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    src_dir, fname = (os.path.dirname(target), os.path.basename(target)) if isdir else (None, None)
    counts = {"ok": 0, "error": 0, "crash": 0, "hang": 0, "unnamed": 0}
    cases = []
    for i in range(copies):  # the damage is drawn in order, so a seed names the same cases
        if isdir:
            case = os.path.join(work, "case-%03d" % i)
            shutil.copytree(src_dir, case)
            f = os.path.join(case, fname)
            arg = case
        else:
            case = f = os.path.join(work, "case-%03d%s" % (i, os.path.splitext(target)[1]))
            shutil.copyfile(target, f)
            arg = f
        size = os.path.getsize(f)
        kind = rng.choice(["scatter", "run", "truncate"])
        with open(f, "r+b") as fp:
            if kind == "truncate":
                fp.truncate(rng.randrange(0, size))
            elif kind == "run":
                off = rng.randrange(0, max(1, size - 16))
                fp.seek(off)
                fp.write(bytes(rng.randrange(256) for _ in range(16)))
            else:
                for _ in range(16):
                    fp.seek(rng.randrange(size))
                    fp.write(bytes([rng.randrange(256)]))
        cases.append((i, kind, f, case, [x.replace("{}", arg) for x in cmd]))

    def run(c):
        i, kind, f, case, argv = c
        rc = "-"
        try:
            p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)
            rc, err = p.returncode, p.stderr.decode("utf-8", "replace")
            if rc == 0 and "Sanitizer" not in err: res = "ok"
            elif rc < 0 or rc >= 128 or "Sanitizer" in err or "internal error" in err: res = "crash"
            elif "recur: error:" in err: res = "error"
            else: res = "unnamed"
        except subprocess.TimeoutExpired:
            res, err = "hang", ""
        return c, res, rc, err

    # the cases wait mostly on process start-up (MPI's singleton init): run several at once
    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        for (i, kind, f, case, argv), res, rc, err in ex.map(run, cases):
            counts[res] += 1
            if res in ("crash", "hang", "unnamed"):
                print("damage: case %d (%s) %s: %s rc=%s\n%s" % (i, kind, f, res, rc, err[-1500:]))
            else:
                shutil.rmtree(case, ignore_errors=True) if isdir else os.unlink(f)
    print("damage: %s x%d: %d ran clean, %d named errors, %d crashes, %d hangs, %d unnamed failures"
          % (os.path.basename(target), copies, counts["ok"], counts["error"], counts["crash"],
             counts["hang"], counts["unnamed"]))
    sys.exit(1 if counts["crash"] + counts["hang"] + counts["unnamed"] else 0)

main()
