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


def test_chair_sees_new_cases_and_the_triage_count_and_marks_stay_during_the_visit(hub):
    from page_support import login
    from test_pages import seed_case

    case_id = seed_case(hub)
    at = login("chair")
    assert any("**1 new** since you last looked" in m.value and "**1** awaiting triage" in m.value
               for m in at.markdown)
    assert [p.endswith(" · new") for p in at.dataframe[0].value["patient"]] == [True]
    at.run()  # a rerun in the same visit keeps the marks
    assert [p.endswith(" · new") for p in at.dataframe[0].value["patient"]] == [True]
    later = login("chair")  # the next visit: nothing new
    assert any("Nothing new since you last looked" in m.value for m in later.markdown)
    assert [p.endswith(" · new") for p in later.dataframe[0].value["patient"]] == [False]
    assert case_id
