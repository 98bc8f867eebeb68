# Paths longer than any fixed buffer recur once had (1,100+ bytes): data, run and checkpoint
# directories deep in a tree; prepare, train, checkpoint, resume, inspect, sample and eval all
# work, and every file lands where asked (no path cut short).
source "$(dirname "$0")/../lib.sh"
seg=$(printf 'd%.0s' $(seq 200))
deep=$PWD/$seg/$seg/$seg/$seg/$seg/$seg
mkdir -p "$deep"
[ ${#deep} -gt 1100 ] || fail "test path too short (${#deep})"
python3 -c "
import random
r = random.Random(4)
w = 'alpha beta gamma delta epsilon zeta eta theta'.split()
print('\n'.join(' '.join(r.choice(w) for _ in range(r.randint(2, 9))) for _ in range(800)))" > "$deep/text.txt"
"$RECUR" prepare "$deep/text.txt" -o "$deep/data.h5" --split-on line --val 0.1 --quiet
[ -f "$deep/data.h5" ] || fail "dataset not at its long path"
args=(--data "$deep/data.h5" --cell gru --layers 1 --hidden 16 --embed 8 --batch 4 --seq-len 16 --ckpt-every 5 --quiet)
mpirun -np 2 "$RECUR" train "${args[@]}" --steps 10 --out "$deep/run"
[ -f "$deep/run/checkpoints/step-00000010/COMMIT" ] || fail "checkpoint not at its long path"
[ -f "$deep/run/model.h5" ] || fail "model.h5 not at its long path"
mpirun -np 2 "$RECUR" train --resume "$deep/run" --steps 15
[ -f "$deep/run/checkpoints/step-00000015/COMMIT" ] || fail "resumed checkpoint not at its long path"
"$RECUR" inspect "$deep/run/checkpoints/step-00000015" > insp.txt || fail "inspect of a long checkpoint path"
grep -q "complete and valid" insp.txt || fail "inspect: $(head -2 insp.txt)"
"$RECUR" sample "$deep/run" --length 10 > /dev/null || fail "sample from a long run path"
"$RECUR" eval "$deep/run" --data "$deep/data.h5" > /dev/null || fail "eval with long paths"
"$RECUR" prepare "$deep/text.txt" -o "$deep/sharded.h5" --split-on line --shard-tokens 2000 --quiet
"$RECUR" inspect "$deep/sharded.h5" > /dev/null || fail "sharded dataset at a long path"
echo "long paths (${#deep} bytes): ok"
