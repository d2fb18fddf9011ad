"""hub_case.flags_seq: a count of the writes of a case's flags and priority, so the daily refresh never
writes back an evaluation older than one a clinician's write stored while the refresh ran

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 18:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('hub_case', sa.Column('flags_seq', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('hub_case', schema=None) as batch_op:
        batch_op.drop_column('flags_seq')
