"""space server url and secret

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:12:10.970161
"""

import sqlalchemy as sa
from alembic import op



revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table('spaces', schema=None) as batch_op:
        batch_op.add_column(sa.Column('server_url', sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column('secret', sa.String(length=128), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('spaces', schema=None) as batch_op:
        batch_op.drop_column('secret')
        batch_op.drop_column('server_url')


