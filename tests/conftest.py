"""Shared fixtures: real SQLite and PostgreSQL databases, one fresh schema per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from netmon.config import Config, load_config
from netmon.inventory import schema
from netmon.inventory.store import Store

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config" / "netmon.example.yaml"
EXAMPLE_INVENTORY = ROOT / "config" / "inventory.example.yaml"
PG_URL = os.environ.get("NETMON_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def example_config() -> Config:
    return load_config(EXAMPLE_CONFIG, environ={})


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[sa.Engine]:
    engine = schema.create_engine(PG_URL)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable (make test starts it): {exc}")
    yield engine
    engine.dispose()


def _pg_url(pg_engine: sa.Engine) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    with pg_engine.begin() as conn:
        conn.execute(sa.text(f'create schema "{name}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{name}"
    finally:
        with pg_engine.begin() as conn:
            conn.execute(sa.text(f'drop schema "{name}" cascade'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/netmon.db"
    else:
        yield from _pg_url(request.getfixturevalue("pg_engine"))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated, empty store on each database kind."""
    engine = schema.create_engine(db_url)
    schema.upgrade(engine)
    engine.dispose()
    opened = Store.open(db_url)
    yield opened
    opened.close()
