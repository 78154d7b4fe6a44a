"""profiles: trusted identity propagation settings (tipConfiguration, botocore 1.44.7)

Existing profiles keep their setting, which is none: the column is NULL for them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 13:40:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tip_configuration', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.drop_column('tip_configuration')
