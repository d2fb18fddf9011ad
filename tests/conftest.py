"""Shared fixtures: a migrated database on SQLite and (when configured) PostgreSQL, and actors."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from db.engine import make_engine, make_session_factory, upgrade_to_head
from hub import auth
from tests_support import TEST_BCRYPT_ROUNDS, World, make_world

APP_BCRYPT_ROUNDS = auth.BCRYPT_ROUNDS  # the app's cost, before the tests lower it


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes():
    """Passwords hashed in the tests' own processes use bcrypt cost 4 (about 1 ms a check here) instead of the
    app's 12 (about 240 ms): the suite logs in hundreds of times. The app's cost is tested with
    `app_bcrypt_cost`; servers the tests start in other processes keep the app's cost."""
    auth.BCRYPT_ROUNDS = TEST_BCRYPT_ROUNDS
    yield
    auth.BCRYPT_ROUNDS = APP_BCRYPT_ROUNDS


@pytest.fixture
def app_bcrypt_cost():
    """The app's own bcrypt cost, in force for this test (see _cheap_password_hashes)."""
    auth.BCRYPT_ROUNDS = APP_BCRYPT_ROUNDS
    yield APP_BCRYPT_ROUNDS
    auth.BCRYPT_ROUNDS = TEST_BCRYPT_ROUNDS


def _require(var: str) -> bool:
    return os.environ.get(var, "").strip() in ("1", "true", "yes")


def postgres_url_or_skip() -> str:
    """The TEST_POSTGRES_URL, or skip (fail when HUB_REQUIRE_POSTGRES=1)."""
    url = os.environ.get("TEST_POSTGRES_URL", "").strip()
    if not url:
        if _require("HUB_REQUIRE_POSTGRES"):
            pytest.fail("HUB_REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL tests need TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    return url


def _fresh_pg_schema(url: str) -> tuple[str, str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in url else "?"
    return schema, f"{url}{sep}options=-csearch_path%3D{schema}"


def _drop_pg_schema(url: str, schema: str) -> None:
    admin = create_engine(url)
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@dataclass
class _PgTemplate:
    schema: str  # the template, built once
    value: Any  # what its build returned
    rows: dict[str, int]  # rows per table, parents first
    sequences: dict[str, int | None]  # last value of each sequence (None: never used)
    idle: list[str] = field(default_factory=list)  # migrated working schemas free for the next test


class DatabaseTemplates:
    """Databases built once per test session (per xdist worker) and copied for each test.

    Building a database costs a migration (about a second) and, for the demo cohort, seeding 150 patients
    (several seconds); copying it costs milliseconds.
    SQLite: the template is a file, copied per test.
    PostgreSQL: the template is a schema. A test gets a working schema, migrated once and then reused by
    the next tests: before each test its tables are emptied (TRUNCATE ... RESTART IDENTITY) and refilled
    from the template (INSERT ... SELECT, sequences set to the template's). The app's own session factories
    work on it unchanged (the URL sets the search_path). CREATE/DROP DATABASE would be simpler, but a
    DROP DATABASE waits for a checkpoint of the whole server, seconds each on a busy shared one."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._sqlite: dict[str, tuple[Path, Any]] = {}
        self._pg: dict[str, _PgTemplate] = {}
        self._schemas: list[str] = []
        self._admin = None
        self._base = ""
        self._prefix = f"tpl_{uuid.uuid4().hex[:8]}"

    # -- PostgreSQL
    def _pg_admin(self):
        if self._admin is None:
            self._base = postgres_url_or_skip()
            self._admin = create_engine(self._base)
        return self._admin

    def _pg_schema(self, build: Callable[[Any], Any] | None) -> tuple[str, Any]:
        schema = f"{self._prefix}_{len(self._schemas)}"
        with self._pg_admin().begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        self._schemas.append(schema)
        return schema, self._build(self._pg_url(schema), build)

    def _pg_url(self, schema: str) -> str:
        sep = "&" if "?" in self._base else "?"
        return f"{self._base}{sep}options=-csearch_path%3D{schema}"

    def _pg_template(self, key: str, build: Callable[[Any], Any] | None) -> _PgTemplate:
        if key not in self._pg:
            from db.base import Base

            schema, value = self._pg_schema(build)
            with self._pg_admin().connect() as c:
                rows = {t.name: int(c.scalar(text(f'SELECT count(*) FROM "{schema}"."{t.name}"')))
                        for t in Base.metadata.sorted_tables}
                sequences = dict(c.execute(text(
                    "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = :s"), {"s": schema}).all())
            self._pg[key] = _PgTemplate(schema, value, rows, sequences)
        return self._pg[key]

    def _pg_refill(self, template: _PgTemplate, work: str) -> None:
        """Empty the working schema and fill it with the template's rows and sequence values: one script.
        DELETE, not TRUNCATE, for the small tables (TRUNCATE makes new files: slower for a few rows)."""
        big = [t for t, n in template.rows.items() if n > 2000]
        # Triggers off for this transaction (the tests run as a superuser): the audit trail's append-only
        # trigger would refuse the DELETE, and the copied rows are consistent already.
        script = ["SET LOCAL lock_timeout = '20s'", "SET LOCAL session_replication_role = replica"]
        if big:
            script.append("TRUNCATE " + ", ".join(f'"{work}"."{t}"' for t in big) + " CASCADE")
        script += [f'DELETE FROM "{work}"."{t}"' for t in reversed(template.rows) if t not in big]
        script += [f'INSERT INTO "{work}"."{t}" SELECT * FROM "{template.schema}"."{t}"'
                   for t, n in template.rows.items() if n]
        script += [f"SELECT setval('\"{work}\".\"{seq}\"', {last or 1}, {'true' if last else 'false'})"
                   for seq, last in template.sequences.items()]
        with self._pg_admin().begin() as c:
            c.exec_driver_sql(";\n".join(script))

    # -- both
    def _build(self, url: str, build: Callable[[Any], Any] | None) -> Any:
        engine = make_engine(url)
        try:
            upgrade_to_head(engine)
            result = build(make_session_factory(engine)) if build else None
            if url.startswith("sqlite"):
                with engine.connect() as c:
                    c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            engine.dispose()
        return result

    def clone(self, backend: str, key: str, build: Callable[[Any], Any] | None, tmp_path: Path):
        """A database with the contents of the template `key` (built once by migrating, then `build(sf)`).
        Returns (url, value returned by build, release); call release() when the test is done with it."""
        if backend == "sqlite":
            if key not in self._sqlite:
                path = self.workdir / f"{uuid.uuid4().hex[:8]}.db"
                self._sqlite[key] = (path, self._build(f"sqlite:///{path}", build))
            path, value = self._sqlite[key]
            target = tmp_path / "hub.db"
            if target.exists():
                target = tmp_path / f"hub-{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(path, target)
            return f"sqlite:///{target}", value, lambda: None
        template = self._pg_template(key, build)
        work = template.idle.pop() if template.idle else self._pg_schema(None)[0]
        self._pg_refill(template, work)
        return self._pg_url(work), template.value, lambda: template.idle.append(work)

    def close(self) -> None:
        if self._admin is None:
            return
        for schema in self._schemas:  # one transaction each: dropping them all at once runs out of lock slots
            with self._admin.begin() as c:
                c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        self._admin.dispose()


@pytest.fixture(scope="session")
def db_templates(tmp_path_factory):
    """The session's database templates (see DatabaseTemplates)."""
    templates = DatabaseTemplates(tmp_path_factory.mktemp("db-templates"))
    yield templates
    templates.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    """Each test that uses a database runs on SQLite and on PostgreSQL (skipped without TEST_POSTGRES_URL)."""
    if request.param == "postgresql":
        postgres_url_or_skip()
    return request.param


@pytest.fixture
def database_url(backend, tmp_path):
    """A fresh, empty database URL on each backend (PostgreSQL: its own schema, dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    base = postgres_url_or_skip()
    schema, url = _fresh_pg_schema(base)
    try:
        yield url
    finally:
        _drop_pg_schema(base, schema)


@pytest.fixture
def app_demo_sf(clone_db):
    """The app's demo database (tests_support.seed_app_demo: what the embedded start-up seeds) on this test's
    backend: seeded once per session and backend, copied per test (a fresh seed costs 10-25 s)."""
    from tests_support import seed_app_demo

    return clone_db("app-demo", seed_app_demo)[0]


@pytest.fixture
def sqlite_url(tmp_path):
    """A fresh SQLite file URL (for tests that are about SQLite or the app)."""
    return f"sqlite:///{tmp_path / 'hub.db'}"


@pytest.fixture
def clone_db(backend, tmp_path, db_templates):
    """`clone_db(key, build=None)` -> (session factory, value of build): a database migrated to head on this
    test's backend, with what `build(sf)` wrote into it. Built once per session and key, copied per test;
    `build` must be deterministic (its return value, e.g. ids, is shared by every copy)."""
    opened: list[tuple[Any, Callable[[], None]]] = []

    def clone(key: str, build: Callable[[Any], Any] | None = None):
        url, value, cleanup = db_templates.clone(backend, key, build, tmp_path)
        engine = make_engine(url)
        opened.append((engine, cleanup))
        return make_session_factory(engine), value

    yield clone
    for engine, cleanup in opened:
        engine.dispose()
        cleanup()


@pytest.fixture
def sf(clone_db):
    """Session factory on a migrated database (both backends)."""
    return clone_db("migrated")[0]


@pytest.fixture
def world(request, clone_db) -> World:
    """A small hub: practices A and B, a PCP in each, a specialist, a chair and an admin (copied from a
    template; written into the test's `sf` when the test uses that fixture too)."""
    if "sf" in request.fixturenames:
        return make_world(request.getfixturevalue("sf"))
    sf, w = clone_db("world", make_world)
    return replace(w, sf=sf)


def pytest_collection_modifyitems(config, items):
    """With pytest-xdist (`--dist loadgroup`, pytest.ini): the tests of one file run on one worker (its module
    fixtures and servers are built once). Browser test files are spread over the workers like the others:
    kept on one worker they were the run's critical path (about 250 s of the run in one queue); a worker that
    runs any of them starts its own shared Streamlit server (tests/e2e/conftest.py, a few seconds)."""
    for item in items:
        item.add_marker(pytest.mark.xdist_group(str(item.path.relative_to(config.rootpath))))
