"""The meeting room's structured form: widgets keyed in session state so the user's input survives
errors, reruns and edit conflicts; conversion to and from hub.decisions.DecisionForm."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from hub.clinical.case_review import FLAG_LABELS
from hub.clinical.signals import JUST_CODES
from hub.decisions import DecisionForm, GoalInput, RecommendationInput
from hub.vocab import PATHWAY_STEP_LABELS
from hub.vocab import DISCUSSED_WITH_PATIENT, FLAG_RESPONSES, OWNER_ROLES, PATIENT_VIEWS, RECOMMENDATION_TYPES
from hub.clinical.drugs import PICKLIST

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
    ("patient_summary", "What this means for you (the patient letter's own text: plain words, no clinical terms)"),
]
# New columns go last so the grid's existing column positions stay as they were.
REC_COLUMNS = ["kind", "description", "drug", "owner_role", "due_date", "for_patient", "guideline_override",
               "dose_schedule", "review_date"]
DISCUSSED_CHOICES = {"": "Not recorded", **DISCUSSED_WITH_PATIENT}
GOAL_COLUMNS = ["target_activity", "support_needed", "performance_quantifier", "due_date", "importance", "difficulty",
                "level_-2", "level_-1", "level_0", "level_1", "level_2", "recommendation"]


def _none(x):
    if x is None:
        return None
    try:
        if pd.isna(x):
            return None
    except (TypeError, ValueError):
        pass
    return x


def has_state(prefix: str) -> bool:
    """True if every text field of the form still has its value in session state."""
    return all(f"{prefix}{name}" in st.session_state for name, _ in TEXTS)


def fill_state(prefix: str, form: DecisionForm) -> None:
    """Put a loaded decision into the widgets' session state (first open, or after taking theirs)."""
    ss = st.session_state
    for name, _ in TEXTS:
        ss[f"{prefix}{name}"] = getattr(form, name) or ""
    ss[f"{prefix}pathway_step"] = form.pathway_step or None
    ss[f"{prefix}primary_outcome"] = form.primary_outcome
    ss[f"{prefix}follow_up_date"] = form.follow_up_date
    ss[f"{prefix}discussed"] = form.discussed_with_patient or ""
    ss[f"{prefix}patient_view"] = form.patient_view
    for code, resp in form.flag_responses.items():
        ss[f"{prefix}flag_{code}"] = resp.get("response")
        ss[f"{prefix}flagreason_{code}"] = resp.get("reason_code")
        ss[f"{prefix}flagnote_{code}"] = resp.get("note", "")
    ss[f"{prefix}recs_init"] = pd.DataFrame(
        [{"kind": r.kind, "description": r.description, "drug": r.drug or "", "dose_schedule": r.dose_schedule or "",
          "review_date": r.review_date, "owner_role": r.owner_role,
          "due_date": r.due_date, "for_patient": r.for_patient, "guideline_override": r.guideline_override or ""}
         for r in form.recommendations], columns=REC_COLUMNS)
    ss[f"{prefix}goals_init"] = pd.DataFrame(
        [{"target_activity": g.target_activity, "support_needed": g.support_needed,
          "performance_quantifier": g.performance_quantifier, "due_date": g.due_date, "importance": g.importance,
          "difficulty": g.difficulty, **{f"level_{k}": g.levels.get(k, "") for k in (-2, -1, 0, 1, 2)},
          "recommendation": g.recommendation}
         for g in form.goals], columns=GOAL_COLUMNS)
    ss.pop(f"{prefix}recs", None)
    ss.pop(f"{prefix}goals", None)


def render(prefix: str, open_flags: list[dict], meeting_day: date, errors: dict[str, str]) -> None:
    """Draw the structured form (values live in session state under `prefix`)."""
    ss = st.session_state

    def err(key: str) -> None:
        for k, v in errors.items():
            if k == key or k.startswith(key + "."):
                st.error(v, icon="⚠️")

    st.selectbox("Pathway step (CLINICAL.md §3)", list(PATHWAY_STEP_LABELS), format_func=PATHWAY_STEP_LABELS.get, index=None,
                 key=f"{prefix}pathway_step")
    err("pathway_step")
    for name, label in TEXTS[:3]:
        st.text_area(label, key=f"{prefix}{name}", height=80)
        err(name)
    if open_flags:
        st.markdown("**Response to each open flag**")
        for f in open_flags:
            code = f["code"]
            c1, c2, c3 = st.columns([2, 2, 3])
            c1.selectbox(FLAG_LABELS.get(code, code), list(FLAG_RESPONSES), format_func=FLAG_RESPONSES.get,
                         index=None, key=f"{prefix}flag_{code}", help=f.get("reason"))
            c2.selectbox("Coded reason (for restraint)", list(JUST_CODES), index=None,
                         format_func=lambda j: j.replace("_", " "), key=f"{prefix}flagreason_{code}")
            c3.text_input("Note", key=f"{prefix}flagnote_{code}")
            err(f"flag.{code}")
        err("flag_responses")
    st.markdown("**Recommendations** (owner: the referring GP by default, for coordination)")
    ss[f"{prefix}recs_df"] = st.data_editor(
        ss[f"{prefix}recs_init"], num_rows="dynamic", key=f"{prefix}recs", hide_index=True, width="stretch",
        column_config={
            "kind": st.column_config.SelectboxColumn("Type", options=list(RECOMMENDATION_TYPES), required=True),
            "description": st.column_config.TextColumn("Recommendation", required=True),
            "drug": st.column_config.TextColumn(
                "Medicine", help="Generic name, e.g. " + ", ".join(sorted({p.drug for p in PICKLIST})[:8]) + "…"),
            "dose_schedule": st.column_config.TextColumn("Dose and schedule (medicines)"),
            "review_date": st.column_config.DateColumn("Medicine review date"),
            "owner_role": st.column_config.SelectboxColumn("Owner", options=list(OWNER_ROLES), default="pcp"),
            "due_date": st.column_config.DateColumn("Due", default=meeting_day + timedelta(days=28)),
            "for_patient": st.column_config.CheckboxColumn("For the patient", default=False),
            "guideline_override": st.column_config.TextColumn("Guideline override reason"),
        })
    err("recommendations")
    st.markdown("**Shared decision record**")
    for name, label in TEXTS[3:9]:
        st.text_area(label, key=f"{prefix}{name}", height=68)
    c1, c2 = st.columns(2)
    c1.radio("Discussed with the patient?", list(DISCUSSED_CHOICES), format_func=DISCUSSED_CHOICES.get,
             horizontal=True, key=f"{prefix}discussed")
    c2.selectbox("Patient's view of the plan", list(PATIENT_VIEWS), format_func=PATIENT_VIEWS.get, index=None,
                 key=f"{prefix}patient_view", placeholder="Not recorded")
    err("discussed_with_patient")
    err("patient_view")
    st.markdown("**SMART goals with Goal Attainment Scaling levels**")
    ss[f"{prefix}goals_df"] = st.data_editor(
        ss[f"{prefix}goals_init"], num_rows="dynamic", key=f"{prefix}goals", hide_index=True, width="stretch",
        column_config={
            "target_activity": st.column_config.TextColumn("Activity", required=True),
            "support_needed": st.column_config.TextColumn("Support"),
            "performance_quantifier": st.column_config.TextColumn("How much (number + unit)", required=True),
            "due_date": st.column_config.DateColumn("By", default=meeting_day + timedelta(days=84)),
            "importance": st.column_config.NumberColumn("Importance 0-3", min_value=0, max_value=3, default=2),
            "difficulty": st.column_config.NumberColumn("Difficulty 0-3", min_value=0, max_value=3, default=1),
            **{f"level_{k}": st.column_config.TextColumn(f"GAS {k:+d}" if k else "GAS 0 (expected)")
               for k in (-2, -1, 0, 1, 2)},
            "recommendation": st.column_config.NumberColumn("Through recommendation #", min_value=1, step=1),
        })
    err("goals")
    c1, c2 = st.columns(2)
    c1.selectbox("Primary outcome", ["peg", "nrs", "mskhq", "odi"], index=None, key=f"{prefix}primary_outcome",
                 format_func={"peg": "PEG", "nrs": "Pain NRS", "mskhq": "MSK-HQ", "odi": "ODI"}.get)
    c2.date_input("Follow-up review date", value=None, min_value=meeting_day + timedelta(days=1),
                  key=f"{prefix}follow_up_date")
    err("follow_up_date")
    for name, label in TEXTS[9:11]:
        st.text_area(label, key=f"{prefix}{name}", height=68)
        err(name)
    st.text_area(TEXTS[11][1], key=f"{prefix}patient_summary", height=120)
    st.button("Refill from the plan", key=f"{prefix}refill_summary", on_click=_refill_summary, args=(prefix,),
              help="Replaces the text with a plain-words draft made from the recommendations and the review date.")
    err("patient_summary")
    err("letter")


def _refill_summary(prefix: str) -> None:
    from hub.decisions import suggest_patient_summary

    st.session_state[f"{prefix}patient_summary"] = suggest_patient_summary(read(prefix, []))


def read(prefix: str, open_flags: list[dict]) -> DecisionForm:
    """The form's current values as a DecisionForm."""
    ss = st.session_state
    flag_responses = {}
    for f in open_flags:
        code = f["code"]
        if ss.get(f"{prefix}flag_{code}"):
            flag_responses[code] = {"response": ss[f"{prefix}flag_{code}"],
                                    "reason_code": ss.get(f"{prefix}flagreason_{code}"),
                                    "note": ss.get(f"{prefix}flagnote_{code}") or ""}
    recs = []
    df = ss.get(f"{prefix}recs_df")
    for r in (df.to_dict("records") if df is not None else []):
        if not any(_none(v) not in (None, "", False) for v in r.values()):
            continue
        due = _none(r.get("due_date"))
        recs.append(RecommendationInput(
            kind=_none(r.get("kind")) or "", description=_none(r.get("description")) or "",
            drug=_none(r.get("drug")) or None, owner_role=_none(r.get("owner_role")) or "pcp",
            dose_schedule=_none(r.get("dose_schedule")) or "",
            review_date=pd.Timestamp(_none(r.get("review_date"))).date() if _none(r.get("review_date")) else None,
            due_date=pd.Timestamp(due).date() if due is not None else None, for_patient=bool(_none(r.get("for_patient"))),
            guideline_override=_none(r.get("guideline_override")) or None))
    goals = []
    gdf = ss.get(f"{prefix}goals_df")
    for g in (gdf.to_dict("records") if gdf is not None else []):
        if not any(_none(v) not in (None, "") for v in g.values()):
            continue
        due = _none(g.get("due_date"))
        goals.append(GoalInput(
            target_activity=_none(g.get("target_activity")) or "", support_needed=_none(g.get("support_needed")) or "",
            performance_quantifier=_none(g.get("performance_quantifier")) or "",
            due_date=pd.Timestamp(due).date() if due is not None else None,
            importance=int(_none(g.get("importance")) if _none(g.get("importance")) is not None else 2),
            difficulty=int(_none(g.get("difficulty")) if _none(g.get("difficulty")) is not None else 1),
            levels={k: _none(g.get(f"level_{k}")) or "" for k in (-2, -1, 0, 1, 2)},
            recommendation=int(_none(g.get("recommendation"))) if _none(g.get("recommendation")) is not None else None))
    return DecisionForm(
        **{name: ss.get(f"{prefix}{name}") or "" for name, _ in TEXTS},
        pathway_step=ss.get(f"{prefix}pathway_step") or "", flag_responses=flag_responses,
        discussed_with_patient=ss.get(f"{prefix}discussed") or None, patient_view=ss.get(f"{prefix}patient_view"),
        primary_outcome=ss.get(f"{prefix}primary_outcome"), follow_up_date=ss.get(f"{prefix}follow_up_date"),
        recommendations=recs, goals=goals)
