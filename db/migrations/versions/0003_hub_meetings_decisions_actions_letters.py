"""hub meetings, decisions, actions, letters

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 17:16:22.317036
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('video_link', sa.String(length=500), nullable=False),
    sa.Column('chair_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('minutes_per_case', sa.Integer(), nullable=False),
    sa.Column('quorum_disciplines', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('quorum_override_reason', sa.Text(), nullable=True),
    sa.Column('finalised_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('planned', 'in_progress', 'finalised')", name=op.f('ck_meeting_status_known')),
    sa.CheckConstraint('length(trim(title)) > 0', name=op.f('ck_meeting_title_not_blank')),
    sa.CheckConstraint('minutes_per_case BETWEEN 1 AND 120', name=op.f('ck_meeting_minutes_range')),
    sa.ForeignKeyConstraint(['chair_id'], ['user_account.id'], name=op.f('fk_meeting_chair_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting'))
    )
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_starts_at'), ['starts_at'], unique=False)

    op.create_table('agenda_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('carried_from_meeting_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'discussed', 'carried_forward')", name=op.f('ck_agenda_item_status_known')),
    sa.CheckConstraint('minutes BETWEEN 1 AND 120', name=op.f('ck_agenda_item_minutes_range')),
    sa.ForeignKeyConstraint(['carried_from_meeting_id'], ['meeting.id'], name=op.f('fk_agenda_item_carried_from_meeting_id_meeting')),
    sa.ForeignKeyConstraint(['case_id'], ['hub_case.id'], name=op.f('fk_agenda_item_case_id_hub_case')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_agenda_item_meeting_id_meeting'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agenda_item')),
    sa.UniqueConstraint('meeting_id', 'case_id', name=op.f('uq_agenda_item_meeting_id_case_id'))
    )
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agenda_item_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_agenda_item_meeting_position', ['meeting_id', 'position'], unique=False)

    op.create_table('attendance',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('discipline', sa.String(length=40), nullable=False),
    sa.CheckConstraint("discipline IN ('pain_medicine', 'physiotherapy', 'psychology', 'rheumatology', 'orthopaedics', 'pharmacy', 'social_prescribing', 'nutrition', 'general_practice')", name=op.f('ck_attendance_discipline_known')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_attendance_meeting_id_meeting'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_attendance_user_id_user_account')),
    sa.PrimaryKeyConstraint('meeting_id', 'user_id', name=op.f('pk_attendance'))
    )
    op.create_table('decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('agenda_item_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('formulation', sa.Text(), nullable=False),
    sa.Column('pathway_step', sa.String(length=40), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('flag_responses', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('what_matters', sa.Text(), nullable=False),
    sa.Column('beliefs_concerns', sa.Text(), nullable=False),
    sa.Column('options_discussed', sa.Text(), nullable=False),
    sa.Column('option_preferred', sa.Text(), nullable=False),
    sa.Column('options_declined', sa.Text(), nullable=False),
    sa.Column('discussed_with_patient', sa.Boolean(), nullable=True),
    sa.Column('mdt_options', sa.Text(), nullable=False),
    sa.Column('agreed_plan', sa.Text(), nullable=False),
    sa.Column('allergies', sa.Text(), nullable=False),
    sa.Column('safety_netting', sa.Text(), nullable=False),
    sa.Column('primary_outcome', sa.String(length=20), nullable=True),
    sa.Column('follow_up_date', sa.Date(), nullable=True),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('finalised_by', sa.Integer(), nullable=True),
    sa.Column('finalised_at', sa.DateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("primary_outcome IS NULL OR primary_outcome IN ('peg', 'nrs', 'mskhq', 'odi')", name=op.f('ck_decision_primary_outcome_known')),
    sa.CheckConstraint("status = 'draft' OR follow_up_date IS NOT NULL", name=op.f('ck_decision_final_has_follow_up')),
    sa.CheckConstraint("status IN ('draft', 'final')", name=op.f('ck_decision_status_known')),
    sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_item.id'], name=op.f('fk_decision_agenda_item_id_agenda_item')),
    sa.ForeignKeyConstraint(['case_id'], ['hub_case.id'], name=op.f('fk_decision_case_id_hub_case')),
    sa.ForeignKeyConstraint(['finalised_by'], ['user_account.id'], name=op.f('fk_decision_finalised_by_user_account')),
    sa.ForeignKeyConstraint(['updated_by'], ['user_account.id'], name=op.f('fk_decision_updated_by_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision')),
    sa.UniqueConstraint('agenda_item_id', name=op.f('uq_decision_agenda_item_id'))
    )
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_case_id'), ['case_id'], unique=False)

    op.create_table('discipline_input',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agenda_item_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('discipline', sa.String(length=40), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("discipline IN ('pain_medicine', 'physiotherapy', 'psychology', 'rheumatology', 'orthopaedics', 'pharmacy', 'social_prescribing', 'nutrition')", name=op.f('ck_discipline_input_discipline_known')),
    sa.CheckConstraint('length(trim(text)) > 0', name=op.f('ck_discipline_input_text_not_blank')),
    sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_item.id'], name=op.f('fk_discipline_input_agenda_item_id_agenda_item'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_discipline_input_author_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discipline_input')),
    sa.UniqueConstraint('agenda_item_id', 'discipline', name=op.f('uq_discipline_input_agenda_item_id_discipline'))
    )
    with op.batch_alter_table('discipline_input', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discipline_input_agenda_item_id'), ['agenda_item_id'], unique=False)

    op.create_table('goal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('target_activity', sa.Text(), nullable=False),
    sa.Column('support_needed', sa.Text(), nullable=False),
    sa.Column('performance_quantifier', sa.Text(), nullable=False),
    sa.Column('set_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('importance', sa.Integer(), nullable=False),
    sa.Column('difficulty', sa.Integer(), nullable=False),
    sa.Column('levels', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('baseline_level', sa.Integer(), nullable=False),
    sa.Column('achieved_level', sa.Integer(), nullable=True),
    sa.CheckConstraint('achieved_level IS NULL OR achieved_level BETWEEN -2 AND 2', name=op.f('ck_goal_achieved_level_range')),
    sa.CheckConstraint('baseline_level IN (-2, -1)', name=op.f('ck_goal_baseline_level_range')),
    sa.CheckConstraint('due_date > set_date', name=op.f('ck_goal_due_after_set')),
    sa.CheckConstraint('importance BETWEEN 0 AND 3 AND difficulty BETWEEN 0 AND 3', name=op.f('ck_goal_weights_range')),
    sa.CheckConstraint('length(trim(target_activity)) > 0 AND length(trim(performance_quantifier)) > 0', name=op.f('ck_goal_smart_parts_present')),
    sa.ForeignKeyConstraint(['case_id'], ['hub_case.id'], name=op.f('fk_goal_case_id_hub_case')),
    sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], name=op.f('fk_goal_decision_id_decision'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_goal'))
    )
    with op.batch_alter_table('goal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_goal_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_goal_decision_id'), ['decision_id'], unique=False)

    op.create_table('letter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=15), nullable=False),
    sa.Column('body_markdown', sa.Text(), nullable=False),
    sa.Column('patient_markdown', sa.Text(), nullable=False),
    sa.Column('sections', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_by', sa.Integer(), nullable=True),
    sa.CheckConstraint("status <> 'acknowledged' OR acknowledged_at IS NOT NULL", name=op.f('ck_letter_ack_has_time')),
    sa.CheckConstraint("status IN ('draft', 'sent', 'acknowledged')", name=op.f('ck_letter_status_known')),
    sa.ForeignKeyConstraint(['acknowledged_by'], ['user_account.id'], name=op.f('fk_letter_acknowledged_by_user_account')),
    sa.ForeignKeyConstraint(['case_id'], ['hub_case.id'], name=op.f('fk_letter_case_id_hub_case')),
    sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], name=op.f('fk_letter_decision_id_decision')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_letter')),
    sa.UniqueConstraint('decision_id', name=op.f('uq_letter_decision_id'))
    )
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_letter_case_id'), ['case_id'], unique=False)

    op.create_table('recommendation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('drug', sa.String(length=100), nullable=True),
    sa.Column('owner_role', sa.String(length=40), nullable=True),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('for_patient', sa.Boolean(), nullable=False),
    sa.Column('guideline_hits', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('guideline_override', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('start_medicine', 'stop_medicine', 'taper_medicine', 'continue_medicine', 'refer', 'exercise_programme', 'psychological_therapy', 'investigation', 'social_prescribing', 'education', 'other')", name=op.f('ck_recommendation_kind_known')),
    sa.CheckConstraint("owner_role IS NULL OR owner_role IN ('pcp', 'patient', 'hub', 'pain_medicine', 'physiotherapy', 'psychology', 'rheumatology', 'orthopaedics', 'pharmacy', 'social_prescribing', 'nutrition')", name=op.f('ck_recommendation_owner_role_known')),
    sa.CheckConstraint('length(trim(description)) > 0', name=op.f('ck_recommendation_description_not_blank')),
    sa.CheckConstraint('owner_role IS NOT NULL OR owner_user_id IS NOT NULL', name=op.f('ck_recommendation_has_owner')),
    sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], name=op.f('fk_recommendation_decision_id_decision'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['user_account.id'], name=op.f('fk_recommendation_owner_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recommendation'))
    )
    with op.batch_alter_table('recommendation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recommendation_decision_id'), ['decision_id'], unique=False)

    op.create_table('action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('recommendation_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner_role', sa.String(length=40), nullable=True),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('completed_by', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("owner_role IS NULL OR owner_role IN ('pcp', 'patient', 'hub', 'pain_medicine', 'physiotherapy', 'psychology', 'rheumatology', 'orthopaedics', 'pharmacy', 'social_prescribing', 'nutrition')", name=op.f('ck_action_owner_role_known')),
    sa.CheckConstraint("status <> 'done' OR completed_at IS NOT NULL", name=op.f('ck_action_done_has_time')),
    sa.CheckConstraint("status IN ('open', 'done', 'cancelled')", name=op.f('ck_action_status_known')),
    sa.CheckConstraint('owner_role IS NOT NULL OR owner_user_id IS NOT NULL', name=op.f('ck_action_has_owner')),
    sa.ForeignKeyConstraint(['case_id'], ['hub_case.id'], name=op.f('fk_action_case_id_hub_case')),
    sa.ForeignKeyConstraint(['completed_by'], ['user_account.id'], name=op.f('fk_action_completed_by_user_account')),
    sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], name=op.f('fk_action_decision_id_decision')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['user_account.id'], name=op.f('fk_action_owner_user_id_user_account')),
    sa.ForeignKeyConstraint(['recommendation_id'], ['recommendation.id'], name=op.f('fk_action_recommendation_id_recommendation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action'))
    )
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_decision_id'), ['decision_id'], unique=False)
        batch_op.create_index('ix_action_open_due', ['status', 'due_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_owner_user_id'), ['owner_user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_owner_user_id'))
        batch_op.drop_index('ix_action_open_due')
        batch_op.drop_index(batch_op.f('ix_action_decision_id'))
        batch_op.drop_index(batch_op.f('ix_action_case_id'))

    op.drop_table('action')
    with op.batch_alter_table('recommendation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recommendation_decision_id'))

    op.drop_table('recommendation')
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_letter_case_id'))

    op.drop_table('letter')
    with op.batch_alter_table('goal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_goal_decision_id'))
        batch_op.drop_index(batch_op.f('ix_goal_case_id'))

    op.drop_table('goal')
    with op.batch_alter_table('discipline_input', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discipline_input_agenda_item_id'))

    op.drop_table('discipline_input')
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decision_case_id'))

    op.drop_table('decision')
    op.drop_table('attendance')
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.drop_index('ix_agenda_item_meeting_position')
        batch_op.drop_index(batch_op.f('ix_agenda_item_case_id'))

    op.drop_table('agenda_item')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_starts_at'))

    op.drop_table('meeting')
