"""``sensa-db benchmark``: the schema under a realistic load, measured.

It builds its own database from the extensions template, migrates it with
``alembic upgrade head``, loads a generated data set through the models' own
tables (staged with COPY, inserted under row-level security and every
trigger), builds the HNSW indexes, then measures latency, vector-search recall,
the cost of row-level security and migration time, and writes JSON, markdown
and a plot. numpy and matplotlib (the ``bench`` extra) are imported by the
modules that need them, never by ``sensa_db`` itself.

Modules: ``scale`` (the sizes), ``dataset`` (the generated rows and
embeddings), ``loading`` (staging, the load, the index builds), ``timing``
(percentiles), ``workloads`` (the measurements), ``report`` (JSON, markdown,
PNG) and ``runner`` (the database's lifecycle and the order of it all).
"""
