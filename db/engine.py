"""Engine and session factory: SQLite (embedded default) or PostgreSQL via DATABASE_URL."""

from __future__ import annotations

import os
import re
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


_INDEX_HINT = re.compile(r"SELECT /\* indexed_by (\w+) \*/ ")


def _sqlite_index_hint(conn, cursor, statement, parameters, context, executemany):
    """Turn a query's `/* indexed_by ix_name */` prefix (SQLite only: sqlite_index_hint) into SQLite's
    `INDEXED BY` on its first hub_case table: SQLAlchemy renders no table hints for SQLite."""
    m = _INDEX_HINT.search(statement)
    if m:
        head, tail = statement[:m.end()], statement[m.end():]
        hint = "NOT INDEXED" if m.group(1) == "NOT_INDEXED" else f"INDEXED BY {m.group(1)}"
        statement = head + re.sub(r"FROM hub_case\b(?! INDEXED BY| NOT INDEXED)", f"FROM hub_case {hint}",
                                  tail, count=1)
    return statement, parameters


def sqlite_index_hint(index_name: str) -> str:
    """The prefix (for Select.prefix_with(..., dialect="sqlite")) that makes SQLite read hub_case by this index
    ("NOT INDEXED": by rowid lookups only)."""
    index_name = index_name.replace(" ", "_")
    assert index_name.isidentifier()
    return f"/* indexed_by {index_name} */"


def make_engine(url: str | None = None) -> Engine:
    """Create an Engine with the project's connection settings (SQLite pragmas, pool pre-ping)."""
    url = url or database_url()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "before_cursor_execute", _sqlite_index_hint, retval=True)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Session factory; services use `with factory.begin() as s:` for one unit of work."""
    return sessionmaker(engine, expire_on_commit=False)


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
