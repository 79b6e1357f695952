"""Django's PostgreSQL backend with a health check that needs no round trip, a cursor that keeps
the converted form of wide statements (``base.py``), and small bulk INSERTs as VALUES
(``compiler.py``)."""
