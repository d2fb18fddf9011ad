"""case_flag is the only store of a case's flags: evidence, position (worst first as evaluated) and repeats of
a code move onto the rows and hub_case.flags is dropped; case_flag also copies the case's practice and
condition, with indexes for a PCP's flag-filtered queue and the flag + condition filter (issues 8 and 12)

Revision ID: 0016_flags_one_store
Revises: 0015
Create Date: 2026-12-01 15:00:00
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0016_flags_one_store'
down_revision = '0015'
branch_labels = None
depends_on = None

OPEN = "('submitted', 'triaged', 'scheduled')"
CHUNK = 5000
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

# The labels stored in hub_case.flags at 0015 (hub.clinical FLAG_LABELS as of this migration), for the
# downgrade: a migration is history and must not change with the vocabulary.
LABELS = {
    "safety_phq9": "Safety alert", "opioid_red": "Opioid dose (red)", "opioid_amber": "Opioid dose (amber)",
    "opioid_unconvertible": "Opioid not converted", "co_prescription": "Opioid co-prescription",
    "inertia": "Therapeutic inertia", "missed_appointments": "Missed appointments",
    "prom_non_completion": "PROMs not returned", "adherence_drop": "Adherence falling",
    "prom_plateau": "PROM plateau", "treatment_burden": "Treatment too much",
    "appropriate_restraint": "Appropriate restraint", "relisted": "Re-listed",
    "wearable_drop": "Wearable use falling", "distress": "Significant distress",
    "phq9_item9_unanswered": "PHQ-9 item 9 not answered",
    "opioid_escalation_without_benefit": "Opioid up, no benefit", "explore_beliefs": "Explore beliefs",
}

INDEXES = {
    'ix_case_flag_open_condition': ['code', 'is_open', 'condition', sa.literal_column('priority DESC'),
                                    'submitted_at', 'case_id'],
    'ix_case_flag_practice_priority': ['code', 'practice_id', sa.literal_column('priority DESC'),
                                       'unsubmitted', 'submitted_at', 'case_id'],
    'ix_case_flag_practice_submitted': ['code', 'practice_id', 'unsubmitted',
                                        'submitted_at', 'case_id'],
    'ix_case_flag_practice_pain': ['code', 'practice_id', sa.literal_column('latest_pain DESC'),
                                   'unsubmitted', 'submitted_at', 'case_id'],
    'ix_case_flag_practice_condition': ['code', 'practice_id', 'condition', sa.literal_column('priority DESC'),
                                        'unsubmitted', 'submitted_at', 'case_id'],
    'ix_case_flag_practice_newest': ['code', 'practice_id', 'unsubmitted',
                                     sa.literal_column('submitted_at DESC'), sa.literal_column('case_id DESC')],
}

hub_case = sa.table('hub_case', sa.column('id', sa.Integer), sa.column('flags', JSON))
case_flag = sa.table(
    'case_flag', sa.column('case_id', sa.Integer), sa.column('code', sa.String), sa.column('severity', sa.String),
    sa.column('reason', sa.Text), sa.column('evidence', JSON), sa.column('position', sa.Integer),
    sa.column('repeats', JSON))


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def _drop_columns(table: str, columns: Iterable[str]) -> None:
    """Drop columns in place: SQLite >= 3.35 drops an unindexed column without rebuilding the table (a batch
    rebuild of hub_case would copy every case and re-create its partial and descending indexes)."""
    for column in columns:
        if _sqlite():
            op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
        else:
            op.drop_column(table, column)


def _rows_of(case_id: int, stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A case's case_flag rows from its flags column: one row per code at its first place, further flags of
    the same code in the row's repeats (what hub.flags writes)."""
    rows: dict[str, dict[str, Any]] = {}
    for position, f in enumerate(stored or ()):
        code = str(f.get('code', ''))
        one = {'position': position, 'severity': str(f.get('severity', 'info')), 'reason': str(f.get('reason', '')),
               'evidence': dict(f.get('evidence') or {})}
        if code in rows:
            rows[code]['repeats'].append(one)
        else:
            rows[code] = {'case_id': case_id, 'code': code, **one, 'repeats': []}
    return list(rows.values())


def upgrade() -> None:
    op.add_column('case_flag', sa.Column('evidence', JSON, server_default='{}', nullable=False))
    op.add_column('case_flag', sa.Column('position', sa.Integer(), server_default='0', nullable=False))
    op.add_column('case_flag', sa.Column('repeats', JSON, server_default='[]', nullable=False))
    op.add_column('case_flag', sa.Column('practice_id', sa.Integer(), nullable=True))
    op.add_column('case_flag', sa.Column('condition', sa.String(length=30), nullable=True))
    op.add_column('case_flag', sa.Column('unsubmitted', sa.Boolean(), server_default=sa.false(), nullable=False))
    conn = op.get_bind()
    # The rows are rebuilt from the flags column (the complete record: order, evidence, repeated codes) in
    # chunks of cases, then every copied key is filled from the cases in one correlated UPDATE.
    last = 0
    while True:
        chunk = conn.execute(sa.select(hub_case.c.id, hub_case.c.flags).where(hub_case.c.id > last)
                             .order_by(hub_case.c.id).limit(CHUNK)).all()
        if not chunk:
            break
        last = chunk[-1].id
        ids = [r.id for r in chunk]
        conn.execute(case_flag.delete().where(case_flag.c.case_id.in_(ids)))
        rows = [row for r in chunk for row in _rows_of(r.id, r.flags or [])]
        if rows:
            conn.execute(case_flag.insert(), rows)
    op.execute(
        "UPDATE case_flag SET "
        f"is_open = (SELECT hub_case.status IN {OPEN} FROM hub_case WHERE hub_case.id = case_flag.case_id), "
        "priority = (SELECT hub_case.priority FROM hub_case WHERE hub_case.id = case_flag.case_id), "
        "submitted_at = (SELECT hub_case.submitted_at FROM hub_case WHERE hub_case.id = case_flag.case_id), "
        "latest_pain = (SELECT hub_case.latest_pain FROM hub_case WHERE hub_case.id = case_flag.case_id), "
        "practice_id = (SELECT hub_case.practice_id FROM hub_case WHERE hub_case.id = case_flag.case_id), "
        "condition = (SELECT hub_case.condition FROM hub_case WHERE hub_case.id = case_flag.case_id), "
        "unsubmitted = (SELECT hub_case.submitted_at IS NULL FROM hub_case WHERE hub_case.id = case_flag.case_id)")
    for name, columns in INDEXES.items():
        op.create_index(name, 'case_flag', columns, unique=False)
    _drop_columns('hub_case', ['flags'])


def downgrade() -> None:
    if _sqlite():  # SQLite adds a NOT NULL column only with a default
        op.execute("ALTER TABLE hub_case ADD COLUMN flags JSON NOT NULL DEFAULT '[]'")
    else:
        op.add_column('hub_case', sa.Column('flags', JSON, nullable=True))
    conn = op.get_bind()
    flags: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for r in conn.execute(sa.select(case_flag.c.case_id, case_flag.c.code, case_flag.c.severity, case_flag.c.reason,
                                    case_flag.c.evidence, case_flag.c.position, case_flag.c.repeats)):
        for one in [{'position': r.position, 'severity': r.severity, 'reason': r.reason, 'evidence': r.evidence},
                    *(r.repeats or [])]:
            flags.setdefault(r.case_id, []).append((int(one['position']), {
                'code': r.code, 'label': LABELS.get(r.code, r.code), 'severity': one['severity'],
                'reason': one['reason'], 'evidence': dict(one.get('evidence') or {})}))
    updates = [{'b_id': cid, 'b_flags': [f for _, f in sorted(fs, key=lambda p: p[0])]} for cid, fs in flags.items()]
    for start in range(0, len(updates), CHUNK):
        conn.execute(hub_case.update().where(hub_case.c.id == sa.bindparam('b_id'))
                     .values(flags=sa.bindparam('b_flags')), updates[start:start + CHUNK])
    if not _sqlite():
        op.execute("UPDATE hub_case SET flags = '[]' WHERE flags IS NULL")
        op.alter_column('hub_case', 'flags', nullable=False)
    for name in INDEXES:
        op.drop_index(name, table_name='case_flag')
    # The rows keep one flag per code (the first, as 0015 kept one per code).
    _drop_columns('case_flag', ['unsubmitted', 'condition', 'practice_id', 'repeats', 'position', 'evidence'])
