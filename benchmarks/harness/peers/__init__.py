"""Scripts run INSIDE a peer's venv (or tabsynth's, for :mod:`.tabsynth_run`), one per library.

They share nothing with the harness but files: a JSON *spec* in (training parquet, rows to
sample, ε, the library's options), a parquet of synthetic rows and a JSON *result* (timings,
the exact configuration used, the library's versions and what it reports of its privacy) out.
They import only their own library and :mod:`.common`, because a peer venv has no tabsynth.
"""
