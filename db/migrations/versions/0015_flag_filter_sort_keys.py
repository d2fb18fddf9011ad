"""case_flag carries the case's queue sort keys and open status, indexed per sort, so a flag-filtered queue
page is an index range scan; backfilled from hub_case

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-01 13:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

OPEN = "('submitted', 'triaged', 'scheduled')"


def upgrade() -> None:
    with op.batch_alter_table('case_flag', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_open', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('priority', sa.Float(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('submitted_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('latest_pain', sa.Float(), nullable=True))
    # Backfill from the cases (one correlated UPDATE; the same statement hub.flags.sync_flag_keys issues).
    op.execute(
        "UPDATE case_flag SET "
        f"is_open = (SELECT hub_case.status IN {OPEN} FROM hub_case WHERE hub_case.id = case_flag.case_id), "
        "priority = (SELECT hub_case.priority FROM hub_case WHERE hub_case.id = case_flag.case_id), "
        "submitted_at = (SELECT hub_case.submitted_at FROM hub_case WHERE hub_case.id = case_flag.case_id), "
        "latest_pain = (SELECT hub_case.latest_pain FROM hub_case WHERE hub_case.id = case_flag.case_id)")
    with op.batch_alter_table('case_flag', schema=None) as batch_op:
        batch_op.create_index('ix_case_flag_open_priority',
                              ['code', 'is_open', sa.literal_column('priority DESC'), 'submitted_at', 'case_id'],
                              unique=False)
        batch_op.create_index('ix_case_flag_open_submitted', ['code', 'is_open', 'submitted_at', 'case_id'],
                              unique=False)
        batch_op.create_index('ix_case_flag_open_pain',
                              ['code', 'is_open', sa.literal_column('latest_pain DESC'), 'submitted_at', 'case_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_flag', schema=None) as batch_op:
        batch_op.drop_index('ix_case_flag_open_pain')
        batch_op.drop_index('ix_case_flag_open_submitted')
        batch_op.drop_index('ix_case_flag_open_priority')
        batch_op.drop_column('latest_pain')
        batch_op.drop_column('submitted_at')
        batch_op.drop_column('priority')
        batch_op.drop_column('is_open')
