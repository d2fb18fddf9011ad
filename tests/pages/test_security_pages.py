"""In the app (AppTest): a page that raises shows an error reference and never the exception text (the
traceback goes to the server log under that reference); an open session ends at the next interaction after
the password is reset; the admin's audit trail shows no clinical values to an admin without a clinical role."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from db.engine import make_engine, make_session_factory
from db.models import Action, Comment, Decision, DisciplineInput, Patient
from hub import audit, bootstrap, demo, users
from hub.access import Actor
from page_support import login, new_app


def _actor(sf, username: str) -> Actor:
    from hub.auth import actor_for

    return actor_for(sf, username)


def _all_text(at) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.error] + [e.value for e in at.caption]
    parts += [e.value for e in at.info] + [e.value for e in at.warning] + [e.value for e in at.text]
    parts += [str(getattr(e, "message", "")) for e in at.exception]
    return "\n".join(str(p) for p in parts)


def test_a_page_that_raises_shows_a_reference_not_the_exception(hub, monkeypatch, caplog):
    monkeypatch.delenv("HUB_DEV")  # production behaviour
    import hub.settings as hub_settings

    def broken(*_args, **_kwargs):
        raise RuntimeError("secret detail /srv/hub/internal.py SELECT * FROM patient")

    at = login("pcp.a")
    monkeypatch.setattr(hub_settings, "listing", broken)
    with caplog.at_level(logging.ERROR, logger="hub.errors"):
        at.switch_page("pages/about.py").run()
    shown = _all_text(at)
    assert "secret detail" not in shown and "Traceback" not in shown and "/srv/hub" not in shown
    assert not at.exception
    ref = re.search(r"error reference \*\*([0-9a-f]{8})\*\*", shown)
    assert ref, shown
    logged = [r for r in caplog.records if ref.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info and "secret detail" in str(logged[0].exc_info[1])


def test_development_mode_shows_the_exception_too(hub, monkeypatch):
    import hub.settings as hub_settings

    at = login("pcp.a")
    monkeypatch.setattr(hub_settings, "listing", lambda *a, **k: 1 / 0)
    at.switch_page("pages/about.py").run()
    assert at.exception and "error reference" in _all_text(at)


def test_open_session_ends_at_the_next_run_after_a_password_reset(hub):
    at = login("pcp.a")
    at.switch_page("pages/queue.py").run()
    assert not at.exception and "Username" not in [t.label for t in at.text_input]
    users.reset_password(hub.sf, _actor(hub.sf, "admin"), _actor(hub.sf, "pcp.a").user_id, "reset-by-admin-123")
    at.run()
    at.run()
    assert [t.label for t in at.text_input] == ["Username", "Password"]  # back at the login form
    assert "session has ended" in _all_text(at)


# ----------------------------------------------------------------------------- admin view on the demo


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo_audit') / 'hub.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_DEMO", "1")
        engine, _ = bootstrap.prepare(url)
        engine.dispose()
    return url


def _clinical_texts(sf) -> set[str]:
    """Free text a clinician wrote in the demo (at least 15 characters, so that field names never match)."""
    texts: set[str] = set()
    with sf() as s:
        for d in s.scalars(select(Decision)):
            texts |= {d.formulation, d.answer, d.agreed_plan, d.what_matters, d.beliefs_concerns, d.safety_netting,
                      d.options_discussed, d.allergies}
        texts |= set(s.scalars(select(DisciplineInput.text)))
        texts |= set(s.scalars(select(Action.description))) | set(s.scalars(select(Action.note)))
        texts |= set(s.scalars(select(Comment.body)))
        texts |= {f"{g} {f}" for g, f in s.execute(select(Patient.given_name, Patient.family_name))}
        texts |= set(s.scalars(select(Patient.nhs_number)))
    return {t for t in texts if t and len(t) >= 10}


def test_admin_without_a_clinical_role_sees_no_clinical_values_in_the_audit_trail(demo_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", demo_url)
    monkeypatch.setenv("HUB_DEMO", "1")
    monkeypatch.setenv("HUB_COOKIE_SECRET", "d" * 48)
    engine = make_engine(demo_url)
    sf = make_session_factory(engine)
    try:
        clinical = _clinical_texts(sf)
        assert len(clinical) > 100
        admin = _actor(sf, "admin")
        assert admin is not None and not admin.is_clinical
        everything = audit.recent_events(sf, admin, limit=1_000_000)
        assert len(everything) > 500
        seen = "\n".join(f"{e['what']} {e['changes']}" for e in everything)
        leaks = [t for t in clinical if t in seen]
        assert leaks == [], leaks[:5]
        assert all(e["changes"] is None for e in everything if e["entity"] not in audit.ADMIN_ENTITIES)
        # The same events for an admin who is also a clinician show the values: the check above can fail.
        clinical_admin = Actor(admin.user_id, "admin", "Admin", frozenset({"admin", "chair"}), None, "pain_medicine")
        shown = "\n".join(e["what"] for e in audit.recent_events(sf, clinical_admin, limit=1_000_000))
        assert any(t in shown for t in clinical)
        # And the page itself, as the admin logs in.
        at = login("admin", demo.DEMO_PASSWORD)
        at.switch_page("pages/admin.py").run()
        assert not at.exception
        frames = [df.value for df in at.dataframe]
        page_text = "\n".join(frame.to_csv() for frame in frames) + _all_text(at)
        assert "What changed" in page_text
        assert [t for t in clinical if t in page_text] == []
        at.button(key="adm_verify_audit").click().run()
        assert any("Audit chain intact" in s.value for s in at.success)
    finally:
        engine.dispose()


def test_a_forged_login_cookie_is_no_login_and_no_traceback(hub, monkeypatch):
    """A cookie the JWT library rejects with an exception the widget does not catch (e.g. alg=none raises
    InvalidAlgorithmError) leaves the login form on screen, without an exception."""
    import jwt
    from streamlit_authenticator.models.cookie_model import CookieModel

    monkeypatch.delenv("HUB_DEV")

    def forged(self):
        raise jwt.exceptions.InvalidAlgorithmError("The specified alg value is not allowed")

    monkeypatch.setattr(CookieModel, "get_cookie", forged)
    at = new_app()
    at.run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert "not allowed" not in _all_text(at)
