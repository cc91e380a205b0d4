"""The XLSX evidence names each maintenance window of the period: who made it and why (issue 14).

An API window is made through the real API by a write token; a config window comes from the
config file; `netmon export indicators` writes the workbook, read back with openpyxl.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
from openpyxl import load_workbook
from typer.testing import CliRunner

from netmon.cli import app
from netmon.indicators.xlsx import MAINTENANCE_COLUMNS, SHEETS
from tests.monitoring import import_inventory, make_token, monitor_config, running, write_config

INVENTORY = """
units:
  - {code: P, name: Tỉnh Thử, level: province}
  - {code: P-D1, name: Huyện Một, level: district, parent: P}
  - {code: P-W1, name: Xã Một, level: ward, parent: P-D1}
devices:
  - {name: p-r1, unit: P, role: router, address: 198.51.100.1}
  - {name: w1-r1, unit: P-W1, role: router, address: 198.51.100.2, parent: p-r1}
"""
CONFIG_WINDOW = {
    "name": "bảo dưỡng nguồn",
    "objects": ["device:p-r1"],
    "start": "2026-03-20T22:00:00+07:00",
    "end": "2026-03-21T02:00:00+07:00",
    "reason": "thay UPS",
}
#: Texts that a spreadsheet would run as formulas, were they not text cells.
API_WINDOW = {
    "name": '=HYPERLINK("http://198.51.100.9","thay router")',
    "objects": ["unit:P-W1", "device:p-r1"],
    "starts_at": "2026-03-10T08:00:00+07:00",
    "ends_at": "2026-03-10T12:00:00+07:00",
    "reason": "=1+1 router hỏng",
}


def _maintenance_rows(path: Path) -> list[list[Any]]:
    book = load_workbook(path)
    sheet = book[SHEETS["maintenance"]]
    assert [c.value for c in sheet[2]] == [header for header, _ in MAINTENANCE_COLUMNS]
    rows = list(sheet.iter_rows(min_row=3))
    for row in rows:
        assert all(c.data_type == "s" for c in row if c.value is not None)  # text cells: never a formula
    return [[c.value for c in row] for row in rows]


def _export(config: Path, period: str, out: Path) -> None:
    args = ["export", "indicators", "-p", period, "-o", str(out), "-c", str(config)]
    result = CliRunner().invoke(app, args, env={"NETMON_CONFIG": None})
    assert result.exit_code == 0, result.output


async def test_the_xlsx_lists_the_windows_of_the_period_with_author_and_reason(db_url: str, tmp_path: Path) -> None:
    import_inventory(db_url, INVENTORY, tmp_path, {})
    config = monitor_config(db_url, {}, maintenance=[CONFIG_WINDOW])
    async with running(config) as daemon:
        assert daemon.http is not None
        token = make_token(daemon, "write", "ops-binh")
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
            session.post(
                f"{daemon.http.url}/api/v1/maintenance", json=API_WINDOW, headers={"Authorization": f"Bearer {token}"}
            ) as reply,
        ):
            assert reply.status == 201, await reply.text()
            stored = json.loads(await reply.text())
    assert (stored["author"], stored["reason"]) == ("token:ops-binh", "=1+1 router hỏng")
    path = write_config(config, tmp_path / "netmon.yaml")

    _export(path, "2026-03", tmp_path / "march.xlsx")
    assert _maintenance_rows(tmp_path / "march.xlsx") == [
        [
            "bảo dưỡng nguồn",
            "device:p-r1",
            "2026-03-20 22:00 Asia/Ho_Chi_Minh",
            "2026-03-21 02:00 Asia/Ho_Chi_Minh",
            "config",
            "thay UPS",
        ],
        [
            '=HYPERLINK("http://198.51.100.9","thay router")',
            "unit:P-W1, device:p-r1",
            "2026-03-10 08:00 Asia/Ho_Chi_Minh",
            "2026-03-10 12:00 Asia/Ho_Chi_Minh",
            "token:ops-binh",
            "=1+1 router hỏng",
        ],
    ]
    _export(path, "2026-05", tmp_path / "may.xlsx")
    assert _maintenance_rows(tmp_path / "may.xlsx") == []  # neither window overlaps May
