"""Shared fixtures: a migrated database on SQLite and (when configured) PostgreSQL, and actors."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from db.engine import make_engine, make_session_factory, upgrade_to_head
from tests_support import World, make_world


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


class DatabaseTemplates:
    """Databases built once per test session (per xdist worker) and copied for each test.

    Building a database costs a migration (about a second) and, for the demo cohort, seeding 150 patients
    (several seconds); copying it costs milliseconds. SQLite: the template is a file, copied per test.
    PostgreSQL: the template is a database, and each test gets `CREATE DATABASE ... TEMPLATE` of it (the
    app's own session factories then work on it unchanged), dropped after the test."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._sqlite: dict[str, tuple[Path, Any]] = {}
        self._pg: dict[str, tuple[str, Any]] = {}
        self._admin = None
        self._base = ""
        self._prefix = f"hubtest_{uuid.uuid4().hex[:8]}"
        # DROP DATABASE waits for a checkpoint (up to seconds on a busy server): copies are dropped in the
        # background while the next tests run.
        self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-test-db")

    # -- PostgreSQL
    def _pg_admin(self):
        if self._admin is None:
            self._base = postgres_url_or_skip()
            self._admin = create_engine(self._base, isolation_level="AUTOCOMMIT")
        return self._admin

    def _pg_url(self, database: str) -> str:
        return make_url(self._base).set(database=database).render_as_string(hide_password=False)

    def _pg_create(self, name: str, template: str | None = None) -> None:
        with self._pg_admin().connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))

    def _pg_drop(self, name: str) -> None:
        with self._pg_admin().connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

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
        """A new database copied from the template `key` (built by migrating, then `build(sf)` once).
        Returns (url, value returned by build, cleanup)."""
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
        if key not in self._pg:
            self._pg_admin()
            name = f"{self._prefix}_t{len(self._pg)}"
            self._pg_create(name)
            try:
                value = self._build(self._pg_url(name), build)
            except BaseException:
                self._pg_drop(name)
                raise
            self._pg[key] = (name, value)
        template, value = self._pg[key]
        name = f"{self._prefix}_{uuid.uuid4().hex[:10]}"
        self._pg_create(name, template)
        return self._pg_url(name), value, lambda: self._dropper.submit(self._pg_drop, name)

    def close(self) -> None:
        self._dropper.shutdown(wait=True)
        for name, _ in self._pg.values():
            self._pg_drop(name)
        if self._admin is not None:
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
    """With pytest-xdist (`--dist loadgroup`, pytest.ini): the tests of one file run on one worker, and all
    browser tests on one worker (they share a Streamlit server per session)."""
    for item in items:
        group = "e2e" if "e2e" in item.path.parts else str(item.path.relative_to(config.rootpath))
        item.add_marker(pytest.mark.xdist_group(group))
