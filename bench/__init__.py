"""kurator-py benchmarks: ``make bench`` runs ``python -m bench`` from the repository root.

A plain script (not pytest). See ``bench/README.md`` for what each scenario measures.
"""
