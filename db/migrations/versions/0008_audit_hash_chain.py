"""audit hash chain, append-only audit rows on PostgreSQL

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-01 12:00:00

Adds the chain columns to audit_event (seq, prev_hash, hash), chains the events already present in
id order, creates the chain head row (audit_chain id 1) and, on PostgreSQL, a trigger that refuses
UPDATE and DELETE on audit_event.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

GENESIS = "0" * 64

TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        'audit_chain',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('last_hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain')),
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))

    # Chain the events already present, in id order (the same hash as hub.audit.event_hash).
    from hub.audit import event_hash

    bind = op.get_bind()
    ev = sa.table('audit_event', sa.column('id', sa.Integer), sa.column('at', sa.DateTime),
                  sa.column('actor_id', sa.Integer), sa.column('action', sa.String), sa.column('entity', sa.String),
                  sa.column('entity_id', sa.String), sa.column('changes', sa.JSON), sa.column('seq', sa.BigInteger),
                  sa.column('prev_hash', sa.String), sa.column('hash', sa.String))
    prev, seq = GENESIS, 0
    updates = []
    for eid, at, actor_id, action, entity, entity_id, changes in bind.execute(
            sa.select(ev.c.id, ev.c.at, ev.c.actor_id, ev.c.action, ev.c.entity, ev.c.entity_id, ev.c.changes)
            .order_by(ev.c.id)).all():
        seq += 1
        digest = event_hash(prev, seq, at, actor_id, action, entity, entity_id, changes)
        updates.append({"b_id": eid, "b_seq": seq, "b_prev": prev, "b_hash": digest})
        prev = digest
    if updates:
        bind.execute(ev.update().where(ev.c.id == sa.bindparam("b_id"))
                     .values(seq=sa.bindparam("b_seq"), prev_hash=sa.bindparam("b_prev"), hash=sa.bindparam("b_hash")),
                     updates)
    bind.execute(sa.text("INSERT INTO audit_chain (id, seq, last_hash) VALUES (1, :seq, :h)"), {"seq": seq, "h": prev})

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_event_seq'), ['seq'])

    if bind.dialect.name == "postgresql":
        op.execute(TRIGGER_FUNCTION)
        op.execute("CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
                   "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_event_seq'), type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
    op.drop_table('audit_chain')
