"""Administration: users (create, edit roles, deactivate, reset password), settings, audit trail."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hub import audit, safety, settings, users
from hub.vocab import DISCIPLINES, ROLES
from ui import runtime
from hub.errors import HubError, ValidationError
from ui.common import act, act_marked, errors_at_top, field_error, leave_notice, marked_errors, show_error, \
    show_notice

sf = runtime.session_factory()
actor = runtime.actor("admin")
st.title("Users and settings")
show_notice()


practices = dict(users.list_practices(sf))
# Column widths that fit a 1280 px screen with the menu open; long names and sources wrap in taller rows instead
# of being cut off (tests/e2e/test_legibility.py).
USER_COLUMNS = {"Username": st.column_config.TextColumn(width=90), "Name": st.column_config.TextColumn(width=130),
                "Roles": st.column_config.TextColumn(width=125), "Discipline": st.column_config.TextColumn(width=110),
                "Practice": st.column_config.TextColumn(width=110), "Active": st.column_config.CheckboxColumn(width=58),
                "Locked": st.column_config.CheckboxColumn(width=62),
                "Failed logins": st.column_config.NumberColumn(width=96)}
SETTING_COLUMNS = {"group": st.column_config.TextColumn("Group", width=95),
                   "setting": st.column_config.TextColumn("Setting", width=250),
                   "value": st.column_config.NumberColumn("Value", width=60, format="%g"),
                   "default": st.column_config.NumberColumn("Default", width=62, format="%g"),
                   "minimum": st.column_config.NumberColumn("Min", width=50, format="%g"),
                   "maximum": st.column_config.NumberColumn("Max", width=50, format="%g"),
                   "source": st.column_config.TextColumn("Source", width=240)}
AUDIT_COLUMNS = {"When": st.column_config.DatetimeColumn("When", width=135, format="D MMM YYYY, HH:mm"),
                 "Who": st.column_config.TextColumn("Who", width=130),
                 "Action": st.column_config.TextColumn("Action", width=150),
                 "Record": st.column_config.TextColumn("Record", width=90),
                 "What changed": st.column_config.TextColumn("What changed", width=300)}
tab_users, tab_new, tab_settings, tab_audit = st.tabs(["Users", "New user", "Settings", "Audit trail"])

with tab_users:
    rows = users.list_users(sf, actor)
    st.dataframe(pd.DataFrame([{
        "Username": u.username, "Name": u.name, "Roles": ", ".join(u.roles),
        "Discipline": DISCIPLINES.get(u.discipline or "", ""), "Practice": u.practice or "",
        "Active": u.active, "Locked": u.locked, "Failed logins": u.failed_login_attempts} for u in rows]),
        hide_index=True, width="stretch", row_height=65, column_config=USER_COLUMNS)
    by_id = {u.id: u for u in rows}
    uid = st.selectbox("Edit user", list(by_id), format_func=lambda i: f"{by_id[i].username} ({by_id[i].name})",
                       key="adm_user")
    u = by_id[uid]
    # A refusal is marked beside its field and summarised above the form; the widgets (keyed per user) keep
    # what the admin typed.
    eu_errors = marked_errors("eu_errors", "err-eu-", owner=uid)
    with st.form(f"edit_user_{uid}"):
        name = st.text_input("Name", value=u.name, key=f"eu_name_{uid}")
        field_error(eu_errors, "name", "err-eu-")
        email = st.text_input("Email", value=u.email or "", key=f"eu_email_{uid}")
        field_error(eu_errors, "email", "err-eu-")
        roles = st.multiselect("Roles", list(ROLES), default=list(u.roles), format_func=ROLES.get,
                               key=f"eu_roles_{uid}")
        field_error(eu_errors, "roles", "err-eu-")
        discipline = st.selectbox("Discipline (specialists)", [None, *DISCIPLINES],
                                  index=([None, *DISCIPLINES].index(u.discipline)),
                                  format_func=lambda d: "—" if d is None else DISCIPLINES[d],
                                  key=f"eu_discipline_{uid}")
        field_error(eu_errors, "discipline", "err-eu-")
        practice = st.selectbox("Practice (PCPs)", [None, *practices],
                                index=[None, *practices].index(u.practice_id),
                                format_func=lambda p: "—" if p is None else practices[p], key=f"eu_practice_{uid}")
        field_error(eu_errors, "practice_id", "err-eu-")
        if st.form_submit_button("Save changes"):
            act_marked(lambda: users.update_user(sf, actor, uid, name=name, roles=roles, discipline=discipline,
                                                 practice_id=practice, email=email), f"Saved {u.username}.",
                       "eu_errors", owner=uid)
    c1, c2 = st.columns(2)
    with c1.form(f"reset_{uid}", clear_on_submit=True):
        pw = st.text_input("New password (at least 10 characters)", type="password")
        if st.form_submit_button("Reset password and unlock"):
            act(lambda: users.reset_password(sf, actor, uid, pw), f"Password reset for {u.username}.")
    with c2:
        if u.active:
            if st.button(f"Deactivate {u.username}", key=f"deact_{uid}"):
                act(lambda: users.set_active(sf, actor, uid, False), f"{u.username} deactivated.")
        elif st.button(f"Reactivate {u.username}", key=f"react_{uid}"):
            act(lambda: users.set_active(sf, actor, uid, True), f"{u.username} reactivated.")

with tab_new:
    nu_errors = st.session_state.get("nu_errors") or {}
    if nu_errors:
        errors_at_top(nu_errors, {k: f"err-{k}" for k in nu_errors})
    with st.form("new_user"):
        username = st.text_input("Username", key="nu_username")
        field_error(nu_errors, "username")
        name = st.text_input("Name", key="nu_name")
        field_error(nu_errors, "name")
        email = st.text_input("Email", key="nu_email")
        password = st.text_input("Initial password (at least 10 characters)", type="password", key="nu_password")
        field_error(nu_errors, "password")
        roles = st.multiselect("Roles", list(ROLES), format_func=ROLES.get, key="nu_roles")
        field_error(nu_errors, "roles")
        discipline = st.selectbox("Discipline (specialists)", list(DISCIPLINES), format_func=DISCIPLINES.get,
                                  index=None, key="nu_discipline")
        field_error(nu_errors, "discipline")
        practice = st.selectbox("Practice (PCPs)", list(practices), format_func=practices.get, index=None,
                                key="nu_practice")
        field_error(nu_errors, "practice_id")
        if st.form_submit_button("Create user"):
            try:
                users.create_user(sf, actor, username=username, name=name, password=password, roles=roles,
                                  email=email, discipline=discipline, practice_id=practice)
            except ValidationError as exc:
                st.session_state["nu_errors"] = exc.errors
                st.rerun()
            except HubError as exc:
                show_error(exc)
            else:
                st.session_state.pop("nu_errors", None)
                leave_notice(f"User {username} created.")
                st.rerun()

with tab_settings:
    listing = settings.listing(sf)
    st.dataframe(pd.DataFrame(listing).drop(columns=["key"]), hide_index=True, width="stretch", row_height=90,
                 height=560, column_config=SETTING_COLUMNS)
    keys = {row["key"]: row for row in listing}
    key = st.selectbox("Change a setting", list(keys), format_func=lambda k: keys[k]["setting"], key="adm_setting")
    st_errors = marked_errors("setting_errors", "err-setting-", owner=key)
    with st.form(f"setting_{key}"):
        row = keys[key]
        raw = st.text_input(f"Value ({row['minimum']:g} to {row['maximum']:g}; default {row['default']})",
                            value=str(row["value"]), key=f"setting_value_{key}")
        field_error(st_errors, key, "err-setting-")
        if st.form_submit_button("Save setting"):
            act_marked(lambda: settings.update(sf, actor, key, raw), f"Setting '{row['setting']}' saved.",
                       "setting_errors", owner=key)

with tab_audit:
    if st.button("Verify the audit trail's hash chain", key="adm_verify_audit"):
        report = audit.verify_for_admin(sf, actor)
        (st.success if report.ok else st.error)(report.message())
    events = audit.recent_events(sf, actor, limit=200)
    st.caption("The latest 200 events, newest first. "
               + ("Values are shown because you also hold a clinical role." if actor.is_clinical else
                  "For clinical records only the names of the fields that changed are shown (no clinical values "
                  "without a clinical role)."))
    st.dataframe(pd.DataFrame([{"When": e["at"], "Who": e["actor"], "Action": e["action"],
                                "Record": f"{e['entity']} {e['entity_id'] or ''}".strip(), "What changed": e["what"]}
                               for e in events]), hide_index=True, width="stretch", row_height=66, height=600,
                 column_config=AUDIT_COLUMNS)

with tab_users, st.expander("Practice ODS codes (printed on outcome letters)"):
    ods_practice = st.selectbox("Practice", list(practices), format_func=practices.get, index=None,
                                key="adm_ods_practice")
    with st.form("practice_ods"):
        ods = st.text_input("ODS code (a letter and five digits)", key="adm_ods_code")
        if st.form_submit_button("Save ODS code") and ods_practice is not None:
            act(lambda: users.set_practice_ods_code(sf, actor, ods_practice, ods), "ODS code saved.")

with tab_users, st.expander("Practice safety responders (who contacts patients with a PHQ-9 item 9 alert)"):
    st.caption("Each practice names one of its active PCPs as its safety responder: they see the practice's open "
               "safety alerts at the top of the case queue and contact the patient the same day. Without one, the "
               "practice's PCPs are told to ask you to set it.")
    responders = safety.practice_responders(sf, actor)
    st.dataframe(pd.DataFrame([{"Practice": r["practice"], "Safety responder": r["responder"] or "Not set"}
                               for r in responders]), hide_index=True, width="stretch")
    sr_practice = st.selectbox("Practice", list(practices), format_func=practices.get, index=None,
                               key="adm_sr_practice")
    if sr_practice is not None:
        choices = dict(safety.responder_choices(sf, actor, sr_practice))
        current = next((r["responder_id"] for r in responders if r["practice_id"] == sr_practice), None)
        if not choices:
            st.info("This practice has no active PCP yet: create one (New user, role PCP, this practice) first.")
        with st.form(f"practice_safety_responder_{sr_practice}"):
            options = [None, *choices]
            responder = st.selectbox("Safety responder (an active PCP of this practice)", options,
                                     index=options.index(current) if current in options else 0,
                                     format_func=lambda u: "Not set" if u is None else choices[u],
                                     key=f"adm_sr_user_{sr_practice}")
            if st.form_submit_button("Save safety responder"):
                act(lambda: safety.set_responder(sf, actor, sr_practice, responder), "Safety responder saved.")
