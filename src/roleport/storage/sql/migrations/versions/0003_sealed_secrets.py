"""sealed secrets: access_keys.secret_access_key holds a sealed secret, not the secret

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 13:40:00

The column grows to hold the sealed form (storage/sealing.py); every plain-text secret
is sealed with the key-encryption key handed over by ``migrate.upgrade(sealer=...)``.
Without a sealer the migration runs only on a database with no plain-text secret (a new
one), so a secret is never left readable by a migration that did not know the key.
"""
import sqlalchemy as sa
from alembic import context, op

from roleport.storage.sealing import is_sealed
from roleport.storage.sql.repositories import SqlAccessKeys

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _stored(conn: sa.Connection) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in conn.execute(
        sa.text("SELECT access_key_id, secret_access_key FROM access_keys"))]


def upgrade() -> None:
    with op.batch_alter_table('access_keys', schema=None) as batch_op:
        batch_op.alter_column('secret_access_key', existing_type=sa.String(length=128),
                              type_=sa.String(length=512), existing_nullable=False)
    conn = op.get_bind()
    sealer = context.config.attributes.get("sealer")
    if sealer is not None:
        SqlAccessKeys(conn, sealer).reseal()
    elif any(not is_sealed(stored) for _, stored in _stored(conn)):
        raise RuntimeError("the database holds plain-text secrets: migrate with the "
                           "key-encryption key (roleport serve, or roleport db upgrade with "
                           "the server's data dir and ROLEPORT_SERVER_KEY/SECRETS_KEY)")


def downgrade() -> None:
    conn = op.get_bind()
    sealer = context.config.attributes.get("sealer")
    for key_id, stored in _stored(conn):
        if not is_sealed(stored):
            continue
        if sealer is None:
            raise RuntimeError("sealed secrets: downgrade with the key-encryption key")
        conn.execute(sa.text("UPDATE access_keys SET secret_access_key = :s "
                             "WHERE access_key_id = :k"),
                     {"s": sealer.open(stored, key_id), "k": key_id})
    with op.batch_alter_table('access_keys', schema=None) as batch_op:
        batch_op.alter_column('secret_access_key', existing_type=sa.String(length=512),
                              type_=sa.String(length=128), existing_nullable=False)
