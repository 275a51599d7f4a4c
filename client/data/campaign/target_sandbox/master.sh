#!/bin/bash
# The sample target step: reads the calibrator's results of its group (the tarballs listed
# in $AFTER_RESULTS, the token's after_results field as JSON) and applies the solution of
# each of its subbands: Output/<OBSID>_SB<nnn>.corrected.txt holds
# "SB<nnn> input=<sha256 of its visibilities> solution=<the calibrator's line>".
set -euo pipefail
echo "target: OBSID=$OBSID STARTSB=$STARTSB token=$TOKEN"
mkdir -p cal
python3 - "$AFTER_RESULTS" > cal/paths.txt <<'PY'
import json, sys
from urllib.parse import unquote, urlsplit
for url in json.loads(sys.argv[1])["cal"]:
    parts = urlsplit(url)
    if parts.scheme != "file":
        sys.exit(f"cannot read the calibrator result {url}: not a file:// URL")
    print(unquote(parts.path))
PY
while read -r path; do
    tar -xf "$path" -O solutions.txt >> cal/solutions.txt
done < cal/paths.txt
count=0
for ms in Input/*.MS; do
    [ -d "$ms" ] || continue
    sb=SB$(basename "$ms" | sed -E 's/.*_SB([0-9]+)_.*/\1/')
    solution=$(awk -v sb="$sb" '$1 == sb {print $2}' cal/solutions.txt)
    if [ -z "$solution" ]; then
        echo "no calibrator solution for $sb in $(cat cal/paths.txt)" >&2
        exit 1
    fi
    input=$(sha256sum "$ms/table.dat" | cut -d' ' -f1)
    echo "$sb input=$input solution=$solution" > "Output/${OBSID}_${sb}.corrected.txt"
    count=$((count + 1))
done
if [ "$count" -eq 0 ]; then
    echo "no input subbands in Input/" >&2
    exit 1
fi
echo "applied the calibrator's solutions to $count subbands"
