#!/bin/bash
# The sample calibrator: one "solution" per subband of Input/ (the sha256 of its
# visibilities), written to Output/solutions.txt as "SB<nnn> <sha256>" lines.
set -euo pipefail
echo "cal: OBSID=$OBSID STARTSB=$STARTSB token=$TOKEN"
count=0
for ms in Input/*.MS; do
    [ -d "$ms" ] || continue
    sb=$(basename "$ms" | sed -E 's/.*_SB([0-9]+)_.*/\1/')
    sum=$(sha256sum "$ms/table.dat" | cut -d' ' -f1)
    echo "SB$sb $sum" >> Output/solutions.txt
    count=$((count + 1))
done
if [ "$count" -eq 0 ]; then
    echo "no input subbands in Input/" >&2
    exit 1
fi
echo "solved $count subbands"
