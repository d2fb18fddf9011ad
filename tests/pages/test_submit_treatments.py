"""The submission's treatments: a short form with labelled choices (no editable grid), required fields marked,
and what is stored is what was chosen, for every choice (AppTest)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from db.models import Treatment
from hub.clinical.drugs import PICKLIST
from hub.vocab import ROUTES, STOP_REASONS, TREATMENT_CATEGORIES
from page_support import login, unescaped
from test_pages import _fill_new_case

START = date.today() - timedelta(days=200)
END = date.today() - timedelta(days=20)


def _submit_page():
    at = login("pcp.a")
    at.switch_page("pages/submit.py").run()
    return at


CODES = {"sub_tr_category": TREATMENT_CATEGORIES, "sub_tr_route": ROUTES, "sub_tr_reason": STOP_REASONS}


def _choose(at, key: str, label: str):
    """Pick a selectbox option by the label the GP reads. The option must be shown as that label; the value
    picked is the one the page's own format_func shows as it (AppTest cannot select by a formatted label)."""
    box = at.selectbox(key=key)
    assert label in box.options, (label, box.options)  # the options shown are labels
    if key in CODES:
        shown_as = [code for code in CODES[key] if box.format_func(code) == label]
        assert len(shown_as) == 1, (label, shown_as)
        box.set_value(shown_as[0])
    else:
        box.set_value(label)
    return at.run()


def _add(at, category: str, name: str, route: str | None = None, reason: str | None = None, dose=None):
    _choose(at, "sub_tr_category", category)
    if category == TREATMENT_CATEGORIES["medicine"]:
        _choose(at, "sub_tr_medicine", name)
    else:
        at.text_input(key="sub_tr_name").input(name)
    if route is not None:
        _choose(at, "sub_tr_route", route)
    if dose is not None:
        at.number_input(key="sub_tr_dose").set_value(dose)
    at.date_input(key="sub_tr_start").set_value(START)
    if reason is not None:
        at.date_input(key="sub_tr_end").set_value(END).run()
        _choose(at, "sub_tr_reason", reason)
    at.button(key="sub_tr_add").click().run()
    assert not at.exception
    assert not [e.value for e in at.error], [unescaped(e.value) for e in at.error]
    return at


def test_no_grid_and_required_fields_are_marked(hub):
    at = _submit_page()
    assert not at.get("arrow_data_frame") and not at.get("data_editor")
    labels = {at.selectbox(key="sub_tr_category").label, at.selectbox(key="sub_tr_route").label,
              at.text_input(key="sub_tr_name").label, at.date_input(key="sub_tr_start").label}
    assert labels == {"Category (required)", "Route (required for medicines)", "Treatment (required)",
                      "Started (required)"}
    assert at.selectbox(key="sub_tr_category").options == list(TREATMENT_CATEGORIES.values())
    assert at.selectbox(key="sub_tr_route").options == list(ROUTES.values())
    _choose(at, "sub_tr_category", "Medicine")
    assert at.selectbox(key="sub_tr_medicine").label == "Medicine (required; pick or type)"
    at.date_input(key="sub_tr_end").set_value(END).run()
    assert at.selectbox(key="sub_tr_reason").label == "Reason stopped (required)"
    assert at.selectbox(key="sub_tr_reason").options == list(STOP_REASONS.values())


def test_stored_values_are_the_chosen_labels_for_every_choice(hub):
    """Every category, every route, every reason for stopping and a pick-list medicine, chosen by label: the
    saved treatments' codes map back to exactly those labels."""
    at = _submit_page()
    _fill_new_case(at)
    routes = list(ROUTES.values())
    reasons = list(STOP_REASONS.values())
    chosen = []
    medicine = next(p for p in PICKLIST if p.route == "oral")
    for i, category in enumerate(c for c in TREATMENT_CATEGORIES.values() if c != "Medicine"):
        route, reason = routes[i % len(routes)], reasons[i % len(reasons)]
        _add(at, category, f"Treatment {i + 1}", route=route, reason=reason)
        chosen.append((category, f"Treatment {i + 1}", route, reason))
    # the remaining route and reasons, and a medicine from the pick-list
    _add(at, "Medicine", medicine.label, route="Oral", reason=reasons[-1], dose=30.0)
    chosen.append(("Medicine", medicine.label, "Oral", reasons[-1]))
    assert {c[2] for c in chosen} == set(routes) and {c[3] for c in chosen} == set(reasons)
    assert {c[0] for c in chosen} == set(TREATMENT_CATEGORIES.values())
    shown = [t.value for t in at.text if t.value[:1].isdigit()]
    assert len(shown) == len(chosen) and shown[-1].startswith(f"{len(chosen)}. Medicine · {medicine.label} · Oral")
    at.button(key="sub_submit").click().run()
    assert not at.exception and not [e.value for e in at.error], [unescaped(e.value) for e in at.error]
    with hub.sf() as s:
        rows = s.scalars(select(Treatment).order_by(Treatment.id)).all()
        stored = [(TREATMENT_CATEGORIES[r.category], r.name, ROUTES[r.route], STOP_REASONS[r.reason_stopped])
                  for r in rows]
        assert stored == chosen
        med = rows[-1]
        assert (med.drug, med.daily_dose_mg, med.start_date, med.end_date) == (medicine.drug, 30.0, START, END)


def test_a_refused_treatment_is_marked_beside_its_field_and_the_choice_stays(hub):
    at = _submit_page()
    _choose(at, "sub_tr_category", "Medicine")
    _choose(at, "sub_tr_medicine", PICKLIST[0].label)
    _choose(at, "sub_tr_route", "Transdermal patch")  # and no patch strength, no start date
    at.button(key="sub_tr_add").click().run()
    errors = [unescaped(e.value) for e in at.error]
    assert "Enter the patch strength in micrograms per hour." in errors
    assert "Enter the start date." in errors
    assert at.selectbox(key="sub_tr_medicine").value == PICKLIST[0].label  # what was chosen stays
    assert at.selectbox(key="sub_tr_route").value == "transdermal"
    assert not [t.value for t in at.text if t.value.startswith("1. ")]  # nothing was listed


def test_a_treatment_left_in_the_form_is_not_dropped_silently(hub):
    at = _submit_page()
    _fill_new_case(at)
    _choose(at, "sub_tr_category", "Injection")
    at.button(key="sub_submit").click().run()
    errors = [unescaped(e.value) for e in at.error]
    summary = next(e for e in errors if e.startswith("**Nothing was saved"))
    assert "not on the list yet" in summary and "(#err-pending-treatments.pending)" in summary
    assert at.selectbox(key="sub_tr_category").value == "injection"
    with hub.sf() as s:
        assert s.scalar(select(Treatment.id)) is None


def test_remove_takes_a_treatment_off_the_list(hub):
    at = _submit_page()
    _add(at, "Education / self-management", "Pain leaflet")
    _add(at, "Exercise / physiotherapy", "Walking plan")
    next(b for b in at.button if b.key == "sub_tr_rm_0").click().run()
    assert [t.value for t in at.text if t.value[:1].isdigit()][0].startswith("1. Exercise / physiotherapy · Walking")
