"""CLI commands of issue 14: `netmon token create|list|revoke`, `netmon audit list`, `netmon web hash-password`.

Kept out of netmon/cli.py (which only registers these typer apps) and light to import: each
command imports what it needs when it runs. Token and audit commands work on the database of the
config (`--config` or NETMON_CONFIG); every token change is audited as `cli:LOGIN` from `local`.
Exit codes as everywhere: 0 ok, 1 runtime failure, 2 bad input.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from netmon.config import Config

__all__ = ["audit_app", "token_app", "web_app"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

token_app = typer.Typer(
    help="API tokens (read or write scope); only their hash is stored.\n\nExample: netmon token list",
    no_args_is_help=True,
)
audit_app = typer.Typer(
    help="The audit trail of every write: who, what, when, from where.\n\nExample: netmon audit list --since 1d",
    no_args_is_help=True,
)
web_app = typer.Typer(
    help="The exporter-toolkit web config (TLS, basic auth).\n\nExample: netmon web hash-password --random --cost 10",
    no_args_is_help=True,
)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="NETMON_CONFIG", help="Config file (YAML).", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _handled(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn NetmonError into one line on stderr and its exit code (2 for bad input), never a traceback."""
    from netmon.errors import NetmonError  # noqa: PLC0415 (light import)

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return func(*args, **kwargs)
        except NetmonError as exc:
            typer.echo(f"netmon: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def _open(config: Path | None) -> tuple[Config, Engine]:
    from netmon.config import load_config  # noqa: PLC0415
    from netmon.errors import StoreError  # noqa: PLC0415
    from netmon.inventory import schema  # noqa: PLC0415
    from netmon.logs import setup_logging  # noqa: PLC0415

    cfg = load_config(config)
    setup_logging(cfg.logging)
    engine = schema.create_engine(cfg.database.url.reveal())
    current = schema.current_revision(engine)
    if current != schema.HEAD:
        engine.dispose()
        raise StoreError(f"the database is at schema {current or 'empty'}, this netmon needs {schema.HEAD}: "
                         "run `netmon db upgrade`")  # fmt: skip
    return cfg, engine


def _actor() -> str:
    import getpass  # noqa: PLC0415

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _audit(cfg: Config, engine: Engine, action: str, target: str, **detail: Any) -> int | None:
    """Record a CLI write in the audit trail; return its entry's id, which the command's message gives.

    No `audit` log line: that would repeat the command's own message on stderr, as JSON when piped.
    """
    from netmon.api.audit import AuditLog, AuditRecord  # noqa: PLC0415

    prefix = cfg.mqtt.topic_prefix if cfg.mqtt.enabled else None
    log = AuditLog(engine, mqtt_prefix=prefix, log=None)
    return log.record(AuditRecord(actor=_actor(), action=action, target=target, source="local", detail=detail)).id


@token_app.command("create")
@_handled
def token_create(
    name: Annotated[str, typer.Option("--name", help="Who or what uses it, e.g. grafana or ops-an.")],
    scope: Annotated[str, typer.Option("--scope", help="read (GETs) or write (also POST/DELETE).")],
    expires: Annotated[str | None, typer.Option("--expires", help="90d, 12h, 2w or never (default).")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API token and print it once (stdout); only its hash is stored. Audited.

    Example: netmon token create --name grafana --scope read --expires 90d
    """
    from netmon.api.tokens import TokenStore, parse_expiry  # noqa: PLC0415
    from netmon.pollers.base import utcnow  # noqa: PLC0415

    now = utcnow()
    until = parse_expiry(expires, now)
    cfg, engine = _open(config)
    try:
        token, info = TokenStore(engine).create(name, scope, until, now)
        entry = _audit(
            cfg, engine, "token.create", f"token:{name}", scope=scope, expires_at=info.to_dict()["expires_at"]
        )
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps({**info.to_dict(), "token": token}))
        return
    typer.echo(token)
    when = f"until {info.expires_at.isoformat()}" if info.expires_at else "without expiry"
    typer.echo(f"netmon: token {name!r} ({scope}) {when}; it is shown only this once (audit entry {entry})", err=True)


@token_app.command("list")
@_handled
def token_list(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """List tokens (never their value): name, scope, created, expires, revoked, valid now.

    Example: netmon token list --json
    """
    from netmon.api.tokens import TokenStore  # noqa: PLC0415
    from netmon.pollers.base import utcnow  # noqa: PLC0415

    _, engine = _open(config)
    try:
        tokens = TokenStore(engine).list()
    finally:
        engine.dispose()
    now = utcnow()
    rows = [{**t.to_dict(), "valid": t.valid(now)} for t in tokens]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        typer.echo("no tokens")
    for row in rows:
        state = "valid" if row["valid"] else ("revoked" if row["revoked_at"] else "expired")
        typer.echo(f"{row['name']:<24} {row['scope']:<6} {state:<8} created {row['created_at']}"
                   f" expires {row['expires_at'] or 'never'}")  # fmt: skip


@token_app.command("revoke")
@_handled
def token_revoke(
    name: Annotated[str, typer.Argument(help="The token's name.")],
    config: ConfigOpt = None,
) -> None:
    """Revoke a token at once (kept in the list, for the audit trail). Audited.

    Example: netmon token revoke grafana
    """
    from netmon.api.tokens import TokenStore  # noqa: PLC0415
    from netmon.pollers.base import utcnow  # noqa: PLC0415

    cfg, engine = _open(config)
    try:
        TokenStore(engine).revoke(name, utcnow())
        entry = _audit(cfg, engine, "token.revoke", f"token:{name}")
    finally:
        engine.dispose()
    typer.echo(f"netmon: token {name!r} revoked (audit entry {entry})", err=True)


@audit_app.command("list")
@_handled
def audit_list(
    since: Annotated[str | None, typer.Option(help="Only entries since: 30m, 24h, 7d, or an ISO date/time.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100000, help="At most this many entries.")] = 100,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List audited writes, newest first: when, who, what, target and from where.

    Example: netmon audit list --since 7d
    """
    from netmon.api.audit import AuditLog  # noqa: PLC0415
    from netmon.monitor.outages import parse_since  # noqa: PLC0415
    from netmon.pollers.base import utcnow  # noqa: PLC0415

    start = parse_since(since, utcnow(), where="--since") if since else None
    _, engine = _open(config)
    try:
        entries = AuditLog(engine, mqtt_prefix=None, log=None).list(since=start, limit=limit)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps([e.to_dict() for e in entries], ensure_ascii=False))
        return
    if not entries:
        typer.echo("no audit entries")
    for e in entries:
        typer.echo(f"{e.at.isoformat()}  {e.actor:<20} {e.action:<20} {e.target:<24} {e.source}")


@web_app.command("hash-password")
@_handled
def hash_password_command(
    cost: Annotated[int, typer.Option(min=4, max=31, help="bcrypt work factor (each step doubles the time).")] = 12,
    random: Annotated[
        bool, typer.Option("--random", help="Make a strong password and print it (once) above its hash.")
    ] = False,
) -> None:
    """Print the bcrypt hash of a password for `basic_auth_users` (asked twice; or read from stdin when piped).

    With --random, netmon makes the password (e.g. for Prometheus' scrape credentials) and prints
    it on the first line, the hash on the second; keep the password in the scraper's config only.

    Example: netmon web hash-password --random --cost 10
    """
    import secrets  # noqa: PLC0415

    from netmon.api.webconfig import hash_password  # noqa: PLC0415
    from netmon.errors import InputError  # noqa: PLC0415

    if random:
        password = secrets.token_urlsafe(24)
        typer.echo(password)
    elif sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise InputError("password: empty")
    if len(password.encode()) > 72:
        raise InputError("password: bcrypt uses at most 72 bytes")
    typer.echo(hash_password(password, cost))
