# Resume is exact for every option of recur train, enumerated from its own table at test time
# (resume_options.py says how). Usage: resume_options.sh RECUR H5TOOL WORKDIR [NP]
source "$(dirname "$0")/../lib.sh"
python3 "$(dirname "$0")/resume_options.py" "$RECUR" "$WORK" "${4:-1}"
