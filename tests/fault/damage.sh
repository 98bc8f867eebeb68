# Damaged files as disks and copies damage them: 80 copies each of a dataset, a model.h5 and a
# checkpoint shard, each with 16 random bytes overwritten (scattered or in a run) or truncated at a
# random length, read by inspect and by a short train (sample for a model, resume for a checkpoint):
# every case runs clean or ends with a named error; 0 crashes, 0 hangs. Files of the format before
# checksummed strings (variable-length strings in a global heap) still open.
source "$(dirname "$0")/../lib.sh"
DAMAGE="python3 $(dirname "$0")/damage.py"
N=${RECUR_DAMAGE_COPIES:-80}
python3 -c "
import random
r = random.Random(11)
w = 'the of and to in is that it was for on are as with his they at be this from'.split()
print('\n'.join(' '.join(r.choice(w) for _ in range(r.randint(2, 14))) for _ in range(3000)))" > text.txt
"$RECUR" prepare text.txt -o d.h5 --split-on line --val 0.05 --test 0.05 --quiet
small=(--cell lstm --layers 1 --hidden 16 --embed 8 --batch 4 --seq-len 20 --log-every 1 --quiet)
"$RECUR" train --data d.h5 --out run "${small[@]}" --steps 4 --ckpt-every 2
ck=run/checkpoints/step-00000002
fails=0
d() { $DAMAGE --copies "$N" --timeout 60 "$@" || fails=$((fails + 1)); }
d --seed 1 --work w-ds-inspect d.h5 -- "$RECUR" inspect {}
d --seed 2 --work w-ds-train d.h5 -- "$RECUR" train --data {} --out {}.run "${small[@]}" --steps 3 --eval-every 3
d --seed 3 --work w-model-inspect run/model.h5 -- "$RECUR" inspect {}
d --seed 4 --work w-model-sample run/model.h5 -- "$RECUR" sample {} --length 20 --seed 1
d --seed 5 --work w-model-eval run/model.h5 -- "$RECUR" eval {} --data d.h5 --split val
d --seed 6 --work w-ckpt-inspect --dir $ck/state-rank-00000.h5 -- "$RECUR" inspect {}
d --seed 7 --work w-ckpt-resume --dir $ck/state-rank-00000.h5 -- "$RECUR" train --resume {} --out {}/run --steps 3
d --seed 8 --work w-ckptmodel-resume --dir $ck/model.h5 -- "$RECUR" train --resume {} --out {}/run --steps 3
[ "$fails" -eq 0 ] || fail "$fails damage runs had crashes, hangs or unnamed failures (see above)"

# the format before checksummed strings: variable-length strings (what h5py writes for str)
/usr/bin/python3 - <<'PY' || fail "could not write an old-format file (python3-h5py is installed by launch/test)"
import h5py, shutil
shutil.copyfile("d.h5", "old.h5")
with h5py.File("old.h5", "r+") as f:
    for k, v in list(f.attrs.items()):
        if isinstance(v, bytes):
            del f.attrs[k]; f.attrs[k] = v.decode()
    vocab = [x.decode() for x in f["vocab"][:]]
    del f["vocab"]
    f.create_dataset("vocab", data=vocab, dtype=h5py.string_dtype())
PY
h5dump -H -d vocab old.h5 | grep -q "H5T_VARIABLE" || fail "old.h5 should hold variable-length strings"
"$RECUR" inspect old.h5 > old.txt
grep -q "vocabulary" old.txt || fail "inspect of an old-format dataset"
"$RECUR" train --data old.h5 --out oldrun "${small[@]}" --steps 2
# and what recur writes now: fixed-length UTF-8 in checksummed chunks, metadata with checksums
h5dump -H -p -d vocab d.h5 | grep -q "FLETCHER32" || fail "vocab is not checksummed"
h5dump -H -A d.h5 | grep -q "H5T_VARIABLE" && fail "d.h5 still has variable-length string attributes"
echo "damage: all passed"
