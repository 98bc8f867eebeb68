#!/usr/bin/env bash
# Spoken digits from Debian's espeak-ng, as frames for `recur prepare --level real --label-column
# digit`: each of "zero" .. "nine" said by espeak-ng's English voices (en-us, en-gb, Scottish,
# Received Pronunciation, Caribbean, Lancaster, West Midlands) with its voice variants (+m1 ..
# +f5, ...) at two speeds and a random pitch, with background noise (20-40 dB below the speech)
# and a random gain; each utterance cut into 25 ms frames every 10 ms, each frame 20 log energies
# in mel-spaced bands (the usual front end of speech recognisers) from numpy's FFT.
# OUTDIR/train.csv holds the speakers (voice + variant) of most variants, OUTDIR/heldout.csv every
# digit said by voice variants no training sequence has (new speakers), one utterance a sequence.
#   apt-get install espeak-ng python3-numpy; datasets/digits.sh OUTDIR
set -euo pipefail
out=${1:?usage: datasets/digits.sh OUTDIR}
command -v espeak-ng > /dev/null ||
  { echo "datasets/digits.sh: needs Debian's espeak-ng (apt-get install espeak-ng)" >&2; exit 1; }
mkdir -p "$out"
/usr/bin/python3 - "$out" <<'PY'
import io, os, random, subprocess, sys, wave
from concurrent.futures import ThreadPoolExecutor
import numpy as np
out = sys.argv[1]
words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
voices = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd"]
variants = ["", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7", "+f1", "+f2", "+f3", "+f4", "+f5",
            "+croak", "+klatt", "+klatt2", "+whisper"]
held = {"+m4", "+f3", "+klatt2"}  # speakers never heard in training
rng = random.Random(2024)
jobs = [(w, v + var, s, rng.randint(25, 75), rng.random()) for v in voices for var in variants
        for s in (130, 175) for w in words]
def say(job):
    w, voice, speed, pitch, _ = job
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", w],
                         check=True, capture_output=True).stdout
    with wave.open(io.BytesIO(wav)) as f:
        rate, x = f.getframerate(), np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    return rate, x.astype(np.float64) / 32768
with ThreadPoolExecutor(os.cpu_count() or 2) as ex:
    audio = list(ex.map(say, jobs))
rate = audio[0][0]
win, hop, nfft, nb = int(0.025 * rate), int(0.010 * rate), 1024, 20
mel = lambda f: 2595 * np.log10(1 + f / 700)
edges = 700 * (10 ** (np.linspace(mel(100), mel(rate / 2 * 0.9), nb + 2) / 2595) - 1)
bins = np.fft.rfftfreq(nfft, 1 / rate)
fb = np.array([np.clip(np.minimum((bins - a) / (b - a), (c - bins) / (c - b)), 0, None)
               for a, b, c in zip(edges, edges[1:], edges[2:])])  # (nb, nfft/2+1) triangles
hann = np.hanning(win)
names = ",".join(f"band{i:02d}" for i in range(nb))
files = {k: open(f"{out}/{k}.csv", "w") for k in ("train", "heldout")}
for f in files.values(): f.write(f"{names},digit\n")
count = {"train": 0, "heldout": 0}
nrng = np.random.default_rng(7)
for (w, voice, _, _, g), (_, x) in zip(jobs, audio):
    active = np.nonzero(np.abs(x) > 0.01)[0]  # the word, without the silence around it
    x = x[max(active[0] - hop, 0):active[-1] + hop] * (0.3 + 1.4 * g)
    power = np.mean(x ** 2)
    x = x + nrng.normal(0, np.sqrt(power / 10 ** (nrng.uniform(20, 40) / 10)), len(x))
    n = 1 + (len(x) - win) // hop
    frames = np.stack([x[i * hop:i * hop + win] * hann for i in range(n)])
    spec = np.abs(np.fft.rfft(frames, nfft)) ** 2
    feats = np.log(spec @ fb.T + 1e-8)
    k = "heldout" if any(voice.endswith(h) for h in held) else "train"
    files[k].write("".join(",".join(f"{v:.3f}" for v in row) + f",{w}\n" for row in feats) + "\n")
    count[k] += 1
for f in files.values(): f.close()
print(f"digits: {count['train']} utterances to train on, {count['heldout']} by held-out speakers; "
      f"{nb} log mel bands per 10 ms frame ({rate} Hz audio)")
PY
