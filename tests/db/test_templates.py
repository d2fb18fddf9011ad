"""The test databases copied from session templates (tests/conftest.py DatabaseTemplates) start clean: what
one test wrote is gone for the next, ids start where the template's did, and the template keeps its rows."""

from __future__ import annotations

from sqlalchemy import func, select

from db.engine import make_engine, make_session_factory
from db.models import Practice


def _practices(sf) -> tuple[int, int | None]:
    with sf() as s:
        return s.scalar(select(func.count()).select_from(Practice)), s.scalar(select(func.max(Practice.id)))


def _add_practice(sf, code: str) -> int:
    with sf.begin() as s:
        p = Practice(code=code, name=code)
        s.add(p)
        s.flush()
        return p.id


def test_a_copy_never_sees_what_the_previous_test_wrote(backend, db_templates, tmp_path):
    def build(sf) -> int:
        return _add_practice(sf, "T")

    seen = []
    for round_ in range(2):
        folder = tmp_path / str(round_)
        folder.mkdir()
        url, template_id, release = db_templates.clone(backend, "templates-test", build, folder)
        engine = make_engine(url)
        sf = make_session_factory(engine)
        try:
            seen.append(_practices(sf))
            new_id = _add_practice(sf, f"X{round_}")
            assert new_id == template_id + 1  # ids continue from the template's, in every copy
        finally:
            engine.dispose()
            release()
    assert seen == [(1, template_id), (1, template_id)]
