#!/usr/bin/env bash
# Seed corpora for the fuzz harnesses, from real files recur writes: seeds.sh RECUR OUTDIR
set -euo pipefail
R=$1
out=$2
rm -rf "$out" && mkdir -p "$out"/{json,opts,tokenize,dataset,model,ckpt} && cd "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
python3 - <<'PY'
import random
r = random.Random(3)
w = "the cat sat on a mat and then it ran far away from home while dogs slept".split()
open("text.txt", "w").write("".join(" ".join(r.choice(w) for _ in range(r.randint(3, 12))) + "\n" for _ in range(300)))
open("cls.txt", "w").write("".join(r.choice(["a", "b"]) + "\t" + " ".join(r.choice(w) for _ in range(5)) + "\n" for _ in range(60)))
open("tag.txt", "w").write("".join(l + "\t" + "".join("U" if c in "aeiou" else "l" for c in l) + "\n" for l in ["hello world", "the cat"] * 20))
open("pairs.txt", "w").write("".join(s + "\t" + s[::-1] + "\n" for s in (" ".join(r.choice(w) for _ in range(3)) for _ in range(60))))
open("real.csv", "w").write("a,b\n" + "".join(f"{i * 0.5},{-i}\n" + ("\n" if i % 7 == 6 else "") for i in range(40)))
open("rcls.csv", "w").write("a,k,b\n" + "".join(f"{i * 0.5},{'xy'[i // 7 % 2]},{-i}\n" + ("\n" if i % 7 == 6 else "") for i in range(42)))
open("ids.txt", "w").write("".join(f"i{k}\t" + " ".join(r.choice(w) for _ in range(4)) + "\n" for k in range(40)))
open("vec.csv", "w").write("id,p,q\n" + "".join(f"i{k},{r.random():.3f},{r.random():.3f}\n" for k in range(40) for _ in range(1 + k % 3)))
open("vec1.csv", "w").write("id,p,q\n" + "".join(f"i{k},{r.random():.3f},{r.random():.3f}\n" for k in range(40)))
open("utf8.txt", "w", encoding="utf-8").write("caf\u00e9 \u00fcber na\u00efve \u2014 \U0001F600 text\n" * 20)
PY
"$R" prepare text.txt -o dataset/char.h5 --split-on line --val 0.1 --quiet
"$R" prepare text.txt -o dataset/word.h5 --level word --split-on line --val 0.1 --quiet
"$R" prepare text.txt -o dataset/byte.h5 --level byte --quiet
"$R" prepare cls.txt -o dataset/cls.h5 --task classify --val 0.2 --quiet
"$R" prepare tag.txt -o dataset/tag.h5 --task tag --quiet
"$R" prepare cls.txt -o dataset/condlm.h5 --task condlm --quiet
"$R" prepare pairs.txt -o dataset/seq2seq.h5 --task seq2seq --val 0.2 --quiet
"$R" prepare real.csv -o dataset/real.h5 --level real --val 0.2 --quiet
"$R" prepare rcls.csv -o dataset/real-cls.h5 --level real --label-column k --val 0.2 --quiet
"$R" prepare rcls.csv -o dataset/real-tag.h5 --level real --tag-column k --val 0.2 --quiet
"$R" prepare ids.txt -o dataset/condvec.h5 --task condlm --cond-features vec1.csv --val 0.2 --quiet
"$R" prepare ids.txt -o dataset/s2s-frames.h5 --task seq2seq --cond-features vec.csv --val 0.2 --quiet
"$R" prepare text.txt -o sh.h5 --split-on line --shard-tokens 2000 --quiet
cp sh.h5 dataset/index.h5
"$R" train --data dataset/char.h5 --out run --hidden 8 --embed 4 --layers 1 --batch 4 --seq-len 10 \
  --steps 2 --ckpt-every 1 --eval-every 1 --log-every 1 --sample-len 10 --quiet
cp run/model.h5 model/lstm.h5
"$R" train --data dataset/cls.h5 --out runc --task classify --mode sequences --bidirectional --cell gru \
  --hidden 8 --embed 4 --layers 1 --batch 4 --steps 1 --quiet
cp runc/model.h5 model/gru-bi.h5
"$R" train --data dataset/condlm.h5 --out runl --task condlm --cond-input --cond-dim 3 --mode sequences \
  --cell lstm --hidden 8 --embed 4 --layers 1 --batch 4 --steps 1 --quiet
cp runl/model.h5 model/condlm.h5
"$R" train --data dataset/word.h5 --out runa --softmax adaptive --cutoffs 4,10 --div-value 2 --mode sequences \
  --hidden 8 --embed 4 --layers 1 --batch 4 --steps 1 --quiet
cp runa/model.h5 model/adaptive.h5
"$R" train --data dataset/seq2seq.h5 --out runs --task seq2seq --bidirectional --attention concat --mode sequences \
  --cell gru --hidden 8 --embed 4 --layers 1 --batch 4 --steps 1 --quiet
cp runs/model.h5 model/seq2seq.h5
"$R" train --data dataset/s2s-frames.h5 --out runf --attention general --hidden 8 --embed 4 --layers 1 --batch 4 \
  --steps 1 --quiet
cp runf/model.h5 model/seq2seq-frames.h5
"$R" train --data dataset/condvec.h5 --out runv --cond-input --hidden 8 --embed 4 --layers 1 --batch 4 --steps 1 --quiet
cp runv/model.h5 model/condvec.h5
mkdir -p ckpt-template && cp run/checkpoints/step-00000002/{model.h5,COMMIT,state-rank-00000.h5} ckpt-template/
{ printf '\0'; cat ckpt-template/COMMIT; } > ckpt/commit
{ printf '\1'; cat ckpt-template/state-rank-00000.h5; } > ckpt/shard
i=0; while IFS= read -r line; do i=$((i + 1)); printf '%s' "$line" > json/line-$i; done < run/metrics.jsonl
"$R" inspect dataset/char.h5 --json > json/inspect
printf -- '--cell\ngru\n--hidden=32\n--lr\n0.001\n--schedule\ncosine\n' > opts/argv
printf -- '--cell gru\n--layers 2\n--lr 0.002\n--scheduled-sampling linear\n' > opts/saved
printf '\0hello bytes\xff\x00' > tokenize/byte
{ printf '\1'; cat utf8.txt; } > tokenize/char
{ printf '\2'; head -5 text.txt; } > tokenize/word
