"""Who may use the HTTP server, and what it records: the web config, tokens, audit and limits together.

`check_exposure()` reads the web config and `Access.open()` applies the exposure rule of issue 14: nothing beyond
loopback without authentication. A non-loopback `http.listen` with no `basic_auth_users` is a
ConfigError (exit 2) unless `http.allow_insecure: true`, which logs a loud warning instead.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from netmon.api.audit import AuditLog, AuditRecord
from netmon.api.guard import Policy
from netmon.api.tokens import TokenStore
from netmon.api.webconfig import WebConfig, load_web_config
from netmon.config import HttpConfig
from netmon.errors import ConfigError, Issue
from netmon.pollers.base import utcnow

__all__ = ["Access", "check_exposure", "exposure_issue", "is_loopback"]


def is_loopback(host: str) -> bool:
    """Tell whether *host* (an address, or `localhost`) only reaches this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name may resolve anywhere


def exposure_issue(http: HttpConfig, web: WebConfig | None) -> Issue | None:
    """Return why *http* may not listen where it does, or None: the exposure rule of issue 14.

    Beyond loopback, /metrics and the API need basic auth (web.config_file) or `http.allow_insecure`.
    """
    if is_loopback(http.host) or (web is not None and web.basic_auth is not None) or http.allow_insecure:
        return None
    message = (
        f"{http.listen} is beyond loopback and no basic_auth_users are configured: set web.config_file "
        "(see config/web.example.yml), or http.allow_insecure: true to serve without authentication"
    )
    return Issue(source="config", line=None, where="http.listen", message=message)


def check_exposure(http: HttpConfig, web_file: Path | None) -> WebConfig | None:
    """Read the web config (blocking), apply the exposure rule, and return the web config (None without a file).

    Raises ConfigError for a bad web config, or for a listen address the rule refuses
    (`exposure_issue`): `check-config` and the start of `run` ask before anything is opened.
    """
    web = load_web_config(web_file) if web_file is not None else None
    issue = exposure_issue(http, web)
    if issue is not None:
        raise ConfigError([issue])
    return web


@dataclass
class Access:
    """The HTTP server's security: web config (or None), token store, audit log and the guard's policy."""

    web: WebConfig | None
    tokens: TokenStore | None
    audit_log: AuditLog | None
    policy: Policy
    wake: Callable[[], None] = field(default=lambda: None)

    @classmethod
    def open(
        cls,
        http: HttpConfig,
        web: WebConfig | None,
        engine: Engine | None,
        *,
        log: Any,
        mqtt_prefix: str | None = None,
        wake: Callable[[], None] | None = None,
    ) -> Access:
        """Apply the exposure rule to *web* (the web config `check_exposure` read, or None) and open the rest.

        Raises ConfigError for a non-loopback listen without basic auth and without `http.allow_insecure`.
        """
        loopback = is_loopback(http.host)
        authenticated = web is not None and web.basic_auth is not None
        issue = exposure_issue(http, web)
        if issue is not None:
            raise ConfigError([issue])
        if not loopback and not authenticated:
            log.warning(
                "INSECURE: /metrics and the API are served beyond loopback without authentication "
                "(http.allow_insecure is true); anyone who reaches the port can read them",
                listen=http.listen,
            )
        policy = Policy(
            anonymous_reads=http.anonymous_reads and not authenticated and (loopback or http.allow_insecure),
            tls=web is not None and web.tls is not None,
            header_timeout=http.header_timeout,
            handler_timeout=http.request_timeout,
            headers=tuple(web.headers.items()) if web is not None else (),
        )
        tokens = TokenStore(engine) if engine is not None else None
        audit = AuditLog(engine, mqtt_prefix=mqtt_prefix, log=log) if engine is not None else None
        return cls(web=web, tokens=tokens, audit_log=audit, policy=policy, wake=wake or (lambda: None))

    async def authenticate(self, header: str) -> tuple[str, str] | None:
        """Return (principal, scope) for an Authorization *header*, or None; bcrypt and the DB run in a thread."""
        scheme, _, credential = header.partition(" ")
        if scheme.lower() == "bearer" and self.tokens is not None:
            info = await asyncio.to_thread(self.tokens.lookup, credential.strip(), utcnow())
            return (f"token:{info.name}", info.scope) if info is not None else None
        if scheme.lower() == "basic" and self.web is not None and self.web.basic_auth is not None:
            user = await asyncio.to_thread(self.web.basic_auth.check, header)
            return (f"user:{user}", "read") if user is not None else None
        return None

    async def record(self, *, actor: str, action: str, target: str, source: str, **detail: Any) -> None:
        """Audit one write (database row, MQTT event, log line) in a worker thread; StoreError if it fails."""
        if self.audit_log is None:
            return
        entry = AuditRecord(actor=actor, action=action, target=target, source=source, detail=detail)
        await asyncio.to_thread(self.audit_log.record, entry)
        self.wake()
