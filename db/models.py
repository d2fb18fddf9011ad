"""Typed SQLAlchemy 2 models of the hub. Constraints here back the validation in hub services."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base
from hub.vocab import (
    ACTION_STATUSES,
    AGENDA_STATUSES,
    ASSESSMENT_MODES,
    ASSESSMENT_STATUSES,
    ATTENDANCE,
    CASE_STATUSES,
    CONDITIONS,
    DECISION_STATUSES,
    DISCIPLINES,
    DISCUSSED_WITH_PATIENT,
    FLAG_SEVERITIES,
    INVITATION_OCCASIONS,
    INVITATION_STATUSES,
    LETTER_STATUSES,
    MEETING_STATUSES,
    NATIONS,
    OWNER_ROLES,
    PAIN_CLASSIFICATIONS,
    PATIENT_VIEWS,
    PRIMARY_OUTCOMES,
    RECOMMENDATION_TYPES,
    REVIEW_MODES,
    RISK_BANDS,
    RISK_TOOLS,
    ROLES,
    ROUTES,
    SEXES,
    STOP_REASONS,
    TREATMENT_CATEGORIES,
    TREATMENT_STATUSES,
    WEARABLE_SOURCES,
    sql_in,
)

JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """Current UTC time as a naive datetime (stored the same way on SQLite and PostgreSQL)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Practice(Base):
    """A GP practice that refers cases to the hub."""

    __tablename__ = "practice"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # NHS Organisation Data Service code of the practice (a letter and 5 digits for a GP practice).
    ods_code: Mapped[str | None] = mapped_column(String(10))
    # The UK nation (hub.vocab.NATIONS): its bank holidays are not working days on the dashboard.
    nation: Mapped[str] = mapped_column(String(3), default="eng", server_default="eng")
    # The PCP of this practice who owns its open safety alerts (hub.safety checks the practice and role).
    # use_alter: practice and user_account refer to each other.
    safety_responder_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", use_alter=True, name="fk_practice_safety_responder_id_user_account"))
    __table_args__ = (
        CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        CheckConstraint("ods_code IS NULL OR length(ods_code) BETWEEN 3 AND 10", name="ods_code_length"),
        CheckConstraint(f"nation IN {sql_in(NATIONS)}", name="nation_known"),
    )


class User(Base):
    """A person who logs in: PCP, specialist, chair or admin (roles in UserRole)."""

    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    discipline: Mapped[str | None] = mapped_column(String(40))
    practice_id: Mapped[int | None] = mapped_column(ForeignKey("practice.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_login_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Login cookies issued before this moment are refused (password change, deactivation, lock).
    sessions_valid_after: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # When the user last looked at the case queue: cases submitted after it are marked "new".
    last_seen_queue_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    roles: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )
    practice: Mapped[Practice | None] = relationship(lazy="joined", foreign_keys=[practice_id])

    __table_args__ = (
        CheckConstraint(f"discipline IS NULL OR discipline IN {sql_in(DISCIPLINES)}", name="discipline_known"),
        CheckConstraint("username = lower(username) AND length(trim(username)) >= 3", name="username_valid"),
        CheckConstraint("failed_login_attempts >= 0", name="failed_logins_non_negative"),
    )


class UserRole(Base):
    """One role held by a user."""

    __tablename__ = "user_role"
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    __table_args__ = (CheckConstraint(f"role IN {sql_in(ROLES)}", name="role_known"),)


class Patient(Base):
    """A patient of a practice (synthetic in the demo: no real patient data anywhere)."""

    __tablename__ = "patient"
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"), index=True)
    nhs_number: Mapped[str] = mapped_column(String(10), unique=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_year: Mapped[int] = mapped_column(Integer)
    # Full date of birth (letters identify the patient by it); NULL for patients registered before it was
    # collected, whose letters then say "date of birth not recorded" until it is added.
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    address: Mapped[str] = mapped_column(Text, default="", server_default="")
    postcode: Mapped[str] = mapped_column(String(10), default="", server_default="")
    sex: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    practice: Mapped[Practice] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("length(nhs_number) = 10", name="nhs_number_10_digits"),
        CheckConstraint("birth_year BETWEEN 1900 AND 2100", name="birth_year_range"),
        CheckConstraint(f"sex IN {sql_in(SEXES)}", name="sex_known"),
        CheckConstraint("length(trim(given_name)) > 0 AND length(trim(family_name)) > 0", name="names_not_blank"),
    )


# The statuses of the hub's default queue, as SQL for partial indexes (queries must spell it the same way,
# with literal values, for SQLite to use them: hub.cases.queue does).
OPEN_CASE_STATUSES = ("submitted", "triaged", "scheduled")
OPEN_CASES_SQL = "status IN ('submitted', 'triaged', 'scheduled')"


class Case(Base):
    """A case referred by a PCP to the hub, with the clinical question and its place in the queue."""

    __tablename__ = "hub_case"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    # Denormalised from the patient so the queue filters and scopes by practice on one table.
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    referrer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    condition: Mapped[str] = mapped_column(String(30))
    pain_classification: Mapped[str] = mapped_column(String(20))
    duration_months: Mapped[int | None] = mapped_column(Integer)
    clinical_question: Mapped[str] = mapped_column(Text, default="")
    red_flags: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    red_flag_count: Mapped[int] = mapped_column(Integer, default=0)
    baseline_pain: Mapped[float | None] = mapped_column(Float)
    risk_tool: Mapped[str | None] = mapped_column(String(20))
    risk_band: Mapped[str | None] = mapped_column(String(10))
    goals_text: Mapped[str] = mapped_column(Text, default="")
    concerns_text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    status_changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Derived state the queue sorts and filters on, stored when its inputs change.
    latest_pain: Mapped[float | None] = mapped_column(Float)
    latest_pain_instrument: Mapped[str | None] = mapped_column(String(20))
    latest_pain_on: Mapped[date | None] = mapped_column(Date)
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    priority_reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    safety_alert: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    ome_total: Mapped[float | None] = mapped_column(Float)
    primary_outcome: Mapped[str | None] = mapped_column(String(20))
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    flags_computed_on: Mapped[date | None] = mapped_column(Date)
    # Counts the writes of this case's derived state (flags, priority): the daily refresh writes a case only if
    # nobody recomputed it since the refresh read its records (hub.flags._claim).
    flags_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Automatic re-listing (follow-through): why and when the case came back to the queue.
    relisted_reason: Mapped[str | None] = mapped_column(Text)
    relisted_at: Mapped[datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    patient: Mapped[Patient] = relationship(lazy="joined")
    referrer: Mapped[User] = relationship(lazy="joined")
    practice: Mapped[Practice] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint(f"condition IN {sql_in(CONDITIONS)}", name="condition_known"),
        CheckConstraint(f"pain_classification IN {sql_in(PAIN_CLASSIFICATIONS)}", name="pain_class_known"),
        CheckConstraint(f"status IN {sql_in(CASE_STATUSES)}", name="status_known"),
        CheckConstraint("duration_months IS NULL OR duration_months BETWEEN 0 AND 1200", name="duration_range"),
        CheckConstraint("baseline_pain IS NULL OR baseline_pain BETWEEN 0 AND 10", name="baseline_pain_range"),
        CheckConstraint(f"risk_tool IS NULL OR risk_tool IN {sql_in(RISK_TOOLS)}", name="risk_tool_known"),
        CheckConstraint(f"risk_band IS NULL OR risk_band IN {sql_in(RISK_BANDS)}", name="risk_band_known"),
        # A case leaves draft only with a clinical question and a clear red-flag screen.
        CheckConstraint(
            "status = 'draft' OR length(trim(clinical_question)) > 0", name="question_required_once_submitted"
        ),
        CheckConstraint("status = 'draft' OR red_flag_count = 0", name="no_red_flags_once_submitted"),
        CheckConstraint("status = 'draft' OR submitted_at IS NOT NULL", name="submitted_at_once_submitted"),
        # Queue indexes: each sort of hub.cases.queue reads one of them in order (see bench/README.md).
        Index("ix_hub_case_queue_status", "status", "submitted_at", "id"),
        Index("ix_hub_case_queue_priority", "status", priority.desc(), "submitted_at", "id"),
        Index("ix_hub_case_queue_order", priority.desc(), "submitted_at", "id"),
        Index("ix_hub_case_queue_practice", "practice_id", "status", priority.desc(), "submitted_at", "id"),
        Index("ix_hub_case_queue_condition", "condition", "practice_id", "status", priority.desc(), "submitted_at",
              "id"),
        Index("ix_hub_case_queue_pain", "status", latest_pain.desc(), "submitted_at", "id"),
        Index("ix_hub_case_safety", "safety_alert", "status"),
        # The hub's default queue (open statuses): one partial index per sort, and per filter column, each
        # read in order so a page stops after its rows whatever the number of cases (see bench/README.md).
        Index("ix_hub_case_open_priority", priority.desc(), "submitted_at", "id",
              sqlite_where=text(OPEN_CASES_SQL), postgresql_where=text(OPEN_CASES_SQL)),
        Index("ix_hub_case_open_submitted", "submitted_at", "id",
              sqlite_where=text(OPEN_CASES_SQL), postgresql_where=text(OPEN_CASES_SQL)),
        Index("ix_hub_case_open_pain", latest_pain.desc(), "submitted_at", "id",
              sqlite_where=text(OPEN_CASES_SQL), postgresql_where=text(OPEN_CASES_SQL)),
        Index("ix_hub_case_open_condition", "condition", priority.desc(), "submitted_at", "id",
              sqlite_where=text(OPEN_CASES_SQL), postgresql_where=text(OPEN_CASES_SQL)),
        Index("ix_hub_case_open_practice", "practice_id", priority.desc(), "submitted_at", "id",
              sqlite_where=text(OPEN_CASES_SQL), postgresql_where=text(OPEN_CASES_SQL)),
        # A PCP's queue (their practice, every status): by practice, then each sort.
        Index("ix_hub_case_practice_priority", "practice_id", priority.desc(), "submitted_at", "id"),
        Index("ix_hub_case_practice_submitted", "practice_id", "submitted_at", "id"),
        Index("ix_hub_case_practice_pain", "practice_id", latest_pain.desc(), "submitted_at", "id"),
        # The daily refresh selects cases not closed that were not computed today.
        Index("ix_hub_case_refresh", "status", "flags_computed_on"),
        CheckConstraint("ome_total IS NULL OR ome_total >= 0", name="ome_non_negative"),
        CheckConstraint(f"primary_outcome IS NULL OR primary_outcome IN {sql_in(PRIMARY_OUTCOMES)}",
                        name="primary_outcome_known"),
    )


class CaseFlag(Base):
    """One current flag of a case: the only store of a case's flags (derived; rewritten whenever the case's
    inputs change by hub.flags, read as typed views by hub.flags.for_cases / for_case), indexed so the queue
    can filter by flag type."""

    __tablename__ = "case_flag"
    case_id: Mapped[int] = mapped_column(ForeignKey("hub_case.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(60), primary_key=True)  # e.g. opioid_escalation_without_benefit
    severity: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    # What the rule saw (e.g. {"ome": 120}); the label comes from the code (hub.vocab FLAG_LABELS).
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, server_default="{}")
    # Place in the case's flags as evaluated (worst first); the case's flags are read ordered by it.
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Further flags of the same code on the case, rare (two unactioned PHQ-9 item 9 alerts, two opioids
    # that cannot be converted): [{"position", "severity", "reason", "evidence"}], so that one row per code
    # keeps the queue's flag filter one index entry per case.
    repeats: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list, server_default="[]")
    # Copies of the case's queue sort keys, open status, practice and condition (written with the flags by
    # hub.flags and kept in step by hub.flags.sync_flag_keys whenever one of them changes on the case), so a
    # flag-filtered queue page is read in order from one index and stops after its rows.
    is_open: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    priority: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    latest_pain: Mapped[float | None] = mapped_column(Float)
    practice_id: Mapped[int | None] = mapped_column(Integer)
    condition: Mapped[str | None] = mapped_column(String(30))
    # submitted_at IS NULL (a PCP's drafts): those sort last, which an ascending index on submitted_at alone
    # cannot give on SQLite (NULLs come first there), so the practice indexes lead with this.
    unsubmitted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        CheckConstraint(f"severity IN {sql_in(FLAG_SEVERITIES)}", name="severity_known"),
        Index("ix_case_flag_code", "code", "case_id"),
        Index("ix_case_flag_open_priority", "code", "is_open", priority.desc(), "submitted_at", "case_id"),
        Index("ix_case_flag_open_submitted", "code", "is_open", "submitted_at", "case_id"),
        Index("ix_case_flag_open_pain", "code", "is_open", latest_pain.desc(), "submitted_at", "case_id"),
        # The hub's open queue filtered by flag and condition (priority order).
        Index("ix_case_flag_open_condition", "code", "is_open", "condition", priority.desc(), "submitted_at",
              "case_id"),
        # A PCP's queue (their practice, every status) filtered by flag: drafts (no submission time) sort
        # last, which an ascending index gives with unsubmitted before submitted_at.
        Index("ix_case_flag_practice_priority", "code", "practice_id", priority.desc(), "unsubmitted",
              "submitted_at", "case_id"),
        Index("ix_case_flag_practice_submitted", "code", "practice_id", "unsubmitted", "submitted_at",
              "case_id"),
        Index("ix_case_flag_practice_pain", "code", "practice_id", latest_pain.desc(), "unsubmitted",
              "submitted_at", "case_id"),
        Index("ix_case_flag_practice_condition", "code", "practice_id", "condition", priority.desc(),
              "unsubmitted", "submitted_at", "case_id"),
        Index("ix_case_flag_practice_newest", "code", "practice_id", "unsubmitted", submitted_at.desc(),
              case_id.desc()),
    )


class Treatment(Base):
    """A treatment in the patient's history: medicine (drug, dose, route) or a non-drug intervention."""

    __tablename__ = "treatment"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    category: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    drug: Mapped[str | None] = mapped_column(String(100))
    route: Mapped[str | None] = mapped_column(String(20))
    daily_dose_mg: Mapped[float | None] = mapped_column(Float)
    patch_mcg_per_h: Mapped[float | None] = mapped_column(Float)
    dose_text: Mapped[str] = mapped_column(String(200), default="")
    # True when the medicine was chosen from the pick-list or matched a generic name or brand of the drug
    # table; False when typed free text the hub could not code (shown "not coded", never converted).
    drug_coded: Mapped[bool | None] = mapped_column(Boolean)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="active")
    reason_stopped: Mapped[str | None] = mapped_column(String(20))
    adherence_pct: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    # Guideline check (docs/CLINICAL.md 3.2): the rules hit when the medicine was added, and the reason
    # the prescriber gave to override a do-not rule.
    guideline_hits: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list, server_default="[]")
    guideline_override: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(f"category IN {sql_in(TREATMENT_CATEGORIES)}", name="category_known"),
        CheckConstraint(f"route IS NULL OR route IN {sql_in(ROUTES)}", name="route_known"),
        CheckConstraint(f"status IN {sql_in(TREATMENT_STATUSES)}", name="status_known"),
        CheckConstraint(f"reason_stopped IS NULL OR reason_stopped IN {sql_in(STOP_REASONS)}",
                        name="stop_reason_known"),
        CheckConstraint("category <> 'medicine' OR (drug IS NOT NULL AND route IS NOT NULL)", name="medicine_has_drug"),
        CheckConstraint("daily_dose_mg IS NULL OR daily_dose_mg >= 0", name="dose_not_negative"),
        CheckConstraint("patch_mcg_per_h IS NULL OR patch_mcg_per_h > 0", name="patch_positive"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        CheckConstraint("adherence_pct IS NULL OR adherence_pct BETWEEN 0 AND 100", name="adherence_range"),
        CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        Index("ix_treatment_patient_start", "patient_id", "start_date"),
    )


class Assessment(Base):
    """A PROM or risk tool administered on a date: response codes, total and band."""

    __tablename__ = "assessment"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    instrument: Mapped[str] = mapped_column(String(20))
    instrument_version: Mapped[str] = mapped_column(String(20), default="1")
    scoring_version: Mapped[str] = mapped_column(String(20), default="1")
    administered_on: Mapped[date] = mapped_column(Date)
    mode: Mapped[str] = mapped_column(String(20), default="self")
    status: Mapped[str] = mapped_column(String(15), default="completed")
    responses: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    total: Mapped[float | None] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(30))
    safety_alert: Mapped[bool] = mapped_column(Boolean, default=False)
    # PHQ-9 item 9 alert stays on the case until someone records the action taken.
    safety_action: Mapped[str | None] = mapped_column(Text)
    safety_action_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    safety_action_at: Mapped[datetime | None] = mapped_column(DateTime)
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(f"mode IN {sql_in(ASSESSMENT_MODES)}", name="mode_known"),
        CheckConstraint("safety_action IS NULL OR length(trim(safety_action)) > 0", name="safety_action_not_blank"),
        CheckConstraint(f"status IN {sql_in(ASSESSMENT_STATUSES)}", name="status_known"),
        CheckConstraint("status <> 'completed' OR total IS NOT NULL", name="completed_has_total"),
        CheckConstraint("total IS NULL OR total >= 0", name="total_non_negative"),
        Index("ix_assessment_patient_date", "patient_id", "administered_on"),
    )


class Review(Base):
    """A review contact with the patient: attended or missed, changes made or the reason for none."""

    __tablename__ = "review"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("hub_case.id"), index=True)
    review_date: Mapped[date] = mapped_column(Date)
    attendance: Mapped[str] = mapped_column(String(10), default="attended")
    mode: Mapped[str] = mapped_column(String(25), default="face_to_face")
    management_changes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    inaction_justifications: Mapped[list[str]] = mapped_column(JSONType, default=list)
    adherence_pct: Mapped[int | None] = mapped_column(Integer)
    treatment_too_much: Mapped[bool | None] = mapped_column(Boolean)
    notes: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(f"attendance IN {sql_in(ATTENDANCE)}", name="attendance_known"),
        CheckConstraint(f"mode IN {sql_in(REVIEW_MODES)}", name="mode_known"),
        CheckConstraint("adherence_pct IS NULL OR adherence_pct BETWEEN 0 AND 100", name="adherence_range"),
        Index("ix_review_patient_date", "patient_id", "review_date"),
    )


class WearableDay(Base):
    """One day of wearable data; a missing value is a gap (NULL), never zero."""

    __tablename__ = "wearable_day"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    day: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(20), default="demo")
    steps: Mapped[int | None] = mapped_column(Integer)
    active_minutes: Mapped[int | None] = mapped_column(Integer)
    sleep_hours: Mapped[float | None] = mapped_column(Float)
    resting_hr: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("patient_id", "day", "source"),
        CheckConstraint(f"source IN {sql_in(WEARABLE_SOURCES)}", name="source_known"),
        CheckConstraint("steps IS NULL OR steps BETWEEN 0 AND 200000", name="steps_range"),
        CheckConstraint("active_minutes IS NULL OR active_minutes BETWEEN 0 AND 1440", name="active_minutes_range"),
        CheckConstraint("sleep_hours IS NULL OR (sleep_hours >= 0 AND sleep_hours <= 24)", name="sleep_range"),
        CheckConstraint("resting_hr IS NULL OR resting_hr BETWEEN 20 AND 250", name="resting_hr_range"),
    )


class Comment(Base):
    """A message in a case's discussion thread between meetings."""

    __tablename__ = "comment"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("hub_case.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    author: Mapped[User] = relationship(lazy="joined")
    __table_args__ = (CheckConstraint("length(trim(body)) > 0", name="body_not_blank"),)


class AuditEvent(Base):
    """Append-only record of every write: who did what to which entity, and what changed."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(40))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Hash chain (hub.audit): position in the chain, the previous event's hash and this event's hash over
    # its canonical JSON and prev_hash. Assigned at commit under the AuditChain row lock.
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_event_entity", "entity", "entity_id"),)


class AuditChain(Base):
    """The head of the audit hash chain (one row, id 1): its row lock serialises appends."""

    __tablename__ = "audit_chain"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class Setting(Base):
    """A configurable value (clinical threshold, weight, security setting) editable by an admin."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class WorkerLock(Base):
    """A named lock that at most one worker holds at a time (on SQLite; PostgreSQL uses an advisory lock):
    claimed by a conditional UPDATE when free or expired, renewed while the work runs, released after."""

    __tablename__ = "worker_lock"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(120))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)


# ----------------------------------------------------------------------------- hub meetings


class Meeting(Base):
    """A virtual MDT hub meeting with a chair, an agenda and attendance."""

    __tablename__ = "meeting"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    video_link: Mapped[str] = mapped_column(String(500), default="")
    chair_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[str] = mapped_column(String(20), default="planned")
    minutes_per_case: Mapped[int] = mapped_column(Integer, default=10)
    # The meeting's length: the agenda's booked minutes are compared with it (overbooking warning).
    duration_minutes: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
    quorum_disciplines: Mapped[list[str]] = mapped_column(JSONType, default=list)
    quorum_override_reason: Mapped[str | None] = mapped_column(Text)
    finalised_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    chair: Mapped[User] = relationship(lazy="joined")
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint(f"status IN {sql_in(MEETING_STATUSES)}", name="status_known"),
        CheckConstraint("minutes_per_case BETWEEN 1 AND 120", name="minutes_range"),
        CheckConstraint("length(trim(title)) > 0", name="title_not_blank"),
        CheckConstraint("duration_minutes BETWEEN 10 AND 480", name="duration_range"),
    )


class Attendance(Base):
    """Who attended a meeting, in which discipline."""

    __tablename__ = "attendance"
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    discipline: Mapped[str] = mapped_column(String(40))

    user: Mapped[User] = relationship(lazy="joined")
    __table_args__ = (
        CheckConstraint(f"discipline IN {sql_in({**DISCIPLINES, 'general_practice': ''})}", name="discipline_known"),
    )


class AgendaItem(Base):
    """A case on a meeting's agenda, in order, with its time slot and whether it was discussed."""

    __tablename__ = "agenda_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("hub_case.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer, default=10)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    carried_from_meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"))

    case: Mapped[Case] = relationship(lazy="joined")
    __table_args__ = (
        UniqueConstraint("meeting_id", "case_id"),
        CheckConstraint(f"status IN {sql_in(AGENDA_STATUSES)}", name="status_known"),
        CheckConstraint("minutes BETWEEN 1 AND 120", name="minutes_range"),
        Index("ix_agenda_item_meeting_position", "meeting_id", "position"),
    )


class MeetingLive(Base):
    """The agenda item the chair has open in the meeting room (attendees' rooms follow it).

    A table of its own, not a column of meeting: moving through the agenda must not bump the meeting's
    version (which guards the agenda and attendance forms against stale edits)."""

    __tablename__ = "meeting_live"
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id", ondelete="CASCADE"))
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DisciplineInput(Base):
    """A discipline's preparation on a case before a meeting."""

    __tablename__ = "discipline_input"
    id: Mapped[int] = mapped_column(primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    discipline: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    author: Mapped[User] = relationship(lazy="joined")
    __table_args__ = (
        UniqueConstraint("agenda_item_id", "discipline"),
        CheckConstraint(f"discipline IN {sql_in(DISCIPLINES)}", name="discipline_known"),
        CheckConstraint("length(trim(text)) > 0", name="text_not_blank"),
    )


class Decision(Base):
    """The MDT's structured discussion and decision on one agenda item (draft until finalised)."""

    __tablename__ = "decision"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("hub_case.id"), index=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id"), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    formulation: Mapped[str] = mapped_column(Text, default="")
    pathway_step: Mapped[str] = mapped_column(String(40), default="")
    answer: Mapped[str] = mapped_column(Text, default="")
    flag_responses: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    what_matters: Mapped[str] = mapped_column(Text, default="")
    beliefs_concerns: Mapped[str] = mapped_column(Text, default="")
    options_discussed: Mapped[str] = mapped_column(Text, default="")
    option_preferred: Mapped[str] = mapped_column(Text, default="")
    options_declined: Mapped[str] = mapped_column(Text, default="")
    discussed_with_patient: Mapped[str | None] = mapped_column(String(10))  # DISCUSSED_WITH_PATIENT
    patient_view: Mapped[str | None] = mapped_column(String(20))  # PATIENT_VIEWS
    # "What this means for you": the patient letter's own plain-language text, written by the chair.
    patient_summary: Mapped[str] = mapped_column(Text, default="", server_default="")
    mdt_options: Mapped[str] = mapped_column(Text, default="")
    agreed_plan: Mapped[str] = mapped_column(Text, default="")
    allergies: Mapped[str] = mapped_column(Text, default="")
    safety_netting: Mapped[str] = mapped_column(Text, default="")
    primary_outcome: Mapped[str | None] = mapped_column(String(20))
    follow_up_date: Mapped[date | None] = mapped_column(Date)
    # Flag codes open when the decision was finalised: a flag not among them later is "new".
    flags_at_decision: Mapped[list[str]] = mapped_column(JSONType, default=list, server_default="[]")
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finalised_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    finalised_at: Mapped[datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    recommendations: Mapped[list[Recommendation]] = relationship(
        cascade="all, delete-orphan", order_by="Recommendation.position", lazy="selectin")
    goals: Mapped[list[Goal]] = relationship(cascade="all, delete-orphan", order_by="Goal.position", lazy="selectin")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint(f"status IN {sql_in(DECISION_STATUSES)}", name="status_known"),
        CheckConstraint("status = 'draft' OR follow_up_date IS NOT NULL", name="final_has_follow_up"),
        CheckConstraint(f"discussed_with_patient IS NULL OR discussed_with_patient IN {sql_in(DISCUSSED_WITH_PATIENT)}",
                        name="discussed_known"),
        CheckConstraint(f"patient_view IS NULL OR patient_view IN {sql_in(PATIENT_VIEWS)}", name="patient_view_known"),
        CheckConstraint("patient_view IS NULL OR patient_view = 'not_yet_asked' OR discussed_with_patient = 'yes'",
                        name="view_needs_discussion"),
        CheckConstraint(f"primary_outcome IS NULL OR primary_outcome IN {sql_in(PRIMARY_OUTCOMES)}",
                        name="primary_outcome_known"),
    )


class Recommendation(Base):
    """One typed recommendation of a decision, with an owner and a due date."""

    __tablename__ = "recommendation"
    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text)
    drug: Mapped[str | None] = mapped_column(String(100))
    # Medicine recommendations: the new dose and schedule, and when the change is reviewed (letter table).
    dose_schedule: Mapped[str] = mapped_column(String(200), default="", server_default="")
    review_date: Mapped[date | None] = mapped_column(Date)
    owner_role: Mapped[str | None] = mapped_column(String(40))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    due_date: Mapped[date] = mapped_column(Date)
    for_patient: Mapped[bool] = mapped_column(Boolean, default=False)
    guideline_hits: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    guideline_override: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(f"kind IN {sql_in(RECOMMENDATION_TYPES)}", name="kind_known"),
        CheckConstraint(f"owner_role IS NULL OR owner_role IN {sql_in(OWNER_ROLES)}", name="owner_role_known"),
        CheckConstraint("owner_role IS NOT NULL OR owner_user_id IS NOT NULL", name="has_owner"),
        CheckConstraint("length(trim(description)) > 0", name="description_not_blank"),
    )


class Goal(Base):
    """A SMART goal with Goal Attainment Scaling levels, set at a hub decision."""

    __tablename__ = "goal"
    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("hub_case.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    target_activity: Mapped[str] = mapped_column(Text)
    support_needed: Mapped[str] = mapped_column(Text, default="")
    performance_quantifier: Mapped[str] = mapped_column(Text)
    set_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    importance: Mapped[int] = mapped_column(Integer, default=1)
    difficulty: Mapped[int] = mapped_column(Integer, default=1)
    levels: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    baseline_level: Mapped[int] = mapped_column(Integer, default=-1)
    achieved_level: Mapped[int | None] = mapped_column(Integer)
    recommendation_id: Mapped[int | None] = mapped_column(ForeignKey("recommendation.id", ondelete="SET NULL"))

    __table_args__ = (
        CheckConstraint("due_date > set_date", name="due_after_set"),
        CheckConstraint("importance BETWEEN 0 AND 3 AND difficulty BETWEEN 0 AND 3", name="weights_range"),
        CheckConstraint("baseline_level IN (-2, -1)", name="baseline_level_range"),
        CheckConstraint("achieved_level IS NULL OR achieved_level BETWEEN -2 AND 2", name="achieved_level_range"),
        CheckConstraint("length(trim(target_activity)) > 0 AND length(trim(performance_quantifier)) > 0",
                        name="smart_parts_present"),
    )


class Action(Base):
    """A task created when a decision is finalised: an owner, a due date, done or not."""

    __tablename__ = "action"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("hub_case.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), index=True)
    recommendation_id: Mapped[int | None] = mapped_column(ForeignKey("recommendation.id"))
    description: Mapped[str] = mapped_column(Text)
    owner_role: Mapped[str | None] = mapped_column(String(40))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(f"status IN {sql_in(ACTION_STATUSES)}", name="status_known"),
        CheckConstraint(f"owner_role IS NULL OR owner_role IN {sql_in(OWNER_ROLES)}", name="owner_role_known"),
        CheckConstraint("owner_role IS NOT NULL OR owner_user_id IS NOT NULL", name="has_owner"),
        CheckConstraint("status <> 'done' OR completed_at IS NOT NULL", name="done_has_time"),
        Index("ix_action_open_due", "status", "due_date"),
    )


class Letter(Base):
    """The outcome letter of a finalised decision (clinician and patient versions)."""

    __tablename__ = "letter"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("hub_case.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), unique=True)
    status: Mapped[str] = mapped_column(String(15), default="sent")
    body_markdown: Mapped[str] = mapped_column(Text)
    patient_markdown: Mapped[str] = mapped_column(Text)
    sections: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # When the practice first opened the letter: it can be acknowledged only after it was opened.
    opened_at: Mapped[datetime | None] = mapped_column(DateTime)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    __table_args__ = (
        CheckConstraint(f"status IN {sql_in(LETTER_STATUSES)}", name="status_known"),
        CheckConstraint("status <> 'acknowledged' OR acknowledged_at IS NOT NULL", name="ack_has_time"),
    )


class GoalAttainment(Base):
    """A goal's GAS level recorded at a review (the history behind the case's T-score over time)."""

    __tablename__ = "goal_attainment"
    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goal.id", ondelete="CASCADE"), index=True)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("review.id", ondelete="SET NULL"))
    assessed_on: Mapped[date] = mapped_column(Date)
    level: Mapped[int] = mapped_column(Integer)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    __table_args__ = (CheckConstraint("level BETWEEN -2 AND 2", name="level_range"),)


# ----------------------------------------------------------------------------- the patient's voice


class Invitation(Base):
    """An invitation to the patient to complete a set of questionnaires through a link (hub.invitations).

    Only the SHA-256 of the link's random token is stored. A scheduled invitation has no token until
    the practice issues it; the server-side draft keeps the patient's answers as they go."""

    __tablename__ = "invitation"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("hub_case.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id"))
    occasion: Mapped[str] = mapped_column(String(20), default="baseline")
    items: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(15), default="open")
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    due_on: Mapped[date | None] = mapped_column(Date)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id"))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    first_opened_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    draft: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    assessment_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    safety_raised_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        CheckConstraint(f"status IN {sql_in(INVITATION_STATUSES)}", name="status_known"),
        CheckConstraint(f"occasion IN {sql_in(INVITATION_OCCASIONS)}", name="occasion_known"),
        CheckConstraint("status = 'scheduled' OR (token_hash IS NOT NULL AND issued_at IS NOT NULL "
                        "AND expires_at IS NOT NULL)", name="issued_has_token"),
        CheckConstraint("status <> 'scheduled' OR due_on IS NOT NULL", name="scheduled_has_due_date"),
        CheckConstraint("expires_at IS NULL OR issued_at IS NULL OR expires_at > issued_at",
                        name="expires_after_issue"),
        CheckConstraint("status <> 'completed' OR completed_at IS NOT NULL", name="completed_has_time"),
        CheckConstraint("status <> 'revoked' OR revoked_at IS NOT NULL", name="revoked_has_time"),
        CheckConstraint("position >= 0", name="position_non_negative"),
        Index("ix_invitation_practice_status", "practice_id", "status"),
    )


class InvitationAttempt(Base):
    """One failed invitation-link lookup, for the rate limit on token guessing (client = SHA-256 of its
    address; the token itself is never stored)."""

    __tablename__ = "invitation_attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    client: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_invitation_attempt_client_at", "client", "at"),
        Index("ix_invitation_attempt_at", "at"),
    )
