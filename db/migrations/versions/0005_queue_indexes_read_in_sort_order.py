"""queue indexes read in sort order

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 17:52:07.022975
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('hub_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hub_case_queue_condition'))
        batch_op.create_index('ix_hub_case_queue_condition', ['condition', 'practice_id', 'status', sa.literal_column('priority DESC'), 'submitted_at', 'id'], unique=False)
        batch_op.drop_index(batch_op.f('ix_hub_case_queue_practice'))
        batch_op.create_index('ix_hub_case_queue_practice', ['practice_id', 'status', sa.literal_column('priority DESC'), 'submitted_at', 'id'], unique=False)
        batch_op.drop_index(batch_op.f('ix_hub_case_queue_priority'))
        batch_op.create_index('ix_hub_case_queue_priority', ['status', sa.literal_column('priority DESC'), 'submitted_at', 'id'], unique=False)
        batch_op.drop_index(batch_op.f('ix_hub_case_queue_status'))
        batch_op.create_index('ix_hub_case_queue_status', ['status', 'submitted_at', 'id'], unique=False)
        batch_op.create_index('ix_hub_case_queue_order', [sa.literal_column('priority DESC'), 'submitted_at', 'id'], unique=False)
        batch_op.create_index('ix_hub_case_queue_pain', ['status', sa.literal_column('latest_pain DESC'), 'submitted_at', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('hub_case', schema=None) as batch_op:
        batch_op.drop_index('ix_hub_case_queue_pain')
        batch_op.drop_index('ix_hub_case_queue_order')
        batch_op.drop_index('ix_hub_case_queue_status')
        batch_op.create_index(batch_op.f('ix_hub_case_queue_status'), ['status', 'submitted_at'], unique=False)
        batch_op.drop_index('ix_hub_case_queue_priority')
        batch_op.create_index(batch_op.f('ix_hub_case_queue_priority'), ['status', 'priority', 'submitted_at'], unique=False)
        batch_op.drop_index('ix_hub_case_queue_practice')
        batch_op.create_index(batch_op.f('ix_hub_case_queue_practice'), ['practice_id', 'status', 'submitted_at'], unique=False)
        batch_op.drop_index('ix_hub_case_queue_condition')
        batch_op.create_index(batch_op.f('ix_hub_case_queue_condition'), ['condition', 'status', 'submitted_at'], unique=False)

