"""follow-through: re-listing, goal attainment

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 17:25:00.606149
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('goal_attainment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('goal_id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=True),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.CheckConstraint('level BETWEEN -2 AND 2', name=op.f('ck_goal_attainment_level_range')),
    sa.ForeignKeyConstraint(['goal_id'], ['goal.id'], name=op.f('fk_goal_attainment_goal_id_goal'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by'], ['user_account.id'], name=op.f('fk_goal_attainment_recorded_by_user_account')),
    sa.ForeignKeyConstraint(['review_id'], ['review.id'], name=op.f('fk_goal_attainment_review_id_review'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_goal_attainment'))
    )
    with op.batch_alter_table('goal_attainment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_goal_attainment_goal_id'), ['goal_id'], unique=False)

    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flags_at_decision', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), server_default='[]', nullable=False))

    with op.batch_alter_table('goal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recommendation_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_goal_recommendation_id_recommendation'), 'recommendation', ['recommendation_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('hub_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('relisted_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('relisted_at', sa.DateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('hub_case', schema=None) as batch_op:
        batch_op.drop_column('relisted_at')
        batch_op.drop_column('relisted_reason')

    with op.batch_alter_table('goal', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_goal_recommendation_id_recommendation'), type_='foreignkey')
        batch_op.drop_column('recommendation_id')

    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.drop_column('flags_at_decision')

    with op.batch_alter_table('goal_attainment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_goal_attainment_goal_id'))

    op.drop_table('goal_attainment')
