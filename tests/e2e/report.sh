# recur report in a real browser (headless Chromium): the page loads with no console error and
# no request outside the file, a screenshot is drawn, and every curve has as many points as its
# run logged. The gradient flow through time (--diagnose-every) equals PyTorch's and dies out
# faster in a vanilla RNN than in an LSTM. Reports of an empty run, of validation rows alone and
# of a directory that is not a run. Progress lines of prepare carry no control characters.
source "$(dirname "$0")/../lib.sh"
/usr/bin/python3 -c "import torch, h5py" || fail "python3-torch and python3-h5py are needed (launch/test installs them)"
command -v chromium > /dev/null || fail "chromium is needed (launch/test installs it)"
MPIRUN="mpirun --oversubscribe"
# a long dependency: each line is a random letter, 40 random digits, the same letter again
python3 - <<'PY'
import random
r = random.Random(5)
with open("dep.txt", "w") as f:
    for i in range(3000):
        c = r.choice("abcdefgh")
        f.write(c + "".join(r.choice("0123456789") for _ in range(40)) + c + "\n")
PY
"$RECUR" prepare dep.txt -o dep.h5 --val 0.05 > prep.out 2> prep.err
grep -q $'\r' prep.err && fail "prepare wrote control characters into a file"
[ "$(grep -c "prepare: pass [12]/2: 1 of 1 file read" prep.err)" = 2 ] || fail "prepare's progress line is missing: $(cat prep.err)"
"$RECUR" prepare dep.txt -o dep2.h5 --quiet 2> prep.err
[ -s prep.err ] && fail "--quiet prepare printed: $(cat prep.err)"

# ---- the gradient flow equals PyTorch's (one step at --lr 0: the model the step saw) ----
for cell in lstm gru rnn_tanh; do
  "$RECUR" train --data dep.h5 --out gf-$cell --cell $cell --layers 2 --hidden 24 --embed 8 --batch 4 \
    --seq-len 30 --steps 1 --lr 0 --diagnose-every 1 --quiet
  /usr/bin/python3 "$(dirname "$0")/grad_flow.py" dep.h5 gf-$cell 4 30
done

# ---- two runs to compare: rnn_tanh and lstm, 2 ranks, diagnosed, validated, sampled ----
for cell in rnn_tanh lstm; do
  $MPIRUN -np 2 "$RECUR" train --data dep.h5 --out run-$cell --cell $cell --layers 1 --hidden 64 --embed 16 \
    --batch 16 --seq-len 84 --steps 60 --lr 3e-3 --diagnose-every 20 --eval-every 20 --log-every 5 \
    --ckpt-every 30 --sample-len 60 --quiet
done
# resume one of them, so the report has a resumption to mark
$MPIRUN -np 2 "$RECUR" train --resume run-lstm --steps 70 --quiet
python3 - run-rnn_tanh/metrics.jsonl run-lstm/metrics.jsonl <<'PY'
import json, math, sys
decay = {}
for path in sys.argv[1:]:
    g = [json.loads(l) for l in open(path) if '"grad_flow"' in l][-1]["grad_flow"][0]
    near = sum(g[0:5]) / 5
    far = sum(g[60:70]) / 10
    decay[path] = math.log10(near / far)
    print(f"{path}: |dL/dh| near the end {near:.3e}, 60-70 steps back {far:.3e}: {decay[path]:.2f} decades")
assert decay[sys.argv[1]] > decay[sys.argv[2]] + 0.5, ("rnn_tanh's gradient should die out faster", decay)
PY

# ---- the report in a browser ----
"$RECUR" report run-rnn_tanh run-lstm -o report.html
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,4000 \
  --enable-logging=stderr --v=0 --virtual-time-budget=2000 --dump-dom "file://$PWD/report.html" \
  > dom.html 2> browser.log || fail "chromium could not load the report: $(tail -5 browser.log)"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,4000 \
  --screenshot="$PWD/shot.png" "file://$PWD/report.html" > /dev/null 2>> browser.log
grep -E "CONSOLE|Refused to|net::ERR" browser.log && fail "the page logged a console error or a blocked request"
# the same check catches a page that reaches outside or runs a script (so it can fail)
sed 's|<h1>|<img src="http://example.com/x.png"><script>console.error(1)</script><h1>|' report.html > bad.html
chromium --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 --virtual-time-budget=2000 \
  --dump-dom "file://$PWD/bad.html" > /dev/null 2> bad.log || true
grep -qE "CONSOLE|Refused to|net::ERR" bad.log || fail "the browser check does not see an outside request"
python3 - dom.html shot.png run-rnn_tanh run-lstm <<'PY'
import json, re, struct, sys, zlib
dom = open(sys.argv[1]).read()
assert "<script" not in dom and "http://" not in dom.replace('xmlns="http://www.w3.org/2000/svg"', ""), "a script or an outside link"
# every path: its points are the lines its run logged
paths = re.findall(r'<path class="line[^"]*" stroke="[^"]*" data-run="([^"]*)" data-series="([^"]*)" data-points="(\d+)" d="([^"]*)"', dom)
assert paths, "no curves in the page"
for run in sys.argv[3:]:
    lines = [json.loads(l) for l in open(run + "/metrics.jsonl")]
    want = {"train_loss": sum("loss" in l for l in lines), "val_loss": sum("val_loss" in l for l in lines),
            "lr": sum("lr" in l for l in lines), "tokens_per_s": sum("tokens_per_s" in l for l in lines)}
    for name, n in want.items():
        got = [p for p in paths if p[0] == run and p[1] == name]
        assert got, (run, name)
        for p in got:
            pts = len(re.findall(r"[ML]", p[3]))
            assert pts == n == int(p[2]), (run, name, pts, p[2], n)
        print(f"{run} {name}: {n} points drawn")
assert dom.count('class="heat"') >= 2, "gradient-flow heat maps missing"
assert "resume" in dom and 'class="resume"' in dom, "the resumption is not marked"
assert "Samples during training" in dom and "world_size" in dom and "hostname" in dom
# the screenshot: a PNG with something drawn on it (not one colour)
png = open(sys.argv[2], "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", png[16:24])
idat, i = b"", 8
while i < len(png):
    n, kind = struct.unpack(">I4s", png[i:i + 8])
    if kind == b"IDAT":
        idat += png[i + 8:i + 8 + n]
    i += 12 + n
raw = zlib.decompress(idat)
assert len(set(raw[: len(raw) // 2])) > 20, "the screenshot is blank"
print(f"screenshot {w}x{h}, {len(set(raw))} distinct byte values")
PY

# ---- layout at 1,400 px: five runs with long names, an unbroken sample line, a classifier ----
long=run-lstm-with-a-long-name-that-says-what-this-run-tried-and-why
for i in 1 2 3 4 5; do cp -r run-lstm "$long-$i"; done
python3 -c "import json; print(json.dumps({'step': 70, 'sample': 'x' * 5000}))" >> "$long-1/metrics.jsonl"
python3 -c "
import random
r = random.Random(3)
print('\n'.join(c + '\t' + c * r.randint(1, 5) + ''.join(r.choice('xyz') for _ in range(9)) for c in r.choices('abc', k=400)))" > cls.txt
"$RECUR" prepare cls.txt -o cls.h5 --task classify --val 0.2 --quiet
"$RECUR" train --data cls.h5 --out cls --layers 1 --hidden 16 --embed 8 --batch 16 --steps 40 --eval-every 20 --quiet
"$RECUR" report "$long"-{1,2,3,4,5} cls -o five.html > /dev/null
# measured by a script added to a copy (the report itself allows none): the page's width, each
# chart's box, the widest <pre>
python3 - five.html > five-measured.html <<'PY'
import re, sys
page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", open(sys.argv[1]).read())
print(page.replace("</body>", """<script>
const r = e => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
document.body.dataset.layout = JSON.stringify({width: document.documentElement.scrollWidth,
  charts: [...document.querySelectorAll("figure")].map(r),
  pre: Math.max(...[...document.querySelectorAll("pre")].map(e => r(e)[2]))});
</script></body>"""))
PY
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,4000 \
  --virtual-time-budget=2000 --dump-dom "file://$PWD/five-measured.html" > five-dom.html 2> browser.log ||
  fail "chromium could not load the five-run report: $(tail -5 browser.log)"
python3 - five-dom.html five.html <<'PY'
import html, json, re, sys
dom, page = open(sys.argv[1]).read(), open(sys.argv[2]).read()
m = re.search(r'data-layout="([^"]*)"', dom)
assert m, "the measuring script did not run"
lay = json.loads(html.unescape(m.group(1)))
assert lay["width"] <= 1400, ("the page is wider than the window", lay["width"])
assert lay["pre"] <= 1400, ("a sample line runs off the page", lay["pre"])
boxes = lay["charts"]
for i, a in enumerate(boxes):
    assert a[2] <= 1400, ("a figure is cut at the right", a)
    for b in boxes[i + 1:]:  # no two figures overlap
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], ("figures overlap", a, b)
# the legend tells train (solid) from validation (dashed); the confusion matrix has its values
# and the columns' names; a language model's options table lists no other task's flags
assert 'stroke-dasharray="5 2"' in page, "the legend does not draw validation dashed"
conf = re.search(r'<svg[^>]*id="confusion".*?</svg>', page, re.S).group(0)
assert len(re.findall(r'class="cell"', conf)) == 9, "the confusion matrix shows no values"
assert all(re.search(r'class="xtick">%s<' % c, conf) for c in "abc"), "the confusion columns are not named"
runs = page.split("<h2>Runs: options")[1]
first = runs.split("<h3>")[1]
assert "--loss" not in first and "--horizon" not in first, "a language model's options list forecast flags"
assert "at their defaults" in first
print(f"layout at 1,400 px: page {lay['width']} px wide, {len(boxes)} figures without overlap")
PY

# ---- reports of runs with little or nothing in them ----
mkdir -p empty && : > empty/metrics.jsonl
"$RECUR" report empty 2> err.txt > /dev/null || fail "a run with zero steps: exit non-zero"
grep -q "no training steps logged yet" err.txt || fail "zero steps not said: $(cat err.txt)"
grep -q "no training steps logged yet" empty/report.html || fail "the page does not say the run is empty"
mkdir -p valonly && grep '"val_loss"' run-lstm/metrics.jsonl > valonly/metrics.jsonl
"$RECUR" report valonly -o valonly.html > /dev/null || fail "a run with validation rows alone"
grep -q 'data-series="val_loss"' valonly.html || fail "validation rows alone are not drawn"
mkdir -p notarun
expect_fail "not a run directory: it has no metrics.jsonl (notarun)" "$RECUR" report notarun
expect_fail "cannot open: No such file or directory (nosuch)" "$RECUR" report nosuch
printf '{"step":1,"loss":2\n' > valonly/metrics.jsonl # a line cut short by a crash
"$RECUR" report valonly -o cut.html 2> err.txt > /dev/null || fail "a cut line ended the report"
grep -q "1 of 1 lines unreadable" err.txt || fail "the cut line is not said: $(cat err.txt)"
echo "report: ok"
