"""The benchmarks' encoder-decoder pairs: a source of 20-60 random letters and spaces, its target a
noisy copy (a prefix of it, 30% of the letters upper-cased). usage: make_pairs.py OUT [N=20000]"""
import random
import sys

r = random.Random(11)
with open(sys.argv[1], "w") as f:
    for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 20000):
        s = "".join(r.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(r.randint(20, 60)))
        t = "".join(c.upper() if r.random() < 0.3 else c for c in s[: r.randint(20, len(s))])
        f.write(s + "\t" + t + "\n")
