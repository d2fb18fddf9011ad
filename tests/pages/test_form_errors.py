"""Forms that can't record the wrong answer, and errors where the eye is (AppTest): questionnaires in item
order with numbered items and answers in words; each refusal marked beside its field and summarised at the
top with a link."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Assessment
from page_support import login, unescaped
from test_pages import seed_case


def _walk(node, inside_column=False):
    """(element, whether it sits inside a st.columns column) for every element, in page order."""
    children = getattr(node, "children", None)
    if not children:
        return [(node, inside_column)]
    inside = inside_column or type(node).__name__ == "Column"
    return [pair for key in sorted(children) for pair in _walk(children[key], inside)]


def case_page(username: str, case_id: int):
    at = login(username)
    at.switch_page("pages/case.py")
    at.query_params["case_id"] = str(case_id)
    at.run()
    return at


def test_phq9_items_are_numbered_in_order_one_column_with_answers_in_words(hub):
    case_id = seed_case(hub)
    at = case_page("pcp.a", case_id)
    at.selectbox(key="as_instrument").set_value("phq9").run()
    items = [r for r in at.radio if r.key and r.key.startswith("as_phq9_")]
    assert [r.label.split(".")[0] for r in items] == [str(n) for n in range(1, 11)]  # item order = page order
    assert items[0].label == "1. Little interest or pleasure in doing things"
    assert items[9].label.startswith("10. If you checked off any problems") and items[9].label.endswith("(optional)")
    assert items[0].format_func(2) == "More than half the days (2)"
    assert not [n for n in at.number_input if n.key and n.key.startswith("as_phq9_")]  # no bare code boxes
    # one column: no item sits in a column block beside another
    in_columns = {el.key for el, inside in _walk(at.main) if inside and getattr(el, "key", None)}
    assert not [r.key for r in items if r.key in in_columns]


def test_phq9_with_unanswered_items_marks_each_in_words_and_keeps_answers(hub):
    case_id = seed_case(hub)
    at = case_page("pcp.a", case_id)
    at.selectbox(key="as_instrument").set_value("phq9").run()
    answers = {1: 1, 2: 2, 4: 0, 5: 1, 6: 0, 7: 1, 8: 0}  # items 3 and 9 left out
    for n, v in answers.items():
        at.radio(key=f"as_phq9_PHQ9_Q{n}").set_value(v)
    next(b for b in at.button if b.label == "Save assessment").click().run()
    errors = [e.value for e in at.error]
    summary = next(e for e in errors if e.startswith("**Nothing was saved"))
    assert "items 3, 9 are not answered" in unescaped(summary) and "PHQ9_Q" not in summary.split("](#")[0]
    assert "(#as-PHQ9_Q3)" in summary and "(#as-PHQ9_Q9)" in summary
    shown = [unescaped(e) for e in errors]
    assert "Item 3 is not answered." in shown and "Item 9 is not answered." in shown  # beside the items
    assert at.radio(key="as_phq9_PHQ9_Q2").value == 2  # the answers stay
    with hub.sf() as s:
        assert s.scalar(select(Assessment.id)) is None


def test_phq9_stored_value_is_the_chosen_answer(hub):
    case_id = seed_case(hub)
    at = case_page("pcp.a", case_id)
    at.selectbox(key="as_instrument").set_value("phq9").run()
    chosen = {n: (n % 4) for n in range(1, 10)}
    for n, v in chosen.items():
        at.radio(key=f"as_phq9_PHQ9_Q{n}").set_value(v)
    next(b for b in at.button if b.label == "Save assessment").click().run()
    assert any("Assessment saved" in s.value for s in at.success), [e.value for e in at.error]
    with hub.sf() as s:
        row = s.scalar(select(Assessment))
        assert {k: v for k, v in row.responses.items() if v is not None} == {f"PHQ9_Q{n}": v for n, v in chosen.items()}


# ----------------------------------------------------------------------------- submission and its red-flag screen


def _submit_page():
    at = login("pcp.a")
    at.switch_page("pages/submit.py").run()
    return at


def test_red_flag_answers_at_once_beside_the_screen_and_says_nothing_was_sent(hub):
    from db.models import Case

    at = _submit_page()
    at.checkbox(key="sub_rf_malignancy").check().run()  # no button pressed
    answer = next(e.value for e in at.error if "Urgent pathway" in e.value)
    assert "Nothing has been sent to the hub" in answer and "keep the draft" not in answer
    assert "Nothing was sent" not in answer  # said once, not twice (the route alone comes from hub.cases)
    assert "cauda equina" in answer
    with hub.sf() as s:
        assert s.scalar(select(Case.id)) is None


def test_none_of_these_is_one_choice_and_excludes_a_ticked_flag(hub):
    at = _submit_page()
    at.checkbox(key="sub_rf_fracture").check().run()
    at.checkbox(key="sub_rf_none").check().run()
    assert at.checkbox(key="sub_rf_fracture").value is False and at.checkbox(key="sub_rf_none").value is True
    assert not [e for e in at.error if "Urgent pathway" in e.value]
    assert any("No red flag" in s.value for s in at.success)
    at.checkbox(key="sub_rf_infection").check().run()
    assert at.checkbox(key="sub_rf_none").value is False


def test_refused_submission_is_summarised_at_the_top_with_links_and_marked_beside_the_field(hub):
    from test_pages import _fill_new_case

    at = _submit_page()
    _fill_new_case(at, nhs="943 476 5918")
    at.button(key="sub_submit").click().run()
    errors = [unescaped(e.value) for e in at.error]
    summary = next(e for e in errors if e.startswith("**Nothing was saved"))
    assert "check digit" in summary and "(#err-nhs_number)" in summary
    beside = [e for e in errors if "check digit" in e and not e.startswith("**Nothing")]
    assert beside, errors
    assert summary == errors[0]  # the summary is the first message on the page
    at.checkbox(key="sub_rf_none").uncheck()
    at.button(key="sub_submit").click().run()
    assert any("Answer the red-flag screen" in unescaped(e.value) for e in at.error)


# ----------------------------------------------------------------------------- treatments and reviews


def test_refused_treatment_is_marked_beside_the_field_and_summarised(hub):
    from datetime import date, timedelta

    from db.models import Treatment

    case_id = seed_case(hub)
    at = case_page("pcp.a", case_id)
    at.selectbox(key="tr_category").set_value("exercise")
    name = at.selectbox(key="tr_name").options[0]  # from the pick-list (typed text is for the browser)
    at.selectbox(key="tr_name").set_value(name)
    at.date_input(key="tr_start").set_value(date.today() - timedelta(days=60))
    at.date_input(key="tr_end").set_value(date.today() - timedelta(days=10))  # stopped, no reason given
    next(b for b in at.button if b.label == "Add treatment").click().run()
    errors = [unescaped(e.value) for e in at.error]
    summary = next(e for e in errors if e.startswith("**Nothing was saved"))
    assert "Say why the treatment was stopped" in summary and "(#err-reason_stopped)" in summary
    assert "Say why the treatment was stopped." in errors  # beside the field
    assert at.selectbox(key="tr_name").value == name
    with hub.sf() as s:
        assert s.scalar(select(Treatment.id).where(Treatment.name == "Physio-led exercise")) is None


def test_refused_review_is_marked_beside_the_field_and_summarised(hub):
    case_id = seed_case(hub)
    at = case_page("pcp.a", case_id)
    at.selectbox(key="rv_attendance").set_value("dna")
    at.multiselect(key="rv_changes").set_value(["drug_start"])
    next(b for b in at.button if b.label == "Save review").click().run()
    errors = [unescaped(e.value) for e in at.error]
    summary = next(e for e in errors if e.startswith("**Nothing was saved"))
    assert "(#err-attendance)" in summary
    assert "A missed or cancelled review cannot record management changes." in errors


def test_refused_new_user_is_marked_beside_the_fields_and_summarised(hub):
    at = login("admin")
    at.text_input(key="nu_username").input("x")  # too short
    at.text_input(key="nu_name").input("Dr X")
    at.text_input(key="nu_password").input("a-long-password")
    at.multiselect(key="nu_roles").set_value(["pcp"])  # and no practice
    next(b for b in at.button if b.label == "Create user").click().run()
    errors = [unescaped(e.value) for e in at.error]
    summary = next(e for e in errors if e.startswith("**Nothing was saved"))
    assert "(#err-username)" in summary and "(#err-practice_id)" in summary
    assert "A PCP must belong to a practice." in errors
    assert at.text_input(key="nu_name").value == "Dr X"


def _admin_user_id(hub, username: str) -> int:
    from db.models import User

    with hub.sf() as s:
        return s.scalar(select(User.id).where(User.username == username))


def test_refused_user_edit_is_marked_beside_the_fields_and_keeps_the_input(hub):
    from db.models import User

    uid = _admin_user_id(hub, "pcp.b")
    at = login("admin")
    at.selectbox(key="adm_user").set_value(uid).run()
    at.text_input(key=f"eu_name_{uid}").input("   ")  # blank name
    at.text_input(key=f"eu_email_{uid}").input("dr.b@example.nhs.uk")  # unsaved input that must stay
    at.multiselect(key=f"eu_roles_{uid}").set_value(["pcp", "specialist"])  # a specialist without a discipline
    next(b for b in at.button if b.label == "Save changes").click().run()
    assert not at.exception
    errors = [unescaped(e.value) for e in at.error]
    summary = next(e for e in errors if e.startswith("**Nothing was saved"))
    assert "2 things to fix" in summary
    assert "(#err-eu-name)" in summary and "(#err-eu-discipline)" in summary
    assert "Enter the person's name." in errors and "A specialist must have a discipline." in errors  # beside
    assert errors.index(summary) < errors.index("Enter the person's name.")
    assert at.text_input(key=f"eu_email_{uid}").value == "dr.b@example.nhs.uk"  # the input stays
    assert at.multiselect(key=f"eu_roles_{uid}").value == ["pcp", "specialist"]
    with hub.sf() as s:
        user = s.get(User, uid)
        assert user.name == "Dr B" and user.email is None
    # another user's form carries no marks of this refusal
    at.selectbox(key="adm_user").set_value(_admin_user_id(hub, "physio")).run()
    assert not [e for e in at.error if e.value.startswith("**Nothing was saved")]


def test_refused_setting_is_marked_beside_its_field_and_keeps_the_input(hub):
    from hub import settings

    key = "security.max_login_attempts"
    at = login("admin")
    at.selectbox(key="adm_setting").set_value(key).run()
    at.text_input(key=f"setting_value_{key}").input("0")
    next(b for b in at.button if b.label == "Save setting").click().run()
    assert not at.exception
    errors = [unescaped(e.value) for e in at.error]
    summary = next(e for e in errors if e.startswith("**Nothing was saved"))
    assert f"(#err-setting-{key})" in summary
    beside = [e for e in errors if "between" in e and not e.startswith("**Nothing")]
    assert beside, errors
    assert at.text_input(key=f"setting_value_{key}").value == "0"  # the refused value stays to be corrected
    with hub.sf() as s:
        assert settings.get(s, key) == 5  # nothing stored: still the default
