"""Shared fixtures: a migrated database on SQLite and (when configured) PostgreSQL, and actors."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

from db.engine import make_engine, make_session_factory, upgrade_to_head
from db.models import Practice
from hub.access import Actor
from tests_support import add_user


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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database URL on each backend (PostgreSQL: its own schema, dropped afterwards)."""
    if request.param == "sqlite":
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
def sf(database_url):
    """Session factory on a migrated database (both backends)."""
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    yield make_session_factory(engine)
    engine.dispose()


@dataclass
class World:
    """Two practices and one user per role, as Actors."""

    sf: object
    practice_a: int
    practice_b: int
    pcp_a: Actor
    pcp_b: Actor
    specialist: Actor
    chair: Actor
    admin: Actor


@pytest.fixture
def world(sf) -> World:
    """A small hub: practices A and B, a PCP in each, a specialist, a chair and an admin."""
    with sf.begin() as s:
        a = Practice(code="A", name="Practice A")
        b = Practice(code="B", name="Practice B")
        s.add_all([a, b])
        s.flush()
        w = World(
            sf=sf, practice_a=a.id, practice_b=b.id,
            pcp_a=add_user(s, "pcp.a", "Dr A", ["pcp"], practice_id=a.id),
            pcp_b=add_user(s, "pcp.b", "Dr B", ["pcp"], practice_id=b.id),
            specialist=add_user(s, "physio", "Physio P", ["specialist"], discipline="physiotherapy"),
            chair=add_user(s, "chair", "Chair C", ["chair", "specialist"], discipline="pain_medicine"),
            admin=add_user(s, "admin", "Admin", ["admin"]),
        )
    return w
