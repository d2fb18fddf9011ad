"""recommendation kind 'increase_dose' (guideline-checked like starting a medicine); flag codes up to 60
characters (opioid_escalation_without_benefit)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# The CHECK lists are written out (not imported from hub.vocab) so that this migration keeps meaning
# what it meant when it was written.
_OLD_KINDS = ("start_medicine", "stop_medicine", "taper_medicine", "continue_medicine", "refer", "exercise_programme",
              "psychological_therapy", "investigation", "social_prescribing", "education", "other")
_NEW_KINDS = ("start_medicine", "increase_dose", "stop_medicine", "taper_medicine", "continue_medicine", "refer",
              "exercise_programme", "psychological_therapy", "investigation", "social_prescribing", "education",
              "other")


def _in(codes: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{c}'" for c in codes) + ")"


def upgrade() -> None:
    with op.batch_alter_table('recommendation', schema=None) as batch_op:
        batch_op.drop_constraint('kind_known', type_='check')
        batch_op.create_check_constraint('kind_known', _in(_NEW_KINDS))
    with op.batch_alter_table('case_flag', schema=None) as batch_op:
        batch_op.alter_column('code', existing_type=sa.String(length=30), type_=sa.String(length=60),
                              existing_nullable=False)


def downgrade() -> None:
    # Flags are derived state, recomputed from the record: drop the codes that no longer fit.
    op.execute("DELETE FROM case_flag WHERE length(code) > 30")
    with op.batch_alter_table('case_flag', schema=None) as batch_op:
        batch_op.alter_column('code', existing_type=sa.String(length=60), type_=sa.String(length=30),
                              existing_nullable=False)
    # Rows of the new kind cannot satisfy the old list: they become 'other' (their description is kept).
    op.execute("UPDATE recommendation SET kind = 'other' WHERE kind = 'increase_dose'")
    with op.batch_alter_table('recommendation', schema=None) as batch_op:
        batch_op.drop_constraint('kind_known', type_='check')
        batch_op.create_check_constraint('kind_known', _in(_OLD_KINDS))
