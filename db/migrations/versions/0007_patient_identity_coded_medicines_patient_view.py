"""patient identity (date of birth, address, practice ODS code), coded medicines, 0 mg/day doses,
sublingual route, discussed-with-patient and patient's view as two fields, the patient letter's own
text, medicine dose/schedule and review date on recommendations

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01 12:00:00

Existing rows are carried over:
* patients keep birth_year; date_of_birth stays NULL (unknown: a year is not a date) and the letter says
  "date of birth not recorded" until the practice adds it; address and postcode start empty.
* practices get ods_code NULL until an admin records it.
* medicines: drug_coded is True when the stored name is a generic name or brand of the bundled drug
  table, else False ("not coded").
* decisions: the old yes/no "already discussed with the patient?" becomes two facts. Yes -> discussed
  'yes' with the patient's view NULL (not recorded: the old question never asked whether they agreed);
  No -> discussed 'not_yet' and view 'not_yet_asked' (an undiscussed plan cannot have been put to them);
  NULL -> both NULL.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_OLD_ROUTES = "('oral', 'transdermal', 'topical', 'subcutaneous', 'intramuscular', 'intra_articular', 'other')"
_NEW_ROUTES = ("('oral', 'transdermal', 'sublingual', 'topical', 'subcutaneous', 'intramuscular', "
               "'intra_articular', 'other')")


_fk_were_on = True


def _sqlite_foreign_keys(on: bool) -> None:
    """SQLite batch mode copies a table, drops the old one and renames the copy. With foreign keys on, dropping
    a table that other rows refer to fails, or worse runs its ON DELETE CASCADE (recommendations of a decision
    would be deleted). So foreign keys are switched off for this migration; the pragma is ignored inside a
    transaction, so what the driver has open is committed first (SQLite DDL is not transactional anyway).
    When switching back on, every reference is checked."""
    global _fk_were_on
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    raw = bind.connection.dbapi_connection
    if not on:
        _fk_were_on = raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    if not _fk_were_on:  # the migration environment already runs every migration with foreign keys off
        return
    if raw.in_transaction:
        raw.commit()
    if on:
        bad = raw.execute("PRAGMA foreign_key_check").fetchall()
        if bad:
            raise RuntimeError(f"foreign key violations after migration 0007: {bad[:5]}")
    raw.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")


def upgrade() -> None:
    _sqlite_foreign_keys(False)
    try:
        _upgrade()
    finally:
        _sqlite_foreign_keys(True)


def _upgrade() -> None:
    with op.batch_alter_table('practice', schema=None) as b:
        b.add_column(sa.Column('ods_code', sa.String(length=10), nullable=True))
        b.create_check_constraint('ods_code_length', 'ods_code IS NULL OR length(ods_code) BETWEEN 3 AND 10')
    with op.batch_alter_table('patient', schema=None) as b:
        b.add_column(sa.Column('date_of_birth', sa.Date(), nullable=True))
        b.add_column(sa.Column('address', sa.Text(), server_default='', nullable=False))
        b.add_column(sa.Column('postcode', sa.String(length=10), server_default='', nullable=False))

    with op.batch_alter_table('treatment', schema=None) as b:
        b.add_column(sa.Column('drug_coded', sa.Boolean(), nullable=True))
        b.drop_constraint('dose_positive', type_='check')
        b.create_check_constraint('dose_not_negative', 'daily_dose_mg IS NULL OR daily_dose_mg >= 0')
        b.drop_constraint('route_known', type_='check')
        b.create_check_constraint('route_known', f'route IS NULL OR route IN {_NEW_ROUTES}')
    from hub.clinical.drugs import resolve_drug

    conn = op.get_bind()
    treatment = sa.table('treatment', sa.column('id', sa.Integer), sa.column('drug', sa.String),
                         sa.column('drug_coded', sa.Boolean))
    rows = conn.execute(sa.select(treatment.c.id, treatment.c.drug).where(treatment.c.drug.is_not(None))).all()
    coded = [r.id for r in rows if resolve_drug(r.drug) is not None]
    uncoded = [r.id for r in rows if resolve_drug(r.drug) is None]
    for ids, value in ((coded, True), (uncoded, False)):
        for i in range(0, len(ids), 500):
            conn.execute(treatment.update().where(treatment.c.id.in_(ids[i:i + 500])).values(drug_coded=value))

    with op.batch_alter_table('decision', schema=None) as b:
        b.add_column(sa.Column('discussed_new', sa.String(length=10), nullable=True))
        b.add_column(sa.Column('patient_view', sa.String(length=20), nullable=True))
        b.add_column(sa.Column('patient_summary', sa.Text(), server_default='', nullable=False))
    decision = sa.table('decision', sa.column('discussed_with_patient', sa.Boolean),
                        sa.column('discussed_new', sa.String), sa.column('patient_view', sa.String))
    conn.execute(decision.update().where(decision.c.discussed_with_patient.is_(True)).values(discussed_new='yes'))
    conn.execute(decision.update().where(decision.c.discussed_with_patient.is_(False))
                 .values(discussed_new='not_yet', patient_view='not_yet_asked'))
    with op.batch_alter_table('decision', schema=None) as b:
        b.drop_column('discussed_with_patient')
    with op.batch_alter_table('decision', schema=None) as b:
        b.alter_column('discussed_new', new_column_name='discussed_with_patient', existing_type=sa.String(length=10),
                       existing_nullable=True)
    with op.batch_alter_table('decision', schema=None) as b:
        b.create_check_constraint('discussed_known',
                                  "discussed_with_patient IS NULL OR discussed_with_patient IN ('not_yet', 'yes')")
        b.create_check_constraint('patient_view_known', "patient_view IS NULL OR patient_view IN "
                                  "('agrees', 'disagrees', 'wants_time', 'not_yet_asked')")
        b.create_check_constraint('view_needs_discussion', "patient_view IS NULL OR patient_view = 'not_yet_asked' "
                                  "OR discussed_with_patient = 'yes'")

    with op.batch_alter_table('recommendation', schema=None) as b:
        b.add_column(sa.Column('dose_schedule', sa.String(length=200), server_default='', nullable=False))
        b.add_column(sa.Column('review_date', sa.Date(), nullable=True))


def downgrade() -> None:
    _sqlite_foreign_keys(False)
    try:
        _downgrade()
    finally:
        _sqlite_foreign_keys(True)


def _downgrade() -> None:
    with op.batch_alter_table('recommendation', schema=None) as b:
        b.drop_column('review_date')
        b.drop_column('dose_schedule')
    with op.batch_alter_table('decision', schema=None) as b:
        b.drop_constraint('view_needs_discussion', type_='check')
        b.drop_constraint('patient_view_known', type_='check')
        b.drop_constraint('discussed_known', type_='check')
        b.add_column(sa.Column('discussed_old', sa.Boolean(), nullable=True))
    conn = op.get_bind()
    decision = sa.table('decision', sa.column('discussed_with_patient', sa.String),
                        sa.column('discussed_old', sa.Boolean))
    conn.execute(decision.update().where(decision.c.discussed_with_patient == 'yes').values(discussed_old=True))
    conn.execute(decision.update().where(decision.c.discussed_with_patient == 'not_yet').values(discussed_old=False))
    with op.batch_alter_table('decision', schema=None) as b:
        b.drop_column('patient_summary')
        b.drop_column('patient_view')
        b.drop_column('discussed_with_patient')
    with op.batch_alter_table('decision', schema=None) as b:
        b.alter_column('discussed_old', new_column_name='discussed_with_patient', existing_type=sa.Boolean(),
                       existing_nullable=True)
    treatment = sa.table('treatment', sa.column('route', sa.String), sa.column('daily_dose_mg', sa.Float))
    conn.execute(treatment.update().where(treatment.c.route == 'sublingual').values(route='other'))
    conn.execute(treatment.update().where(treatment.c.daily_dose_mg == 0).values(daily_dose_mg=None))
    with op.batch_alter_table('treatment', schema=None) as b:
        b.drop_constraint('route_known', type_='check')
        b.create_check_constraint('route_known', f'route IS NULL OR route IN {_OLD_ROUTES}')
        b.drop_constraint('dose_not_negative', type_='check')
        b.create_check_constraint('dose_positive', 'daily_dose_mg IS NULL OR daily_dose_mg > 0')
        b.drop_column('drug_coded')
    with op.batch_alter_table('patient', schema=None) as b:
        b.drop_column('postcode')
        b.drop_column('address')
        b.drop_column('date_of_birth')
    with op.batch_alter_table('practice', schema=None) as b:
        b.drop_constraint('ods_code_length', type_='check')
        b.drop_column('ods_code')
