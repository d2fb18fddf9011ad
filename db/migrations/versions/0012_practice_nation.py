"""practice nation (eng, wls, sct, nir): the bank holidays of the dashboard's working days

Revision ID: 0012
Revises: 0005
Create Date: 2026-12-01 11:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('practice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nation', sa.String(length=3), nullable=False, server_default='eng'))
        batch_op.create_check_constraint('nation_known', "nation IN ('eng', 'wls', 'sct', 'nir')")


def downgrade() -> None:
    with op.batch_alter_table('practice', schema=None) as batch_op:
        batch_op.drop_constraint('nation_known', type_='check')
        batch_op.drop_column('nation')
