"""Parsers for where a service lives: an HTTP(S) URL, a TCP HOST:PORT, and accepted status codes.

Each parser takes what a YAML or CSV cell holds and returns a canonical value, or raises
ValueError with a message fit for `file:line: field: message` (the inventory reports it).

- URL: RFC 3986 with scheme http or https, a host (an IP address or a DNS name, RFC 1123
  labels; a name with diacritics becomes its IDNA form, RFC 3490), an optional port 1-65535,
  and no user information: a password in a URL would end up in exports and logs. For the same
  reason no query parameter named like a credential (`token`, `api_key`, `password`,
  `X-Amz-Signature`, ...: `_CREDENTIAL`); the message names the parameter, never its value.
- HOST:PORT: an IPv4 address, a bracketed IPv6 address (RFC 3986 section 3.2.2) or a DNS
  name, and a port 1-65535.
- Expected status: an int, "200-299", "200,301-302", or a list of those; codes 100-599
  (RFC 9110 section 15).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

__all__ = ["ExpectStatus", "check_one_host", "parse_expect_status", "parse_host", "parse_host_port", "parse_url"]

_MAX_URL = 1024
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_RANGE = re.compile(r"^(\d{3})(?:\s*-\s*(\d{3}))?$")
#: Query parameter names (lower case, without '-', '_' and '.') that carry a credential, and endings
#: that do (access_token, client_secret, x-amz-signature).
_CREDENTIAL = frozenset({"auth", "authorization", "credential", "jwt", "key", "passwd", "pwd", "sig", "token"})
_CREDENTIAL_ENDS = ("apikey", "password", "secret", "signature", "token")


_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def check_one_host(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, text: str, *, noun: str, advice: str
) -> None:
    """Refuse an address that is no single host's, for which a probe's answer would mean nothing.

    The unspecified address (0.0.0.0, ::, RFC 4291 2.5.2: on Linux it reaches the station itself),
    multicast (RFC 4291 2.7, RFC 5771), the limited broadcast 255.255.255.255 (RFC 919), also as
    IPv4-mapped IPv6, and an IPv6 zone (``%eth0``: the ping socket refuses a scoped address).

    Raises:
        ValueError: naming *text*, what it is not (one *noun*'s address) and *advice*.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        raise ValueError(f"{text!r}: an address with a zone (%{address.scope_id}) cannot be polled; leave it out")
    plain = (address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None) or address
    if plain.is_unspecified or plain.is_multicast or plain == _BROADCAST:
        raise ValueError(f"{text!r} is not the address of one {noun} (unspecified, multicast or broadcast): {advice}")


def parse_host(text: str, *, one_host: bool = True) -> str:
    """Return *text* as a canonical IP address or a lower-case DNS name; ValueError otherwise.

    An IP address that is no single host's is refused (`check_one_host`), unless not *one_host*
    (a stored record, validated when it was imported).
    """
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        pass
    else:
        if one_host:
            check_one_host(address, text, noun="host", advice="give the service's own address or host name")
        return str(address)
    name = text.rstrip(".").lower()
    if not name.isascii():  # an internationalised name (e.g. Vietnamese): its IDNA (punycode) form
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"{text!r} is not an IP address or a host name") from None
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise ValueError(f"{text!r} is not an IP address or a host name")
    if name.replace(".", "").isdigit():
        raise ValueError(f"{text!r} is not an IP address or a host name")
    return name


def _port(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"port {text!r} is out of range (1-65535)")
    return int(text)


def parse_host_port(value: object, *, one_host: bool = True) -> tuple[str, int]:
    """Parse "HOST:PORT" or "[IPv6]:PORT"; return (host without brackets, port). *one_host*: see `parse_host`."""
    if not isinstance(value, str):
        raise ValueError("must be HOST:PORT, e.g. 198.18.0.10:443")  # noqa: TRY004 (pydantic reports ValueError)
    text = value.strip()
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"{text!r} is not [IPv6]:PORT")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{host!r} is not an IPv6 address") from None
        return parse_host(host, one_host=one_host), _port(port)
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{text!r} is not HOST:PORT, e.g. 198.18.0.10:443")
    if ":" in host:
        raise ValueError(f"{text!r}: write an IPv6 address in brackets, e.g. [2001:db8::1]:443")
    return parse_host(host, one_host=one_host), _port(port)


def parse_url(value: object) -> str:
    """Check an http(s) URL and return it stripped, with the scheme and host in lower case."""
    if not isinstance(value, str):
        raise ValueError("must be an http:// or https:// URL")  # noqa: TRY004 (pydantic reports ValueError)
    text = value.strip()
    if len(text) > _MAX_URL:
        raise ValueError(f"URL is longer than {_MAX_URL} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ValueError("URL holds a space or a control character; percent-encode it")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"URL scheme must be http or https, not {parts.scheme or 'none'!r}")
    if "@" in parts.netloc:
        raise ValueError("URL must not hold a user name or password")
    for name, _value in parse_qsl(parts.query, keep_blank_values=True):
        bare = re.sub(r"[-_.]", "", name).lower()
        if bare in _CREDENTIAL or bare.endswith(_CREDENTIAL_ENDS):
            raise ValueError(
                f"URL query parameter {name!r} looks like a credential, which would end up in exports and"
                " logs; check a page that needs none (e.g. a health or login page)"
            )
    if not parts.hostname:
        raise ValueError("URL has no host")
    if port == 0:
        raise ValueError("port 0 is out of range (1-65535)")
    host = parse_host(parts.hostname)
    shown = f"[{host}]" if ":" in host else host
    netloc = f"{shown}:{port}" if port is not None else shown
    return parts._replace(scheme=parts.scheme.lower(), netloc=netloc).geturl()


@dataclass(frozen=True)
class ExpectStatus:
    """Accepted HTTP status codes as inclusive ranges; `text` is the canonical form."""

    ranges: tuple[tuple[int, int], ...]

    @property
    def text(self) -> str:
        """Return e.g. "200" or "200-299,301"."""
        return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in self.ranges)

    def accepts(self, code: int) -> bool:
        """Tell whether status *code* is expected."""
        return any(lo <= code <= hi for lo, hi in self.ranges)


def parse_expect_status(value: object) -> ExpectStatus:
    """Parse an expected status: 200, "200-299", "200,301-302" or a list of those."""
    items: list[object]
    if isinstance(value, bool):
        raise ValueError("must be a status code, a range such as 200-299, or a list of them")  # noqa: TRY004 (pydantic reports ValueError)
    if isinstance(value, int | str):
        items = [value] if isinstance(value, int) else [v for v in value.split(",") if v.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ValueError("must be a status code, a range such as 200-299, or a list of them")  # noqa: TRY004 (as above)
    ranges: list[tuple[int, int]] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | str):
            raise ValueError(f"{item!r} is not a status code")  # noqa: TRY004 (as above)
        match = _RANGE.match(str(item).strip())
        if match is None:
            raise ValueError(f"{item!r} is not a status code or a range such as 200-299")
        lo = int(match.group(1))
        hi = int(match.group(2) or lo)
        if not 100 <= lo <= hi <= 599:
            raise ValueError(f"{item!r}: status codes run from 100 to 599, low to high")
        ranges.append((lo, hi))
    if not ranges:
        raise ValueError("must name at least one status code")
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(set(ranges)):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return ExpectStatus(tuple(merged))
