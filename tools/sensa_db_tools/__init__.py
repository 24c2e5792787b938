"""The tooling around the ``sensa_db`` runtime package: what developers, CI and
deploy jobs run, never what the API or the worker import."""
