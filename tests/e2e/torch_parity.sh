# A model.h5 loads into PyTorch by name with h5py and gives the same loss as recur: language
# models of every cell, bidirectional taggers and classifiers, label-conditioned language models
# (with and without --cond-input), and encoder-decoders (--task seq2seq).
source "$(dirname "$0")/../lib.sh"
/usr/bin/python3 -c "import torch, h5py" || fail "python3-torch and python3-h5py are needed (launch/test installs them)"
python3 -c "
import random
r = random.Random(2)
w = 'red green blue cyan magenta yellow black white'.split()
lines = [' '.join(r.choice(w) for _ in range(r.randint(1, 9))) for _ in range(600)]
open('text.txt', 'w').write('\n'.join(lines) + '\n')
open('tag.txt', 'w').write(''.join(l + '\t' + ''.join('U' if c in 'aeiou' else 'l' for c in l) + '\n' for l in lines))
open('cls.txt', 'w').write(''.join(l.split()[0] + '\t' + l + '\n' for l in lines))
open('cond.txt', 'w').write(''.join(l.split()[-1] + '\t' + l + '\n' for l in lines))"
"$RECUR" prepare text.txt -o d.h5 --split-on line --val 0.1 --quiet
"$RECUR" prepare tag.txt -o tag.h5 --task tag --val 0.1 --quiet
"$RECUR" prepare cls.txt -o cls.h5 --task classify --val 0.1 --quiet
models=()
for cell in lstm gru rnn_tanh rnn_relu; do
  "$RECUR" train --data d.h5 --out r-$cell --mode sequences --cell $cell --layers 2 --hidden 16 --embed 8 --batch 8 --steps 15 --quiet
  "$RECUR" eval r-$cell --data d.h5 --split val --json > ev-$cell.json
  models+=(ev-$cell.json r-$cell/model.h5)
done
# tied weights: model.h5 also holds decoder.weight (= embedding.weight), as PyTorch's state_dict
"$RECUR" train --data d.h5 --out r-tied --mode sequences --cell lstm --layers 2 --hidden 16 --embed 16 --tie-weights \
  --batch 8 --steps 15 --quiet
"$RECUR" eval r-tied --data d.h5 --split val --json > ev-tied.json
models+=(ev-tied.json r-tied/model.h5)
# LSTM projections (proj_size), also tied to the projected output
"$RECUR" train --data d.h5 --out r-proj --mode sequences --cell lstm --layers 2 --hidden 16 --proj 6 --embed 8 \
  --batch 8 --steps 15 --quiet
"$RECUR" eval r-proj --data d.h5 --split val --json > ev-proj.json
"$RECUR" train --data d.h5 --out r-projt --mode sequences --cell lstm --layers 2 --hidden 16 --proj 8 --embed 8 \
  --tie-weights --batch 8 --steps 15 --quiet
"$RECUR" eval r-projt --data d.h5 --split val --json > ev-projt.json
models+=(ev-proj.json r-proj/model.h5 ev-projt.json r-projt/model.h5)
# adaptive softmax (PyTorch's AdaptiveLogSoftmaxWithLoss as `decoder`), with and without projections
for cell in lstm gru; do
  "$RECUR" train --data d.h5 --out r-asm-$cell --mode sequences --cell $cell --layers 2 --hidden 16 --embed 8 \
    --softmax adaptive --cutoffs 4,10 --div-value 2 --batch 8 --steps 15 --quiet
  "$RECUR" eval r-asm-$cell --data d.h5 --split val --json > ev-asm-$cell.json
  models+=(ev-asm-$cell.json r-asm-$cell/model.h5)
done
"$RECUR" train --data d.h5 --out r-asm-proj --mode sequences --cell lstm --layers 1 --hidden 16 --proj 8 --embed 8 \
  --softmax adaptive --cutoffs 6 --batch 8 --steps 15 --quiet
"$RECUR" eval r-asm-proj --data d.h5 --split val --json > ev-asm-proj.json
models+=(ev-asm-proj.json r-asm-proj/model.h5)
groups=(d.h5 "${models[@]}")
for t in tag classify; do
  data=$t.h5; [ $t = classify ] && data=cls.h5
  models=()
  for cell in lstm gru; do
    "$RECUR" train --data $data --out $t-$cell --task $t --bidirectional --mode sequences --cell $cell --layers 2 --hidden 16 --embed 8 --batch 8 --steps 15 --quiet
    "$RECUR" eval $t-$cell --data $data --split val --json > ev-$t-$cell.json
    models+=(ev-$t-$cell.json $t-$cell/model.h5)
  done
  "$RECUR" train --data $data --out $t-proj --task $t --bidirectional --mode sequences --cell lstm --layers 2 --hidden 16 \
    --proj 5 --embed 8 --batch 8 --steps 15 --quiet
  "$RECUR" eval $t-proj --data $data --split val --json > ev-$t-proj.json
  models+=(ev-$t-proj.json $t-proj/model.h5)
  groups+=(-- $data "${models[@]}")
done
"$RECUR" prepare cond.txt -o cond.h5 --task condlm --val 0.1 --quiet
models=()
for cell in lstm gru rnn_tanh; do
  for ci in "" --cond-input; do
    "$RECUR" train --data cond.h5 --out c-$cell$ci --task condlm $ci --cond-dim 6 --mode sequences --cell $cell --layers 2 \
      --hidden 16 --embed 8 --batch 8 --steps 15 --quiet
    "$RECUR" eval c-$cell$ci --data cond.h5 --split val --json > ev-c-$cell$ci.json
    models+=(ev-c-$cell$ci.json c-$cell$ci/model.h5)
  done
done
groups+=(-- cond.h5 "${models[@]}")
# condlm on a vector per sequence (prepare --cond-features): normalised by cond.mean/cond.std
python3 -c "
import random
r = random.Random(6)
open('vec.csv', 'w').write('id,a,b,c\n' + ''.join(f'v{i},{r.gauss(3, 2):.4f},{r.random():.4f},{r.gauss(0, 9):.4f}\n' for i in range(300)))
open('vec.txt', 'w').write(''.join(f'v{i}\t' + ''.join(r.choice('xyz ') for _ in range(r.randint(1, 12))) + '\n' for i in range(300)))"
"$RECUR" prepare vec.txt -o vec.h5 --task condlm --cond-features vec.csv --val 0.1 --quiet
models=()
for ci in "" --cond-input; do
  "$RECUR" train --data vec.h5 --out v-lstm$ci $ci --cell lstm --layers 2 --hidden 16 --embed 8 --batch 8 --steps 15 --quiet
  "$RECUR" eval v-lstm$ci --data vec.h5 --split val --json > ev-v-lstm$ci.json
  models+=(ev-v-lstm$ci.json v-lstm$ci/model.h5)
done
groups+=(-- vec.h5 "${models[@]}")
# encoder-decoder: encoder.* -> final states -> decoder.* (decoder.out is the readout)
python3 -c "
import random
r = random.Random(4)
lines = [''.join(r.choice('abcdef') for _ in range(r.randint(1, 9))) for _ in range(400)]
open('s2s.txt', 'w').write(''.join(l + '\t' + l[::-1] + l[0] + '\n' for l in lines))"
"$RECUR" prepare s2s.txt -o s2s.h5 --task seq2seq --val 0.1 --quiet
models=()
for cell in lstm gru rnn_tanh rnn_relu; do
  "$RECUR" train --data s2s.h5 --out s-$cell --task seq2seq --mode sequences --cell $cell --layers 2 --hidden 16 --embed 8 \
    --batch 8 --steps 15 --quiet
  "$RECUR" eval s-$cell --data s2s.h5 --split val --json > ev-s-$cell.json
  models+=(ev-s-$cell.json s-$cell/model.h5)
done
for at in dot general concat; do
  for cell in lstm gru; do
    "$RECUR" train --data s2s.h5 --out s-$at-$cell --task seq2seq --attention $at --mode sequences --cell $cell --layers 2 \
      --hidden 16 --embed 8 --batch 8 --steps 15 --quiet
    "$RECUR" eval s-$at-$cell --data s2s.h5 --split val --json > ev-s-$at-$cell.json
    models+=(ev-s-$at-$cell.json s-$at-$cell/model.h5)
  done
done
# input feeding: the decoder step by step, h~ of each step in the next one's input
models=()
for spec in "lstm dot" "gru general" "rnn_tanh concat"; do
  set -- $spec
  "$RECUR" train --data s2s.h5 --out s-feed-$1 --task seq2seq --attention $2 --input-feed --mode sequences --cell $1 \
    --layers 2 --hidden 16 --embed 8 --batch 8 --steps 15 --quiet
  "$RECUR" eval s-feed-$1 --data s2s.h5 --split val --json > ev-s-feed-$1.json
  models+=(ev-s-feed-$1.json s-feed-$1/model.h5)
done
"$RECUR" train --data s2s.h5 --out s-feed-bi --task seq2seq --bidirectional --attention general --input-feed --mode sequences \
  --cell lstm --layers 1 --hidden 16 --embed 8 --batch 8 --steps 15 --quiet
"$RECUR" eval s-feed-bi --data s2s.h5 --split val --json > ev-s-feed-bi.json
models+=(ev-s-feed-bi.json s-feed-bi/model.h5)
groups+=(-- s2s.h5 "${models[@]}")
# sources of frames (prepare --cond-features): encoder.input (normalised by cond.mean/cond.std)
python3 -c "
import random
r = random.Random(7)
open('sfr.txt', 'w').write(''.join(f's{i}\t' + ''.join(r.choice('abc') for _ in range(r.randint(1, 6))) + '\n' for i in range(300)))
open('sfr.csv', 'w').write('id,p,q\n' + ''.join(f's{i},{r.gauss(1, 2):.4f},{r.gauss(-3, .5):.4f}\n' for i in range(300) for _ in range(r.randint(1, 5))))"
"$RECUR" prepare sfr.txt -o sfr.h5 --task seq2seq --cond-features sfr.csv --val 0.1 --quiet
fmodels=()
for at in none general; do
  "$RECUR" train --data sfr.h5 --out f-$at --attention $at --bidirectional --cell gru --layers 2 --hidden 16 --embed 8 \
    --batch 8 --steps 15 --quiet
  "$RECUR" eval f-$at --data sfr.h5 --split val --json > ev-f-$at.json
  fmodels+=(ev-f-$at.json f-$at/model.h5)
done
groups+=(-- sfr.h5 "${fmodels[@]}")
# --separate-vocab: the encoder's embedding over the sources' own vocabulary (word level)
python3 -c "
import random
r = random.Random(5)
n = 'zero one two three four five six seven eight nine'.split()
open('num.txt', 'w').write(''.join(' '.join(n[int(d)] for d in s) + '\t' + ' '.join(s) + '\n'
    for s in (str(r.randint(0, 99999)) for _ in range(400))))"
"$RECUR" prepare num.txt -o num.h5 --task seq2seq --level word --separate-vocab --val 0.1 --quiet
"$RECUR" train --data num.h5 --out s-sep --task seq2seq --attention general --mode sequences --cell gru --layers 1 \
  --hidden 16 --embed 8 --batch 8 --steps 15 --quiet
"$RECUR" eval s-sep --data num.h5 --split val --json > ev-s-sep.json
"$RECUR" train --data num.h5 --out s-mlp --task seq2seq --attention concat --readout-hidden 12 --mode sequences --cell lstm \
  --layers 1 --hidden 16 --embed 8 --batch 8 --steps 15 --quiet
"$RECUR" eval s-mlp --data num.h5 --split val --json > ev-s-mlp.json
groups+=(-- num.h5 ev-s-sep.json s-sep/model.h5 ev-s-mlp.json s-mlp/model.h5)
"$RECUR" train --data d.h5 --out r-mlp --mode sequences --cell gru --layers 2 --hidden 16 --embed 8 --readout-hidden 10 \
  --batch 8 --steps 15 --quiet
"$RECUR" eval r-mlp --data d.h5 --split val --json > ev-r-mlp.json
groups+=(-- d.h5 ev-r-mlp.json r-mlp/model.h5)
# a bidirectional encoder: the bridge, and attention over outputs twice the decoder's width
for spec in "lstm none" "gru none" "rnn_tanh none" "lstm general" "gru concat"; do
  set -- $spec
  "$RECUR" train --data s2s.h5 --out s-bi-$1-$2 --task seq2seq --bidirectional --attention $2 --mode sequences --cell $1 \
    --layers 2 --hidden 16 --embed 8 --batch 8 --steps 15 --quiet
  "$RECUR" eval s-bi-$1-$2 --data s2s.h5 --split val --json > ev-s-bi-$1-$2.json
  models+=(ev-s-bi-$1-$2.json s-bi-$1-$2/model.h5)
done
groups+=(-- s2s.h5 "${models[@]}")
# every group in one process (torch imported once)
/usr/bin/python3 "$(dirname "$0")/torch_parity.py" "${groups[@]}"
