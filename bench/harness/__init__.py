"""The benchmark harness of issue 8 (`make bench`, `python bench/run.py`).

Modules:

- ``machine``: core count, versions, the bench database (embedded PostgreSQL in a temp dir or
  ``DATABASE_URL``), a real ES256 key pair with its JWKS and the tokens signed with it.
- ``city``: seeding, registering the documents, sampling the inputs of the operations.
- ``server``: ``kaigo serve`` as a subprocess with production settings (and the layer-off variants),
  RSS per worker, a local OTLP/HTTP sink for the tracing-on runs.
- ``load``: wrk with a Lua script on loopback.
- ``floor``: the same rows through plain asyncpg, and the plans (EXPLAIN) of every statement.
- ``report``: the table on the terminal, JSON and Markdown under bench/results/.

Nothing the harness prints or writes names a person: counts, timings, ratios, plan shapes only.
"""
