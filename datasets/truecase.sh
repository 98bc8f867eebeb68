#!/usr/bin/env bash
# Tagging data: restore the capital letters of lower-cased text. Each line of the input becomes
# "lower-cased line<TAB>tags", a tag per character: U where the original was upper case, else l.
#   datasets/truecase.sh OUT.txt [INPUT...]     (default: every topic file of the fortunes package)
set -euo pipefail
out=${1:?usage: datasets/truecase.sh OUT.txt [INPUT...]}
shift
inputs=("$@")
[ ${#inputs[@]} -gt 0 ] || mapfile -t inputs < <(find /usr/share/games/fortunes -maxdepth 1 -type f ! -name "*.*" | sort)
python3 - "$out" "${inputs[@]}" <<'PY'
import sys
with open(sys.argv[1], "w", encoding="utf-8") as f:
    for p in sys.argv[2:]:
        for line in open(p, encoding="utf-8", errors="replace"):
            line = line.rstrip("\n").replace("\t", " ")
            if len(line.strip()) < 3 or line == "%":
                continue
            low = line.lower()
            if len(low) != len(line):  # a character whose lower case is longer: skip the line
                continue
            f.write(low + "\t" + "".join("U" if c.isupper() else "l" for c in line) + "\n")
PY
echo "wrote $out: $(wc -l < "$out") lines"
