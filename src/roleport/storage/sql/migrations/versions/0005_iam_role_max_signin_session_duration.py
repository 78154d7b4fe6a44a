"""iam roles: MaxSigninSessionDuration (botocore 1.44), stored and returned

Existing roles have none (NULL), as in IAM.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 13:45:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('iam_roles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_signin_session_duration', sa.Integer(),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('iam_roles', schema=None) as batch_op:
        batch_op.drop_column('max_signin_session_duration')
