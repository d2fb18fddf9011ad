"""worker lock (one refresh across processes) and queue indexes for every sort and filter

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-01 12:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

OPEN = "status IN ('submitted', 'triaged', 'scheduled')"
PARTIAL = {"sqlite_where": sa.text(OPEN), "postgresql_where": sa.text(OPEN)}


def upgrade() -> None:
    op.create_table(
        'worker_lock',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('owner', sa.String(length=120), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_worker_lock')),
    )
    op.execute("INSERT INTO worker_lock (name) VALUES ('flags-refresh')")
    with op.batch_alter_table('hub_case', schema=None) as batch_op:
        batch_op.create_index('ix_hub_case_open_priority', [sa.literal_column('priority DESC'), 'submitted_at', 'id'],
                              unique=False, **PARTIAL)
        batch_op.create_index('ix_hub_case_open_submitted', ['submitted_at', 'id'], unique=False, **PARTIAL)
        batch_op.create_index('ix_hub_case_open_pain', [sa.literal_column('latest_pain DESC'), 'submitted_at', 'id'],
                              unique=False, **PARTIAL)
        batch_op.create_index('ix_hub_case_open_condition',
                              ['condition', sa.literal_column('priority DESC'), 'submitted_at', 'id'],
                              unique=False, **PARTIAL)
        batch_op.create_index('ix_hub_case_open_practice',
                              ['practice_id', sa.literal_column('priority DESC'), 'submitted_at', 'id'],
                              unique=False, **PARTIAL)
        batch_op.create_index('ix_hub_case_practice_priority',
                              ['practice_id', sa.literal_column('priority DESC'), 'submitted_at', 'id'], unique=False)
        batch_op.create_index('ix_hub_case_practice_submitted', ['practice_id', 'submitted_at', 'id'], unique=False)
        batch_op.create_index('ix_hub_case_practice_pain',
                              ['practice_id', sa.literal_column('latest_pain DESC'), 'submitted_at', 'id'],
                              unique=False)
        batch_op.create_index('ix_hub_case_refresh', ['status', 'flags_computed_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('hub_case', schema=None) as batch_op:
        for name in ('ix_hub_case_refresh', 'ix_hub_case_practice_pain', 'ix_hub_case_practice_submitted',
                     'ix_hub_case_practice_priority', 'ix_hub_case_open_practice', 'ix_hub_case_open_condition',
                     'ix_hub_case_open_pain', 'ix_hub_case_open_submitted', 'ix_hub_case_open_priority'):
            batch_op.drop_index(name)
    op.drop_table('worker_lock')
