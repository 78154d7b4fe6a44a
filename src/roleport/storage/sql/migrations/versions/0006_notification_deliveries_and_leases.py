"""leases (one runner of a periodic job across workers and replicas) and the expiry
notification delivery log (at most one event per certificate, threshold and day)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 16:30:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'leases',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('holder', sa.String(length=128), nullable=False),
        sa.Column('expires_at', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_table(
        'notification_deliveries',
        sa.Column('seq', _SEQ, autoincrement=True, nullable=False),
        sa.Column('event_key', sa.String(length=256), nullable=False),
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.Column('event', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.BigInteger(), nullable=False),
        sa.Column('finished_at', sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint('seq'),
        sa.UniqueConstraint('event_key', 'day', name='uq_notification_deliveries_key_day'),
    )
    op.create_index('ix_notification_deliveries_status', 'notification_deliveries',
                    ['status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_notification_deliveries_status', table_name='notification_deliveries')
    op.drop_table('notification_deliveries')
    op.drop_table('leases')
