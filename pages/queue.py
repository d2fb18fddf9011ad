"""Shared case queue: the cases in the user's scope, filtered, sorted and paged in SQL."""

from __future__ import annotations

import time

import streamlit as st

from hub import cases, queue_news, safety
from hub.clinical.case_review import FLAG_LABELS
from hub.users import list_practices
from hub.vocab import CASE_STATUSES, CONDITIONS
from ui import runtime
from ui.common import md_escape, open_case, remember, show_error, sticky
from ui.safety_notice import responder_notice

sf = runtime.session_factory()
actor = runtime.actor()

st.title("Case queue")
if actor.is_hub_member:
    st.caption("All cases submitted to the hub, highest priority first unless you choose another order. "
               "Priority adds points for safety alerts, flags, risk band and waiting time (weights in settings).")
else:
    st.caption("Your practice's cases, drafts included.")

notice = responder_notice(sf, actor)  # the practice's safety responder: their patients first
# "New since you last looked": the previous look is read once per visit (kept for the session, so the marks
# stay while the user works), then this look is recorded for the next visit.
if "q_seen_since" not in st.session_state:
    st.session_state["q_seen_since"] = queue_news.news(sf, actor).since
    queue_news.mark_seen(sf, actor)
news = queue_news.news(sf, actor, since=st.session_state["q_seen_since"])
parts = [f"**{news.new_count} new** since you last looked ({news.since:%d %b %H:%M})" if news.new_count
         else f"Nothing new since you last looked ({news.since:%d %b %H:%M})"]
if news.awaiting_triage is not None:
    parts.append(f"**{news.awaiting_triage}** awaiting triage")
st.markdown(" · ".join(parts))
if news.new_case_ids:
    new_cols = st.columns(5)
    for i, cid in enumerate(news.new_case_ids[:10]):
        new_cols[i % 5].page_link("pages/case.py", label=f"New: case {cid}", query_params={"case_id": cid},
                                  icon=":material/fiber_new:")

alerts = cases.open_safety_alerts(sf, actor)
# The generic banner: for everyone else, and for a responder who also sees the whole hub (chair, specialist).
if alerts and not (notice.kind == "responder" and notice.alerts and not actor.is_hub_member):
    n_alerts = cases.count_open_safety_alerts(sf, actor)
    with st.container(border=True):
        st.error(f"{n_alerts} case(s) with an open safety alert (PHQ-9 item 9): same-day clinician review, "
                 "then record the action taken on the case."
                 + (f" The first {len(alerts)} are listed; filter the queue by the flag 'Safety alert' for all."
                    if n_alerts > len(alerts) else ""))
        if notice.kind == "no_responder":  # an alert is never without an owner: say who must fix that
            st.warning(f"{safety.NO_RESPONDER}.", icon=":material/warning:")
        elif notice.responder:
            st.markdown(f"Your practice's safety responder is {md_escape(notice.responder)}.")
        for a in alerts:  # a link stays on one line: the reason beside it wraps, so it is never cut off
            link, reason = st.columns([2, 3], vertical_alignment="center")
            link.page_link("pages/case.py",
                           label=f"Case {a['case_id']} · {md_escape(a['patient'])} · {md_escape(a['practice'])}",
                           query_params={"case_id": a["case_id"]}, icon=":material/warning:")
            reason.markdown(md_escape(a["reason"]))

default_statuses = ["submitted", "triaged", "scheduled"] if actor.is_hub_member else []
# A PCP sees one practice only: no practice filter or column for them. Two rows, so that chosen statuses and
# the order's name show whole at 1280 px (tests/e2e/test_legibility.py).
top_cols = st.columns([3, 2])
filter_cols = st.columns(3 if actor.is_hub_member else 2)
# The filters are kept for the session: opening a case and coming back finds the queue as it was left.
statuses = top_cols[0].multiselect("Status", list(CASE_STATUSES), format_func=CASE_STATUSES.get,
                                   key=sticky("q_status", default_statuses))
conditions = filter_cols[0].multiselect("Condition", list(CONDITIONS), format_func=CONDITIONS.get,
                                        key=sticky("q_condition", []))
practice_ids: list[int] = []
if actor.is_hub_member:
    practices = dict(list_practices(sf))
    practice_ids = filter_cols[1].multiselect("Practice", list(practices), format_func=practices.get,
                                              key=sticky("q_practice", []))
flag_options = [k for k in FLAG_LABELS if k != "appropriate_restraint"]
flag_codes = filter_cols[-1].multiselect("Flag", flag_options, format_func=FLAG_LABELS.get,
                                         key=sticky("q_flags", []))
sort = top_cols[1].selectbox("Order", list(cases.QUEUE_SORTS), format_func=cases.QUEUE_SORTS.get,
                             key=sticky("q_sort", next(iter(cases.QUEUE_SORTS))))
remember("q_status", "q_condition", "q_practice", "q_flags", "q_sort")

filters = (tuple(statuses), tuple(conditions), tuple(practice_ids), tuple(flag_codes), sort)
if st.session_state.get("q_filters") != filters:
    st.session_state["q_filters"] = filters
    st.session_state["q_page"] = 1
    st.session_state["q_cursors"] = []
# Keyset paging: the cursor of page n (n >= 2) is the last row of page n-1, kept as the user pages forward.
page_no = st.session_state.get("q_page", 1)
cursors = st.session_state.get("q_cursors", [])
after = cursors[page_no - 2] if 1 < page_no <= len(cursors) + 1 else None

# Paging and reruns within 30 s reuse the count of the same filters (the rows are always fresh).
counted = st.session_state.get("q_count")
known_total = counted[1] if counted and counted[0] == filters and time.monotonic() - counted[2] < 30 else None
try:
    result = cases.queue(sf, actor, statuses=statuses, conditions=conditions, practice_ids=practice_ids,
                         flag_codes=flag_codes, sort=sort, page=page_no, page_size=25,
                         known_total=known_total, after=after)
    if known_total is None and result.total_exact:
        st.session_state["q_count"] = (filters, result.total, time.monotonic())
except Exception as exc:  # hub errors become messages
    show_error(exc)
    st.stop()

st.write(f"{result.total_text} · page {result.page}" + (f" of {result.pages}" if result.total_exact else ""))
if result.total == 0:
    st.info("No cases match these filters.")
    st.stop()

# What a clinician scans first: who, what condition and status, the priority with its reasons. Every column
# fits a 1280 px screen with the menu open and no text is cut off (tests/e2e/test_legibility.py): the reasons
# name the flags (no separate flags column) without their points and wrap over the four lines a row holds; the
# patient's age and "new" (submitted since the user last looked) sit with their initials.
is_new = result.rows["case_id"].isin(news.new_case_ids)
rows = result.rows.assign(
    patient=result.rows["patient"].astype(str) + ", "
    + result.rows["age"].astype("Int64").astype(str).replace("<NA>", "?") + is_new.map({True: " · new", False: ""}),
    why=result.rows["why"].astype(str).str.replace(r" [+-]\d+(?=;|$)", "", regex=True).str.replace("; ", ", "))
shown = ["case_id", "priority", "patient", "condition", "status", "why", "latest_pain"]
if actor.is_hub_member:
    shown.append("practice")
column_config = {
    "case_id": st.column_config.NumberColumn("Case", width=55, format="%d"),
    "priority": st.column_config.NumberColumn("Priority", width=68, help="Safety, flags, risk band and waiting time "
                                                                         "add up to the priority"),
    "patient": st.column_config.TextColumn("Patient", width=68, help="Initials and age; 'new': submitted since you "
                                                                     "last looked"),
    "condition": st.column_config.TextColumn("Condition", width=105),
    "status": st.column_config.TextColumn("Status", width=80),
    "why": st.column_config.TextColumn("Why this priority", width=255, help="The flags and other reasons, the "
                                                                            "weightiest first"),
    "latest_pain": st.column_config.NumberColumn("Pain", width=55, help="Latest pain score (0-10)", format="%g"),
    "practice": st.column_config.TextColumn("Practice", width=100),
}
event = st.dataframe(rows[shown], hide_index=True, width="stretch", on_select="rerun", row_height=80,
                     selection_mode="single-row", key="q_table", column_order=shown, column_config=column_config)
selected = event.selection.rows if event is not None else []
if selected:
    open_case(int(result.rows.iloc[selected[0]]["case_id"]))



def _previous() -> None:
    st.session_state["q_page"] = max(1, result.page - 1)


def _next() -> None:  # a callback: the page that follows is drawn in the same script run as the click
    st.session_state["q_cursors"] = [*cursors[:result.page - 1], result.next_after]
    st.session_state["q_page"] = result.page + 1


p1, p2, p3 = st.columns([1, 1, 4])
p1.button("◀ Previous", disabled=result.page <= 1, on_click=_previous)
p2.button("Next ▶", disabled=not result.has_next, on_click=_next)

# Accessible ways to open a case (keyboard users, screen readers, browser tests): the grid is a canvas.
with st.expander("Open a case by link", expanded=False):
    cols = st.columns(3)
    for i, r in enumerate(result.rows.itertuples()):
        cols[i % 3].page_link("pages/case.py", label=f"Case {r.case_id} · {md_escape(r.patient)}",
                              query_params={"case_id": int(r.case_id)}, help=str(r.condition))
options = {int(r.case_id): f"Case {r.case_id} · {r.patient} · {r.condition} · {r.status}"
           for r in result.rows.itertuples()}
with st.form("open_case_form"):
    chosen = st.selectbox("Open a case from this page", list(options), format_func=options.get, key="q_open")
    if st.form_submit_button("Open case"):
        open_case(chosen)
