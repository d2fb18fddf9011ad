"""Outcome dashboard: how the hub loop runs and what it changes, in the user's scope, with CSV downloads."""

from __future__ import annotations

from datetime import date

import streamlit as st

from hub import audit_events
from hub import dashboard as dash
from hub import dashboard_charts as charts
from hub import settings
from hub.errors import HubError, ValidationError
from hub.users import list_practices
from ui import patient_invites, runtime
from ui.common import md_escape, show_error

actor = runtime.actor()
sf = runtime.session_factory()
today = date.today()

st.title("Outcome dashboard")
practices = dict(list_practices(sf))
if actor.is_hub_member:
    st.caption("All cases submitted to the hub. Each measure counts the events dated in the period.")
else:
    st.caption(f"Your practice's cases ({md_escape(practices.get(actor.practice_id, 'no practice'))}). "
               "Each measure counts the events dated in the period.")

default_start, default_end = dash.default_period(today)
c1, c2, c3 = st.columns([4, 2, 2])
practice_ids: list[int] = []
if actor.is_hub_member:
    practice_ids = c1.multiselect("Practice", list(practices), format_func=practices.get, key="db_practice",
                                  placeholder="All practices")
start = c2.date_input("From", value=default_start, max_value=today, key="db_start", format="DD/MM/YYYY")
end = c3.date_input("To", value=default_end, max_value=today, key="db_end", format="DD/MM/YYYY")

try:
    board = dash.dashboard(sf, actor, practice_ids=practice_ids, start=start, end=end, today=today)
except ValidationError as exc:  # a filter, not a form: nothing to save, just say what to change
    st.error(md_escape(" ".join(exc.errors.values())))
    st.stop()
except HubError as exc:
    show_error(exc)
    st.stop()


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}"


def _num(x: float | None, fmt: str = "{:g}") -> str:
    return "—" if x is None else fmt.format(x)


# Three and two per row: five to a row cut their labels off at 1280 px (tests/e2e/test_legibility.py).
m = [*st.columns(3), *st.columns(3)[:2]]
m[0].metric("Median days to discussion", _num(board.discussion_median_days),
            help="Calendar days from submission to the first final hub decision, for decisions in the period.")
m[0].caption(f"IQR {_num(board.discussion_q1_days)}–{_num(board.discussion_q3_days)} · n={board.discussion_n}"
             if board.discussion_n else "n=0")
m[1].metric("Letters acknowledged", _pct(board.letters_within_share),
            help="Outcome letters sent in the period and acknowledged by the end of the 2nd working day "
                 "(Mon–Fri, not bank holidays of the practice's UK nation) after sending; unacknowledged letters count "
                 "as not within.")
m[1].caption(f"{board.letters_within} of {board.letters_n} within 2 working days")
m[2].metric("Action completion", _pct(board.actions_completion_rate),
            help="Done / (open + done) for actions due in the period; overdue = open and past due today.")
m[2].caption(f"{board.actions_done} done · {board.actions_open} open, of which {board.actions_overdue} overdue")
m[3].metric("Pain change after decision", _num(board.outcome_mean_change_after, "{:+.1f}"),
            help="Mean change of the primary pain score (PEG or NRS, 0-10, lower is better) from the value "
                 "nearest the decision to the latest one.")
m[3].caption(f"before: {_num(board.outcome_mean_change_before, '{:+.1f}')} (n={board.outcome_n_before}) · "
             f"after n={board.outcome_n_after}")
m[4].metric("Cases with red/amber flags", board.flagged_cases,
            help="Current flags (today's snapshot; the period does not apply).")
m[4].caption(f"{board.safety_alerts_resolved} safety alert(s) resolved in the period")

thresholds = {row["key"]: row["value"] for row in settings.listing(sf)}
left, right = st.columns(2)
left.plotly_chart(charts.discussion_time_chart(board.discussion_by_month), width="stretch", key="db_ch_disc")
right.plotly_chart(charts.letters_ack_chart(board.letters_by_month), width="stretch", key="db_ch_letters")
left.plotly_chart(charts.actions_chart(board.actions_by_discipline), width="stretch", key="db_ch_actions")
right.plotly_chart(charts.outcome_change_chart(board.outcome_by_condition), width="stretch", key="db_ch_outcome")
left.plotly_chart(charts.flags_chart(board.flags_by_type), width="stretch", key="db_ch_flags")
right.plotly_chart(charts.ome_trend_chart(board.ome_by_month, thresholds.get("opioid.amber_ome"),
                                          thresholds.get("opioid.red_ome")), width="stretch", key="db_ch_ome")
st.caption("Flags: 'current' is today's count; 'raised' and 'resolved' count the flag history in the period "
           "(recorded whenever flags are recomputed).")

patient_invites.dashboard_section(sf, actor, practice_ids, start, end)

TABLES = {
    "discussion_by_month": "Time to discussion by month",
    "discussion_cases": "Time to discussion per case",
    "letters_by_month": "Letter acknowledgement by month",
    "letters": "Letters",
    "actions_by_discipline": "Actions by discipline",
    "actions_by_owner": "Actions by owner",
    "outcome_by_condition": "Pain score change by condition",
    "outcome_cases": "Pain score change per case",
    "flags_by_type": "Current flags by type",
    "flags_by_severity": "Current flags by severity",
    "ome_by_month": "Opioid dose (OME) by month",
}
files = dash.to_csv(board)
tables = board.tables()
st.subheader("Tables")
for name, label in TABLES.items():
    frame = tables[name]
    with st.expander(f"{label} ({len(frame)})"):
        st.dataframe(frame, hide_index=True, width="stretch")
        st.download_button(f"Download {label.lower()} (CSV)",
                           data=lambda n=name: audit_events.dashboard_download(sf, actor, n, files[f"{n}.csv"]),
                           file_name=f"hub_{name}_{board.start:%Y%m%d}_{board.end:%Y%m%d}.csv", mime="text/csv",
                           key=f"db_dl_{name}", on_click="ignore")
