"""`netmon discover` refuses what it must not sweep, before any packet and before the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from netmon.cli import app


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "netmon.yaml"
    path.write_text(
        "database: {url: 'sqlite:///" + str(tmp_path / "never.db") + "'}\ndiscovery: {allowed: [127.0.5.0/24]}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("network", "message"),
    [
        (
            "198.20.0.0/24",
            "NETWORK 198.20.0.0/24 is outside discovery.allowed in the config, which allows 127.0.5.0/24",
        ),
        ("127.0.4.0/23", "NETWORK 127.0.4.0/23 is outside discovery.allowed"),
        ("not-a-network", "NETWORK 'not-a-network': expected a network such as 198.18.0.0/24"),
        ("127.0.0.0/12", "more than one sweep takes"),
    ],
    ids=["outside", "wider-than-allowed", "malformed", "too-large"],
)
def test_refused_with_exit_2_and_nothing_written(config: Path, tmp_path: Path, network: str, message: str) -> None:
    done = CliRunner().invoke(app, ["discover", network, "-o", str(tmp_path / "p.yaml"), "-c", str(config)])
    assert done.exit_code == 2, done.output
    assert message in done.output
    assert not (tmp_path / "never.db").exists()  # refused before the database was opened
    assert not (tmp_path / "p.yaml").exists()
