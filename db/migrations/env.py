"""Alembic environment: the URL comes from the same place as the app (DATABASE_URL or data/hub.db)."""

from __future__ import annotations

from alembic import context

import db.models  # noqa: F401  (registers the tables on the metadata)
from db.base import Base
from db.engine import database_url, make_engine

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return url if url and "driver://" not in url else database_url()


def run_migrations_offline() -> None:
    """Emit SQL without a connection."""
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def _sqlite_foreign_keys(connection, on: bool, commit: bool = True) -> None:
    """Switch SQLite's foreign-key enforcement (the pragma is ignored inside a transaction, so what the driver
    has open is committed, or rolled back after a failure, first). Switching back on checks every reference."""
    raw = connection.connection.dbapi_connection
    if raw.in_transaction:
        raw.commit() if commit else raw.rollback()
    if on and commit:
        bad = raw.execute("PRAGMA foreign_key_check").fetchall()
        if bad:
            raw.execute("PRAGMA foreign_keys = ON")
            raise RuntimeError(f"foreign key violations after the migrations: {bad[:5]}")
    raw.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")


def _run(connection) -> None:
    """Run the migrations. On SQLite, batch mode rebuilds a table by copying it, dropping the old one and
    renaming the copy; with foreign keys on, dropping a table that other rows refer to fails (or runs its ON
    DELETE CASCADE and loses rows). So foreign keys are off for the whole run and every reference is checked
    at the end (the SQLite documentation's procedure for altering a table)."""
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _sqlite_foreign_keys(connection, False)
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    except BaseException:
        if sqlite:
            _sqlite_foreign_keys(connection, True, commit=False)
        raise
    if sqlite:
        _sqlite_foreign_keys(connection, True)


def run_migrations_online() -> None:
    """Run against a live connection (given by upgrade_to_head, or made from the URL)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
