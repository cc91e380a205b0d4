"""Decoding of SNMP values and assembly of IF-MIB rows: tables of real cases and Hypothesis properties."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netmon.config import Config
from netmon.errors import ConfigError
from netmon.pollers.base import InterfaceRow
from netmon.pollers.ifmib import SPEED_SATURATED, interface_ids, interface_rows, resolve_interface, speed_bps
from netmon.pollers.snmptext import as_enum, as_int, as_unsigned32, check_codec, decode_text

# ---- text -------------------------------------------------------------------------------------

TEXT = [
    pytest.param(b"sw-an-binh\x00\x00", "sw-an-binh", id="nul-padded"),
    pytest.param(b"Gi\x000/4", "Gi0/4", id="nul-inside"),
    pytest.param("Cổng-1".encode(), "Cổng-1", id="utf-8"),
    pytest.param(b"Cisco IOS \xdaltima", "Cisco IOS Última", id="force10-0xda-is-U-acute"),
    pytest.param(b"Ph\x6f\xcc\x6eg T\xe0i ch\xednh", "Phòng Tài chính", id="cp1258-combining-tone-to-nfc"),
    pytest.param(b"S\xf5\xd2 Khoa h\x6f\xf2c", "Sở Khoa học", id="cp1258-horn-and-tones"),
    pytest.param(b"\x81\x8d", "0x818d", id="undecodable-kept-as-hex"),
    pytest.param(b"", "", id="empty"),
    pytest.param(None, "", id="absent"),
    pytest.param(42, "42", id="a-number-where-text-was-expected"),
]


@pytest.mark.parametrize(("raw", "text"), TEXT)
def test_decode_text(raw: bytes | int | None, text: str) -> None:
    assert decode_text(raw) == text


@given(st.binary(max_size=300))
def test_any_bytes_decode_without_nul_and_in_nfc(raw: bytes) -> None:
    text = decode_text(raw)
    assert "\x00" not in text
    assert unicodedata.is_normalized("NFC", text)
    if text.startswith("0x") and not raw.replace(b"\x00", b"").startswith(b"0x"):
        assert bytes.fromhex(text[2:]) == raw.replace(b"\x00", b"")


@given(st.text(max_size=100).filter(lambda t: "\x00" not in t))
def test_utf8_text_comes_back_as_itself(text: str) -> None:
    assert decode_text(text.encode()) == unicodedata.normalize("NFC", text)


def test_the_fallback_codec_is_configurable_and_checked() -> None:
    assert decode_text(b"caf\xe9", "latin-1") == "café"
    assert check_codec("CP1258") == "cp1258"
    profile = {"version": "2c", "community": "c"}
    config = Config.model_validate({"snmp_profiles": {"p": {**profile, "text_encoding": "latin-1"}}})
    assert config.snmp_profiles["p"].text_encoding == "iso8859-1"
    with pytest.raises((ConfigError, ValueError), match="unknown text encoding 'tcvn3'"):
        Config.model_validate({"snmp_profiles": {"p": {**profile, "text_encoding": "tcvn3"}}})
    with pytest.raises((ConfigError, ValueError), match="not a text encoding"):
        Config.model_validate({"snmp_profiles": {"p": {**profile, "text_encoding": "hex"}}})


# ---- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(-1, None, id="minus-one-is-unknown"),
        pytest.param(-4_012_904, 2**32 - 4_012_904, id="negative-used"),
        pytest.param(-(2**31), 2**31, id="most-negative"),
        pytest.param(-(2**31) - 1, None, id="below-int32"),
        pytest.param(2**32, None, id="above-uint32"),
        pytest.param(0, 0, id="zero"),
        pytest.param(True, None, id="bool-is-not-a-number"),
        pytest.param(b"12", None, id="bytes"),
    ],
)
def test_unsigned32(value: object, expected: int | None) -> None:
    assert as_unsigned32(value) == expected  # type: ignore[arg-type]


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_unsigned32_is_never_negative_and_keeps_the_low_32_bits(value: int) -> None:
    result = as_unsigned32(value)
    if result is not None:
        assert 0 <= result < 2**32
        assert result % 2**32 == value % 2**32


@given(st.one_of(st.integers(min_value=-(2**64), max_value=2**65), st.booleans(), st.binary(), st.none()))
def test_enums_outside_their_range_are_unknown(value: object) -> None:
    got = as_enum(value, 1, 7)  # type: ignore[arg-type]
    assert got is None or (1 <= got <= 7 and got == value and as_int(value) == value)


# ---- speed ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("if_speed", "if_high_speed", "bps"),
    [
        pytest.param(1_000_000_000, 1000, 1_000_000_000, id="gigabit"),
        pytest.param(SPEED_SATURATED, 10_000, 10_000_000_000, id="ten-gigabit-saturated"),
        pytest.param(64_000, 0, 64_000, id="serial-64k-next-to-gigabit"),
        pytest.param(1_544_000, 2, 1_544_000, id="t1-ifspeed-is-exact"),
        pytest.param(0, 0, 0, id="loopback-zero-is-zero"),
        pytest.param(None, 0, 0, id="only-high-speed-zero"),
        pytest.param(None, 40_000, 40_000_000_000, id="only-high-speed"),
        pytest.param(100_000_000, None, 100_000_000, id="only-ifspeed"),
        pytest.param(None, None, None, id="neither"),
        pytest.param(-5, None, None, id="negative-ifspeed"),
        pytest.param(SPEED_SATURATED, None, None, id="saturated-without-ifxtable-is-unknown"),
        pytest.param(SPEED_SATURATED, 0, None, id="saturated-with-high-speed-zero-is-unknown"),
    ],
)
def test_speed_rule(if_speed: int | None, if_high_speed: int | None, bps: int | None) -> None:
    assert speed_bps(if_speed, if_high_speed) == bps


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_speed_is_high_speed_only_when_ifspeed_saturates(if_speed: int, high: int) -> None:
    got = speed_bps(if_speed, high)
    if if_speed == SPEED_SATURATED:  # "more than 4.29 Gbit/s": only ifHighSpeed tells how much
        assert got == (high * 1_000_000 if high >= 1 else None)
    else:
        assert got == if_speed


# ---- rows and identity ------------------------------------------------------------------------

indexes = st.integers(1, 2**31 - 1)
columns = st.fixed_dictionaries(
    {},
    optional={
        name: st.dictionaries(indexes, values, max_size=8)
        for name, values in {
            "name": st.binary(max_size=12),
            "descr": st.binary(max_size=12),
            "oper_status": st.integers(-3, 9),
            "admin_status": st.integers(-3, 9),
            "hc_in_octets": st.integers(0, 2**64 - 1),
            "hc_out_octets": st.integers(0, 2**64 - 1),
            "in_octets": st.integers(0, 2**32 - 1),
            "out_octets": st.integers(0, 2**32 - 1),
        }.items()
    },
)


@given(columns)
def test_every_row_of_either_table_is_kept_named_and_of_its_own_width(cols: dict[str, dict[int, object]]) -> None:
    rows = interface_rows(cols, fallback="cp1258")  # type: ignore[arg-type]
    assert [row.if_index for row in rows] == sorted(set().union(*cols.values()))
    for row in rows:
        assert row.name
        assert "\x00" not in row.name
        pairs = [(cols.get(f"hc_{way}_octets", {}), cols.get(f"{way}_octets", {})) for way in ("in", "out")]
        # 64-bit where both HC counters are there, unless one is 0 beside a counting 32-bit one (RFC 2863:
        # ifInOctets is the low 32 bits of ifHCInOctets, so such an HC counter is not maintained)
        wide = all(row.if_index in hc for hc, _ in pairs) and not any(
            hc[row.if_index] == 0 and narrow.get(row.if_index) for hc, narrow in pairs
        )
        assert row.counter_bits == (64 if wide else 32)
        assert row.in_octets == (
            cols["hc_in_octets"][row.if_index] if wide else cols.get("in_octets", {}).get(row.if_index)
        )
        assert row.oper_status is None or 1 <= row.oper_status <= 7
        assert row.admin_status is None or 1 <= row.admin_status <= 3


@given(st.dictionaries(indexes, st.sampled_from(["eth0", "eth0#2", "eth0#2#3", "ge1", "", "a#1"]), max_size=12))
def test_identities_are_unique_and_keep_unique_names(names: dict[int, str]) -> None:
    rows = [InterfaceRow(if_index=i, name=n) for i, n in names.items()]
    ids = interface_ids(rows)
    assert len(set(ids.values())) == len(rows)
    counts = {n: list(names.values()).count(n) for n in names.values()}
    for index, name in names.items():
        assert ids[index].startswith(name)
        if counts[name] == 1 and not any(ids[i] == name for i in names if i != index):
            assert ids[index] == name


def test_resolve_interface() -> None:
    rows = [InterfaceRow(if_index=i, name=n) for i, n in [(1, "e0"), (2, "e0"), (3, "ge1")]]
    assert resolve_interface(rows, "ge1") == rows[2]
    assert resolve_interface(rows, "e0#2") == rows[1]
    assert resolve_interface(rows, "e0") == ["e0#1", "e0#2"]
    assert resolve_interface(rows, "nope") is None


def test_the_same_names_and_speeds_of_many_devices_are_held_once() -> None:
    """The newest row of every port is kept (172,000 at 10k devices): equal names and speeds are one object each."""

    def device() -> tuple[InterfaceRow, ...]:
        return interface_rows(
            {
                "name": {1: b"GigabitEthernet0/1", 2: b"GigabitEthernet0/2"},
                "alias": {1: b"uplink TSLCD", 2: b""},
                "high_speed": {1: 1000, 2: 1000},
            },
            fallback="cp1258",
        )

    first, second = device(), device()
    for a, b in zip(first, second, strict=True):
        assert a == b
        assert (a.name is b.name, a.alias is b.alias, a.speed_bps is b.speed_bps) == (True, True, True)
    assert first[0].speed_bps == 1_000_000_000
