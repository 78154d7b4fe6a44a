"""Alembic environment: runs on the connection handed over by roleport.storage.sql.migrate."""

from alembic import context

from roleport.storage.sql.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through migrate.upgrade()
    raise RuntimeError("run migrations through `roleport db upgrade`")
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
