"""Alembic migrations of the netmon database, run by `netmon db upgrade`."""
