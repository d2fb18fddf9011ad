"""The meeting room's structured form, built for a 10-minute slot: short forms with labelled choices for
recommendations and the SMART goal (no wide grids), one-click templates from the case's flags and pathway,
restraint reasons only when restraint is chosen, each refusal beside its field or item. Values live in
session state under a prefix, so the user's input survives errors, reruns and edit conflicts; conversion
to and from hub.decisions.DecisionForm."""

from __future__ import annotations

from dataclasses import asdict, fields
from collections.abc import Sequence
from datetime import date, timedelta

import streamlit as st

from hub import decision_templates, decisions, vocab
from hub.clinical.case_review import FLAG_LABELS
from hub.clinical.signals import JUST_CODES
from hub.decisions import DecisionForm, GoalInput, RecommendationInput
from hub.flags import FlagView
from hub.vocab import (
    FLAG_RESPONSES,
    MEDICINE_RECOMMENDATIONS,
    OWNER_ROLES,
    PATHWAY_STEP_LABELS,
    PRIMARY_OUTCOMES,
    RECOMMENDATION_TYPES,
)
from ui.common import md_escape

TEXTS = [
    ("formulation", "Formulation / working diagnosis"),
    ("answer", "Answer to the referrer's question"),
    ("mdt_options", "Options the MDT considers (the team's view)"),
    ("what_matters", "What matters to the patient"),
    ("beliefs_concerns", "The patient's beliefs and concerns (e.g. fear that exercise will cause harm)"),
    ("options_discussed", "Options discussed with the patient"),
    ("option_preferred", "Option the patient prefers"),
    ("options_declined", "Options declined, and why"),
    ("agreed_plan", "Plan agreed with the patient"),
    ("allergies", "Allergies and adverse reactions (mandatory for the letter)"),
    ("safety_netting", "Safety-netting advice"),
]
FORM_FIELDS = {f.name for f in fields(DecisionForm)}
PATIENT_VIEWS: dict[str, str] = vocab.PATIENT_VIEWS
JUST_LABELS = {
    "patient_declined": "The patient declined a change",
    "recent_change_within_onset_window": "A recent change has not had time to work",
    "awaiting_investigation_or_specialist": "Awaiting an investigation or specialist",
    "adherence_support_given": "Adherence support given first",
    "close_to_target": "Close to the target already",
    "competing_priority": "A competing priority comes first",
    "shared_decision_to_maintain": "Shared decision to keep the plan",
}
IMPORTANCE = {0: "0 · not important", 1: "1 · a little important", 2: "2 · moderately important",
              3: "3 · very important"}
DIFFICULTY = {0: "0 · not difficult", 1: "1 · a little difficult", 2: "2 · moderately difficult",
              3: "3 · very difficult"}
GAS_LABELS = {-2: "−2 much less than expected", -1: "−1 somewhat less than expected",
              0: "0 expected outcome (the goal)", 1: "+1 somewhat more than expected", 2: "+2 much more than expected"}
FOLLOW_UP = {"4 weeks": 28, "6 weeks": 42, "3 months": 91, "6 months": 182}
DISCUSSED = {"": "Not recorded", **vocab.DISCUSSED_WITH_PATIENT}  # code -> label


def anchor(name: str) -> None:
    """An invisible target the error summary links to (our own fixed id, never user text)."""
    st.html(f'<span id="{name}"></span>')


def has_state(prefix: str) -> bool:
    """True if every text field of the form and its lists still have their values in session state."""
    ss = st.session_state
    return all(f"{prefix}{name}" in ss for name, _ in TEXTS) and f"{prefix}recs" in ss and f"{prefix}goals" in ss


def fill_state(prefix: str, form: DecisionForm) -> None:
    """Put a loaded decision into the widgets' session state (first open, or after taking theirs)."""
    ss = st.session_state
    for name, _ in TEXTS:
        ss[f"{prefix}{name}"] = getattr(form, name) or ""
    ss[f"{prefix}pathway_step"] = form.pathway_step or None
    ss[f"{prefix}primary_outcome"] = form.primary_outcome
    ss[f"{prefix}follow_up_date"] = form.follow_up_date
    ss[f"{prefix}discussed"] = form.discussed_with_patient or ""
    ss[f"{prefix}patient_view"] = form.patient_view or None
    ss[f"{prefix}patient_summary"] = form.patient_summary or ""
    for code, resp in form.flag_responses.items():
        ss[f"{prefix}flag_{code}"] = resp.get("response")
        ss[f"{prefix}flagreason_{code}"] = resp.get("reason_code")
        ss[f"{prefix}flagnote_{code}"] = resp.get("note", "")
    ss[f"{prefix}recs"] = [asdict(r) for r in form.recommendations]
    ss[f"{prefix}goals"] = [asdict(g) for g in form.goals]


def _errors_beside(errors: dict[str, str], section: str, number: int | None = None) -> None:
    for message in decisions.errors_for(errors, section, number):
        st.error(md_escape(message), icon=":material/error:")


def error_summary(errors: dict[str, str]) -> None:
    """Every refusal at the top, each linking to the field or item it belongs to."""
    placed = decisions.place_errors(errors)
    lines = "\n".join(f"- [{md_escape(e.message)}](#{e.anchor})" for e in placed)
    st.error(f"**Nothing was saved: {len(placed)} thing{'s' if len(placed) != 1 else ''} to fix** "
             f"(each is also marked beside its field)\n\n{lines}", icon=":material/error:")


# ----------------------------------------------------------------------------- callbacks (run before the rerun)


def _add_rec(prefix: str, meeting_day: date) -> None:
    ss = st.session_state
    kind, text = ss.get(f"{prefix}nr_kind"), (ss.get(f"{prefix}nr_text") or "").strip()
    problems = []
    if not kind:
        problems.append("choose the type")
    if not text:
        problems.append("describe it")
    if kind in MEDICINE_RECOMMENDATIONS and not (ss.get(f"{prefix}nr_drug") or "").strip():
        problems.append("name the medicine")
    if problems:  # the input stays in the form
        ss[f"{prefix}nr_error"] = "Not added yet: " + ", ".join(problems) + "."
        return
    ss[f"{prefix}recs"].append(asdict(RecommendationInput(
        kind=kind, description=text, drug=(ss.get(f"{prefix}nr_drug") or "").strip() or None,
        owner_role=ss.get(f"{prefix}nr_owner") or "pcp", due_date=ss.get(f"{prefix}nr_due"),
        for_patient=bool(ss.get(f"{prefix}nr_patient")),
        guideline_override=(ss.get(f"{prefix}nr_override") or "").strip() or None,
        dose_schedule=(ss.get(f"{prefix}nr_dose") or "").strip() if kind in MEDICINE_RECOMMENDATIONS else "",
        review_date=ss.get(f"{prefix}nr_review") if kind in MEDICINE_RECOMMENDATIONS else None)))
    _clear_rec_form(prefix, meeting_day)


def _clear_rec_form(prefix: str, meeting_day: date) -> None:
    ss = st.session_state
    ss.pop(f"{prefix}nr_error", None)
    ss[f"{prefix}nr_kind"] = None
    ss[f"{prefix}nr_text"] = ""
    ss[f"{prefix}nr_drug"] = ""
    ss[f"{prefix}nr_owner"] = "pcp"
    ss[f"{prefix}nr_due"] = meeting_day + timedelta(days=28)
    ss[f"{prefix}nr_patient"] = False
    ss[f"{prefix}nr_override"] = ""
    ss[f"{prefix}nr_dose"] = ""
    ss[f"{prefix}nr_review"] = None


def _apply_template(prefix: str, key: str, meeting_day: date, opioids: list[str]) -> None:
    """One click: the template's recommendation is added (or, when it needs a medicine the case does not name
    unambiguously, the add form is filled for the chair to complete)."""
    ss = st.session_state
    template = decision_templates.BY_KEY[key]
    if template.needs_drug and len(opioids) != 1:
        values = decision_templates.fill(template, meeting_day, None)
        ss[f"{prefix}nr_kind"], ss[f"{prefix}nr_text"] = values["kind"], values["description"]
        ss[f"{prefix}nr_drug"], ss[f"{prefix}nr_owner"] = "", values["owner_role"]
        ss[f"{prefix}nr_due"], ss[f"{prefix}nr_patient"] = values["due_date"], values["for_patient"]
        ss[f"{prefix}nr_error"] = "Name the medicine to taper, then add it."
        return
    form = DecisionForm(follow_up_date=ss.get(f"{prefix}follow_up_date"))
    rec = decisions.apply_template(form, key, meeting_day, opioids[0] if template.needs_drug else None)
    ss[f"{prefix}recs"].append(asdict(rec))
    ss[f"{prefix}follow_up_date"] = form.follow_up_date


def _remove(prefix: str, what: str, index: int) -> None:
    items = st.session_state[f"{prefix}{what}"]
    if 0 <= index < len(items):
        items.pop(index)
    if what == "recs":  # keep goals linked to the same recommendation
        for g in st.session_state[f"{prefix}goals"]:
            n = g.get("recommendation")
            if n == index + 1:
                g["recommendation"] = None
            elif n and n > index + 1:
                g["recommendation"] = n - 1


def _add_goal(prefix: str, meeting_day: date) -> None:
    ss = st.session_state
    g = GoalInput(
        target_activity=(ss.get(f"{prefix}ng_activity") or "").strip(),
        support_needed=(ss.get(f"{prefix}ng_support") or "").strip(),
        performance_quantifier=(ss.get(f"{prefix}ng_amount") or "").strip(), due_date=ss.get(f"{prefix}ng_due"),
        importance=ss.get(f"{prefix}ng_importance", 2), difficulty=ss.get(f"{prefix}ng_difficulty", 1),
        levels={k: (ss.get(f"{prefix}ng_level_{k}") or "").strip() for k in GAS_LABELS},
        recommendation=ss.get(f"{prefix}ng_rec"))
    missing = [label for label, ok in (("the activity", g.target_activity), ("how much", g.performance_quantifier),
                                       ("the date", g.due_date)) if not ok]
    missing += [f"level {GAS_LABELS[k].split(' ')[0]}" for k in GAS_LABELS if not g.levels[k]]
    if missing:
        ss[f"{prefix}ng_error"] = "Not added yet: give " + ", ".join(missing) + "."
        return
    ss[f"{prefix}goals"].append(asdict(g))
    ss.pop(f"{prefix}ng_error", None)
    for k in ("activity", "support", "amount", *(f"level_{k}" for k in GAS_LABELS)):
        ss[f"{prefix}ng_{k}"] = ""
    ss[f"{prefix}ng_rec"] = None
    ss[f"{prefix}ng_due"] = meeting_day + timedelta(days=84)


def _follow_up(prefix: str, meeting_day: date) -> None:
    choice = st.session_state.get(f"{prefix}fu_in")
    if choice:
        st.session_state[f"{prefix}follow_up_date"] = meeting_day + timedelta(days=FOLLOW_UP[choice])


# ----------------------------------------------------------------------------- drawing


def _rec_line(r: dict) -> str:
    owner = OWNER_ROLES.get(r.get("owner_role") or "", r.get("owner_role") or "no owner")
    due = f"{r['due_date']:%d %b %Y}" if r.get("due_date") else "no due date"
    drug = f" · {r['drug']}" if r.get("drug") else ""
    if r.get("dose_schedule"):
        drug += f" {r['dose_schedule']}"
    if r.get("review_date"):
        drug += f" (review {r['review_date']:%d %b %Y})"
    patient = " · in the patient's letter" if r.get("for_patient") else ""
    return f"{RECOMMENDATION_TYPES.get(r.get('kind') or '', 'Type not chosen')}{drug} · {owner} · due {due}{patient}"


def render(prefix: str, open_flags: Sequence[FlagView], meeting_day: date, errors: dict[str, str], *,
           flag_codes: list[str] | None = None, condition: str | None = None,
           pain_classification: str | None = None, opioids: list[str] | None = None) -> None:
    """Draw the structured form (values live in session state under `prefix`)."""
    ss = st.session_state
    opioids = list(opioids or [])
    if f"{prefix}nr_due" not in ss:
        _clear_rec_form(prefix, meeting_day)
    ss.setdefault(f"{prefix}ng_due", meeting_day + timedelta(days=84))

    st.header("Decision")
    anchor("err-pathway_step")
    st.selectbox("Pathway step", list(PATHWAY_STEP_LABELS), format_func=PATHWAY_STEP_LABELS.get, index=None,
                 key=f"{prefix}pathway_step", placeholder="Choose the pathway step")
    _errors_beside(errors, "pathway_step")
    for name, label in TEXTS[:2]:
        anchor(f"err-{name}")
        st.text_area(label, key=f"{prefix}{name}", height=80)
        _errors_beside(errors, name)
    with st.expander("Options the MDT considers (optional)"):
        st.text_area(TEXTS[2][1], key=f"{prefix}mdt_options", height=68)

    if open_flags:
        st.subheader("Response to each open flag")
        anchor("err-flag_responses")
        _errors_beside(errors, "flag_responses")
        for f in open_flags:
            code = f.code
            anchor(f"err-flag.{code}")
            st.radio(FLAG_LABELS.get(code, code), list(FLAG_RESPONSES), format_func=FLAG_RESPONSES.get, index=None,
                     horizontal=True, key=f"{prefix}flag_{code}", help=f.reason)
            if ss.get(f"{prefix}flag_{code}") == "restraint":
                c1, c2 = st.columns(2)
                c1.selectbox("Reason for restraint", list(JUST_CODES), index=None, key=f"{prefix}flagreason_{code}",
                             format_func=lambda j: JUST_LABELS.get(j, j.replace("_", " ")),
                             placeholder="Choose the reason")
                c2.text_input("Note (optional)", key=f"{prefix}flagnote_{code}")
            _errors_beside(errors, f"flag.{code}")

    st.subheader("Recommendations")
    anchor("err-recommendations")
    _errors_beside(errors, "recommendations")
    suggestions = decision_templates.suggest(flag_codes or [f.code for f in open_flags], condition,
                                             pain_classification, ss.get(f"{prefix}pathway_step"))
    suggested = [x for x in suggestions if x.why]
    for title, group in (("Suggested for this case", suggested),
                         ("Other templates" if suggested else "Templates", [x for x in suggestions if not x.why])):
        if not group:
            continue
        st.markdown(f"**{title}** (one click adds it with its owner, due date and review date):")
        cols = st.columns(3)
        for n, sug in enumerate(group):
            t = sug.template
            cols[n % 3].button(f"+ {t.label}", key=f"{prefix}tpl_{t.key}",
                               help=(f"Suggested: {sug.why}. " if sug.why else "") + t.description.format(
                                   drug=", ".join(opioids) or "the opioid"),
                               on_click=_apply_template, args=(prefix, t.key, meeting_day, opioids), width="stretch")
    recs = ss[f"{prefix}recs"]
    if not recs:
        st.markdown("No recommendation yet. The referring GP owns a recommendation unless you choose another owner.")
    for i, r in enumerate(recs, 1):
        anchor(f"err-recommendations-{i}")
        with st.container(border=True):
            c1, c2 = st.columns([8, 2])
            c1.markdown(f"**{i}. {md_escape(_rec_line(r))}**")
            c1.text(r.get("description") or "")
            if r.get("guideline_override"):
                c1.text(f"Guideline override: {r['guideline_override']}")
            c2.button("Remove", key=f"{prefix}rm_rec_{i}", on_click=_remove, args=(prefix, "recs", i - 1),
                      icon=":material/delete:")
            _errors_beside(errors, "recommendations", i)
    with st.form(f"{prefix}addrec", border=True):
        st.markdown("**Add a recommendation**")
        c1, c2 = st.columns(2)
        c1.selectbox("Type", list(RECOMMENDATION_TYPES), format_func=RECOMMENDATION_TYPES.get, index=None,
                     key=f"{prefix}nr_kind", placeholder="Choose the type")
        c2.selectbox("Owner", list(OWNER_ROLES), format_func=OWNER_ROLES.get, key=f"{prefix}nr_owner")
        st.text_area("Recommendation", key=f"{prefix}nr_text", height=68)
        c1, c2, c3 = st.columns(3)
        c1.text_input("Medicine (generic name, for medicine types)", key=f"{prefix}nr_drug")
        c2.date_input("Due", key=f"{prefix}nr_due", min_value=meeting_day, format="DD/MM/YYYY")
        c3.checkbox("In the patient's letter", key=f"{prefix}nr_patient")
        c1, c2 = st.columns(2)
        c1.text_input("Dose and schedule (medicines, for the letter's medication changes)", key=f"{prefix}nr_dose")
        c2.date_input("Medicine review date (optional)", key=f"{prefix}nr_review", min_value=meeting_day,
                      format="DD/MM/YYYY")
        st.text_input("Guideline override reason (only to recommend against a guideline)", key=f"{prefix}nr_override")
        if ss.get(f"{prefix}nr_error"):
            st.error(ss[f"{prefix}nr_error"], icon=":material/error:")
        st.form_submit_button("Add recommendation", on_click=_add_rec, args=(prefix, meeting_day),
                              icon=":material/add:")

    st.subheader("Shared decision with the patient")
    st.text_area(TEXTS[3][1], key=f"{prefix}what_matters", height=68)
    st.text_area(TEXTS[8][1], key=f"{prefix}agreed_plan", height=68)
    with st.expander("Beliefs, options discussed, preferred and declined (optional)"):
        for name, label in TEXTS[4:8]:
            st.text_area(label, key=f"{prefix}{name}", height=68)
    anchor("err-discussed_with_patient")
    st.radio("Discussed with the patient?", list(DISCUSSED), format_func=DISCUSSED.get, horizontal=True,
             key=f"{prefix}discussed")
    _errors_beside(errors, "discussed_with_patient")
    anchor("err-patient_view")
    st.radio("The patient's view of the plan", list(PATIENT_VIEWS), format_func=PATIENT_VIEWS.get, index=None,
             horizontal=True, key=f"{prefix}patient_view")
    _errors_beside(errors, "patient_view")
    anchor("err-patient_summary")
    st.text_area("What this means for you (the patient letter's own text: plain words, no clinical terms)",
                 key=f"{prefix}patient_summary", height=68)
    st.button("Refill from the plan", key=f"{prefix}refill_summary", on_click=_refill_summary, args=(prefix,),
              help="Replaces the text with a plain-words draft made from the recommendations and the review date.")
    _errors_beside(errors, "patient_summary")

    st.subheader("SMART goal with its GAS levels")
    anchor("err-goals")
    _errors_beside(errors, "goals")
    for i, g in enumerate(ss[f"{prefix}goals"], 1):
        anchor(f"err-goals-{i}")
        with st.container(border=True):
            c1, c2 = st.columns([8, 2])
            due = f"{g['due_date']:%d %b %Y}" if g.get("due_date") else "no date"
            link = f" · through recommendation {g['recommendation']}" if g.get("recommendation") else ""
            c1.markdown(f"**Goal {i}: {md_escape(g.get('target_activity'))} — "
                        f"{md_escape(g.get('performance_quantifier'))}, by {due}{link}**")
            c1.text("\n".join(f"{GAS_LABELS[k]}: {(g.get('levels') or {}).get(k, '')}" for k in GAS_LABELS))
            c2.button("Remove", key=f"{prefix}rm_goal_{i}", on_click=_remove, args=(prefix, "goals", i - 1),
                      icon=":material/delete:")
            _errors_beside(errors, "goals", i)
    with st.form(f"{prefix}addgoal", border=True):
        st.markdown("**Add a SMART goal**")
        c1, c2 = st.columns(2)
        c1.text_input("Activity (what the patient will do)", key=f"{prefix}ng_activity")
        c2.text_input("How much (number and unit)", key=f"{prefix}ng_amount")
        c1, c2, c3 = st.columns(3)
        c1.date_input("By", key=f"{prefix}ng_due", min_value=meeting_day + timedelta(days=1), format="DD/MM/YYYY")
        c2.selectbox("Importance to the patient", list(IMPORTANCE), format_func=IMPORTANCE.get, index=2,
                     key=f"{prefix}ng_importance")
        c3.selectbox("Difficulty", list(DIFFICULTY), format_func=DIFFICULTY.get, index=1,
                     key=f"{prefix}ng_difficulty")
        for k in (0, -1, -2, 1, 2):  # the expected outcome first, as it is set first
            st.text_input(f"GAS {GAS_LABELS[k]}", key=f"{prefix}ng_level_{k}")
        c1, c2 = st.columns(2)
        c1.text_input("Support needed (optional)", key=f"{prefix}ng_support")
        numbers = list(range(1, len(ss[f"{prefix}recs"]) + 1))
        c2.selectbox("Achieved through recommendation", numbers, index=None, key=f"{prefix}ng_rec",
                     format_func=lambda n: f"{n}. {RECOMMENDATION_TYPES.get(ss[prefix + 'recs'][n - 1]['kind'], '')}"
                     if n - 1 < len(ss[prefix + "recs"]) else str(n), placeholder="None")
        if ss.get(f"{prefix}ng_error"):
            st.error(ss[f"{prefix}ng_error"], icon=":material/error:")
        st.form_submit_button("Add goal", on_click=_add_goal, args=(prefix, meeting_day), icon=":material/add:")

    st.subheader("Follow-up and the letter")
    st.segmented_control("Follow-up review in", list(FOLLOW_UP), key=f"{prefix}fu_in",
                         on_change=_follow_up, args=(prefix, meeting_day))
    c1, c2 = st.columns(2)
    anchor("err-follow_up_date")
    c1.date_input("Follow-up review date", min_value=meeting_day + timedelta(days=1),
                  key=f"{prefix}follow_up_date", format="DD/MM/YYYY")
    c2.selectbox("Primary outcome", list(PRIMARY_OUTCOMES), index=None, key=f"{prefix}primary_outcome",
                 format_func=PRIMARY_OUTCOMES.get, placeholder="Choose")
    _errors_beside(errors, "follow_up_date")
    _errors_beside(errors, "primary_outcome")
    for name, label in TEXTS[9:]:
        anchor(f"err-{name}")
        st.text_area(label, key=f"{prefix}{name}", height=68)
        _errors_beside(errors, name)
    anchor("err-letter")
    _errors_beside(errors, "letter")
    _errors_beside(errors, "decision")
    _errors_beside(errors, "meeting")


def _refill_summary(prefix: str) -> None:
    st.session_state[f"{prefix}patient_summary"] = decisions.suggest_patient_summary(read(prefix, []))


def read(prefix: str, open_flags: Sequence[FlagView]) -> DecisionForm:
    """The form's current values as a DecisionForm."""
    ss = st.session_state
    flag_responses = {}
    for f in open_flags:
        code = f.code
        if ss.get(f"{prefix}flag_{code}"):
            restraint = ss[f"{prefix}flag_{code}"] == "restraint"
            flag_responses[code] = {"response": ss[f"{prefix}flag_{code}"],
                                    "reason_code": ss.get(f"{prefix}flagreason_{code}") if restraint else None,
                                    "note": (ss.get(f"{prefix}flagnote_{code}") or "") if restraint else ""}
    values = dict(
        **{name: ss.get(f"{prefix}{name}") or "" for name, _ in TEXTS},
        pathway_step=ss.get(f"{prefix}pathway_step") or "", flag_responses=flag_responses,
        discussed_with_patient=ss.get(f"{prefix}discussed") or None, patient_view=ss.get(f"{prefix}patient_view"),
        patient_summary=ss.get(f"{prefix}patient_summary") or "",
        primary_outcome=ss.get(f"{prefix}primary_outcome"), follow_up_date=ss.get(f"{prefix}follow_up_date"),
        recommendations=[RecommendationInput(**r) for r in ss.get(f"{prefix}recs", [])],
        goals=[GoalInput(**{**g, "levels": {int(k): v for k, v in (g.get("levels") or {}).items()}})
               for g in ss.get(f"{prefix}goals", [])])
    return DecisionForm(**{k: v for k, v in values.items() if k in FORM_FIELDS})


def send_summary(prefix: str, open_flags: Sequence[FlagView], referrer: str) -> None:
    """What finalising will send, read from the form as it is now."""
    lines = decisions.send_summary(read(prefix, open_flags), referrer)
    st.markdown("**Finalising sends:**\n\n" + "\n".join(f"- {md_escape(x)}" for x in lines))


def render_final(form: DecisionForm, referrer: str) -> None:
    """A final decision, read-only: what was decided and sent."""
    st.header("Decision (final)")
    if form.pathway_step:
        st.markdown(f"**Pathway step:** {md_escape(PATHWAY_STEP_LABELS.get(form.pathway_step, form.pathway_step))}")
    for name, label in TEXTS:
        value = getattr(form, name, "")
        if value:
            st.markdown(f"**{md_escape(label)}**")
            st.text(value)
    if form.discussed_with_patient or form.patient_view:
        st.markdown(f"**Discussed with the patient:** {DISCUSSED.get(form.discussed_with_patient or '', 'Not recorded')}"
                    f" · **patient's view:** {PATIENT_VIEWS.get(form.patient_view or '', 'Not recorded')}")
    if form.patient_summary:
        st.markdown("**What this means for you (patient letter)**")
        st.text(form.patient_summary)
    st.markdown("**Sent:**\n\n" + "\n".join(f"- {md_escape(x)}" for x in decisions.send_summary(form, referrer)))
