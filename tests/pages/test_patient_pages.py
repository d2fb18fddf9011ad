"""AppTest of the patient's voice: a PCP creates the patient's link (link and QR code shown once) on the case
page; the patient page opens from ?invite=TOKEN with no login form and no navigation, saves each answer, shows
the neutral page for a wrong link; the patient's words then show on the case page; the dashboard has the
patient's-voice measures. Every text the patient page draws is within hub.patient_text (reading grade <= 8)."""

from __future__ import annotations

import re

from sqlalchemy import select

from page_support import login, new_app
from db.models import Invitation
from hub import cases, invitations
from hub import patient_text as txt
from hub.auth import actor_for
from hub.cases import CaseInput, NewPatient
from hub.clinical.readability import fk_grade
from hub.vocab import RED_FLAGS


def seed_case(hub) -> int:
    inp = CaseInput(new_patient=NewPatient(nhs_number="9434765919", given_name="Ann", family_name="Lee",
                                           birth_year=1960, sex="female"),
                    condition="knee_oa", pain_classification="secondary", clinical_question="What next for Ann?",
                    red_flags={k: False for k in RED_FLAGS}, baseline_pain=7)
    return cases.save_case(hub.sf, actor_for(hub.sf, "pcp.a"), inp, submit=True).case_id


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [t.value for t in at.title] + [h.value for h in at.header]
    parts += [r.label for r in at.radio] + [str(o) for r in at.radio for o in r.options]
    parts += [a.label for a in at.text_area] + [b.label for b in at.button] + [e.value for e in at.error]
    parts += [s.value for s in at.success]
    return re.sub(r"\\(.)", r"\1", "\n".join(parts))  # markdown escapes off


def test_pcp_creates_the_link_with_a_qr_code_on_the_case_page(hub):
    case_id = seed_case(hub)
    at = login("pcp.a")
    at.switch_page("pages/case.py")
    at.query_params["case_id"] = str(case_id)
    at.run()
    assert not at.exception
    next(b for b in at.button if b.label == "Create the patient's link").click().run()
    assert not at.exception
    link = next(c.value for c in at.code if "?invite=" in c.value)
    assert len(at.get("image")) == 1  # the QR code
    token = link.split("?invite=")[1]
    with hub.sf() as s:
        inv = s.scalar(select(Invitation))
        assert inv.token_hash == invitations.hash_token(token) and inv.case_id == case_id
        assert inv.items == invitations.default_items("baseline")


def test_patient_page_without_login_saves_answers_and_wrong_link_is_neutral(hub):
    case_id = seed_case(hub)
    link = invitations.create(hub.sf, actor_for(hub.sf, "pcp.a"), case_id, ["nrs", "what_matters"])
    at = new_app()
    at.query_params["invite"] = link.token
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Your questions from Practice A"]
    assert not at.text_input and not at.sidebar.children  # no login form, nothing in a sidebar
    assert "Hello Ann." in _texts(at)
    next(b for b in at.button if b.label == "Start").click().run()
    assert "Question 1 of 2" in _texts(at)
    next(b for b in at.button if b.label == "Next").click().run()
    assert txt.CHOOSE_ONE in _texts(at)
    at.radio[0].set_value(7).run()
    with hub.sf() as s:
        assert s.scalar(select(Invitation.draft)) == {"NRS_Q1": 7}  # saved as soon as it was given
    next(b for b in at.button if b.label == "Next").click().run()
    at.text_area[0].input("Dancing at my daughter's wedding")
    next(b for b in at.button if b.label == "Next").click().run()
    assert txt.CHECK_TITLE in _texts(at)
    # Every text on the pages drawn so far reads at grade 8 or below.
    for line in _texts(at).splitlines():
        assert fk_grade(line) <= 8, line
    next(b for b in at.button if b.label == "Send my answers").click().run()
    assert "Thank you" in [t.value for t in at.title]
    assert "7" not in " ".join(m.value for m in at.markdown)  # never a score
    with hub.sf() as s:
        assert s.scalar(select(Invitation.status)) == "completed"

    wrong = new_app()
    wrong.query_params["invite"] = "not-a-token"
    wrong.run()
    assert [t.value for t in wrong.title] == [txt.NEUTRAL_TITLE] and not wrong.text_input

    at = login("physio")
    at.switch_page("pages/case.py")
    at.query_params["case_id"] = str(case_id)
    at.run()
    assert "Dancing at my daughter's wedding" in [t.value for t in at.text]


def test_dashboard_shows_the_patients_voice(hub):
    case_id = seed_case(hub)
    invitations.create(hub.sf, actor_for(hub.sf, "pcp.a"), case_id, ["nrs"])
    at = login("pcp.a")
    at.switch_page("pages/dashboard.py").run()
    assert not at.exception
    assert "The patient's voice" in [h.value for h in at.header]
    sent = next(m for m in at.metric if m.label == "Questionnaire links sent")
    assert sent.value == "1"
