#!/usr/bin/env bash
# Classification data from Debian's `fortunes` package: one line per fortune,
# "TOPIC<TAB>text" where TOPIC is the fortune file it comes from (newlines become spaces).
#   datasets/fortune-topics.sh OUT.txt [TOPIC...]      (default topics below)
set -euo pipefail
out=${1:?usage: datasets/fortune-topics.sh OUT.txt [TOPIC...]}
shift
topics=("$@")
[ ${#topics[@]} -gt 0 ] || topics=(computers food literature love science sports)
dir=/usr/share/games/fortunes
python3 - "$out" "$dir" "${topics[@]}" <<'PY'
import sys
out, d, topics = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(out, "w", encoding="utf-8") as f:
    for t in topics:
        text = open(f"{d}/{t}", encoding="utf-8", errors="replace").read()
        for doc in text.split("\n%\n"):
            doc = " ".join(doc.replace("\t", " ").split())
            if len(doc) >= 8:
                f.write(f"{t}\t{doc[:400]}\n")
PY
echo "wrote $out: $(wc -l < "$out") fortunes from ${#topics[@]} topics"
