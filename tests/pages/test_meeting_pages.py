"""AppTest for the meeting pages: agenda, preparation, meeting room (save, conflict, finalise), inbox."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from page_support import login, unescaped
from hub import decisions, inbox, meetings
from hub.auth import actor_for
from test_pages import seed_case

# A meeting of today: attendance and final decisions are refused before the meeting day.
STARTS = datetime.combine(date.today(), datetime.min.time()).replace(hour=8)


def titles(at) -> list[str]:
    return [t.value for t in at.title]


def make_meeting(hub) -> tuple[int, int, int]:
    case_id = seed_case(hub)
    mid = meetings.create_meeting(hub.sf, actor_for(hub.sf, "chair"), title="Tuesday MDT", starts_at=STARTS)
    item = meetings.meeting_view(hub.sf, actor_for(hub.sf, "chair"), mid).agenda[0].item_id
    return case_id, mid, item


def room(username: str, item: int):
    at = login(username)
    at.switch_page("pages/meeting_room.py")
    at.query_params["item"] = str(item)
    at.run()
    return at


def test_chair_creates_meeting_with_proposed_agenda(hub):
    case_id = seed_case(hub)
    at = login("chair")
    at.switch_page("pages/meetings.py").run()
    assert titles(at) == ["Hub meetings"]
    next(b for b in at.button if b.label == "Create meeting and propose agenda").click().run()
    assert not at.exception
    assert any("agenda was proposed" in s.value for s in at.success)
    assert any(f"Case {case_id}" in m.value for m in at.markdown)


def test_specialist_saves_preparation(hub):
    case_id, _, item = make_meeting(hub)
    at = login("physio")
    at.switch_page("pages/meetings.py").run()
    at.text_area(key=f"prep_text_{item}").input("Strength deficit; graded exercise is safe")
    next(b for b in at.button if b.label == "Save preparation").click().run()
    assert any("Preparation saved" in s.value for s in at.success)
    row = meetings.meeting_view(hub.sf, actor_for(hub.sf, "chair"), meetings.list_meetings(
        hub.sf, actor_for(hub.sf, "chair"))[0]["id"]).agenda[0]
    assert row.preparation["Physiotherapy"].startswith("Strength deficit")


def test_meeting_room_conflict_keeps_input_and_never_overwrites(hub):
    _, _, item = make_meeting(hub)
    chair = room("chair", item)
    physio = room("physio", item)
    assert titles(chair)[0].startswith("Meeting room")
    chair.text_area(key=f"mr{item}_formulation").input("Chair: knee OA with fear avoidance")
    chair.button(key=f"mr{item}_save").click().run()
    assert any("Discussion saved" in s.value for s in chair.success)
    physio.text_area(key=f"mr{item}_formulation").input("Physio: deconditioning")
    physio.button(key=f"mr{item}_save").click().run()
    assert any("saved this discussion" in w.value and "Chair C" in w.value for w in physio.warning)
    assert physio.text_area(key=f"mr{item}_formulation").value == "Physio: deconditioning"
    assert decisions.load(hub.sf, actor_for(hub.sf, "chair"), item).form.formulation.startswith("Chair:")
    physio.button(key=f"mr{item}_mine").click().run()
    physio.button(key=f"mr{item}_save").click().run()
    assert decisions.load(hub.sf, actor_for(hub.sf, "chair"), item).form.formulation == "Physio: deconditioning"


def test_finalise_from_meeting_room_then_pcp_acknowledges_in_inbox(hub):
    case_id, _, item = make_meeting(hub)
    chair_actor = actor_for(hub.sf, "chair")
    form = decisions.DecisionForm(
        formulation="Knee OA", pathway_step="S4_ACTIVE_NON_PHARM", answer="Exercise first",
        allergies="No known drug allergies", follow_up_date=STARTS.date() + timedelta(days=42),
        recommendations=[decisions.RecommendationInput("education", "Explain exercise safety", owner_role="pcp",
                                                       due_date=STARTS.date() + timedelta(days=7))])
    decisions.save(hub.sf, chair_actor, item, form, 0)
    at = room("chair", item)
    at.button(key=f"mr{item}_final").click().run()
    assert not at.exception
    assert any("Decision final" in s.value for s in at.success), [e.value for e in at.error]
    gp = login("pcp.a")
    gp.switch_page("pages/inbox.py").run()
    assert any("Letters to read (1)" in h.value for h in gp.header)
    ack = next(b for b in gp.button if b.label == "Acknowledge")
    assert ack.disabled  # a letter is read before it is acknowledged
    next(b for b in gp.button if b.label == "Read the letter").click().run()
    next(b for b in gp.button if b.label == "Acknowledge").click().run()
    assert any("Letter acknowledged" in s.value for s in gp.success)
    next(b for b in gp.button if b.label == "Mark done").click().run()
    assert any("Action completed" in s.value for s in gp.success)
    box = inbox.inbox(hub.sf, actor_for(hub.sf, "pcp.a"))
    assert box.letters[0].status == "acknowledged" and len(box.done) == 1
    # the case page shows the acknowledged letter (with its date) and the PDF and FHIR downloads
    gp.switch_page("pages/case.py")
    gp.query_params["case_id"] = str(case_id)
    gp.run()
    assert not gp.exception, gp.exception
    assert any("Outcome letter of" in e.label and "acknowledged" in e.label for e in gp.expander)
    labels = [b.proto.label for b in gp.get("download_button")]
    assert {"Download letter (PDF)", "Download patient version (PDF)", "Download FHIR R4 Bundle (JSON)"} <= set(labels)


def test_inbox_and_case_page_show_letter_and_action_rows(hub):
    """The inbox rows name the case and patient; reading a letter marks it opened; the case page lists the
    actions with the same columns as before the read models were typed (issue 8)."""
    case_id, _, item = make_meeting(hub)
    chair_actor = actor_for(hub.sf, "chair")
    due = STARTS.date() + timedelta(days=3)
    form = decisions.DecisionForm(
        formulation="Knee OA", pathway_step="S4_ACTIVE_NON_PHARM", answer="Exercise first",
        allergies="No known drug allergies", follow_up_date=STARTS.date() + timedelta(days=42),
        recommendations=[decisions.RecommendationInput("education", "Explain exercise safety", owner_role="pcp",
                                                       due_date=due)])
    decisions.finalise(hub.sf, chair_actor, item, decisions.save(hub.sf, chair_actor, item, form, 0))
    gp = login("pcp.a")
    gp.switch_page("pages/inbox.py").run()
    assert not gp.exception, gp.exception
    texts = [m.value for m in gp.markdown]
    assert any(t.startswith(f"**Case {case_id} · Ann Lee** · sent ") and t.endswith(" · **not opened yet**")
               for t in texts), texts
    assert f"**Case {case_id} · Ann Lee** · due {due:%d %b %Y} · Explain exercise safety" in texts
    assert [s.value for s in gp.subheader] == ["Overdue (0)", "Due this week (1)", "Later (0)"]
    next(b for b in gp.button if b.label == "Read the letter").click().run()
    texts = [m.value for m in gp.markdown]
    assert any(t.startswith("# Pain hub outcome letter") for t in texts)
    assert not any("not opened yet" in t for t in texts)
    gp.switch_page("pages/case.py")
    gp.query_params["case_id"] = str(case_id)
    gp.run()
    assert not gp.exception, gp.exception
    table = next(d.value for d in gp.dataframe if "description" in d.value.columns)
    assert list(table.columns) == ["description", "owner", "due_date", "status", "overdue", "note"]
    assert table.iloc[0].tolist()[:5] == ["Explain exercise safety", "Dr A", due, "open", False]


def test_finalise_with_missing_fields_shows_errors_and_stays_draft(hub):
    _, _, item = make_meeting(hub)
    at = room("chair", item)
    at.text_area(key=f"mr{item}_formulation").input("Only a formulation")
    at.button(key=f"mr{item}_final").click().run()
    assert any("Nothing was saved" in e.value or "record the" in e.value for e in at.error)
    state = decisions.load(hub.sf, actor_for(hub.sf, "chair"), item)
    assert state.status == "draft"
    assert at.text_area(key=f"mr{item}_formulation").value == "Only a formulation"


def test_new_meeting_is_the_one_shown_after_creation(hub):
    make_meeting(hub)  # an earlier meeting exists
    at = login("chair")
    at.switch_page("pages/meetings.py").run()
    at.text_input(key="nm_title").input("Friday extra MDT")
    next(b for b in at.button if b.label == "Create meeting and propose agenda").click().run()
    box = next(b for b in at.selectbox if b.label == "Meeting")
    assert "Friday extra MDT" in box.format_func(box.value)
    assert at.query_params["meeting"] == str(box.value)  # the address names the meeting shown
    assert any("agenda was proposed" in s.value for s in at.success)


def test_meeting_is_chosen_by_the_address_and_the_choice_updates_it(hub):
    _, first, _ = make_meeting(hub)
    second = meetings.create_meeting(hub.sf, actor_for(hub.sf, "chair"), title="Second MDT", starts_at=STARTS)
    at = login("chair")
    at.switch_page("pages/meetings.py")
    at.query_params["meeting"] = str(first)
    at.run()
    box = next(b for b in at.selectbox if b.label == "Meeting")
    assert box.value == first
    box.select(second).run()
    box = next(b for b in at.selectbox if b.label == "Meeting")
    assert box.value == second and at.query_params["meeting"] == str(second)
    at.query_params["meeting"] = "99999"  # a meeting that does not exist: the first listed is shown
    at.run()
    assert next(b for b in at.selectbox if b.label == "Meeting").value in (first, second)


def test_lost_widget_state_refills_from_the_saved_decision_with_its_version(hub):
    _, _, item = make_meeting(hub)
    chair_actor = actor_for(hub.sf, "chair")
    version = decisions.save(hub.sf, chair_actor, item, decisions.DecisionForm(formulation="Saved formulation"), 0)
    at = login("chair")
    at.switch_page("pages/meeting_room.py")
    at.query_params["item"] = str(item)
    # The state after an interrupted first run: the 'loaded' flag survived, the widgets' values did not.
    at.session_state[f"mr{item}_loaded"] = version
    at.run()
    assert at.text_area(key=f"mr{item}_formulation").value == "Saved formulation"
    at.button(key=f"mr{item}_save").click().run()
    assert decisions.load(hub.sf, chair_actor, item).form.formulation == "Saved formulation"


def test_meeting_room_moves_through_the_agenda_one_case_at_a_time(hub):
    first_case = seed_case(hub)
    second_case = seed_case(hub, nhs="9434765927")
    mid = meetings.create_meeting(hub.sf, actor_for(hub.sf, "chair"), title="Tuesday MDT", starts_at=STARTS)
    agenda = meetings.meeting_view(hub.sf, actor_for(hub.sf, "chair"), mid).agenda
    assert {r.case_id for r in agenda} == {first_case, second_case}
    first, second = agenda[0], agenda[1]

    def links(at) -> dict[str, dict]:
        return {link.proto.label: dict(p.split("=") for p in link.proto.query_string.split("&") if p)
                for link in at.get("page_link")}

    at = room("chair", first.item_id)
    shown = links(at)
    assert shown["Agenda (case 1 of 2)"] == {"meeting": str(mid)}
    assert shown[f"Next: {second.case_label}"] == {"item": str(second.item_id)}
    assert not any(label.startswith("Previous") for label in shown)
    at = room("chair", second.item_id)
    shown = links(at)
    assert shown["Agenda (case 2 of 2)"] == {"meeting": str(mid)}
    assert shown[f"Previous: {first.case_label}"] == {"item": str(first.item_id)}
    assert not any(label.startswith("Next") for label in shown)


# ----------------------------------------------------------------------------- the room for a 10-minute slot


def _flat(node):
    """Every element under a block, in page order."""
    children = getattr(node, "children", None)
    if not children:
        return [node]
    return [el for key in sorted(children) for el in _flat(children[key])]


def _rec(kind, text, drug=None, owner="pcp", days=14):
    from dataclasses import asdict

    return asdict(decisions.RecommendationInput(kind, text, drug, owner, None, STARTS.date() + timedelta(days=days)))


def test_refused_recommendation_is_marked_beside_it_and_summarised_at_the_top(hub):
    _, _, item = make_meeting(hub)
    at = room("chair", item)
    at.session_state[f"mr{item}_recs"] = [_rec("education", "Explain pacing"),
                                          _rec("start_medicine", "Start morphine", drug="morphine")]
    at.run()
    at.button(key=f"mr{item}_save").click().run()
    assert not at.exception
    refusal = [e.value for e in at.error if "Recommendation 2: NG226" in unescaped(e.value)]
    # once in the summary at the top (a link to the item) and once beside the item itself
    assert len(refusal) == 2, [e.value for e in at.error]
    summary = next(v for v in refusal if v.startswith("**Nothing was saved"))
    assert "(#err-recommendations-2)" in summary
    beside = next(v for v in refusal if v is not summary)
    assert unescaped(beside).startswith("Recommendation 2: NG226")
    # the error beside sits in recommendation 2's own box, after its line and before the next section
    values = [getattr(el, "value", None) for el in _flat(at.main)]
    line = next(i for i, v in enumerate(values) if isinstance(v, str) and v.startswith("**2. Start a medicine"))
    assert values.index(beside, line) > line
    assert decisions.load(hub.sf, actor_for(hub.sf, "chair"), item).version == 0  # nothing was saved
    assert len(at.session_state[f"mr{item}_recs"]) == 2  # the input is still on screen


def test_refused_goal_is_marked_beside_it(hub):
    from dataclasses import asdict

    _, _, item = make_meeting(hub)
    at = room("chair", item)
    at.session_state[f"mr{item}_goals"] = [asdict(decisions.GoalInput(
        "Walk", "", "", STARTS.date() + timedelta(days=60), levels={k: "x" for k in (-2, -1, 0, 1, 2)}))]
    at.run()
    at.button(key=f"mr{item}_save").click().run()
    goal_errors = [e.value for e in at.error if "Goal 1 is not SMART" in e.value]
    assert len(goal_errors) == 2 and any("(#err-goals-1)" in v for v in goal_errors)


def test_template_adds_a_recommendation_with_owner_due_date_and_review_in_one_click(hub):
    _, _, item = make_meeting(hub)
    at = room("chair", item)
    at.button(key=f"mr{item}_tpl_exercise_programme").click().run()
    recs = at.session_state[f"mr{item}_recs"]
    assert [(r["kind"], r["owner_role"], r["due_date"], r["for_patient"]) for r in recs] == \
        [("exercise_programme", "physiotherapy", STARTS.date() + timedelta(weeks=6), True)]
    assert at.date_input(key=f"mr{item}_follow_up_date").value == STARTS.date() + timedelta(weeks=12)
    assert any("1. Exercise programme · Physiotherapy" in m.value for m in at.markdown)


def test_add_recommendation_form_stores_the_code_of_the_chosen_label(hub):
    _, _, item = make_meeting(hub)
    at = room("chair", item)
    kind = at.selectbox(key=f"mr{item}_nr_kind")
    assert kind.format_func("taper_medicine") == "Taper a medicine"  # labels, not codes
    kind.select("taper_medicine")
    at.selectbox(key=f"mr{item}_nr_owner").select("pharmacy")
    at.text_area(key=f"mr{item}_nr_text").input("Taper codeine by 15 mg a week")
    at.text_input(key=f"mr{item}_nr_drug").input("codeine")
    next(b for b in at.button if b.label == "Add recommendation").click().run()
    at.button(key=f"mr{item}_save").click().run()
    assert any("Discussion saved" in s.value for s in at.success), [e.value for e in at.error]
    saved = decisions.load(hub.sf, actor_for(hub.sf, "chair"), item).form.recommendations
    assert [(r.kind, r.owner_role, r.drug) for r in saved] == [("taper_medicine", "pharmacy", "codeine")]


def test_add_recommendation_without_a_type_keeps_the_input_and_says_what_to_fix(hub):
    _, _, item = make_meeting(hub)
    at = room("chair", item)
    at.text_area(key=f"mr{item}_nr_text").input("Something")
    next(b for b in at.button if b.label == "Add recommendation").click().run()
    assert any("choose the type" in e.value for e in at.error)
    assert at.text_area(key=f"mr{item}_nr_text").value == "Something"
    assert at.session_state[f"mr{item}_recs"] == []


def test_restraint_reason_is_asked_only_when_restraint_is_chosen(hub, monkeypatch):
    from sqlalchemy import delete

    from db.models import CaseFlag
    from hub import flags

    monkeypatch.setattr(flags, "refresh_if_stale", lambda sf: False)  # keep the flag set here
    case_id, _, item = make_meeting(hub)
    with hub.sf.begin() as s:
        s.execute(delete(CaseFlag).where(CaseFlag.case_id == case_id))
        s.add(CaseFlag(case_id=case_id, code="inertia", severity="amber", reason="no change at 2 reviews"))
    at = room("chair", item)
    assert not [s for s in at.selectbox if s.label == "Reason for restraint"]
    at.radio(key=f"mr{item}_flag_inertia").set_value("restraint").run()
    assert [s.label for s in at.selectbox if s.label == "Reason for restraint"]


def test_attendee_room_follows_the_case_the_chair_opened(hub):
    first_case = seed_case(hub)
    seed_case(hub, nhs="9434765927")
    mid = meetings.create_meeting(hub.sf, actor_for(hub.sf, "chair"), title="Tuesday MDT", starts_at=STARTS)
    agenda = meetings.meeting_view(hub.sf, actor_for(hub.sf, "chair"), mid).agenda
    physio = room("physio", agenda[0].item_id)
    assert physio.query_params["item"] == str(agenda[0].item_id)
    room("chair", agenda[1].item_id)  # the chair opens the second case
    live = meetings.live_item(hub.sf, actor_for(hub.sf, "physio"), mid)
    assert live.item_id == agenda[1].item_id
    physio.run()  # what the fragment's timer does in the browser
    assert titles(physio)[0] == f"Meeting room · {agenda[1].case_label}"
    assert first_case


def test_meetings_page_warns_when_overbooked_and_collapses_preparation_per_meeting(hub):
    seed_case(hub)
    seed_case(hub, nhs="9434765927")
    mid = meetings.create_meeting(hub.sf, actor_for(hub.sf, "chair"), title="Short MDT", starts_at=STARTS,
                                  duration_minutes=10, minutes_per_case=10)
    view = meetings.meeting_view(hub.sf, actor_for(hub.sf, "chair"), mid)
    extra = next(c for c in (1, 2) if c not in {r.case_id for r in view.agenda})
    meetings.add_case(hub.sf, actor_for(hub.sf, "chair"), mid, extra)
    at = login("chair")
    at.switch_page("pages/meetings.py").run()
    assert any("Overbooked: 2 cases need 20 minutes in a 10-minute meeting" in w.value for w in at.warning)
    physio = login("physio")
    physio.switch_page("pages/meetings.py").run()
    prep = [e for e in physio.expander if unescaped(e.label).startswith("Short MDT (")]  # the title is escaped
    assert len(prep) == 1 and unescaped(prep[0].label).endswith("2 case(s) · 0 prepared by you")
    assert not prep[0].proto.expanded
