"""The case queue's safety notice (AppTest): the practice's safety responder sees its open alerts first with the
source and time of each; another PCP of the practice sees the generic banner naming the responder; with no
responder set, the banner says so. The admin page sets the responder (and refuses nothing else silently)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from page_support import login, unescaped

from db.models import Practice
from hub import cases, invitations, records, safety
from hub.auth import actor_for
from hub.cases import CaseInput, NewPatient
from hub.vocab import RED_FLAGS
from tests_support import add_user


def _case(sf, pcp, nhs: str) -> int:
    inp = CaseInput(new_patient=NewPatient(nhs_number=nhs, given_name="Alex", family_name="Test", birth_year=1960,
                                           sex="female"),
                    condition="knee_oa", pain_classification="secondary", duration_months=18,
                    clinical_question="What next?", red_flags={k: False for k in RED_FLAGS}, baseline_pain=6,
                    risk_tool="start_msk", risk_band="low", goals_text="Walk further")
    return cases.save_case(sf, pcp, inp, submit=True).case_id


def _alerts(hub) -> tuple[int, int]:
    """Practice A: a clinician-entered item-9 alert from two days ago and a patient-completed one this morning."""
    pcp = actor_for(hub.sf, "pcp.a")
    with hub.sf.begin() as s:
        add_user(s, "pcp.a2", "Dr A Two", ["pcp"], practice_id=hub.practice_a)
    older, newer = _case(hub.sf, pcp, "9434765919"), _case(hub.sf, pcp, "9434765870")
    records.add_assessment(hub.sf, pcp, older, "phq9", date.today() - timedelta(days=2),
                           {f"PHQ9_Q{i}": 1 for i in range(1, 10)})
    when = datetime.combine(date.today(), datetime.min.time()) + timedelta(hours=6, minutes=40)
    link = invitations.create(hub.sf, pcp, newer, ["phq9"], now=when - timedelta(hours=1))
    invitations.open_link(hub.sf, link.token, "10.0.0.1", now=when)
    assert invitations.save_answer(hub.sf, link.token, "PHQ9_Q9", 2, now=when)
    return older, newer


def _queue(username: str):
    at = login(username)
    at.switch_page("pages/queue.py").run()
    assert not at.exception
    return at


def _links(at) -> list[str]:
    return [unescaped(link.proto.label) for link in at.get("page_link")]


def test_responder_sees_their_alerts_first_with_source_and_time(hub):
    older, newer = _alerts(hub)
    safety.set_responder(hub.sf, actor_for(hub.sf, "admin"), hub.practice_a, actor_for(hub.sf, "pcp.a").user_id)
    at = _queue("pcp.a")
    first = unescaped(at.error[0].value)
    assert first.startswith("You are Practice A's safety responder: 2 patients need contact today")
    links = [label for label in _links(at) if "through the practice's link" in label or "entered by a clinician"
             in label]
    assert links[0].startswith(f"Case {older} · AT · entered by a clinician")
    assert links[1].startswith(f"Case {newer} · AT · completed by the patient through the practice's link")
    assert links[1].endswith("at 06:40 UTC")
    assert not any("case(s) with an open safety alert" in e.value for e in at.error)  # no second banner


def test_another_pcp_sees_the_generic_banner_naming_the_responder(hub):
    _alerts(hub)
    safety.set_responder(hub.sf, actor_for(hub.sf, "admin"), hub.practice_a, actor_for(hub.sf, "pcp.a").user_id)
    at = _queue("pcp.a2")
    assert any("2 case(s) with an open safety alert" in e.value for e in at.error)
    assert not any("safety responder:" in unescaped(e.value) for e in at.error)
    assert any("Your practice's safety responder is Dr A." in unescaped(m.value) for m in at.markdown)
    assert not at.warning


def test_without_a_responder_the_banner_says_ask_your_admin(hub):
    _alerts(hub)
    at = _queue("pcp.a")
    assert any("2 case(s) with an open safety alert" in e.value for e in at.error)
    assert [w.value for w in at.warning] == [
        "No safety responder is set for this practice: ask your admin."]


def test_admin_page_sets_the_safety_responder(hub):
    at = login("admin")
    at.switch_page("pages/admin.py").run()
    at.selectbox(key="adm_sr_practice").set_value(hub.practice_a).run()
    pcp_a = actor_for(hub.sf, "pcp.a").user_id
    assert at.selectbox(key=f"adm_sr_user_{hub.practice_a}").options == ["Not set", "Dr A"]  # PCPs of A only
    at.selectbox(key=f"adm_sr_user_{hub.practice_a}").set_value(pcp_a)
    next(b for b in at.button if b.label == "Save safety responder").click().run()
    assert not at.exception and not at.error
    with hub.sf() as s:
        assert s.get(Practice, hub.practice_a).safety_responder_id == pcp_a
    assert any("Safety responder saved." in str(getattr(el, "value", "")) for el in at.success)


def test_responder_sees_the_notice_in_the_inbox_too(hub):
    older, newer = _alerts(hub)
    safety.set_responder(hub.sf, actor_for(hub.sf, "admin"), hub.practice_a, actor_for(hub.sf, "pcp.a").user_id)
    at = login("pcp.a")
    at.switch_page("pages/inbox.py").run()
    assert not at.exception
    assert unescaped(at.error[0].value).startswith("You are Practice A's safety responder: 2 patients need contact")
    assert [label.split(" · ")[0] for label in _links(at)][:2] == [f"Case {older}", f"Case {newer}"]
    other = login("pcp.a2")
    other.switch_page("pages/inbox.py").run()
    assert not other.exception and not any("safety responder" in e.value for e in other.error)
