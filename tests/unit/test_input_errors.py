"""One rule for input errors (issue 15): any parser or constructor failure is `file:line: key: message`, exit 2.

PyYAML's constructors raise plain ValueError/AttributeError for values the calendar or the tag
refuses (`2026-12-32`, `!!timestamp hello`); those escaped as tracebacks from check-config,
inventory import and a reload. The fuzz at the end mutates valid files with the same kinds of
values; its size is NETMON_FUZZ_CASES (default 200; the issue note reports a 10,000-case run).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from netmon.cli import app
from netmon.config import Config, load_config
from netmon.errors import ConfigError, InputError, InventoryError, StoreError
from netmon.indicators.definitions import load_catalog
from netmon.inventory import schema
from netmon.inventory.files import read_files
from netmon.inventory.store import Store
from netmon.loading import check_profiles, reload_loader
from netmon.yamlsrc import YamlSyntaxError, load_yaml
from tests.conftest import EXAMPLE_CONFIG, EXAMPLE_INVENTORY

FUZZ_CASES = int(os.environ.get("NETMON_FUZZ_CASES", "200"))

WINDOW = "maintenance:\n  - name: w\n    objects: [device:a]\n    start: 2026-12-01T22:00:00+07:00\n    end: {end}\n"

#: (config text, the issue line expected); {f} is the file.
CONFIG_CASES = [
    pytest.param(
        WINDOW.format(end="2026-12-32T02:00:00+07:00"),
        "{f}:5: maintenance[0].end: YAML: '2026-12-32T02:00:00+07:00' is not a valid timestamp: "
        "day is out of range for month",
        id="impossible-day-in-window",
    ),
    pytest.param(
        "timezone: 2026-02-30\n",
        "{f}:1: timezone: YAML: '2026-02-30' is not a valid timestamp: day is out of range for month",
        id="february-30-as-timezone",
    ),
    pytest.param(
        "http:\n  listen: 2026-13-45\n",
        "{f}:2: http.listen: YAML: '2026-13-45' is not a valid timestamp: month must be in 1..12",
        id="month-13",
    ),
    pytest.param(
        "http:\n  listen: !!timestamp hello\n",
        "{f}:2: http.listen: YAML: 'hello' is not a valid timestamp",
        id="timestamp-tag-on-text",
    ),
    pytest.param(
        "state:\n  down_after: !!int two\n",
        "{f}:2: state.down_after: YAML: 'two' is not a valid int: invalid literal for int() with base 10: 'two'",
        id="int-tag-on-text",
    ),
    pytest.param(
        "state:\n  down_after: " + "9" * 5000 + "\n",
        "{f}:2: state.down_after: YAML: '99999999999999999999999999999999999999999999999999999999... "
        "is not a valid int: Exceeds the limit (4300 digits) for integer string conversion: value has 5000 "
        "digits; use sys.set_int_max_str_digits() to increase the limit",
        id="5000-digit-int",
    ),
    pytest.param(
        "state:\n  down_after: !!bool maybe\n",
        "{f}:2: state.down_after: YAML: 'maybe' is not a valid bool",
        id="bool-tag-on-text",
    ),
    pytest.param(
        "http: !!python/object:os.system ls\n",
        "{f}:1: YAML: could not determine a constructor for the tag 'tag:yaml.org,2002:python/object:os.system'",
        id="python-tag",
    ),
    pytest.param("http:\n  listen: \x00\n", "{f}:2: YAML: character #x0000 is not allowed", id="nul"),
    pytest.param(
        "database:\n  url: mysql://netmon:pw@db/netmon\n",
        "{f}:2: database.url: unsupported database 'mysql': netmon runs on sqlite:///PATH or postgresql://HOST/DB",
        id="mysql-url",
    ),
    pytest.param(
        "database:\n  url: postgres://netmon:pw@db/netmon\n",
        "{f}:2: database.url: unsupported database 'postgres': did you mean postgresql://? Write the same URL with"
        " postgresql:// in front (netmon's database layer does not read postgres://)",
        id="postgres-scheme",
    ),
    pytest.param(
        "database:\n  url: postgres+psycopg://netmon:pw@db/netmon\n",
        "{f}:2: database.url: unsupported database 'postgres+psycopg': did you mean postgresql+psycopg://? Write the"
        " same URL with postgresql+psycopg:// in front (netmon's database layer does not read postgres://)",
        id="postgres-scheme-with-driver",
    ),
    pytest.param(
        "database:\n  url: postgresql://netmon:pw@db:99999/netmon\n",
        "{f}:2: database.url: port 99999 is out of range (1-65535)",
        id="postgres-port-out-of-range",
    ),
    pytest.param(
        "database:\n  url: postgresql://netmon:pw@db/netmon?sslmode=bogus\n",
        "{f}:2: database.url: sslmode 'bogus' is not one of disable, allow, prefer, require, verify-ca, verify-full",
        id="postgres-bad-sslmode",
    ),
    pytest.param(
        "database:\n  url: postgresql://netmon@db/netmon?sslpasword=pw\n",
        "{f}:2: database.url: unknown PostgreSQL connection option 'sslpasword' in the URL's query"
        " (libpq's options: https://www.postgresql.org/docs/current/libpq-connect.html)",
        id="postgres-misspelt-option",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CONFIG_CASES)
def test_config_errors_are_located_never_tracebacks(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "netmon.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert [str(issue) for issue in caught.value.issues] == [expected.format(f=path)]
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize(("text", "expected"), CONFIG_CASES)
def test_check_config_exits_2_with_the_location(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "netmon.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["check-config", "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert expected.format(f=path) in result.stderr
    assert "Traceback" not in result.output


def test_run_with_a_bad_config_exits_2_before_starting(tmp_path: Path) -> None:
    path = tmp_path / "netmon.yaml"
    path.write_text(WINDOW.format(end="2026-12-32T02:00:00+07:00"), encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "--config", str(path), "--duration", "1"])
    assert result.exit_code == 2, result.output
    assert f"{path}:5: maintenance[0].end:" in result.stderr


def _dry_run_import(tmp_path: Path, path: Path) -> Result:
    """Run `netmon inventory import --dry-run` of *path* against a fresh SQLite database in *tmp_path*."""
    url = f"sqlite:///{tmp_path}/netmon.db"
    engine = schema.create_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    config = tmp_path / "netmon.yaml"
    config.write_text(f"database:\n  url: {url}\n", encoding="utf-8")
    return CliRunner().invoke(app, ["inventory", "import", "--dry-run", "--config", str(config), str(path)])


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        pytest.param(
            "inventory.yaml",
            "units:\n  - {code: P, name: T, level: province, valid_from: 2026-02-30}\n",
            "{f}:2: units[0].valid_from: YAML: '2026-02-30' is not a valid timestamp: day is out of range for month",
            id="yaml-impossible-date",
        ),
        pytest.param(
            "inventory.yaml",
            "devices:\n  - name: a\n    tags: !!timestamp hello\n",
            "{f}:3: devices[0].tags: YAML: 'hello' is not a valid timestamp",
            id="yaml-timestamp-tag",
        ),
        pytest.param(
            "inventory.yaml",
            'units:\n  - {code: P, name: "Tỉnh\\0", level: province}\n',
            "{f}:2: unit 'P': name: NUL characters are not allowed",
            id="yaml-escaped-nul",
        ),
        pytest.param(
            "units.csv",
            "code,name,level\nP,T\x00nh,province\n",
            "{f}:2: unit 'P': name: NUL characters are not allowed",
            id="csv-nul-in-text",
        ),
        pytest.param(
            "inventory.yaml",
            'units:\n  - code: P\n    name: "  "\n    level: province\n',
            "{f}:3: unit 'P': name: must not be empty",
            id="blank-name",
        ),
        pytest.param(
            "units.csv",
            "code,name,level\n" + "P" * 65 + ",T,province\n",
            "{f}:2: unit '" + "P" * 65 + "': code: must have at most 64 characters",
            id="code-too-long",
        ),
        pytest.param(
            "devices.csv",
            "name,unit,role,address\na\x00,P,router,127.0.0.1\n",
            "{f}:2: device 'a\\x00': name: NUL characters are not allowed",
            id="csv-nul",
        ),
    ],
)
def test_inventory_errors_are_located(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    parsed = read_files([path])
    assert [str(issue) for issue in parsed.issues] == [expected.format(f=path)]
    result = _dry_run_import(tmp_path, path)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_inventory_errors_are_listed_by_line_whatever_check_found_them(tmp_path: Path) -> None:
    # line 7's unknown unit is found by the reference check, after the field checks of lines 3 and 12
    path = tmp_path / "inventory.yaml"
    path.write_text(
        "units:\n  - code: X1\n    name: ''\n    level: province\ndevices:\n  - name: d1\n    unit: NOPE\n"
        "    role: router\n    address: 127.0.0.1\n"
        "  - name: d2\n    unit: X1\n    role: routr\n    address: 127.0.0.1\n",
        encoding="utf-8",
    )
    result = _dry_run_import(tmp_path, path)
    assert result.exit_code == 2, result.output
    lines = [int(line.split(":")[1]) for line in result.output.splitlines() if line.startswith(f"  {path}:")]
    assert lines == [3, 7, 12], result.output


def test_indicator_definitions_errors_are_located(tmp_path: Path) -> None:
    path = tmp_path / "extra.yaml"
    path.write_text("indicators:\n  - id: !!timestamp 2026-13-01\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_catalog([path], {}, builtin=False)
    assert f"{path}:2: indicators[0].id: YAML: '2026-13-01' is not a valid timestamp" in str(caught.value)


@pytest.mark.parametrize("text", ["", "\n", "# all commented out\n", "{}\n", "~\n"], ids=repr)
def test_a_reload_refuses_an_empty_config(tmp_path: Path, text: str) -> None:
    path = tmp_path / "netmon.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_config(path, environ={}).snmp_profiles == {}  # a start takes the defaults ...
    with pytest.raises(ConfigError) as caught:  # ... a reload keeps the running config
        reload_loader(path)()
    assert str(caught.value.issues[0]).startswith(f"{path}:1: the config file is empty")


def test_a_reload_refuses_a_config_without_a_profile_the_inventory_uses(tmp_path: Path) -> None:
    config = load_config(EXAMPLE_CONFIG, environ={})
    url = f"sqlite:///{tmp_path}/netmon.db"
    engine = schema.create_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    store = Store.open(url)
    try:
        store.import_parsed(read_files([EXAMPLE_INVENTORY]), profiles=set(config.snmp_profiles))
        inventory = store.snapshot()
    finally:
        store.close()
    check_profiles(config, inventory, "netmon.yaml")  # the example is whole
    lacking = config.model_copy(update={"snmp_profiles": {}})
    with pytest.raises(ConfigError) as caught:
        check_profiles(lacking, inventory, "netmon.yaml")
    assert all(str(issue).startswith("netmon.yaml: snmp_profiles.") for issue in caught.value.issues)
    assert "missing, but the inventory still uses it" in str(caught.value)


# ---- the fuzz: valid files, mutated with the kinds of values that crashed ----------------------

NASTY = [
    "2026-12-32T02:00:00+07:00",
    "2026-02-30",
    "2026-13-45",
    "!!timestamp hello",
    "!!int x",
    "!!float x",
    "!!bool maybe",
    "!!binary %%%",
    "!!set {a: 1}",
    "!!omap [1]",
    "!!python/object:os.system ls",
    "!!str",
    "\x00",
    "a\x00b",
    "9" * 5000,
    "-" + "9" * 5000,
    "1e999",
    "-.inf",
    ".nan",
    "0x" + "f" * 3000,
    "&a [*a]",
    "*nowhere",
    "[",
    "{",
    "'",
    "~",
    "",
    "- x",
    "{a: 1}",
    "[1, 2]",
    "ü\u200b\ufeff",
    "\ud800",
]


@st.composite
def _mutated(draw: st.DrawFn, text: str) -> str:
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        how = draw(st.sampled_from(["value", "value", "line", "delete", "duplicate", "truncate"]))
        value = draw(st.sampled_from(NASTY) | st.text(max_size=12))
        if how == "value" and ":" in line:
            lines[index] = line.split(":", 1)[0] + ": " + value
        elif how == "line":
            lines[index] = value
        elif how == "delete" and len(lines) > 1:
            del lines[index]
        elif how == "duplicate":
            lines.insert(index, line)
        else:
            lines[index] = line[: draw(st.integers(0, len(line)))]
    return "\n".join(lines) + "\n"


_FUZZ = settings(max_examples=FUZZ_CASES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_CONFIG_TEXT = EXAMPLE_CONFIG.read_text(encoding="utf-8")
_INVENTORY_TEXT = EXAMPLE_INVENTORY.read_text(encoding="utf-8")
FUZZ_COUNTS: dict[str, int] = {}


def _count(what: str) -> None:
    FUZZ_COUNTS[what] = FUZZ_COUNTS.get(what, 0) + 1


@pytest.fixture(scope="module", autouse=True)
def _report_fuzz_counts() -> Iterator[None]:
    yield
    if FUZZ_COUNTS:
        sys.stderr.write(f"\ninput fuzz outcomes: {dict(sorted(FUZZ_COUNTS.items()))}\n")


@_FUZZ
@given(text=_mutated(_CONFIG_TEXT))
def test_fuzz_config_mutations_load_or_give_located_errors(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "netmon.yaml"
    try:
        path.write_text(text, encoding="utf-8")
    except UnicodeEncodeError:
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        reload_loader(path)()
    except ConfigError as exc:
        assert exc.exit_code == 2
        assert all(issue.source in (str(path), "environment") for issue in exc.issues)
        _count("config refused")
    else:
        _count("config accepted")


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz-db')}/netmon.db"
    engine = schema.create_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    store = Store.open(url)
    yield store
    store.close()


@_FUZZ
@given(text=_mutated(_INVENTORY_TEXT))
def test_fuzz_inventory_mutations_parse_or_give_located_errors(
    tmp_path_factory: pytest.TempPathFactory, fuzz_store: Store, text: str
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "inventory.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    parsed = read_files([path])
    assert all(issue.source == str(path) and issue.line is not None for issue in parsed.issues if issue.where)
    profiles = set(load_config(EXAMPLE_CONFIG, environ={}).snmp_profiles)
    try:  # what parses is checked against the whole inventory too (references, cycles), writing nothing
        fuzz_store.import_parsed(parsed, profiles=profiles, dry_run=True)
    except InventoryError as exc:
        assert exc.exit_code == 2
        _count("inventory refused")
    else:
        _count("inventory accepted")


@_FUZZ
@given(text=st.sampled_from(NASTY) | st.text())
def test_fuzz_any_text_is_yaml_or_a_located_error(text: str) -> None:
    try:
        load_yaml(f"key: {text}\nother: [1, {text}]\n", "f.yaml")
    except YamlSyntaxError as exc:
        assert exc.issue.source == "f.yaml"


@pytest.mark.parametrize("since", ["1000000d", "99999999999d", "9" * 40 + "w", "3000000w"])
def test_a_duration_reaching_before_year_one_is_an_input_error(since: str) -> None:
    """`--since 1000000d` was an OverflowError traceback in the CLI and a 500 in the API (found by a newcomer run)."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from netmon.monitor.outages import parse_since  # noqa: PLC0415

    with pytest.raises(InputError, match=r"^since: .* before the year 1"):
        parse_since(since, datetime(2026, 11, 30, tzinfo=UTC), where="since")
    assert parse_since("700000d", datetime(2026, 11, 30, tzinfo=UTC)).year == 110  # long, but within range


def test_an_output_path_in_a_missing_directory_is_an_input_error_and_creates_nothing(tmp_path: Path) -> None:
    """`export -o /nonexist/x.csv` made /nonexist/ (found by a newcomer run): a typo must not become a directory."""
    from netmon.indicators.export import atomic_path  # noqa: PLC0415
    from netmon.inventory.files import atomic_write, write_csv  # noqa: PLC0415

    target = tmp_path / "typo" / "deeper" / "x.csv"
    with pytest.raises(InputError, match=r"there is no directory .*typo"):
        atomic_write(target, "a,b\n")
    with pytest.raises(InputError, match=r"there is no directory .*typo"), atomic_path(target):
        pass
    assert list(tmp_path.iterdir()) == []
    atomic_write(tmp_path / "x.csv", "a,b\n")  # an existing directory is written to
    assert (tmp_path / "x.csv").read_text() == "a,b\n"
    from netmon.inventory.plan import make_plan  # noqa: PLC0415
    from netmon.inventory.spec import Inventory  # noqa: PLC0415

    profiles = set(load_config(EXAMPLE_CONFIG).snmp_profiles)
    parsed = read_files([EXAMPLE_INVENTORY])
    inventory = make_plan(Inventory({}, {}, {}), parsed, profiles=profiles, prune=False).desired
    with pytest.raises(InputError, match=r"there is no directory .*typo"):
        write_csv(inventory, tmp_path / "typo" / "csv")
    assert not (tmp_path / "typo").exists()
    written = write_csv(inventory, tmp_path / "csv")  # a CSV export makes its own folder, not its parents
    assert {path.name for path in written} >= {"units.csv", "devices.csv", "links.csv"}


def test_libpq_options_that_exist_pass() -> None:
    url = "postgresql+psycopg://netmon@db:5432/netmon?sslmode=verify-full&connect_timeout=5&application_name=netmon"
    assert Config.model_validate({"database": {"url": url}}).database.url.reveal() == url


def test_a_config_window_name_loses_its_surrounding_spaces() -> None:
    window = {"name": " reboot core  ", "objects": ["device:r1"], "every": "daily", "at": "02:00", "duration": 600}
    assert Config.model_validate({"maintenance": [window]}).maintenance[0].name == "reboot core"


def test_a_sqlite_folder_that_cannot_be_made_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    """`sqlite:///FILE/var/netmon.db` (a path through a file, or under /proc) made `db upgrade` print a traceback."""
    (tmp_path / "netmon.yaml").write_text("x: 1\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path}/netmon.yaml/var/netmon.db"
    with pytest.raises(StoreError, match=r"cannot create the database's folder .*netmon\.yaml/var: Not a directory"):
        schema.create_engine(url)
    config = tmp_path / "config.yaml"
    config.write_text(f"database:\n  url: {url}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["db", "upgrade", "--config", str(config)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # typer.Exit from the handler, not a traceback
    assert "cannot create the database's folder" in result.stderr


def test_an_output_path_that_cannot_be_written_is_an_input_error_not_a_traceback(tmp_path: Path) -> None:
    """`export -o SOMEDIR`, `report -o /proc/r.pdf`, `inventory export --format csv -o FILE` printed tracebacks."""
    from netmon.indicators.export import atomic_path  # noqa: PLC0415
    from netmon.inventory.files import atomic_write, write_csv  # noqa: PLC0415
    from netmon.inventory.spec import Inventory  # noqa: PLC0415

    folder = tmp_path / "out.csv"
    folder.mkdir()
    with pytest.raises(InputError, match=r"out\.csv is a directory: give a file name"):
        atomic_write(folder, "a,b\n")
    with pytest.raises(InputError, match=r"out\.csv is a directory: give a file name"), atomic_path(folder):
        pass
    (tmp_path / "inv.yaml").write_text("units: []\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"inv\.yaml is a file: the CSV export writes .* into a folder"):
        write_csv(Inventory({}, {}, {}), tmp_path / "inv.yaml")
    virtual = Path("/proc/netmon-output.csv")  # /proc refuses new files, even to root
    with pytest.raises(InputError, match=r"/proc/netmon-output\.csv: cannot write it: "):
        atomic_write(virtual, "a,b\n")
    with pytest.raises(InputError, match=r"/proc/netmon-output\.csv: cannot write it: "), atomic_path(virtual):
        pass
    assert sorted(path.name for path in tmp_path.iterdir()) == ["inv.yaml", "out.csv"]
    assert list(folder.iterdir()) == []
