#!/bin/sh
# The runs of benchmarks/audit/results.md, one after the other (about 32 minutes).
set -e
cd "$(dirname "$0")/../.."
for s in mst aim; do
  nice -n 10 python benchmarks/audit/run_worstcase.py --synthesizer $s --epsilon 1 --max-seconds 600
done
for e in 0.5 2 4; do
  for s in mst aim; do
    nice -n 10 python benchmarks/audit/run_worstcase.py --synthesizer $s --epsilon $e --max-seconds 100
  done
done
