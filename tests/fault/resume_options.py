"""Resume is exact for every option, the options enumerated from recur's own table at test time.

For each saved option of `recur train --options-json` (output-only ones are not saved), a short
run with the option at a non-default value is trained three ways: uninterrupted; stopped by a
failure hook after its checkpoint of step 6 (the step after it is lost); and resumed from that
checkpoint with nothing but --resume. The resumed run's per-step losses and final parameters must
equal the uninterrupted run's bitwise (same world size), and, resumed on the other world size,
within float tolerance (checked in the 1-rank pass, 1 -> 2 ranks, for options outside RANK_FREE and the combinations). And the option must do something: its run differs from its task's baseline
(else the case did not exercise it), unless it is declared NEUTRAL below, in which case it must
change no number. A value and a context (task, extra flags) are derived from the table (type,
bounds, choices, tasks, cells); OVERRIDE gives them where the derived one would not be legal or
would not act. The reference a run must differ from is the same flags without the option. A new option is covered by the derived case or fails until it gets an entry.

usage: resume_options.py RECUR WORKDIR NP   (NP = 1 or 2 ranks)
"""
import json
import os
import random
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import fixtures  # noqa: E402

RECUR, WORK, NP = sys.argv[1], sys.argv[2], int(sys.argv[3])
MPIRUN = os.environ.get("MPIRUN", "mpirun")
os.chdir(WORK)
SANITIZED = bool(os.environ.get("RECUR_SANITIZED"))

# Options that change no number by design: their run must equal the baseline (bitwise, or within
# float tolerance where they change the order of a sum).
NEUTRAL = {
    "--accum": "tolerance",  # the same global batch in two slots: sums in another order
    "--eval-every": "exact", "--eval-minutes": "exact", "--diagnose-every": "exact",
    "--sample-len": "exact",
    "--log-every": "params", "--ckpt-every": "exact", "--ckpt-minutes": "exact", "--keep": "exact",
    "--sparse-reduce": "exact", "--max-bad-steps": "exact",
    "--grad-sum": "exact",  # 1 rank sums nothing (resumed on 2 ranks: within bf16's tolerance)
}
# Options no case can set to another value, with the reason.
NOT_COVERED = {
    "--data": "every case gives its dataset; a resume checks it against the checkpoint (resume.sh)",
    "--task": "every case runs with the task of its dataset, so each task context is a case of its own",
}
# Where the value or context derived from the table would not be legal or would not act.
OVERRIDE = {
    "--bidirectional": dict(task="classify"),
    "--input-hidden": dict(task="forecast", value="4"),
    "--input-feed": dict(extra=["--attention", "dot"]),
    "--softmax": dict(value="adaptive", extra=["--cutoffs", "10,30"], ref="context"),
    "--cutoffs": dict(value="10,30", extra=["--softmax", "adaptive", "--cutoffs", "5,20"]),
    "--div-value": dict(value="2", extra=["--softmax", "adaptive", "--cutoffs", "10,30"]),
    "--max-len": dict(value="5", extra=["--mode", "sequences"]),
    "--shuffle": dict(value="global", extra=["--mode", "sequences"]),
    "--momentum": dict(value="0.5", extra=["--optim", "sgd"]),
    "--nesterov": dict(extra=["--optim", "sgd", "--momentum", "0.5"]),
    "--eps": dict(value="0.001"),
    "--clip": dict(value="0.05"),
    "--schedule": dict(value="cosine"),
    "--decay-every": dict(value="3", extra=["--schedule", "step"]),
    "--gamma": dict(value="0.5", extra=["--schedule", "step", "--decay-every", "3"]),
    "--min-lr": dict(value="0.005", extra=["--schedule", "cosine"]),
    "--schedule-steps": dict(value="30", extra=["--schedule", "cosine"]),
    "--schedule-start": dict(value="3", extra=["--warmup", "4"]),
    "--scheduled-sampling": dict(extra=["--ss-c", "0.05"]),
    "--ss-k": dict(value="0.5", extra=["--scheduled-sampling", "linear"]),
    "--ss-c": dict(value="0.05", extra=["--scheduled-sampling", "linear"]),
    "--ss-min": dict(value="0.6", extra=["--scheduled-sampling", "linear", "--ss-c", "0.1"]),
    "--epochs": dict(value="2", drop=["--steps"]),
    "--precision": dict(value="bf16"),
    # OpenBLAS's and oneDNN's sums agree bit for bit at K <= 64 on the machines measured
    "--gemm": dict(extra=["--hidden", "384", "--embed", "384", "--steps", "8"]),
}
# Combinations that interact get cases of their own (the regularised run among them).
COMBOS = [
    ("lm", ["--dropout-locked", "0.3", "--weight-drop", "0.3", "--dropout-embed", "0.1"]),
    ("lm", ["--dropout", "0.3", "--weight-drop", "0.3", "--precision", "bf16"]),
    ("lm", ["--softmax", "adaptive", "--cutoffs", "10,30", "--embed-update", "lazy"]),
    ("seq2seq", ["--attention", "dot", "--input-feed", "--scheduled-sampling", "linear", "--ss-c", "0.05"]),
    ("forecast", ["--loss", "gaussian", "--scheduled-sampling", "linear", "--ss-c", "0.05"]),
]

# Options whose effect is the same computation on every rank (the model's shape, the learning
# rate's curve, the optimizer's scalars, logging and checkpoint cadence, the kernel): their resume
# at 2 ranks adds nothing to the 1-rank pass's. Every other option -- data order and sharding,
# randomness, sharded optimizer state, accumulation, sparse sums -- and every option not listed
# here (a new one included) is also checked at 2 ranks.
RANK_FREE = set("""--cell --layers --hidden --embed --bidirectional --pool --tie-weights --proj
    --div-value --readout-hidden --input-hidden --horizon --loss --cond-dim --cond-input
    --attention --input-feed --lr --weight-decay --nesterov --beta1 --beta2 --eps --clip
    --schedule --warmup --decay-every --gamma --min-lr --schedule-steps --schedule-start --steps
    --epochs --eval-every --eval-minutes --diagnose-every --sample-len --log-every --ckpt-every
    --ckpt-minutes --keep --max-bad-steps --gemm --precision""".split())

STEPS, CKPT = 12, 6
COMMON = ["--layers", "2", "--hidden", "16", "--embed", "16", "--batch", "8", "--lr", "0.01",
          "--steps", str(STEPS), "--log-every", "1", "--ckpt-every", str(CKPT), "--quiet"]
CONTEXTS = {  # task: dataset and flags of its baseline
    "lm": ["--data", "lm.h5", "--seq-len", "10"],
    "classify": ["--data", "cls.h5"],
    "tag": ["--data", "tag.h5"],
    "condlm": ["--data", "cond.h5"],
    "seq2seq": ["--data", "s2s.h5"],
    "forecast": ["--data", "fc.h5"],
}


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def make_data():
    r = random.Random(7)
    words = ["w%d" % i for i in range(80)]
    weights = [1.0 / (k + 1) for k in range(80)]
    with open("lm.txt", "w") as f:
        for _ in range(400):
            f.write(" ".join(r.choices(words, weights, k=r.randint(3, 12))) + "\n")
    with open("cls.txt", "w") as f:
        for _ in range(300):
            lab = r.choice("ab")
            f.write(f"{lab}\t{lab}" + "".join(r.choice("xy") for _ in range(r.randint(5, 20))) + "\n")
    fixtures.write_tag("tag.txt", r, 300, 5, 20)
    fixtures.write_cond("cond.txt", r, 300, 4, 15)
    with open("s2s.txt", "w") as f:
        for _ in range(300):
            s = "".join(r.choice("abcdef") for _ in range(r.randint(3, 10)))
            f.write(s + "\t" + s[::-1] + "\n")
    fixtures.write_sines("fc.csv", r, 120, 15, 30)
    prep = [("lm.txt", "lm.h5", ["--level", "word", "--split-on", "line"]),
            ("cls.txt", "cls.h5", ["--task", "classify"]),
            ("tag.txt", "tag.h5", ["--task", "tag"]),
            ("cond.txt", "cond.h5", ["--task", "condlm"]),
            ("s2s.txt", "s2s.h5", ["--task", "seq2seq"]),
            ("fc.csv", "fc.h5", ["--level", "real"])]
    for src, out, flags in prep:
        subprocess.run([RECUR, "prepare", src, "-o", out, "--val", "0.1", "--quiet"] + flags, check=True)


def derive(o):
    """The case of option o: (task, flags with the option at a non-default value, the same flags
    without it: the reference its run must differ from, or equal when it is neutral)."""
    flag, ov = o["flag"], OVERRIDE.get(o["flag"], {})
    task = ov.get("task") or next((t for t in CONTEXTS if t in o.get("tasks", CONTEXTS)), "lm")
    base = CONTEXTS[task] + COMMON
    for d in ov.get("drop", []):
        i = base.index(d)
        base = base[:i] + base[i + 2:]
    extra = list(ov.get("extra", []))
    if "cells" in o and "lstm" in o["cells"] and len(o["cells"]) < 4:
        extra += ["--cell", o["cells"][0]]
    cur = base[base.index(flag) + 1] if flag in base else o["default"]
    if "value" in ov:
        value = ov["value"]
    elif o["type"] == "switch":
        value = None
    elif o["type"] == "choice":
        value = next(c for c in o["choices"] if c != cur)
    elif o["type"] in ("int", "uint"):
        v = int(cur or 0)
        value = str(v + 1 if v > 0 else 2)
        if not o["lo"] <= int(value) <= o["hi"]:
            value = str(v - 1)
    elif o["type"] == "real":
        v = float(cur or 0)
        value = repr(v * 0.5) if v > 0 else repr(min(0.3, o["hi"]))
    else:
        fail(f"{flag}: no value can be derived for type {o['type']}: add it to OVERRIDE or NOT_COVERED")
    if flag in base:
        i = base.index(flag)
        base = base[:i] + base[i + 2:]
    ref = drop_repeated(base + extra)
    flags = drop_repeated(ref + ([flag] if value is None else [flag, value]))
    if ov.get("ref") == "context":  # the extra flags are not legal without the option
        ref = drop_repeated(CONTEXTS[task] + COMMON)
    return task, flags, ref


def drop_repeated(flags):
    """a flag given twice keeps its last value (as recur would, but shown once)"""
    out, seen = [], {}
    i = 0
    pairs = []
    while i < len(flags):
        if i + 1 < len(flags) and not flags[i + 1].startswith("--"):
            pairs.append((flags[i], flags[i + 1]))
            i += 2
        else:
            pairs.append((flags[i], None))
            i += 1
    for k, v in pairs:
        seen[k] = v
    for k, v in pairs:
        if k in seen:
            out += [k] if seen[k] is None else [k, seen.pop(k)]
    return out


refs = {}


def reference(flags):
    """the uninterrupted run of flags (once per distinct set)"""
    key = tuple(flags)
    if key not in refs:
        run = "ref%03d" % len(refs)
        r = launch(NP, flags + ["--out", run])
        if r.returncode:
            fail(f"the reference run fails: {' '.join(flags)}\n{r.stderr.strip()}")
        refs[key] = (losses(run), params(run))
    return refs[key]


def launch(np_, args, env=None):
    cmd = [RECUR, "train"] + args
    if np_ > 1:
        cmd = [MPIRUN, "-q", "-np", str(np_)] + cmd
    return subprocess.run(cmd, env=env, capture_output=True, text=True)


def losses(run):
    out = []
    for line in open(os.path.join(run, "metrics.jsonl")):
        j = json.loads(line)
        if "loss" in j and "step" in j and "event" not in j:
            out.append((j["step"], j["loss"]))
    return out


def params(run):
    with h5py.File(os.path.join(run, "model.h5"), "r") as f:
        return {k: np.array(f[k]) for k in f if isinstance(f[k], h5py.Dataset) and f[k].dtype.kind == "f"}


def lrs(run):
    out = {}
    for line in open(os.path.join(run, "metrics.jsonl")):
        j = json.loads(line)
        if "lr" in j and "step" in j and "event" not in j:
            out[j["step"]] = j["lr"]
    return out


def same(a, b, tol):
    if tol == 0:
        return a == b
    return all(sa == sb and abs(la - lb) <= tol * max(1.0, abs(lb)) for (sa, la), (sb, lb) in zip(a, b)) and len(a) == len(b)


def same_params(a, b, tol):
    if a.keys() != b.keys():
        return False
    if tol == 0:
        return all(np.array_equal(a[k], b[k]) for k in a)
    return all(np.allclose(a[k], b[k], rtol=tol, atol=tol) for k in a)


def check(name, flags, baseline=None, neutral=None, cross=True):
    """Uninterrupted, stopped after checkpoint 6 and resumed: equal; (1 rank, when cross) resumed
    on 2: close; against the baseline: different (or equal for a neutral option)."""
    tag = "c%03d" % len(done)
    full, part = tag + "-full", tag + "-part"
    r = launch(NP, flags + ["--out", full])
    if r.returncode:
        fail(f"{name}: the run fails: {' '.join(flags)}\n{r.stderr.strip()}")
    env = dict(os.environ, RECUR_TEST_FAIL_RANK="0", RECUR_TEST_FAIL_STEP=str(CKPT + 1))
    r = launch(NP, flags + ["--out", part], env)
    if r.returncode == 0 or "test hook" not in r.stderr:
        fail(f"{name}: the stopped run did not stop at its hook: {r.stderr.strip()[-300:]}")
    cross = cross and NP == 1
    if cross:
        os.system(f"cp -r {part} {part}-x")  # the same stopped run, to resume on 2 ranks
    r = launch(NP, ["--resume", part, "--quiet"])
    if r.returncode:
        fail(f"{name}: resume fails: {r.stderr.strip()}")
    lf, lp = losses(full), losses(part)
    pf, pp = params(full), params(part)
    if not same(lf, lp, 0) or not same_params(pf, pp, 0):
        bad = [(a, b) for a, b in zip(lf, lp) if a != b][:2]
        fail(f"{name}: the resumed run differs from the uninterrupted one ({' '.join(flags)}); "
             f"first steps that differ (uninterrupted, resumed): {bad}")
    # on another world size: 1 rank's checkpoint resumed on 2 (the 2-rank pass leaves this to the
    # 1-rank pass, and to resume.sh's 4 -> 2 ranks; a RANK_FREE option's state reshards as the
    # baselines' does, which are checked)
    if cross:
        r = launch(2, ["--resume", part + "-x", "--quiet"])
        if r.returncode:
            fail(f"{name}: resume on 2 ranks fails: {r.stderr.strip()}")
        tol = 2e-2 if "bf16" in flags else 1e-3
        if not same(lf, losses(part + "-x"), tol) or not same_params(pf, params(part + "-x"), tol):
            fail(f"{name}: resumed on 2 ranks, the run is not within {tol} of the uninterrupted one")
    if baseline is not None:
        lb, pb = baseline
        if neutral:
            t = 1e-3 if neutral == "tolerance" else 0
            if (neutral != "params" and not same(lf, lb, t)) or not same_params(pf, pb, t):
                fail(f"{name}: declared neutral, but its run differs from the baseline")
        elif same(lf, lb, 0) and same_params(pf, pb, 0):
            fail(f"{name}: its run equals the baseline: the case does not exercise it "
                 "(give it a value or context in OVERRIDE)")
    done.append(name)
    print(f"ok {name}: {' '.join(flags)}", flush=True)
    return lf, pf


done = []
make_data()
table = json.loads(subprocess.run([RECUR, "train", "--options-json"], check=True,
                                  capture_output=True, text=True).stdout)["options"]
flags = {o["flag"] for o in table}
for listed in list(NEUTRAL) + list(NOT_COVERED) + list(OVERRIDE) + list(RANK_FREE):
    if listed not in flags:
        fail(f"{listed} is listed here but recur train has no such flag")
for t in CONTEXTS:
    refs[tuple(drop_repeated(CONTEXTS[t] + COMMON))] = check("baseline " + t, CONTEXTS[t] + COMMON)
for o in table:
    if not o["saved"] or o["flag"] in NOT_COVERED:
        continue
    if NP == 2 and o["flag"] in RANK_FREE:
        continue
    task, fl, ref = derive(o)
    # whether an option acts does not depend on the world size: checked on 1 rank only
    check(o["flag"], fl, reference(ref) if NP == 1 else None, NEUTRAL.get(o["flag"]),
          cross=o["flag"] not in RANK_FREE)
for task, extra in COMBOS:
    check("combination " + " ".join(extra), CONTEXTS[task] + COMMON + extra)
if NP == 1:  # a checkpoint of a version before the training-only attributes were kept in model.h5
    fl = CONTEXTS["lm"] + COMMON + COMBOS[0][1]
    lf, pf = reference(fl)
    env = dict(os.environ, RECUR_TEST_FAIL_RANK="0", RECUR_TEST_FAIL_STEP=str(CKPT + 1))
    launch(1, fl + ["--out", "old"], env)
    old = "old/checkpoints/step-%08d/model.h5" % CKPT
    with h5py.File(old, "r+") as f:
        for a in ("dropout_locked", "dropout_embed", "weight_drop"):
            del f.attrs[a]
    data = open(old, "rb").read()  # the manifest as the older writer made it: size, FNV-1a 64
    h = 1469598103934665603
    for byte in data:
        h = ((h ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    commit = os.path.join(os.path.dirname(old), "COMMIT")
    lines = [f"model model.h5 {len(data)} {h:016x}" if ln.startswith("model ") else ln
             for ln in open(commit).read().splitlines()]
    open(commit, "w").write("\n".join(lines) + "\n")
    ins = subprocess.run([RECUR, "inspect", old], capture_output=True, text=True).stdout
    if "defaults taken: dropout_locked, dropout_embed, weight_drop" not in ins:
        fail("inspect of an older model.h5 does not name the attributes it lacks: " + ins)
    r = launch(1, ["--resume", "old", "--quiet"])
    if r.returncode or not same(lf, losses("old"), 0) or not same_params(pf, params("old"), 0):
        fail("a checkpoint whose model.h5 lacks the training-only attributes does not resume exactly "
             + r.stderr)
    print("ok an older model.h5 (no training-only attributes) resumes exactly")
if NP == 1:  # a checkpoint from before --shuffle resumes with the order it had (global)
    fl = CONTEXTS["lm"] + COMMON + ["--mode", "sequences", "--shuffle", "global"]
    lf, pf = reference(fl)
    env = dict(os.environ, RECUR_TEST_FAIL_RANK="0", RECUR_TEST_FAIL_STEP=str(CKPT + 1))
    launch(1, fl + ["--out", "oldorder"], env)
    ck = "oldorder/checkpoints/step-%08d" % CKPT
    shard = os.path.join(ck, "state-rank-00000.h5")
    with h5py.File(shard, "r+") as f:  # the saved options as a writer before --shuffle wrote them
        text = f.attrs["options"]
        raw = text if isinstance(text, bytes) else text.encode()
        line = b"--shuffle global\n"
        if line not in raw:
            fail("the checkpoint's options do not name --shuffle: " + raw.decode())
        f.attrs.modify("options", raw.replace(line, b"") + b"\0" * len(line))  # same size
    data = open(shard, "rb").read()
    h = 1469598103934665603
    for byte in data:
        h = ((h ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    commit = os.path.join(ck, "COMMIT")
    lines = []
    for ln in open(commit).read().splitlines():
        w = ln.split()
        if ln.startswith("shard state-rank-00000.h5 "):
            w[2], w[3] = str(len(data)), f"{h:016x}"
        lines.append(" ".join(w))
    open(commit, "w").write("\n".join(lines) + "\n")
    r = launch(1, ["--resume", "oldorder", "--quiet"])
    if r.returncode or not same(lf, losses("oldorder"), 0) or not same_params(pf, params("oldorder"), 0):
        fail("a checkpoint saved before --shuffle does not resume exactly in its order " + r.stderr)
    print("ok a checkpoint saved before --shuffle resumes exactly (global order)")
if NP == 1:  # another length on resume keeps the schedule's curve; --restart-schedule begins anew
    fl = CONTEXTS["lm"] + COMMON + ["--schedule", "cosine", "--min-lr", "0.001"]
    launch(1, fl + ["--out", "sched-full"])
    env = dict(os.environ, RECUR_TEST_FAIL_RANK="0", RECUR_TEST_FAIL_STEP=str(CKPT + 1))
    launch(1, fl + ["--out", "sched"], env)
    full = lrs("sched-full")
    r = launch(1, ["--resume", "sched", "--steps", "9"])  # shorter: the same curve, ends sooner
    got = lrs("sched")
    if r.returncode or [got.get(k) for k in range(7, 10)] != [full[k] for k in range(7, 10)] or 10 in got:
        fail(f"resumed with --steps 9, the learning rates differ from the 12-step run's: {got} {full}")
    r = launch(1, ["--resume", "sched", "--steps", "14"])  # longer: past the end at --min-lr
    got = lrs("sched")
    if (r.returncode or [got[k] for k in range(10, 13)] != [full[k] for k in range(10, 13)]
            or abs(got[13] - 0.001) > 1e-9 or abs(got[14] - 0.001) > 1e-9):
        fail(f"resumed with --steps 14, the learning rates do not follow the 12-step curve: {got}")
    if "steps 13-14 lie past the schedule's end" not in r.stdout:
        fail("the resume past the schedule's end does not say so: " + r.stdout)
    r = launch(1, ["--resume", "sched", "--steps", "20", "--restart-schedule", "--lr", "0.02"])
    got = lrs("sched")
    if r.returncode or abs(got[15] - 0.02) > 1e-8 or not got[15] > got[17] > got[20] > 0.001:
        fail(f"--restart-schedule --lr 0.02 at step 14 does not begin a new cosine there: {got} "
             + r.stderr)
    if "(restarted here)" not in r.stdout:
        fail("the restarted schedule is not named in the resume's lines: " + r.stdout)
    print("ok a resume keeps the schedule's curve at another --steps, and restarts it when told")
    # the last checkpoint is committed before the final validation; a resume still knows its loss
    def best_step(run):
        with h5py.File(os.path.join(run, "model-best.h5"), "r") as f:
            return int(f.attrs["step"])
    launch(1, CONTEXTS["lm"] + COMMON + ["--eval-every", "4", "--out", "best"])
    if best_step("best") != STEPS:
        fail(f"the case needs the final validation to be the best (model-best.h5 at {best_step('best')})")
    r = launch(1, ["--resume", "best", "--steps", str(STEPS + 4), "--lr", "0"])  # the same model
    if r.returncode or best_step("best") != STEPS:
        fail("a resume that validates the same model again replaced model-best.h5: the final "
             "validation's loss was lost " + r.stderr)
    print("ok the final validation's loss survives a resume (model-best.h5 kept)")
print(f"resume_options: {len(done)} cases, every saved option of recur train covered on {NP} rank(s) "
      f"(not covered: {', '.join(NOT_COVERED)}{'; rank-free options on 1 rank only' if NP == 2 else '; rank-free options not resumed on 2'})")
