# The tree follows .clang-format (clang-format 14, installed by launch/test): lines within 100
# columns, one style. Fix with: clang-format -i $(git ls-files 'src/*.[ch]' 'include/*.h' 'tests/unit/*.[ch]' 'tests/bench/*.c')
source "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
command -v clang-format > /dev/null || fail "clang-format is needed (launch/test installs it)"
cd "$top"
files=$(ls src/*/*.c src/*/*.h include/recur/*.h tests/unit/*.c tests/unit/*.h tests/bench/*.c tests/fuzz/*.[ch])
clang-format --dry-run --Werror $files 2> "$WORK/format.txt" || fail "not formatted: $(grep -c warning "$WORK/format.txt") places, first: $(head -3 "$WORK/format.txt")"
awk 'length > 100 { print FILENAME ":" FNR; bad = 1 } END { exit bad }' $files || fail "lines over 100 columns"
echo "format: $(echo $files | wc -w) files follow .clang-format"
