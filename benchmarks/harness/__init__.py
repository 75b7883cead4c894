"""The benchmark harness: datasets, methods, isolated runs, scoring, results and scaling.

One module per job: :mod:`.datasets` (tables, split, public metadata), :mod:`.methods` (what can
run and how), :mod:`.venvs` (peer environments), :mod:`.runner` (one capped process per run,
peak memory), :mod:`.suite` (the loop), :mod:`.scoring` (tabsynth's report on every output),
:mod:`.results` and :mod:`.plots` (files), :mod:`.scaling` (cost against table size).
"""
