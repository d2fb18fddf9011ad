"""A newcomer's first minutes: the login page of a demo hub lists the demo logins (never elsewhere), and
the terminal says where the database is."""

from __future__ import annotations

from page_support import new_app


def test_demo_hub_login_page_lists_the_demo_logins(hub, monkeypatch):
    from tests_support import add_user

    with hub.sf.begin() as s:
        add_user(s, "gp.north", "Dr Asha Patel", ["pcp"], practice_id=hub.practice_a)
    monkeypatch.setenv("HUB_DEMO", "1")
    at = new_app()
    at.run()
    shown = " ".join(m.value for m in at.markdown)
    assert "pain-hub-demo" in shown and "`gp.north` — Dr Asha Patel · pcp" in shown
    assert "`psych`" not in shown  # only demo users that exist here


def test_no_demo_logins_on_a_hub_without_the_demo(hub):
    at = new_app()
    at.run()
    assert not any("pain-hub-demo" in m.value for m in at.markdown)


def test_terminal_names_the_database_and_the_demo_logins(tmp_path, monkeypatch, capsys):
    from hub.bootstrap import prepare

    monkeypatch.setenv("HUB_DEMO", "0")
    engine, _ = prepare(f"sqlite:///{tmp_path / 'hub.db'}")
    engine.dispose()
    out = capsys.readouterr().out
    assert f"database sqlite:///{tmp_path / 'hub.db'}" in out and "demo logins" not in out
