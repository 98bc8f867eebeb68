# A model.h5 loads into PyTorch by name with h5py and gives the same loss as recur, for every cell.
source "$(dirname "$0")/../lib.sh"
/usr/bin/python3 -c "import torch, h5py" || fail "python3-torch and python3-h5py are needed (launch/test installs them)"
python3 -c "
import random
r = random.Random(2)
w = 'red green blue cyan magenta yellow black white'.split()
print('\n'.join(' '.join(r.choice(w) for _ in range(r.randint(1, 9))) for _ in range(600)))" > text.txt
"$RECUR" prepare text.txt -o d.h5 --split-on line --val 0.1 --quiet
models=()
for cell in lstm gru rnn_tanh rnn_relu; do
  "$RECUR" train --data d.h5 --out r-$cell --mode sequences --cell $cell --layers 2 --hidden 16 --embed 8 --batch 8 --steps 15 --quiet
  "$RECUR" eval r-$cell --data d.h5 --split val --json > ev-$cell.json
  models+=(ev-$cell.json r-$cell/model.h5)
done
/usr/bin/python3 "$(dirname "$0")/torch_parity.py" d.h5 "${models[@]}"
