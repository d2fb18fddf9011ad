"""Engine and session factory: SQLite (embedded default) or PostgreSQL via DATABASE_URL."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "data" / "hub.db"


def database_url() -> str:
    """The database URL the app uses: DATABASE_URL, else the embedded SQLite file data/hub.db."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://"):]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    """Create an Engine with the project's connection settings (SQLite pragmas, pool pre-ping)."""
    url = url or database_url()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
        event.listen(engine, "before_cursor_execute", _refuse_nul_parameters)
    return engine


def _refuse_nul_parameters(_conn, _cursor, _statement, parameters, _context, executemany) -> None:
    """PostgreSQL cannot hold a NUL character in text: refuse it with a ValidationError before the driver
    fails with a DataError that quotes the SQL (services validate text first; this is the backstop,
    e.g. for a login name or a search term)."""
    from hub.errors import ValidationError

    for row in (parameters if executemany else (parameters,)):
        values = row.values() if isinstance(row, dict) else (row or ())
        if any(isinstance(v, str) and "\x00" in v for v in values):
            raise ValidationError({"text": "The text contains a NUL character (\\x00), which cannot be stored; "
                                           "remove it (it may have come from pasting from another program)."})


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Session factory; services use `with factory.begin() as s:` for one unit of work.

    Every flush refuses control characters in string columns (hub.text), with a ValidationError."""
    from hub.text import install_flush_guard

    return install_flush_guard(sessionmaker(engine, expire_on_commit=False))


def alembic_config(url: str):
    """Alembic configuration pointing at db/migrations for the given URL."""
    from alembic.config import Config

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "db" / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_to_head(engine: Engine) -> None:
    """Run Alembic migrations up to head on this engine's database."""
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
