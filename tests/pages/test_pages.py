"""AppTest for every page: login gate, role-based navigation, forms that write what they say."""

from __future__ import annotations


import pytest
from sqlalchemy import func, select

from page_support import login, new_app
from db.models import AuditEvent, Case, Patient, User
from hub import cases
from hub.access import Actor
from hub.cases import CaseInput, NewPatient
from hub.vocab import RED_FLAGS

PAGES = ["pages/queue.py", "pages/submit.py", "pages/case.py", "pages/inbox.py", "pages/meetings.py",
         "pages/meeting_room.py", "pages/dashboard.py", "pages/admin.py", "pages/about.py"]


def titles(at) -> list[str]:
    return [t.value for t in at.title]


def count(sf, model) -> int:
    with sf() as s:
        return s.scalar(select(func.count()).select_from(model))


def actor(sf, username) -> Actor:
    from hub.auth import actor_for

    return actor_for(sf, username)


def seed_case(hub, submit=True, nhs="9434765919") -> int:
    inp = CaseInput(new_patient=NewPatient(nhs_number=nhs, given_name="Ann", family_name="Lee", birth_year=1960,
                                           sex="female"),
                    condition="knee_oa", pain_classification="secondary", clinical_question="What next for Ann?",
                    red_flags={k: False for k in RED_FLAGS}, baseline_pain=7)
    return cases.save_case(hub.sf, actor(hub.sf, "pcp.a"), inp, submit=submit).case_id


def test_without_login_only_the_login_form(hub):
    seed_case(hub)
    at = new_app()
    at.run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert titles(at) == []
    for page in PAGES:
        at.switch_page(page)
        at.run()
        assert titles(at) == [], page
        assert "Ann" not in str([m.value for m in at.markdown])


def test_wrong_password_is_refused_and_counted(hub):
    at = login("pcp.a", "not-the-password", settle=False)
    assert any("incorrect" in e.value for e in at.error)
    assert titles(at) == []
    with hub.sf() as s:
        assert s.scalar(select(User.failed_login_attempts).where(User.username == "pcp.a")) == 1


def test_account_locks_after_max_failed_logins(hub):
    from hub import settings

    settings.update(hub.sf, actor(hub.sf, "admin"), "security.max_login_attempts", 2)
    for _ in range(2):
        login("physio", "wrong-password-x", settle=False)
    with hub.sf() as s:
        assert s.scalar(select(User.locked).where(User.username == "physio")) is True
    at = login("physio", settle=False)  # right password, but locked
    assert titles(at) == []
    assert any("locked" in e.value for e in at.error)


@pytest.mark.parametrize("username,allowed", [
    ("pcp.a", {"Case queue", "Submit a case to the hub", "Case", "Inbox", "Outcome dashboard", "About MSK Pain Hub"}),
    ("physio", {"Case queue", "Case", "Inbox", "Hub meetings", "Meeting room", "Outcome dashboard",
                "About MSK Pain Hub"}),
    ("chair", {"Case queue", "Case", "Inbox", "Hub meetings", "Meeting room", "Outcome dashboard",
               "About MSK Pain Hub"}),
    ("admin", {"Users and settings", "About MSK Pain Hub"}),
])
def test_each_role_sees_only_its_pages(hub, username, allowed):
    at = login(username)
    assert not at.exception
    seen = set()
    for page in PAGES:
        try:
            at.switch_page(page)
        except ValueError:  # not registered in this user's navigation
            continue
        at.run()
        assert not at.exception, page
        seen.add(titles(at)[0])
    assert seen == allowed


def _fill_new_case(at, nhs="943 476 5919", question="Pain unchanged after physio — what next?"):
    at.radio(key="sub_mode").set_value("New patient").run()
    at.text_input(key="sub_nhs").input(nhs)
    at.text_input(key="sub_given").input("Ann")
    at.text_input(key="sub_family").input("Lee")
    at.number_input(key="sub_birth").set_value(1960)
    at.selectbox(key="sub_sex").set_value("female")
    at.selectbox(key="sub_condition").set_value("knee_oa")
    at.selectbox(key="sub_pain_class").set_value("secondary")
    at.text_area(key="sub_question").input(question)
    at.checkbox(key="sub_rf_none").check()
    at.number_input(key="sub_baseline").set_value(7.0)
    at.text_area(key="sub_goals").input("Walk my dog again")
    return at


def test_submission_writes_the_case_and_opens_it(hub):
    at = login("pcp.a")
    at.switch_page("pages/submit.py").run()
    _fill_new_case(at)
    at.button(key="sub_submit").click().run()
    assert not at.exception
    with hub.sf() as s:
        case = s.scalars(select(Case)).one()
        assert (case.status, case.condition, case.clinical_question, case.goals_text) == (
            "submitted", "knee_oa", "Pain unchanged after physio — what next?", "Walk my dog again")
        assert s.scalars(select(Patient)).one().nhs_number == "9434765919"
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "case.submit")) == 1
    assert titles(at)[0].startswith(f"Case {case.id}")


@pytest.mark.parametrize("nhs,question,field_text", [
    ("943 476 5918", "What next?", "check digit"),
    ("943 476 5919", "", "clinical question"),
])
def test_invalid_submission_shows_error_writes_nothing_keeps_input(hub, nhs, question, field_text):
    at = login("pcp.a")
    at.switch_page("pages/submit.py").run()
    _fill_new_case(at, nhs=nhs, question=question)
    at.button(key="sub_submit").click().run()
    assert not at.exception
    assert any(field_text in e.value for e in at.error)
    assert count(hub.sf, Case) == 0 and count(hub.sf, Patient) == 0
    assert at.text_input(key="sub_nhs").value == nhs
    assert at.text_area(key="sub_goals").value == "Walk my dog again"


def test_red_flag_shows_urgent_pathway(hub):
    at = login("pcp.a")
    at.switch_page("pages/submit.py").run()
    _fill_new_case(at)
    at.checkbox(key="sub_rf_cauda_equina").check()
    at.button(key="sub_submit").click().run()
    assert any("urgent" in e.value for e in at.error)
    assert count(hub.sf, Case) == 0


def test_draft_then_submit(hub):
    at = login("pcp.a")
    at.switch_page("pages/submit.py").run()
    _fill_new_case(at, question="")
    at.button(key="sub_save").click().run()
    assert any("Draft case" in s.value for s in at.success)
    with hub.sf() as s:
        assert s.scalars(select(Case.status)).one() == "draft"


def table_age(hub) -> int:
    from datetime import date

    from db.models import Patient

    with hub.sf() as s:
        return date.today().year - s.scalars(select(Patient.birth_year)).one()


def test_queue_shows_scope_and_opens_case(hub):
    case_id = seed_case(hub)
    at = login("physio")
    assert "Case queue" in titles(at)
    table = at.dataframe[0].value
    assert list(table["case_id"]) == [case_id]
    # priority, patient, condition, status, flags and the reason come first; the hub sees the practice, a PCP not
    assert list(table.columns[:6]) == ["case_id", "priority", "patient", "condition", "status", "why"]
    assert list(table["patient"]) == ["AL, " + str(table_age(hub)) + " · new"]  # submitted since the user last looked
    assert "practice" in table.columns
    own = login("pcp.a")
    assert list(own.dataframe[0].value["case_id"]) == [case_id] and "practice" not in own.dataframe[0].value.columns
    assert "Practice" not in [m.label for m in own.multiselect]
    at.selectbox(key="q_open").set_value(case_id)
    next(b for b in at.button if b.label == "Open case").click().run()
    assert titles(at)[0] == f"Case {case_id}: Ann Lee"
    other = login("pcp.b")
    assert any("No cases" in i.value for i in other.info)


def test_case_page_scope_and_comment(hub):
    case_id = seed_case(hub)
    at = login("physio")
    at.switch_page("pages/case.py")
    at.query_params["case_id"] = str(case_id)
    at.run()
    assert titles(at)[0] == f"Case {case_id}: Ann Lee"
    at.text_area(key="comment_body").input("<script>alert(1)</script> Try a walking group?")
    next(b for b in at.button if b.label == "Post comment").click().run()
    assert "<script>alert(1)</script> Try a walking group?" in [t.value for t in at.text]
    outsider = login("pcp.b")
    outsider.switch_page("pages/case.py")
    outsider.query_params["case_id"] = str(case_id)
    outsider.run()
    assert any("not in your scope" in e.value for e in outsider.error)
    assert "Ann" not in " ".join(titles(outsider))


def test_pcp_records_assessment_on_case_page(hub):
    case_id = seed_case(hub)
    at = login("pcp.a")
    at.switch_page("pages/case.py")
    at.query_params["case_id"] = str(case_id)
    at.run()
    at.selectbox(key="as_instrument").set_value("peg").run()
    for i, v in enumerate([5, 4, 4], 1):
        at.number_input(key=f"as_peg_PEG_Q{i}").set_value(v)
    next(b for b in at.button if b.label == "Save assessment").click().run()
    assert not at.exception
    assert any("Assessment saved" in s.value for s in at.success)
    with hub.sf() as s:
        assert round(s.scalar(select(Case.latest_pain)), 2) == 4.33


def test_admin_creates_user_and_deactivation_ends_session(hub):
    at = login("admin")
    assert titles(at)[0] == "Users and settings"
    at.text_input(key="nu_username").input("gp.new")
    at.text_input(key="nu_name").input("Dr New")
    at.text_input(key="nu_password").input("a-long-password")
    at.multiselect(key="nu_roles").set_value(["pcp"])
    at.selectbox(key="nu_practice").set_value(hub.practice_a)
    next(b for b in at.button if b.label == "Create user").click().run()
    assert any("gp.new created" in s.value for s in at.success)
    # the audit trail names who did it and shows what changed as text
    trail = at.dataframe[-1].value
    assert list(trail.columns) == ["When", "Who", "Action", "Record", "What changed"]
    created = trail[trail["Action"] == "user.create"].iloc[0]
    assert created["Who"] == "Admin" and "gp.new" in created["What changed"]
    gp = login("gp.new", "a-long-password")
    assert "Case queue" in titles(gp)
    from hub import users

    with hub.sf() as s:
        uid = s.scalar(select(User.id).where(User.username == "gp.new"))
    users.set_active(hub.sf, actor(hub.sf, "admin"), uid, False)
    gp.run()
    assert titles(gp) == []
    assert [t.label for t in gp.text_input] == ["Username", "Password"]


def test_admin_setting_validation(hub):
    at = login("admin")
    at.selectbox(key="adm_setting").set_value("security.max_login_attempts").run()
    form_input = next(t for t in at.text_input if t.label.startswith("Value"))
    form_input.input("0")
    next(b for b in at.button if b.label == "Save setting").click().run()
    assert any("between" in e.value for e in at.error)


def test_about_states_specification_status(hub):
    at = login("physio")
    at.switch_page("pages/about.py").run()
    assert any("needs clinical sign-off" in w.value for w in at.warning)
    assert any("named Clinical Safety Officer must review" in e.value for e in at.error)
    assert any("docs/hazard-log/HAZARD-LOG.md" in m.value for m in at.markdown)
    hazards = at.dataframe[0].value
    assert {"H1", "H12", "X1"} <= set(hazards["ID"])


@pytest.mark.parametrize("page", PAGES)
def test_a_page_script_run_without_app_py_shows_no_data(hub, page):
    """Streamlit runs a deep link to pages/<x>.py directly until app.py has run once in the process:
    each page must stop for an anonymous user on its own."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    seed_case(hub)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / page), default_timeout=30)
    at.run()
    assert not at.exception
    assert titles(at) == []
    assert any("log in" in i.value for i in at.info)
    assert not at.dataframe


def test_a_success_notice_survives_an_immediate_rerun_and_goes_a_while_after_it_was_first_shown(hub):
    import time

    from ui.common import NOTICE_KEY, NOTICE_SECONDS

    at = login("admin")
    at.switch_page("pages/admin.py")
    at.session_state[NOTICE_KEY] = ("User saved.", None)  # as leave_notice leaves it: not shown yet
    at.run()
    at.run()  # a second run at once (a component's own rerun) must not swallow the message
    assert [s.value for s in at.success] == ["User saved."]
    at.session_state[NOTICE_KEY] = ("User saved.", time.monotonic() - NOTICE_SECONDS - 1)  # shown long ago
    at.run()
    assert not at.success and NOTICE_KEY not in at.session_state


def test_a_notice_left_before_a_slow_rerun_is_still_shown(hub):
    """The seconds count from the first showing: a rerun that starts late on a busy server still shows it."""
    from ui.common import NOTICE_KEY

    at = login("admin")
    at.switch_page("pages/admin.py")
    at.session_state[NOTICE_KEY] = ("User saved.", None)
    at.run()
    assert [s.value for s in at.success] == ["User saved."]
    assert at.session_state[NOTICE_KEY][1] is not None  # the first showing is recorded


def test_queue_filters_are_kept_when_a_case_is_opened_and_the_queue_shown_again(hub):
    case_id = seed_case(hub)
    at = login("physio")
    at.multiselect(key="q_condition").set_value(["knee_oa"]).run()
    at.selectbox(key="q_sort").set_value("waiting").run()
    at.selectbox(key="q_open").set_value(case_id)
    next(b for b in at.button if b.label == "Open case").click().run()
    assert titles(at)[0] == f"Case {case_id}: Ann Lee"
    at.switch_page("pages/queue.py").run()
    assert titles(at)[0] == "Case queue"
    assert at.multiselect(key="q_condition").value == ["knee_oa"]
    assert at.selectbox(key="q_sort").value == "waiting"
    assert at.multiselect(key="q_status").value == ["submitted", "triaged", "scheduled"]
