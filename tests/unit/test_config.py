"""Config: defaults, overrides, located errors and secret redaction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netmon.config import Config, load_config
from netmon.errors import ConfigError
from tests.conftest import EXAMPLE_CONFIG


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "netmon.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads(example_config: Config) -> None:
    assert set(example_config.snmp_profiles) == {"lab-v2c", "lab-v3"}
    assert example_config.snmp_profiles["lab-v3"].security_level == "authPriv"
    assert example_config.database.url.reveal() == "sqlite:///var/netmon.db"


def test_no_file_gives_the_defaults() -> None:
    config = load_config(None, environ={})
    assert config == Config()
    assert config.polling.ping.interval == 60
    assert config.http.port == 9105
    assert config.timezone == "Asia/Ho_Chi_Minh"


def test_traps_default_to_off_on_the_standard_port(example_config: Config) -> None:
    for config in (Config(), example_config):
        assert (config.traps.enabled, config.traps.host, config.traps.port) == (False, "0.0.0.0", 162)  # noqa: S104


def test_traps_section_from_file_and_environment(tmp_path: Path) -> None:
    path = _write(tmp_path, "traps:\n  enabled: true\n  listen: 127.0.0.1:10162\n")
    config = load_config(path, environ={})
    assert (config.traps.enabled, config.traps.host, config.traps.port) == (True, "127.0.0.1", 10162)
    config = load_config(path, environ={"NETMON_TRAPS__LISTEN": "0.0.0.0:1162", "NETMON_TRAPS__ENABLED": "false"})
    assert (config.traps.enabled, config.traps.listen) == (False, "0.0.0.0:1162")
    path = _write(tmp_path, "traps:\n  engine_id: '0x80:00:4F:B8:05:01:02:03'\n")  # as devices print it
    assert load_config(path, environ={}).traps.engine_id == "80004fb805010203"


def test_a_poll_class_may_set_only_some_keys(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "polling:\n  snmp:\n    interval: 120\n"), environ={})
    assert (config.polling.snmp.interval, config.polling.snmp.timeout, config.polling.snmp.retries) == (120, 2.0, 1)


def test_environment_overrides_apply_and_coerce(tmp_path: Path) -> None:
    environ = {
        "NETMON_POLLING__PING__INTERVAL": "15",
        "NETMON_SNMP_PROFILES__LAB_V2C__COMMUNITY": "from-env",
        "NETMON_HTTP__LISTEN": "[::1]:9200",
        "NETMON_CONFIG": "ignored.yaml",
        "NETMON_TEST_PG_URL": "not a config key",
    }
    config = load_config(EXAMPLE_CONFIG, environ=environ)
    assert config.polling.ping.interval == 15
    community = config.snmp_profiles["lab-v2c"].community
    assert community is not None
    assert community.reveal() == "from-env"
    assert (config.http.host, config.http.port) == ("::1", 9200)


CONFIG_ERRORS = [
    pytest.param("databse:\n  url: sqlite:///x.db\n", ["{f}:1: databse: unknown key"], id="unknown-top-key"),
    pytest.param(
        "polling:\n  ping:\n    interval: 10\n    intervall: 20\n",
        ["{f}:4: polling.ping.intervall: unknown key"],
        id="unknown-nested-key",
    ),
    pytest.param(
        "polling:\n  ping:\n    interval: 10\n  pingg:\n    interval: 20\n",
        ["{f}:4: polling.pingg: unknown key"],
        id="unregistered-poll-class",
    ),
    pytest.param(
        "polling:\n  snmp:\n    interval: often\n",
        ["{f}:3: polling.snmp.interval: Input should be a valid number, unable to parse string as a number"],
        id="wrong-type",
    ),
    pytest.param(
        "polling:\n  snmp:\n    interval: -5\n",
        ["{f}:3: polling.snmp.interval: Input should be greater than 0"],
        id="out-of-range",
    ),
    pytest.param("http:\n  listen: [1, 2\n", ["{f}:3: YAML: did not find expected ',' or ']'"], id="yaml-syntax"),
    pytest.param(
        "mqtt:\n  port: 1883\n  port: 1884\n", ["{f}:3: mqtt.port: duplicate key (first at line 2)"], id="duplicate-key"
    ),
    pytest.param("- a\n- b\n", ["{f}:1: the config must be a mapping"], id="not-a-mapping"),
    pytest.param("timezone: UTC\nhttp: \x01\n", ["{f}:2: YAML: character #x0001 is not allowed"], id="control-char"),
    pytest.param(
        "snmp_profiles:\n  p:\n    version: 2c\n",
        ["{f}:2: snmp_profiles.p: SNMP v2c needs a community"],
        id="v2c-without-community",
    ),
    pytest.param(
        "snmp_profiles:\n  p:\n    version: 3\n    user: u\n    priv_protocol: aes128\n    priv_key: 12345678\n",
        [
            (
                "{f}:6: snmp_profiles.p.priv_key: must be text: in YAML, quote a value such as 0123, 1.10 or ON"
                " that YAML reads as a number or yes/no"
            )
        ],
        id="v3-key-wrong-type",
    ),
    pytest.param(
        "snmp_profiles:\n  p:\n    version: 3\n    user: u\n    priv_protocol: aes128\n    priv_key: 'abcdefgh'\n",
        ["{f}:2: snmp_profiles.p: privacy needs authentication (authPriv): set auth_protocol and auth_key"],
        id="v3-priv-without-auth",
    ),
    pytest.param(
        "snmp_profiles:\n  p:\n    version: 3\n    user: u\n    auth_protocol: sha\n    auth_key: 'shortie'\n",
        ["{f}:2: snmp_profiles.p: SNMP v3 keys are at least 8 characters (RFC 3414)"],
        id="v3-short-key",
    ),
    pytest.param(
        "snmp_profiles:\n  p:\n    version: 4\n    community: c\n",
        ["{f}:3: snmp_profiles.p.version: Input should be '1', '2c' or '3'"],
        id="bad-version",
    ),
    pytest.param(
        "snmp_profiles:\n  p:\n    version: 2c\n    community: c\n    context: vlan-20\n",
        ["{f}:2: snmp_profiles.p: context only apply to SNMP v3"],
        id="context-is-v3-only",
    ),
    pytest.param(
        "snmp_profiles:\n  p:\n    version: 3\n    user: u\n    context: " + "c" * 33 + "\n",
        ["{f}:5: snmp_profiles.p.context: must have at most 32 characters"],
        id="context-longer-than-an-snmp-admin-string",
    ),
    pytest.param(
        "snmp_profiles:\n  p:\n    version: 2c\n    community: c\n    text_encoding: tcvn3\n",
        ["{f}:5: snmp_profiles.p.text_encoding: unknown text encoding 'tcvn3' (a Python codec name, e.g. cp1258)"],
        id="unknown-text-encoding",
    ),
    pytest.param(
        "timezone: Asia/Hanoi_City\n",
        ["{f}:1: timezone: unknown time zone 'Asia/Hanoi_City' (expected e.g. Asia/Ho_Chi_Minh)"],
        id="bad-timezone",
    ),
    pytest.param(  # found by the reload fuzz: a region, not a zone, raised IsADirectoryError
        "timezone: Asia\n",
        ["{f}:1: timezone: unknown time zone 'Asia' (expected e.g. Asia/Ho_Chi_Minh)"],
        id="timezone-is-a-region",
    ),
    pytest.param(
        "http:\n  listen: localhost\n",
        ["{f}:2: http.listen: expected HOST:PORT, e.g. 127.0.0.1:9105 or [::1]:9105"],
        id="bad-listen",
    ),
    pytest.param(
        "traps:\n  listen: 0.0.0.0\n",
        ["{f}:2: traps.listen: expected HOST:PORT, e.g. 127.0.0.1:162 or [::1]:162"],
        id="traps-listen-without-port",
    ),
    pytest.param(
        "traps:\n  listen: localhost:162\n",
        ["{f}:2: traps.listen: the trap receiver listens on an IPv4 address, e.g. 0.0.0.0:162"],
        id="traps-listen-hostname",
    ),
    pytest.param(
        "traps:\n  engine_id: 80004fb8\n",
        ["{f}:2: traps.engine_id: an SNMP engine ID has 5 to 32 octets (RFC 3411), not 4"],
        id="traps-engine-id-too-short",
    ),
    pytest.param(
        "traps:\n  engine_id: netmon\n",
        ["{f}:2: traps.engine_id: expected hex digits, e.g. 80004fb8046e65746d6f6e"],
        id="traps-engine-id-not-hex",
    ),
    pytest.param(
        "traps:\n  enabled: true\n  port: 162\n",
        ["{f}:3: traps.port: unknown key"],
        id="traps-unknown-key",
    ),
    pytest.param(
        "database:\n  url: not a url\n",
        ["{f}:2: database.url: not a database URL (expected e.g. sqlite:///var/netmon.db)"],
        id="bad-db-url",
    ),
    pytest.param(
        "mqtt:\n  port: 0\n  keepalive: x\n",
        [
            "{f}:2: mqtt.port: Input should be greater than or equal to 1",
            "{f}:3: mqtt.keepalive: Input should be a valid integer, unable to parse string as an integer",
        ],
        id="all-errors-at-once",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CONFIG_ERRORS)
def test_config_errors_name_file_line_and_key(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert [str(issue) for issue in caught.value.issues] == [line.format(f=path) for line in expected]


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: no such file"):
        load_config(tmp_path / "nope.yaml", environ={})


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param(
            {"NETMON_POLLING__PING__TIMEOUT": "soon"},
            "environment: NETMON_POLLING__PING__TIMEOUT (polling.ping.timeout): "
            "Input should be a valid number, unable to parse string as a number",
            id="wrong-type",
        ),
        pytest.param(
            {"NETMON_DATABSE__URL": "sqlite:///x.db"},
            "environment: NETMON_DATABSE__URL (databse): unknown key",
            id="unknown-section",
        ),
        pytest.param(
            {"NETMON_HTTP__PORT": "80"},
            "environment: NETMON_HTTP__PORT (http.port): unknown key",
            id="unknown-key",
        ),
        pytest.param(
            {"NETMON_HTTP__LISTEN__PORT": "80"},
            "environment: NETMON_HTTP__LISTEN__PORT: http.listen is not a section",
            id="not-a-section",
        ),
    ],
)
def test_environment_errors_name_the_variable(environ: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(EXAMPLE_CONFIG, environ=environ)
    assert [str(issue) for issue in caught.value.issues] == [expected]


SECRETS = ("netmon-lab", "netmon-lab-auth", "netmon-lab-priv", "s3cr3t-pw", "dbpass-42")


def test_secrets_never_print(tmp_path: Path) -> None:
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    text = text.replace("url: sqlite:///var/netmon.db", "url: postgresql://netmon:dbpass-42@127.0.0.1/test")
    text = text.replace("  # password: ...               # secret", "  password: s3cr3t-pw")
    config = load_config(_write(tmp_path, text), environ={})
    renderings = [repr(config), str(config), json.dumps(config.redacted()), str(config.database.url)]
    for rendering in renderings:
        for secret in SECRETS:
            assert secret not in rendering
    assert config.redacted()["snmp_profiles"]["lab-v3"]["auth_key"] == "***"
    assert config.redacted()["database"]["url"] == "postgresql://netmon:***@127.0.0.1/test"
    assert config.mqtt.password is not None
    assert config.mqtt.password.reveal() == "s3cr3t-pw"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "postgresql://netmon:P@ssw0rd@127.0.0.1/netmon",
            "the user name or password holds '@': percent-encode it as %40",
            id="at-sign",
        ),
        pytest.param(
            "postgresql://netmon:P@ssw0rd/x@127.0.0.1/netmon",
            "the user name or password holds '@': percent-encode it as %40",
            id="at-sign-then-slash",  # the tail became the database name: accepted and shown
        ),
        pytest.param(
            "postgresql://netmon:P@ssw0rd?x@127.0.0.1/netmon",
            "the user name or password holds '@': percent-encode it as %40",
            id="at-sign-then-question-mark",  # the tail became the query, and the host "ssw0rd"
        ),
        pytest.param(
            "postgresql://netmon:abc@ssw0rd:x@127.0.0.1/netmon",
            "not a database URL (expected e.g. sqlite:///var/netmon.db)",
            id="port-from-the-password",
        ),
    ],
)
def test_a_password_the_url_cannot_hold_is_refused_unseen(tmp_path: Path, url: str, expected: str) -> None:
    # SQLAlchemy and libpq end the password at the first "@": the rest became the host name,
    # shown by check-config ("netmon:***@ssw0rd@127.0.0.1") and in DNS errors
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, f"database:\n  url: '{url}'\n"), environ={})
    assert [issue.message for issue in caught.value.issues] == [expected]
    assert "ssw0rd" not in str(caught.value)


def test_a_rejected_secret_is_not_echoed(tmp_path: Path) -> None:
    text = "snmp_profiles:\n  p:\n    version: 3\n    user: u\n    auth_protocol: sha\n    auth_key: 'hunter2'\n"
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text), environ={})
    assert "hunter2" not in str(caught.value)


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=False), st.text(max_size=12))
_keys = st.sampled_from(
    [
        "database",
        "url",
        "snmp_profiles",
        "p",
        "version",
        "community",
        "polling",
        "ping",
        "interval",
        "http",
        "listen",
        "traps",
        "enabled",
        "mqtt",
        "port",
        "timezone",
        "logging",
        "level",
        "x",
    ]
)
_docs = st.recursive(
    _scalars, lambda inner: st.dictionaries(_keys, inner, max_size=4) | st.lists(inner, max_size=3), max_leaves=12
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=_docs)
def test_any_document_gives_a_config_or_a_config_error(tmp_path: Path, doc: object) -> None:
    path = _write(tmp_path, yaml.safe_dump(doc))
    try:
        load_config(path, environ={})
    except ConfigError as exc:
        assert exc.issues
        assert all(str(path) in str(issue) for issue in exc.issues)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=80))
def test_any_text_gives_a_config_or_a_config_error(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    try:
        load_config(path, environ={})
    except ConfigError as exc:
        assert exc.issues


PG = "database:\n  url: postgresql://postgres@127.0.0.1/test\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("poller:\n  name: a\n", "need PostgreSQL"),
        ("poller:\n  name: a\n  groups: [central]\n", "need PostgreSQL"),
        ("poller:\n  groups: [central]\n", "need poller.name"),
        (PG + "poller:\n  name: a\n  failover_delay: 10\n  heartbeat: 6\n", "at most half"),
        (PG + "poller:\n  name: 'a b'\n", "should match pattern"),
        (PG + "poller:\n  name: a\n  groups: []\n", "poller.groups: must not be empty"),
    ],
    ids=["name-on-sqlite", "groups-on-sqlite", "groups-without-name", "heartbeat-too-slow", "bad-name", "no-group"],
)
def test_poller_groups_need_postgresql_and_a_name(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "netmon.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_named_poller_on_postgresql_gets_its_groups_and_a_heartbeat(tmp_path: Path) -> None:
    path = tmp_path / "netmon.yaml"
    path.write_text(PG + "poller:\n  name: central-1\n  groups: [central, tslcd]\n  failover_delay: 30\n", "utf-8")
    poller = load_config(path, environ={}).poller
    assert (poller.name, poller.groups, poller.failover_delay, poller.beat) == (
        "central-1",
        ["central", "tslcd"],
        30,
        5,
    )
    assert poller.clustered
    assert not load_config(None, environ={}).poller.clustered
