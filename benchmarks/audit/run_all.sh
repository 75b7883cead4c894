#!/bin/sh
# The runs of benchmarks/audit/results.md, one after the other (about 29 minutes).
set -e
cd "$(dirname "$0")/../.."
nice -n 10 python benchmarks/audit/run_worstcase.py --synthesizer mst --epsilon 1 --max-seconds 540
nice -n 10 python benchmarks/audit/run_worstcase.py --synthesizer aim --epsilon 1 --max-seconds 300
for e in 2 4 0.5; do
  for s in mst aim; do
    nice -n 10 python benchmarks/audit/run_worstcase.py --synthesizer $s --epsilon $e --max-seconds 40
  done
done
for e in 3 1; do
  nice -n 10 python benchmarks/audit/run_worstcase.py --synthesizer dpsgd --epsilon $e --max-seconds 300
done
