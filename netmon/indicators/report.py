"""The PDF report a Sở sends up the chain: Vietnamese with English labels, A4, drawn with matplotlib.

Pages, in order: the cover summary; coverage by level and service over the period's months; link
availability per kind, the ten worst units and outages by cause; the indicator table (a, b,
ratio, points); the evidence appendix; the accounting rules. Fonts are DejaVu Sans (shipped with
matplotlib; Debian fonts-dejavu-core), embedded as TrueType (``pdf.fonttype`` 42) so that the
diacritics survive copy and pdftotext. The file is written whole or not at all (a temporary
file renamed into place).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from netmon.indicators.report_data import COVERAGE, ReportData, evidence_lines
from netmon.indicators.row import IndicatorRow
from netmon.inventory.files import atomic_path

__all__ = ["A4_INCHES", "write_report"]

#: A4 portrait in inches (210 x 297 mm).
A4_INCHES = (8.27, 11.69)
_STYLE: dict[Any, Any] = {"font.family": "DejaVu Sans", "font.size": 9, "pdf.fonttype": 42, "axes.titlesize": 10}
_TABLE_ROWS = 42  # indicator rows per page
_TEXT_LINES = 64  # wrapped text lines per page
_LEVEL_VI = {"province": "tỉnh", "department": "sở, ngành", "district": "huyện", "commune": "xã", "all": "tất cả"}


def write_report(data: ReportData, path: Path) -> int:
    """Write the report to *path* (PDF, A4); return the number of pages.

    Raises:
        InputError: *path* is a directory or its folder cannot be written (nothing is left behind).
        NetmonError: the disk is full or failing (`output_error`).

    """
    with mpl.rc_context(_STYLE), atomic_path(path) as tmp, PdfPages(tmp, metadata=_metadata(data)) as pdf:
        for figure in _pages(data):
            pdf.savefig(figure)
        return int(pdf.get_pagecount())


def _metadata(data: ReportData) -> dict[str, Any]:
    return {
        "Title": f"Báo cáo hạ tầng số - {data.province} - {data.period.label}",
        "Subject": "netmon indicator report",
        "CreationDate": data.generated_at,
    }


def _pages(data: ReportData) -> Iterator[Figure]:
    yield _cover(data)
    yield _coverage_page(data)
    yield _charts_page(data)
    table = _table_rows(data)
    for start in range(0, max(len(table), 1), _TABLE_ROWS):
        yield _table_page(data, table[start : start + _TABLE_ROWS], first=start == 0)
    yield from _text_pages("Phụ lục: bằng chứng / Appendix: evidence", _wrap(evidence_lines(data.rollups)))
    yield from _text_pages("Quy tắc tính / Accounting rules", _rules(data))


def _page(title: str) -> Figure:
    figure = Figure(figsize=A4_INCHES)
    figure.text(0.5, 0.965, title, ha="center", va="top", fontsize=13, weight="bold")
    return figure


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f} %"


def _amount(value: float) -> str:
    """Return a or b in full, thousands apart (15 634 800, as the XLSX's #,##0), never as 1.56348e+07."""
    text = f"{value:,}" if float(value).is_integer() else f"{value:,.2f}"
    return text.replace(",", " ")


def _ratio(row: IndicatorRow) -> str:
    """Return the ratio in the unit of the row's measure: a percentage, or a number per person (3.75)."""
    if row.measure == "percent" or row.ratio is None:
        return _percent(row.ratio)
    return f"{row.ratio:.2f}"


def _span(hours: float) -> str:
    """Return a duration for people: "15 s", "4.2 min", "3.5 h"."""
    if hours * 60 < 1:
        return f"{hours * 3600:.0f} s"
    return f"{hours * 60:.1f} min" if hours < 1 else f"{hours:.1f} h"


def _cover(data: ReportData) -> Figure:
    figure = _page("BÁO CÁO HẠ TẦNG SỐ / DIGITAL INFRASTRUCTURE REPORT")
    level = _LEVEL_VI.get(data.level or "all", data.level or "")
    head = [
        f"Đơn vị / Province: {data.province}",
        f"Kỳ báo cáo / Period: {data.period.label}" + ("" if data.period.complete else " (đến nay / to date)"),
        f"Cấp / Level: {level}",
        f"Lập lúc / Generated: {data.generated_at:%Y-%m-%d %H:%M} UTC",
        "",
        "Tóm tắt / Summary",
    ]
    if data.parts:
        head.insert(2, "Kỳ được chia theo cơ cấu tổ chức / Split by the structure in force: " + ", ".join(data.parts))
    summary = []
    for row in data.rollups:
        if row.indicator in COVERAGE and row.level == data.top:
            b = "" if row.b is None else f"/{_amount(row.b)}"
            part = f"[{row.part}] " if row.part else ""
            summary.append(f"  • {part}{row.name_vi}: {_amount(row.a)}{b} = {_percent(row.ratio)}")
    causes = data.outages_by_cause()
    total = sum(n for n, _ in causes.values())
    summary.append(f"  • Sự cố trong kỳ / Outages in the period: {total}")
    summary.extend(f"      {cause}: {n} ({_span(hours)})" for cause, (n, hours) in causes.items())
    scope = _LEVEL_VI.get(data.top, data.top)
    for part in data.parts or [""]:
        scored = [r for r in data.rollups if r.level == data.top and r.part == part and r.points is not None]
        if scored:
            got, best = sum(r.points or 0 for r in scored), sum(r.max_points or 0 for r in scored)
            within = f", {part}" if part else ""
            summary.append(f"  • Điểm / Points ({scope}{within}): {got:.1f} / {best:g}")
    y = 0.9
    for line in head + summary:
        for part in textwrap.wrap(line, 95, subsequent_indent="      ") or [""]:
            figure.text(0.08, y, part, va="top", fontsize=10, weight="bold" if line == "Tóm tắt / Summary" else None)
            y -= 0.022
    figure.text(
        0.08, 0.04, "netmon · số liệu giám sát trực tuyến và kê khai / live monitoring and declared data", fontsize=7
    )
    return figure


def _coverage_page(data: ReportData) -> Figure:
    figure = _page("Tỷ lệ đơn vị có dịch vụ theo cấp và tháng / Coverage by level and service")
    months = [label for label, _ in data.months]
    series = data.coverage()
    axes = figure.subplots(3, 2, gridspec_kw={"top": 0.9, "bottom": 0.06, "hspace": 0.45, "wspace": 0.25})
    for ax, (service, levels) in zip(axes.flat, series.items(), strict=False):
        ax.set_title(service)
        ax.set_ylim(0, 105)
        ax.set_ylabel("%")
        width = 0.8 / max(len(levels), 1)
        for i, (level, ratios) in enumerate(sorted(levels.items())):
            positions = [m + (i - (len(levels) - 1) / 2) * width for m in range(len(months))]
            heights = [float("nan") if r is None else r * 100 for r in ratios]
            ax.bar(positions, heights, width, label=_LEVEL_VI.get(level, level))
        ax.set_xticks(range(len(months)), months)
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        if not levels:
            note = "không có số liệu theo tháng\nno monthly data"
            ax.text(0.5, 0.5, note, ha="center", va="center", transform=ax.transAxes)
    legend = axes.flat[-1]
    legend.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        legend.legend(handles, labels, title="Cấp / Level", loc="center")
    return figure


def _charts_page(data: ReportData) -> Figure:
    figure = _page("Khả dụng, đơn vị yếu nhất, sự cố / Availability, worst units, outages")
    grid = {"top": 0.9, "bottom": 0.05, "hspace": 0.5, "left": 0.4, "right": 0.95}
    links, worst, causes = figure.subplots(3, 1, gridspec_kw=grid)
    availability = data.link_availability()
    links.set_title("Khả dụng đường truyền theo loại / Link availability per kind")
    links.barh(list(availability), [(v or 0) * 100 for v in availability.values()], color="#3a7ebf")
    links.invert_yaxis()
    links.set_xlim(0, 100)
    links.set_xlabel("%")
    for y, value in enumerate(availability.values()):
        links.text(1, y, _percent(value), va="center", fontsize=8, color="white" if value else "black")
    ranked = data.worst_units()
    worst.set_title("10 đơn vị điểm thấp nhất / Ten worst units (share of points)")
    worst.barh(
        [f"{textwrap.shorten(name, 34, placeholder='…')} ({code})" for code, name, _ in ranked],
        [s * 100 for *_, s in ranked],
        color="#c0504d",
    )
    worst.invert_yaxis()
    worst.set_xlim(0, 100)
    worst.set_xlabel("%")
    for y, (*_, score) in enumerate(ranked):
        worst.text(score * 100 + 1, y, f"{score * 100:.0f} %", va="center", fontsize=8)
    counts = data.outages_by_cause()
    causes.set_title("Sự cố theo nguyên nhân / Outages by cause")
    causes.barh(list(counts) or ["—"], [n for n, _ in counts.values()] or [0], color="#9bbb59")
    causes.set_xlabel("số sự cố / outages")
    causes.set_xlim(0, max([n for n, _ in counts.values()] or [1]) * 1.35)
    for y, (n, hours) in enumerate(counts.values()):
        causes.text(n, y, f" {n} ({_span(hours)})", va="center", fontsize=8)
    return figure


def _table_rows(data: ReportData) -> list[list[str]]:
    rows = []
    for row in data.rollups:
        b = "" if row.b is None else _amount(row.b)
        points = "" if row.points is None else f"{row.points:.1f}/{row.max_points:g}"
        cells = [textwrap.shorten(row.name_vi, 40 if data.parts else 58), _LEVEL_VI.get(row.level, row.level)]
        cells += [row.part] if data.parts else []
        rows.append([*cells, _amount(row.a), b, _ratio(row), points])
    return rows


def _table_page(data: ReportData, rows: Sequence[list[str]], *, first: bool) -> Figure:
    title = "Bảng chỉ số / Indicator table" + ("" if first else " (tiếp / continued)")
    figure = _page(f"{title} · {data.period.label}")
    ax = figure.add_axes((0.04, 0.04, 0.92, 0.88))
    ax.axis("off")
    header = ["Chỉ số / Indicator", "Cấp / Level", "a", "b", "Tỷ lệ / Ratio", "Điểm / Points"]
    widths = [0.42, 0.09, 0.12, 0.12, 0.11, 0.1]
    if data.parts:  # a period split by the structure in force: which part each row covers
        header.insert(2, "Phần kỳ / Part")
        widths = [0.3, 0.08, 0.18, 0.11, 0.11, 0.1, 0.08]
    table = ax.table(
        cellText=list(rows) or [["—"] * len(header)],
        colLabels=header,
        colWidths=widths,
        loc="upper center",
        cellLoc="left",
    )
    table.auto_set_font_size(False)  # noqa: FBT003 (matplotlib API)
    table.set_fontsize(7)
    table.scale(1, 1.25)
    return figure


def _wrap(lines: Sequence[str], width: int = 110) -> list[str]:
    return [part for line in lines for part in (textwrap.wrap(line, width, subsequent_indent="    ") or [""])]


def _rules(data: ReportData) -> list[str]:
    lines: list[str] = []
    for definition in data.catalog:
        lines.append(f"{definition.name_vi} / {definition.name_en} ({definition.framework})")
        lines.extend(_wrap([data.catalog.rule_text(definition, "vi"), data.catalog.rule_text(definition, "en")]))
        lines.append("")
    return lines


def _text_pages(title: str, lines: Sequence[str]) -> Iterator[Figure]:
    chunks = [lines[i : i + _TEXT_LINES] for i in range(0, len(lines), _TEXT_LINES)] or [["—"]]
    for number, chunk in enumerate(chunks):
        figure = _page(title + ("" if number == 0 else " (tiếp / continued)"))
        for i, line in enumerate(chunk):
            figure.text(0.05, 0.92 - i * 0.0137, line, va="top", fontsize=7)
        yield figure
