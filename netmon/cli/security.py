"""`netmon token|audit|web`: API tokens, the audit trail and the web config (issue 14).

The commands live in `netmon.api.commands`; they import the database layer only when run.
"""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the `token`, `audit` and `web` groups to *app*."""
    from netmon.api.commands import audit_app, token_app, web_app  # noqa: PLC0415 (the group objects only)

    app.add_typer(token_app, name="token")
    app.add_typer(audit_app, name="audit")
    app.add_typer(web_app, name="web")
