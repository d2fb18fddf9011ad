"""practice safety responder: the PCP who owns the practice's open safety alerts

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 12:55:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('practice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('safety_responder_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_practice_safety_responder_id_user_account', 'user_account',
                                    ['safety_responder_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('practice', schema=None) as batch_op:
        batch_op.drop_constraint('fk_practice_safety_responder_id_user_account', type_='foreignkey')
        batch_op.drop_column('safety_responder_id')
