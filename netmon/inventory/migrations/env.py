"""Alembic environment: runs on the connection that netmon.inventory.schema hands over."""

from alembic import context
from sqlalchemy.engine import Connection

from netmon.inventory.models import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise TypeError("run migrations through `netmon db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
