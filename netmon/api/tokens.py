"""API tokens with a scope (read or write); only their SHA-256 is stored, the token is shown once.

A token is `nmt_` followed by 43 URL-safe characters from `secrets.token_urlsafe(32)` (256 bits of
randomness). Because it is random and long, a plain SHA-256 is the right hash (as GitHub and
PyPI tokens are kept): a slow hash (bcrypt) protects guessable passwords, and would cost ~0.2 s
per request here. A lookup compares hashes in the database, never the token itself.

Scopes (issue 14): a `read` token may call every GET; a `write` token may also write (POST,
DELETE). An expired or revoked token is no token at all. Errors never carry a token.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from netmon.errors import InputError, NotFoundError
from netmon.inventory.models import metadata
from netmon.inventory.schema import transaction
from netmon.monitor.outages import utc

__all__ = ["PREFIX", "Scope", "TokenInfo", "TokenStore", "hash_token", "parse_expiry"]

Scope = Literal["read", "write"]
#: What every token starts with, so that a leaked one is recognisable (secret scanners).
PREFIX = "nmt_"
_TOKENS = metadata.tables["api_tokens"]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_EXPIRY = re.compile(r"^(\d{1,5})([hdw])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


@dataclass(frozen=True, kw_only=True)
class TokenInfo:
    """A stored token without its secret: name, scope, when made, when it expires or was revoked (UTC)."""

    name: str
    scope: Scope
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def valid(self, now: datetime) -> bool:
        """Tell whether the token may be used at *now* (not revoked, not expired)."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def allows(self, scope: Scope) -> bool:
        """Tell whether this token's scope covers *scope* (write covers read)."""
        return self.scope == "write" or scope == "read"

    def to_dict(self) -> dict[str, object]:
        """Return JSON-ready fields (ISO 8601 UTC times)."""
        return {
            "name": self.name,
            "scope": self.scope,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def hash_token(token: str) -> str:
    """Return the hex SHA-256 of *token* (what the database keeps)."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def parse_expiry(text: str | None, now: datetime) -> datetime | None:
    """Turn `90d`, `12h`, `2w` or `never`/None into an expiry instant; InputError naming `--expires` else."""
    if text is None or text == "never":
        return None
    match = _EXPIRY.match(text.strip())
    if match is None or int(match[1]) == 0:
        raise InputError(f"--expires: expected a duration like 90d, 12h or 2w (or never), not {text!r}")
    return now + int(match[1]) * _UNITS[match[2]]


class TokenStore:
    """The `api_tokens` table: create (returns the token once), list, revoke, and look a token up."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, name: str, scope: str, expires_at: datetime | None, now: datetime) -> tuple[str, TokenInfo]:
        """Make a token; return (the token, its info). InputError for a bad or taken name or scope."""
        if not _NAME.match(name):
            raise InputError(f"--name: {name!r}: 1 to 64 letters, digits, '_', '.', '@' or '-'")
        if scope not in ("read", "write"):
            raise InputError(f"--scope: expected read or write, not {scope!r}")
        token = PREFIX + secrets.token_urlsafe(32)
        info = TokenInfo(name=name, scope=scope, created_at=now.astimezone(UTC), expires_at=expires_at)  # type: ignore[arg-type]
        with transaction(self.engine, "api tokens") as conn:
            taken = conn.execute(sa.select(_TOKENS.c.id).where(_TOKENS.c.name == name)).first()
            if taken is not None:
                raise InputError(f"--name: a token named {name!r} exists already (revoke it or pick another name)")
            conn.execute(
                sa.insert(_TOKENS).values(
                    name=name,
                    scope=scope,
                    token_hash=hash_token(token),
                    created_at=info.created_at,
                    expires_at=expires_at.astimezone(UTC) if expires_at else None,
                )
            )
        return token, info

    def list(self) -> list[TokenInfo]:
        """Return every token (revoked and expired included), by name."""
        with transaction(self.engine, "api tokens") as conn:
            return [_info(row) for row in conn.execute(sa.select(_TOKENS).order_by(_TOKENS.c.name)).mappings()]

    def revoke(self, name: str, now: datetime) -> TokenInfo:
        """Revoke the token *name* (kept, for the audit trail); NotFoundError when there is none."""
        with transaction(self.engine, "api tokens") as conn:
            row = conn.execute(sa.select(_TOKENS).where(_TOKENS.c.name == name)).mappings().first()
            if row is None:
                raise NotFoundError(f"no token named {name!r}")
            if row["revoked_at"] is None:
                conn.execute(sa.update(_TOKENS).where(_TOKENS.c.id == row["id"]).values(revoked_at=now.astimezone(UTC)))
            info = _info(row)
        return info if info.revoked_at else TokenInfo(**{**info.__dict__, "revoked_at": now.astimezone(UTC)})

    def lookup(self, token: str, now: datetime) -> TokenInfo | None:
        """Return the token's info when it exists and is valid at *now*, else None."""
        if not token.startswith(PREFIX) or len(token) > 128:
            return None
        query = sa.select(_TOKENS).where(_TOKENS.c.token_hash == hash_token(token))
        with transaction(self.engine, "api tokens") as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        info = _info(row)
        return info if info.valid(now) else None


def _info(row: sa.RowMapping) -> TokenInfo:
    return TokenInfo(
        name=row["name"],
        scope=row["scope"],
        created_at=utc(row["created_at"]),
        expires_at=utc(row["expires_at"]) if row["expires_at"] else None,
        revoked_at=utc(row["revoked_at"]) if row["revoked_at"] else None,
    )
