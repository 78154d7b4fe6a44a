"""trust anchors: ca_snapshot, the CA certificate of an AWS_ACM_PCA source

Read from the ACM PCA endpoint at create and update, as AWS keeps it. Existing anchors
(all CERTIFICATE_BUNDLE) have none.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 16:30:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
# the trust branch was cut from 0005; whoever merges after 0006 sets this to '0006'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('trust_anchors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ca_snapshot', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('trust_anchors', schema=None) as batch_op:
        batch_op.drop_column('ca_snapshot')
