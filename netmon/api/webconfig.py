"""The Prometheus exporter-toolkit web config: TLS and bcrypt basic auth for /metrics and the API.

The file is the one node_exporter and snmp_exporter read with `--web.config.file`
(https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md)::

    tls_server_config:
      cert_file: server.crt          # relative paths are relative to this file
      key_file: server.key
      client_auth_type: RequireAndVerifyClientCert   # optional: mutual TLS
      client_ca_file: clients-ca.crt
      min_version: TLS12             # TLS10 | TLS11 | TLS12 | TLS13
    basic_auth_users:
      prometheus: $2b$12$...         # bcrypt, from `netmon web hash-password`

so Prometheus' `scrape_config` works unchanged with `basic_auth` and `tls_config`. Unknown keys
and bad values raise ConfigError naming the file, the line and the key. Supported client auth
types are those Python's ssl module can enforce: NoClientCert, VerifyClientCertIfGiven,
RequireAndVerifyClientCert. The toolkit's cipher/curve tuning and max_version are refused
rather than ignored. A checked password is cached by its SHA-256 (as the toolkit does) so
bcrypt's deliberate ~0.1-0.3 s cost is paid once per credential, not per scrape.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import bcrypt
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from netmon.errors import ConfigError, Issue, validation_message
from netmon.yamlsrc import Located, YamlSyntaxError, dotted, load_yaml

__all__ = ["BasicAuth", "WebConfig", "hash_password", "load_web_config"]

_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
#: bcrypt's work factor for `netmon web hash-password` (the toolkit's htpasswd examples use 10-12).
DEFAULT_COST = 12


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Tls(_Section):
    cert_file: Path
    key_file: Path
    client_auth_type: Literal["NoClientCert", "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"] = "NoClientCert"
    client_ca_file: Path | None = None
    min_version: Literal["TLS10", "TLS11", "TLS12", "TLS13"] = "TLS12"


class _Http(_Section):
    http2: bool = True  # accepted for compatibility: aiohttp serves HTTP/1.1
    headers: dict[str, str] = {}


class _File(_Section):
    tls_server_config: _Tls | None = None
    http_server_config: _Http = _Http()
    basic_auth_users: dict[Annotated[str, Field(min_length=1, pattern=r"^[^:]+$")], str] = {}


@dataclass(frozen=True)
class BasicAuth:
    """The basic-auth users and their bcrypt hashes, with a cache of credentials already checked."""

    users: dict[str, bytes]
    _good: set[bytes] = field(default_factory=set, repr=False)

    def check(self, header: str) -> str | None:
        """Return the user whose `Authorization: Basic ...` *header* is right, else None (blocking: bcrypt).

        Call it in a worker thread: one bcrypt check costs ~0.1-0.3 s by design.
        """
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        hashed = self.users.get(user)
        if not sep or hashed is None:
            return None
        key = hashlib.sha256(header.encode() + b"\0" + hashed).digest()
        if key in self._good:
            return user
        if bcrypt.checkpw(password.encode(), hashed):
            self._good.add(key)
            return user
        return None


@dataclass(frozen=True)
class WebConfig:
    """A loaded web config: the TLS context (or None for plain HTTP), basic auth and extra headers."""

    source: str
    tls: ssl.SSLContext | None
    basic_auth: BasicAuth | None
    headers: dict[str, str]
    client_certs: bool = False


def hash_password(password: str, cost: int = DEFAULT_COST) -> str:
    """Return the bcrypt hash of *password* for `basic_auth_users` (cost 4..31, bcrypt's range)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=cost)).decode()


def load_web_config(path: Path) -> WebConfig:
    """Read and check the web config file; build its TLS context (blocking: file I/O).

    Raises ConfigError naming the file, line and key for a missing file, bad YAML, an unknown key,
    a bad value, or a certificate or key that cannot be loaded.
    """
    source = str(path)
    try:
        located = load_yaml(path.read_text(encoding="utf-8"), path)
    except FileNotFoundError:
        raise ConfigError([Issue(source=source, line=None, where="", message="no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Issue(source=source, line=None, where="", message=f"cannot read: {exc}")]) from None
    except YamlSyntaxError as exc:
        raise ConfigError([exc.issue]) from None
    data = located.data if located.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError([Issue(source=source, line=1, where="", message="the web config must be a mapping")])
    try:
        parsed = _File.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_issue(err, located) for err in exc.errors()]) from None
    users = {name: hashed.encode() for name, hashed in parsed.basic_auth_users.items()}
    bad = [
        Issue(
            source=source,
            line=located.line(("basic_auth_users", name)),
            where=f"basic_auth_users.{name}",
            message="expected a bcrypt hash ($2y$...), e.g. from `netmon web hash-password`",
        )
        for name, hashed in parsed.basic_auth_users.items()
        if not hashed.startswith(("$2a$", "$2b$", "$2y$")) or len(hashed) != 60
    ]
    if bad:
        raise ConfigError(bad)
    tls, mutual = None, False
    if parsed.tls_server_config is not None:
        tls = _context(parsed.tls_server_config, path.parent, located)
        mutual = parsed.tls_server_config.client_auth_type != "NoClientCert"
    return WebConfig(
        source=source,
        tls=tls,
        basic_auth=BasicAuth(users) if users else None,
        headers=dict(parsed.http_server_config.headers),
        client_certs=mutual,
    )


def _context(tls: _Tls, folder: Path, located: Located) -> ssl.SSLContext:
    def where(key: str) -> tuple[int | None, str]:
        return located.line(("tls_server_config", key)), f"tls_server_config.{key}"

    def fail(key: str, message: str) -> ConfigError:
        line, name = where(key)
        return ConfigError([Issue(source=located.source, line=line, where=name, message=message)])

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = _VERSIONS[tls.min_version]
    cert, key = folder / tls.cert_file, folder / tls.key_file
    try:
        context.load_cert_chain(cert, key)
    except FileNotFoundError as exc:
        raise fail("cert_file" if not cert.exists() else "key_file", f"no such file: {exc.filename}") from None
    except (ssl.SSLError, OSError) as exc:
        raise fail("cert_file", f"cannot load the certificate and key: {exc.strerror or exc}") from None
    context.verify_mode = _CLIENT_AUTH[tls.client_auth_type]
    if tls.client_auth_type != "NoClientCert":
        if tls.client_ca_file is None:
            raise fail("client_auth_type", f"{tls.client_auth_type} needs client_ca_file")
        try:
            context.load_verify_locations(folder / tls.client_ca_file)
        except (ssl.SSLError, OSError) as exc:
            raise fail("client_ca_file", f"cannot load: {exc.strerror or exc}") from None
    elif tls.client_ca_file is not None:
        raise fail("client_ca_file", "client_ca_file needs client_auth_type RequireAndVerifyClientCert")
    return context


def _issue(err: ErrorDetails, located: Located) -> Issue:
    loc = tuple(err["loc"])
    return Issue(source=located.source, line=located.line(loc), where=dotted(loc), message=validation_message(err))
