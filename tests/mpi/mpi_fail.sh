# One rank fails (here through a test hook, as a rank that cannot read its data would): the whole
# job ends within seconds with that rank's message and a non-zero exit; no rank hangs.
source "$(dirname "$0")/../lib.sh"
MPIRUN=${MPIRUN:-mpirun}
seq 1 3000 | sed 's/^/some line /' > text.txt
"$RECUR" prepare text.txt -o d.h5 --quiet
start=$(date +%s)
expect_fail "[rank 1] recur: error: test hook: rank 1 fails at step 3" \
  timeout 60 $MPIRUN -np 2 -x RECUR_TEST_FAIL_RANK=1 -x RECUR_TEST_FAIL_STEP=3 "$RECUR" train --data d.h5 --out r --hidden 16 --layers 1 --batch 4 --seq-len 20 --steps 50 --quiet
took=$(( $(date +%s) - start ))
[ "$took" -lt 30 ] || fail "the job took ${took}s to end"
# a rank that finds a damaged token mid-run
ntok=$("$RECUR" inspect d.h5 --json | python3 -c "import json,sys; print(json.load(sys.stdin)['splits']['train']['tokens'])")
# stream 1 (read by rank 1) starts at (ntok - 1) / 4
cp d.h5 bad.h5 && "$H5TOOL" set-token bad.h5 train $(( (ntok - 1) / 4 + 30 )) 200
expect_fail "[rank 1] recur: error: token id 200" timeout 60 $MPIRUN -np 2 "$RECUR" train --data bad.h5 --out r2 --hidden 16 --layers 1 --batch 4 --seq-len 20 --steps 50 --quiet
took=$(( $(date +%s) - start ))
[ "$took" -lt 60 ] || fail "the job took ${took}s to end"
echo "rank failure: ok (${took}s)"
