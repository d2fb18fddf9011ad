"""CHECK constraints of a migrated database compared with the models (built from hub/vocab.py), and a
generator of the migration that brings them in line.

Alembic's autogenerate and `alembic check` do not compare the contents of CHECK constraints, so a code
added to a vocabulary in hub/vocab.py changes the models but not the database: the database would
reject the new code. This module finds such differences and writes the migration for them.

    python -m db.vocab_migration "add code bpi to primary outcomes"   # writes db/migrations/versions/NNNN_*.py
    python -m db.vocab_migration --check                              # exit 1 when a migrated database differs
    python -m db.vocab_migration --check --url postgresql+psycopg://...  # compare an existing database

The generator migrates a temporary SQLite database to head, compares every named CHECK constraint
with the models, and writes a migration that drops and re-creates each one that differs (batch mode,
so it runs on SQLite too), with the code lists written into the file as literals: a migration is
frozen history and must not change when hub/vocab.py changes again later.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import CheckConstraint, Connection, MetaData, text

# A string literal and the cast PostgreSQL may write after it ('draft'::character varying, '-2'::integer).
_LITERAL = re.compile(r"'((?:[^']|'')*)'(::[a-z ]+)?")
_NUMERIC_CASTS = ("::integer", "::bigint", "::smallint", "::numeric", "::double precision", "::real")
_SQLITE_CHECK = re.compile(r'CONSTRAINT\s+(["`]?)(\w+)\1\s+CHECK\s*\(', re.IGNORECASE)

VERSIONS_DIR = Path(__file__).resolve().parent / "migrations" / "versions"


@dataclass(frozen=True)
class Check:
    """One named CHECK constraint: its table, SQL text and the string literals (codes) it names."""

    table: str
    name: str
    sql: str

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(m.group(1).replace("''", "'") for m in _LITERAL.finditer(self.sql)
                         if (m.group(2) or "").strip() not in _NUMERIC_CASTS)


@dataclass(frozen=True)
class Difference:
    """A CHECK constraint whose codes differ between the models and the database (or exists on one side only)."""

    table: str
    name: str
    expected: Check | None  # from the models (None: only in the database)
    actual: Check | None  # in the database (None: missing there)

    def describe(self) -> str:
        where = f"{self.table}.{self.name}"
        if self.actual is None:
            return f"{where}: in the models but not in the database"
        if self.expected is None:
            return f"{where}: in the database but not in the models"
        added = sorted(self.expected.codes - self.actual.codes)
        removed = sorted(self.actual.codes - self.expected.codes)
        parts = [f"codes not allowed by the database: {', '.join(added)}" if added else "",
                 f"codes the models no longer have: {', '.join(removed)}" if removed else ""]
        return f"{where}: " + "; ".join(p for p in parts if p)


def model_checks(metadata: MetaData | None = None) -> dict[tuple[str, str], Check]:
    """The named CHECK constraints of the models, by (table, constraint name)."""
    if metadata is None:
        import db.models  # noqa: F401  (registers the tables)
        from db.base import Base

        metadata = Base.metadata
    out: dict[tuple[str, str], Check] = {}
    for table in metadata.tables.values():
        for c in table.constraints:
            if isinstance(c, CheckConstraint) and c.name:
                out[(table.name, str(c.name))] = Check(table.name, str(c.name), str(c.sqltext))
    return out


def _balanced(sql: str, start: int) -> str:
    """The text inside the parenthesis opened just before `start` (quotes respected)."""
    depth, i, quote = 1, start, False
    while i < len(sql):
        ch = sql[i]
        if ch == "'":
            quote = not quote
        elif not quote and ch == "(":
            depth += 1
        elif not quote and ch == ")":
            depth -= 1
            if depth == 0:
                return sql[start:i]
        i += 1
    raise ValueError(f"unbalanced CHECK constraint in {sql[:80]!r}")


def database_checks(connection: Connection) -> dict[tuple[str, str], Check]:
    """The named CHECK constraints of the connected database (SQLite: sqlite_master; PostgreSQL: pg_constraint
    of the current schema), by (table, constraint name)."""
    out: dict[tuple[str, str], Check] = {}
    if connection.dialect.name == "sqlite":
        rows = connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL"))
        for table, sql in rows:
            for m in _SQLITE_CHECK.finditer(sql):
                out[(table, m.group(2))] = Check(table, m.group(2), _balanced(sql, m.end()).strip())
        return out
    rows = connection.execute(text(
        "SELECT cl.relname, co.conname, pg_get_constraintdef(co.oid) FROM pg_constraint co "
        "JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_namespace ns ON ns.oid = cl.relnamespace "
        "WHERE co.contype = 'c' AND ns.nspname = current_schema()"))
    for table, name, definition in rows:
        sql = re.sub(r"^CHECK\s*\((.*)\)(\s+NOT VALID)?$", r"\1", definition, flags=re.DOTALL)
        out[(table, name)] = Check(table, name, sql)
    return out


def differences(connection: Connection, metadata: MetaData | None = None) -> list[Difference]:
    """Every CHECK constraint whose codes differ between the models and the connected database.

    Only the string literals are compared (the backends rewrite the rest of the expression), which is
    what a vocabulary change alters."""
    expected, actual = model_checks(metadata), database_checks(connection)
    out = []
    for key in sorted(set(expected) | set(actual)):
        e, a = expected.get(key), actual.get(key)
        if e is None or a is None or e.codes != a.codes:
            out.append(Difference(key[0], key[1], e, a))
    return out


# ----------------------------------------------------------------------------- the generator


def _short(table: str, name: str) -> str:
    prefix = f"ck_{table}_"
    return name[len(prefix):] if name.startswith(prefix) else name


def _ops(diffs: Sequence[Difference], *, down: bool) -> str:
    lines: list[str] = []
    by_table: dict[str, list[Difference]] = {}
    for d in diffs:
        by_table.setdefault(d.table, []).append(d)
    for table, items in sorted(by_table.items()):
        lines.append(f"    with op.batch_alter_table({table!r}, schema=None) as batch_op:")
        for d in items:
            old, new = (d.expected, d.actual) if down else (d.actual, d.expected)
            if old is not None:
                lines.append(f"        batch_op.drop_constraint(op.f({d.name!r}), type_='check')")
            if new is not None:
                lines.append(f"        batch_op.create_check_constraint(op.f({d.name!r}),")
                lines.append(f"                                         {new.sql!r})")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_migration(diffs: Sequence[Difference], message: str, revision: str, down_revision: str | None) -> str:
    """The text of a migration that re-creates every differing CHECK constraint (and back on downgrade)."""
    summary = "\n".join(f"- {d.describe()}" for d in diffs)
    return (
        f'"""{message}\n\nRevision ID: {revision}\nRevises: {down_revision}\n'
        f"Create Date: {datetime.now().replace(microsecond=0)}\n\n"
        f"Generated by `python -m db.vocab_migration` from hub/vocab.py: re-creates the CHECK constraints\n"
        f"whose codes differ from the vocabularies (the lists are literals: a migration is frozen history).\n\n"
        f'{summary}\n"""\n'
        "from __future__ import annotations\n\n"
        "from alembic import op\n\n"
        f"revision = {revision!r}\ndown_revision = {down_revision!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade() -> None:\n{_ops(diffs, down=False)}\n\n"
        f"def downgrade() -> None:\n{_ops(list(reversed(diffs)), down=True)}"
    )


def _head_and_next_revision(versions_dir: Path) -> tuple[str | None, str]:
    from alembic.script import ScriptDirectory

    from db.engine import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    heads = script.get_heads()
    if len(heads) > 1:
        raise SystemExit(f"the migrations have several heads ({', '.join(heads)}): merge them first")
    numbers = [int(p.name[:4]) for d in {VERSIONS_DIR, versions_dir} for p in d.glob("[0-9][0-9][0-9][0-9]_*.py")]
    return (heads[0] if heads else None), f"{max(numbers, default=0) + 1:04d}"


def _migrated_sqlite_differences() -> list[Difference]:
    from db.engine import make_engine, upgrade_to_head

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'vocab.db'}")
        try:
            upgrade_to_head(engine)
            with engine.connect() as conn:
                return differences(conn)
        finally:
            engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m db.vocab_migration", description=__doc__.split("\n\n")[0])
    parser.add_argument("message", nargs="?", help="the migration's message (writes the migration)")
    parser.add_argument("--check", action="store_true", help="only report differences (exit 1 when there are any)")
    parser.add_argument("--url", help="with --check: compare this (already migrated) database instead")
    parser.add_argument("--versions", type=Path, default=VERSIONS_DIR, help="where to write the migration")
    args = parser.parse_args(argv)
    if not args.check and not args.message:
        parser.error("give a message for the migration, or --check")
    if args.url:
        from db.engine import make_engine

        engine = make_engine(args.url)
        with engine.connect() as conn:
            diffs = differences(conn)
        engine.dispose()
    else:
        diffs = _migrated_sqlite_differences()
    for d in diffs:
        print(d.describe())
    if args.check:
        print("CHECK constraints match the vocabularies" if not diffs else f"{len(diffs)} CHECK constraint(s) differ")
        return 1 if diffs else 0
    if not diffs:
        print("Nothing to do: every CHECK constraint of the migrated database matches the vocabularies.")
        return 0
    down, revision = _head_and_next_revision(args.versions)
    slug = re.sub(r"[^a-z0-9]+", "_", args.message.lower()).strip("_")[:40]
    path = args.versions / f"{revision}_{slug}.py"
    path.write_text(render_migration(diffs, args.message, revision, down), encoding="utf-8")
    print(f"Wrote {path} (revision {revision}, revises {down}). Review it, then run `alembic upgrade head`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
