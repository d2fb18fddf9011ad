"""flags, safety actions, guideline overrides

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 17:06:25.959257
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_flag',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.CheckConstraint("severity IN ('red', 'amber', 'info')", name=op.f('ck_case_flag_severity_known')),
    sa.ForeignKeyConstraint(['case_id'], ['hub_case.id'], name=op.f('fk_case_flag_case_id_hub_case'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'code', name=op.f('pk_case_flag'))
    )
    with op.batch_alter_table('case_flag', schema=None) as batch_op:
        batch_op.create_index('ix_case_flag_code', ['code', 'case_id'], unique=False)

    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('safety_action', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('safety_action_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('safety_action_at', sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_assessment_safety_action_by_user_account'), 'user_account', ['safety_action_by'], ['id'])
        batch_op.create_check_constraint('safety_action_not_blank',
                                         'safety_action IS NULL OR length(trim(safety_action)) > 0')

    with op.batch_alter_table('hub_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('safety_alert', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('ome_total', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('primary_outcome', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('response', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('flags_computed_on', sa.Date(), nullable=True))
        batch_op.create_index('ix_hub_case_safety', ['safety_alert', 'status'], unique=False)
        batch_op.create_check_constraint('ome_non_negative', 'ome_total IS NULL OR ome_total >= 0')
        batch_op.create_check_constraint(
            'primary_outcome_known', "primary_outcome IS NULL OR primary_outcome IN ('peg', 'nrs', 'mskhq', 'odi')")

    with op.batch_alter_table('treatment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guideline_hits', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('guideline_override', sa.Text(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('treatment', schema=None) as batch_op:
        batch_op.drop_column('guideline_override')
        batch_op.drop_column('guideline_hits')

    with op.batch_alter_table('hub_case', schema=None) as batch_op:
        batch_op.drop_constraint('primary_outcome_known', type_='check')
        batch_op.drop_constraint('ome_non_negative', type_='check')
        batch_op.drop_index('ix_hub_case_safety')
        batch_op.drop_column('flags_computed_on')
        batch_op.drop_column('response')
        batch_op.drop_column('primary_outcome')
        batch_op.drop_column('ome_total')
        batch_op.drop_column('safety_alert')

    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_constraint('safety_action_not_blank', type_='check')
        batch_op.drop_constraint(batch_op.f('fk_assessment_safety_action_by_user_account'), type_='foreignkey')
        batch_op.drop_column('safety_action_at')
        batch_op.drop_column('safety_action_by')
        batch_op.drop_column('safety_action')

    with op.batch_alter_table('case_flag', schema=None) as batch_op:
        batch_op.drop_index('ix_case_flag_code')

    op.drop_table('case_flag')
