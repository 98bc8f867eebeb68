#!/usr/bin/env bash
# Forecasting data from Debian's python3-statsmodels: the weekly CO2 concentration at Mauna Loa,
# March 1958 - December 2001 (ppm; the 59 missing weeks filled by linear interpolation), cut into
# windows of 104 weeks every 13 weeks, each as its rise over its first week (the trend of decades
# taken out, the seasons and the trend of two years left), as CSV for `recur prepare --level real`:
# OUTDIR/train.csv holds the windows that end by 1993, OUTDIR/test.csv those that start in 1994 or
# later (no week in both), one window a sequence (blank lines between them).
#   apt-get install python3-statsmodels; datasets/co2.sh OUTDIR
set -euo pipefail
out=${1:?usage: datasets/co2.sh OUTDIR}
csv=/usr/lib/python3/dist-packages/statsmodels/datasets/co2/co2.csv
[ -f "$csv" ] || { echo "datasets/co2.sh: needs Debian's python3-statsmodels (apt-get install python3-statsmodels)" >&2; exit 1; }
mkdir -p "$out"
python3 - "$csv" "$out" <<'PY'
import sys
rows = [l.strip().split(",") for l in open(sys.argv[1]).read().splitlines()[1:]]
dates = [r[0] for r in rows]
v = [float(r[1]) if r[1] else None for r in rows]
known = [i for i, x in enumerate(v) if x is not None]
for i, x in enumerate(v):  # linear interpolation over the missing weeks
    if x is None:
        a = max(k for k in known if k < i); b = min(k for k in known if k > i)
        v[i] = v[a] + (v[b] - v[a]) * (i - a) / (b - a)
W, S = 104, 13
train, test = [], []
for s in range(0, len(v) - W + 1, S):
    if dates[s + W - 1] < "19940101":
        train.append(v[s:s + W])
    elif dates[s] >= "19940101":
        test.append(v[s:s + W])
for name, ws in (("train", train), ("test", test)):
    with open(f"{sys.argv[2]}/{name}.csv", "w") as f:
        f.write("co2_rise\n" + "\n".join("".join(f"{x - w[0]:.2f}\n" for x in w) for w in ws))
print(f"co2: {len(v)} weeks; {len(train)} training windows (to 1993), {len(test)} test windows (1994-2001) of {W} weeks")
PY
