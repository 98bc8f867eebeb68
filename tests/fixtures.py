"""Small synthetic corpora the tests write (each from a seeded random.Random)."""
import math


def write_cond(path, r, n, lo, hi):
    """condlm lines label<TAB>text: upper-case letters for "up", lower-case for "low"."""
    with open(path, "w") as f:
        for _ in range(n):
            lab = r.choice(["up", "low"])
            f.write(lab + "\t" + "".join(r.choice("ABCD" if lab == "up" else "abcd") for _ in range(r.randint(lo, hi))) + "\n")


def write_tag(path, r, n, lo, hi):
    """tag lines text<TAB>tags: V for a vowel, C otherwise."""
    with open(path, "w") as f:
        for _ in range(n):
            s = "".join(r.choice("aeibcd") for _ in range(r.randint(lo, hi)))
            f.write(s + "\t" + "".join("V" if c in "aei" else "C" for c in s) + "\n")


def write_sines(path, r, n, lo, hi):
    """two-feature CSV sequences (a sine and a cosine of random phase), a blank line between."""
    with open(path, "w") as f:
        f.write("a,b\n")
        for _ in range(n):
            p, k = r.random() * 6.28, r.randint(lo, hi)
            f.write("".join(f"{math.sin(p + 0.4 * t):.5f},{math.cos(p + 0.9 * t):.5f}\n" for t in range(k)) + "\n")
