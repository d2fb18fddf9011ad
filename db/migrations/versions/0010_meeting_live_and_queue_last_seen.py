"""meeting live (the chair's current agenda item), the user's last look at the queue, letter opened,
meeting length

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-01 11:50:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'meeting_live',
        sa.Column('meeting_id', sa.Integer(), nullable=False),
        sa.Column('agenda_item_id', sa.Integer(), nullable=False),
        sa.Column('updated_by', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_item.id'], name=op.f('fk_meeting_live_agenda_item_id_agenda_item'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_meeting_live_meeting_id_meeting'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['updated_by'], ['user_account.id'], name=op.f('fk_meeting_live_updated_by_user_account')),
        sa.PrimaryKeyConstraint('meeting_id', name=op.f('pk_meeting_live')),
    )
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_queue_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duration_minutes', sa.Integer(), server_default='90', nullable=False))
        batch_op.create_check_constraint('duration_range', 'duration_minutes BETWEEN 10 AND 480')
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opened_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('opened_by', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_letter_opened_by_user_account'), 'user_account', ['opened_by'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_letter_opened_by_user_account'), type_='foreignkey')
        batch_op.drop_column('opened_by')
        batch_op.drop_column('opened_at')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_constraint('duration_range', type_='check')
        batch_op.drop_column('duration_minutes')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('last_seen_queue_at')
    op.drop_table('meeting_live')
