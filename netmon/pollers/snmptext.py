"""Decoding of SNMP values as real agents send them: text in any encoding, enums and integers out of range.

Pure functions, no I/O. The rules (issue 13):

- **Text.** An OCTET STRING (RFC 2578 DisplayString is *meant* to be ASCII, SnmpAdminString
  (RFC 3411) UTF-8) arrives in whatever the device's administrator typed: UTF-8, Windows-1258
  on Vietnamese Windows, NUL-padded C strings. NUL bytes are dropped (they never reach a key,
  a Prometheus label or a PostgreSQL text column, which refuses them); the rest is decoded as
  UTF-8, else with the profile's fallback codec (Windows-1258 by default), else kept as
  ``0x`` + hex of the raw bytes so that nothing is invented. The result is NFC (Windows-1258
  spells tones as combining marks).
- **Enums.** A value outside the MIB's range (ifOperStatus 0) is unknown (None), never an error.
- **Integer32 that should be unsigned.** HOST-RESOURCES sizes are Integer32; agents with more
  than 2³¹ allocation units send them negative. Reinterpreted as unsigned 32-bit when that fits,
  else unknown; never a negative gauge.
"""

from __future__ import annotations

import codecs
import unicodedata

from gufo.snmp import ValueType

__all__ = [
    "DEFAULT_FALLBACK",
    "as_enum",
    "as_int",
    "as_unsigned32",
    "check_codec",
    "decode_text",
]

#: The fallback codec when a profile names none: Vietnamese Windows' ANSI code page.
DEFAULT_FALLBACK = "cp1258"

_UINT32 = 1 << 32


def check_codec(name: str) -> str:
    """Return the canonical name of codec *name*.

    Raises:
        ValueError: Python has no such text codec (the config loader reports it with its line).
    """
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise ValueError(f"unknown text encoding {name!r} (a Python codec name, e.g. cp1258)") from None
    if not getattr(info, "_is_text_encoding", True):
        raise ValueError(f"{name!r} is not a text encoding")
    return info.name


def decode_text(value: ValueType, fallback: str = DEFAULT_FALLBACK) -> str:
    """Decode an OCTET STRING: NULs dropped, UTF-8, else *fallback*, else ``0x`` + hex; NFC.

    Non-bytes values (an OID, a number where text was expected) are given as ``str(value)``;
    None (no value) as "".
    """
    if value is None:
        return ""
    if not isinstance(value, bytes):
        return str(value).replace("\x00", "")
    raw = value.replace(b"\x00", b"")
    if raw.isascii():  # the common case, already NFC
        return raw.decode("ascii")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = raw.decode(fallback)
        except UnicodeDecodeError:
            return "0x" + raw.hex()
    return unicodedata.normalize("NFC", text)


def as_int(value: ValueType) -> int | None:
    """Return *value* if it is an integer (bool excluded), else None."""
    return value if type(value) is int else None  # exactly int: not bool (clients give plain ints)


def as_enum(value: ValueType, low: int, high: int) -> int | None:
    """Return an INTEGER enum in ``low..high`` (inclusive), else None (unknown)."""
    number = as_int(value)
    return number if number is not None and low <= number <= high else None


def as_unsigned32(value: ValueType) -> int | None:
    """Return an Integer32 read as unsigned 32-bit: negatives from -2³¹ on become value + 2³².

    -1 is the agents' "unknown" and stays unknown; anything outside the 32-bit range is unknown.
    """
    number = as_int(value)
    if number is None or number == -1 or not -(1 << 31) <= number < _UINT32:
        return None
    return number % _UINT32
