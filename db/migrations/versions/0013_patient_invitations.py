"""patient invitations and patient-completed assessments

Revision ID: 0013
Revises: 0005
Create Date: 2026-12-01 11:39:12.587723
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('invitation_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation_attempt'))
    )
    with op.batch_alter_table('invitation_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_invitation_attempt_at', ['at'], unique=False)
        batch_op.create_index('ix_invitation_attempt_client_at', ['client', 'at'], unique=False)

    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('occasion', sa.String(length=20), nullable=False),
    sa.Column('items', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=15), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('first_opened_at', sa.DateTime(), nullable=True),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by', sa.Integer(), nullable=True),
    sa.Column('draft', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('assessment_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('safety_raised_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("occasion IN ('baseline', 'pre_meeting', 'follow_up')", name=op.f('ck_invitation_occasion_known')),
    sa.CheckConstraint("status <> 'completed' OR completed_at IS NOT NULL", name=op.f('ck_invitation_completed_has_time')),
    sa.CheckConstraint("status <> 'revoked' OR revoked_at IS NOT NULL", name=op.f('ck_invitation_revoked_has_time')),
    sa.CheckConstraint("status <> 'scheduled' OR due_on IS NOT NULL", name=op.f('ck_invitation_scheduled_has_due_date')),
    sa.CheckConstraint("status = 'scheduled' OR (token_hash IS NOT NULL AND issued_at IS NOT NULL AND expires_at IS NOT NULL)", name=op.f('ck_invitation_issued_has_token')),
    sa.CheckConstraint("status IN ('scheduled', 'open', 'completed', 'revoked')", name=op.f('ck_invitation_status_known')),
    sa.CheckConstraint('expires_at IS NULL OR issued_at IS NULL OR expires_at > issued_at', name=op.f('ck_invitation_expires_after_issue')),
    sa.CheckConstraint('position >= 0', name=op.f('ck_invitation_position_non_negative')),
    sa.ForeignKeyConstraint(['case_id'], ['hub_case.id'], name=op.f('fk_invitation_case_id_hub_case')),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], name=op.f('fk_invitation_created_by_user_account')),
    sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], name=op.f('fk_invitation_decision_id_decision')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_invitation_meeting_id_meeting')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_invitation_patient_id_patient')),
    sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], name=op.f('fk_invitation_practice_id_practice')),
    sa.ForeignKeyConstraint(['revoked_by'], ['user_account.id'], name=op.f('fk_invitation_revoked_by_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invitation_token_hash'))
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_invitation_practice_status', ['practice_id', 'status'], unique=False)

    # The mode vocabulary gains 'patient-completed' (hub.vocab.ASSESSMENT_MODES): widen the column and
    # recreate its CHECK constraint (Alembic does not detect CHECK changes).
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_assessment_mode_known'), type_='check')
        batch_op.alter_column('mode',
               existing_type=sa.VARCHAR(length=10),
               type_=sa.String(length=20),
               existing_nullable=False)
        batch_op.create_check_constraint('mode_known', "mode IN ('self', 'clinician', 'patient-completed')")


def downgrade() -> None:
    op.execute("DELETE FROM assessment WHERE mode = 'patient-completed'")
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_assessment_mode_known'), type_='check')
        batch_op.create_check_constraint('mode_known', "mode IN ('self', 'clinician')")
        batch_op.alter_column('mode',
               existing_type=sa.String(length=20),
               type_=sa.VARCHAR(length=10),
               existing_nullable=False)

    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index('ix_invitation_practice_status')
        batch_op.drop_index(batch_op.f('ix_invitation_case_id'))

    op.drop_table('invitation')
    with op.batch_alter_table('invitation_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_invitation_attempt_client_at')
        batch_op.drop_index('ix_invitation_attempt_at')

    op.drop_table('invitation_attempt')
