#!/usr/bin/env bash
# Sequence-to-sequence data: dates written the ways people write them, each with its ISO 8601 form,
# one pair per line as "written<TAB>YYYY-MM-DD" (for `recur prepare --task seq2seq`). Generated
# from a seed, so every machine makes the same file.
#   datasets/dates.sh OUT.txt [N] [SEED]        (default 50000 lines, seed 1)
set -euo pipefail
out=${1:?usage: datasets/dates.sh OUT.txt [N] [SEED]}
python3 - "$out" "${2:-50000}" "${3:-1}" <<'PY'
import datetime, random, sys
out, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
def ordinal(d):
    return f"{d}{'th' if 10 <= d % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(d % 10, 'th')}"
forms = [
    lambda t: f"{months[t.month - 1]} {t.day}, {t.year}",
    lambda t: f"{t.day} {months[t.month - 1]} {t.year}",
    lambda t: f"{months[t.month - 1][:3]} {t.day} {t.year}",
    lambda t: f"{t.day} {months[t.month - 1][:3].lower()} {t.year}",
    lambda t: f"{days[t.weekday()]}, {months[t.month - 1]} {ordinal(t.day)}, {t.year}",
    lambda t: f"the {ordinal(t.day)} of {months[t.month - 1]} {t.year}",
    lambda t: f"{t.month}/{t.day}/{t.year}",
    lambda t: f"{t.day:02d}.{t.month:02d}.{t.year}",
    lambda t: f"{t.year}/{t.month:02d}/{t.day:02d}",
    lambda t: f"{months[t.month - 1].upper()} {t.day} {t.year}",
    lambda t: f"{days[t.weekday()][:3]} {t.day} {months[t.month - 1][:3]} {t.year}",
]
lo, hi = datetime.date(1900, 1, 1).toordinal(), datetime.date(2099, 12, 31).toordinal()
with open(out, "w") as f:
    for _ in range(n):
        t = datetime.date.fromordinal(r.randint(lo, hi))
        f.write(f"{r.choice(forms)(t)}\t{t.isoformat()}\n")
PY
echo "wrote $out: $(wc -l < "$out") dates"
