"""The audit trail: every write says who, what, when and from where (issue 14).

One `AuditLog.record()` stores a row in `audit_log` and, in the same transaction, the MQTT event
`<prefix>/events/audit` in the outbox (so the event is sent at least once, by the daemon's
publisher), then logs one `audit` line (a CLI command says it in its own message instead).
Actions: `maintenance.create`, `maintenance.delete`, `token.create`, `token.revoke`, `reload`.
The actor is a token name (`token:NAME`), a basic-auth user (`user:NAME`), a local account for
the CLI (`cli:LOGIN`) or a signal (`signal:SIGHUP`, a reload); the source is the client's
address, or `local`. No secret is ever part of an entry: a token's name, never its value.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from netmon.inventory.models import metadata
from netmon.inventory.schema import transaction
from netmon.monitor.outages import utc
from netmon.pollers.base import utcnow
from netmon.sinks.events import SCHEMA, OutboxMessage, event_topic
from netmon.sinks.outbox import Outbox

__all__ = ["ACTIONS", "AuditLog", "AuditRecord"]

ACTIONS = ("maintenance.create", "maintenance.delete", "token.create", "token.revoke", "reload")
_AUDIT = metadata.tables["audit_log"]


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """One audited write; `at` is UTC, `detail` a small JSON-ready mapping (never a secret)."""

    actor: str
    action: str
    target: str
    source: str
    at: datetime = field(default_factory=utcnow)
    detail: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape of the API and of the MQTT event (without `schema`/`event_id`)."""
        return {
            "id": self.id,
            "at": self.at.astimezone(UTC).isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "source": self.source,
            "detail": self.detail,
        }


class AuditLog:
    """Writes and reads the audit trail; *mqtt_prefix* None means no MQTT event (MQTT disabled).

    *log* None logs no `audit` line: a one-shot command says what it did in its own words.
    """

    def __init__(self, engine: Engine, *, mqtt_prefix: str | None, log: Any) -> None:
        self.engine = engine
        self._prefix = mqtt_prefix
        self._log = log

    def record(self, entry: AuditRecord) -> AuditRecord:
        """Store *entry* and its MQTT event in one transaction, then log it; return it with its id.

        Raises StoreError when the database fails (nothing is stored then).
        """
        with transaction(self.engine, "audit log") as conn:
            result = conn.execute(
                sa.insert(_AUDIT).values(
                    at=entry.at.astimezone(UTC),
                    actor=entry.actor,
                    action=entry.action,
                    target=entry.target,
                    source=entry.source,
                    detail=json.dumps(entry.detail, ensure_ascii=False, sort_keys=True),
                )
            )
            key = result.inserted_primary_key
            stored = AuditRecord(**{**entry.__dict__, "id": int(key[0]) if key else None})
            if self._prefix is not None:
                event_id = uuid.uuid4().hex
                payload = {"schema": SCHEMA, "id": event_id, "kind": "audit", **stored.to_dict()}
                text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
                message = OutboxMessage(event_id=event_id, topic=event_topic(self._prefix, "audit"), payload=text)
                Outbox(self.engine).add(conn, [message])
        if self._log is not None:
            self._log.info(
                "audit",
                actor=stored.actor,
                action=stored.action,
                target=stored.target,
                source=stored.source,
                audit_id=stored.id,
            )
        return stored

    def list(self, *, since: datetime | None = None, limit: int = 100) -> list[AuditRecord]:
        """Return the newest *limit* entries (at or after *since*), newest first."""
        query = sa.select(_AUDIT).order_by(_AUDIT.c.id.desc()).limit(limit)
        if since is not None:
            query = query.where(_AUDIT.c.at >= since.astimezone(UTC))
        with transaction(self.engine, "audit log") as conn:
            return [
                AuditRecord(
                    id=row["id"],
                    at=utc(row["at"]),
                    actor=row["actor"],
                    action=row["action"],
                    target=row["target"],
                    source=row["source"],
                    detail=json.loads(row["detail"]) if row["detail"] else {},
                )
                for row in conn.execute(query).mappings()
            ]
