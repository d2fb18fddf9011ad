"""Demo hub meetings on top of the demo cohort: two past finalised MDTs with structured decisions, actions
and outcome letters, their follow-through (actions done, letters acknowledged), and an upcoming meeting with
discipline preparation.

Everything is written through the hub services (hub.meetings, hub.decisions, hub.cases) acting as the demo
users, so audit events, validation, actions and letters are the real ones. Texts are deterministic for a
given seed and day. The demo's 'returned' and 'closed' cases (already discussed in the demo's story) are
re-listed by the chair (returned/closed -> submitted, the workflow's re-listing transition) so that they
can join a past agenda, keeping their original submission time (see _relist_for_history); after their
decision the 'closed' ones are closed again.

The services stamp finalisation, letters, completions and acknowledgements with the current time, and
recompute flags for the real date: seed with `today` = the real date for a consistent demo.

The parts: hub.demo.case_info (what a case holds, read back from the cohort) and hub.demo.decision_texts
(the structured decision of one case); this module seeds the meetings and backdates their history.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from db.models import Action, AgendaItem, Case, Letter, Meeting, Recommendation
from hub import audit, decisions, inbox, meetings
from hub import cases as hub_cases
from hub import settings as hub_settings
from hub.access import Actor
from hub.auth import actor_for
from hub.demo.case_info import CaseInfo, load_case_info, question_patterns
from hub.demo.decision_texts import EXERCISE, build_form
from hub.demo.people import DEMO_USERS
from db.engine import SessionFactory

VIDEO_LINK = "https://meet.demo.invalid/msk-pain-hub"
MEETING_HOUR = 13
MINUTES_PER_CASE = 8
PAST_WEEKS = (5, 3)
UPCOMING_DAYS = 3
UNDISCUSSED_PER_MEETING = 2
MAX_OVERDUE_DAYS = 10
CLOSED_DONE_SHARE = 0.8
RETURNED_DONE_SHARE = 0.35
DEFAULT_RELIST_OVERDUE_DAYS = 14
QUORUM_OVERRIDE = ("Psychologist on annual leave; she reviewed the agenda in writing beforehand and the cases with "
                   "psychosocial flags were checked with her by email before the letters went out.")

# ----------------------------------------------------------------------------- preparation and follow-through


def _physio_note(c: CaseInfo) -> str:
    names = []
    for n in reversed(c.tried):
        short = n.split(":")[-1].split("(")[0].strip().lower()
        if short and short not in names:
            names.append(short)
    tried = ", ".join(names[:3]) or "no supervised exercise"
    return (f"Tried so far: {tried}. Suggest {EXERCISE[c.condition][0].lower()}{EXERCISE[c.condition][1:]}, "
            f"starting from what {c.pron} can do now and building 10% a week; "
            + ("address fear of damage first." if c.risk_band in ("medium", "high") else "good candidate for a group."))


def _psych_note(c: CaseInfo) -> str:
    concern = f" Concern in the referral: \"{c.concerns_text.strip()}\"" if c.concerns_text.strip() else ""
    mood = f" PHQ-9 {c.phq9:g}." if c.phq9 is not None else ""
    band = c.risk_band or "unknown"
    return (f"STarT risk {band}.{mood}{concern} Suggest a brief psychology assessment"
            + (" and the ACT group; screen for low mood at the next review." if band == "high" or (c.phq9 or 0) >= 10
               else "; a one-off session on pacing may be enough."))


_COMPLETION_NOTES = {
    "taper_medicine": "First reduction made and the next step booked; written plan given to the patient.",
    "stop_medicine": "Stopped with the patient's agreement; no withdrawal symptoms at the telephone check.",
    "start_medicine": "Prescribed, with advice on how to use it and when to stop.",
    "continue_medicine": "Reviewed and continued.",
    "exercise_programme": "Assessed; programme started and first session attended.",
    "psychological_therapy": "Triage call done; booked onto the next group.",
    "refer": "Done; appointment booked and the plan shared with the practice.",
    "investigation": "Requested and reported; no change to the plan.",
    "education": "Discussed at the GP review; written plan given.",
    "social_prescribing": "Referred; the link worker has made first contact.",
    "other": "Done and recorded at the GP review.",
}


def _relist_for_history(session_factory: SessionFactory, chair: Actor, case_id: int) -> None:
    """Re-list a returned or closed demo case so it can join a past agenda, keeping its referral date.

    The chair's re-listing (hub.cases.change_status, returned/closed -> submitted) stamps submitted_at with
    the current time, as for a genuine re-listing. Here the case is only re-listed to record the discussion
    it already had in the demo story, so its original submission time is put back (audited): otherwise the
    baseline of its outcome measures, its flags and its waiting time would all move to today.
    """
    with session_factory() as s:
        original = s.get_one(Case, case_id).submitted_at
    hub_cases.change_status(session_factory, chair, case_id, "submitted")
    with session_factory.begin() as s:
        case = s.get_one(Case, case_id)
        if case.submitted_at != original:
            audit.record(s, chair, "demo.relist_keep_submission_date", "case", case.id,
                         {"submitted_at": [case.submitted_at, original]})
            case.submitted_at = original


def _actors(session_factory: SessionFactory) -> dict[str, Actor]:
    out = {}
    for u in DEMO_USERS:
        a = actor_for(session_factory, u["username"])
        if a is not None:
            out[u["username"]] = a
    missing = [n for n in ("chair", "dr.pain", "physio", "psych", "pharm") if n not in out]
    if missing:
        raise RuntimeError(f"Demo meetings need the demo users (missing: {', '.join(missing)}); seed the demo first.")
    return out


def _meeting_start(day: date) -> datetime:
    return datetime.combine(day, time(MEETING_HOUR, 0))


def _past_meeting_days(today: date) -> tuple[date, date]:
    """Wednesdays about 5 and 3 weeks before today."""
    first = today - timedelta(weeks=PAST_WEEKS[0])
    first -= timedelta(days=(first.weekday() - 2) % 7)
    return first, first + timedelta(weeks=PAST_WEEKS[0] - PAST_WEEKS[1])


# ----------------------------------------------------------------------------- the public entry point


def seed_demo_meetings(session_factory: SessionFactory, *, today: date | None = None, seed: int = 2026) -> dict:
    """Create two past finalised meetings (decisions, actions, letters, follow-through) and one upcoming
    meeting with preparation on a freshly seeded demo database, through the services; returns counts."""
    today = today or date.today()
    with session_factory() as s:
        if s.scalar(select(func.count()).select_from(Meeting)):
            raise RuntimeError("The database already holds meetings: demo meetings are seeded once, on a fresh demo.")
    actors = _actors(session_factory)
    chair = actors["chair"]
    patterns = question_patterns()
    m1_day, m2_day = _past_meeting_days(today)
    with session_factory() as s:
        overdue_days = int(hub_settings.load(s).get("relist.action_overdue_days", DEFAULT_RELIST_OVERDUE_DAYS))
    # Open actions of the past meetings end up at most this many days overdue today (less than the
    # follow-through rule's threshold, so no case is re-listed straight away).
    earliest_due = today - timedelta(days=max(0, min(MAX_OVERDUE_DAYS, overdue_days - 4)))
    m1_start, m2_start = _meeting_start(m1_day), _meeting_start(m2_day)

    # The cases of the demo story that were discussed (returned, closed) and the waiting ones scheduled
    # but on no agenda (candidates to be left undiscussed and carried forward).
    with session_factory() as s:
        done = s.execute(select(Case.id, Case.status, Case.submitted_at).where(Case.status.in_(("returned", "closed")))
                         .order_by(Case.submitted_at, Case.id)).all()
        on_agenda = set(s.scalars(select(AgendaItem.case_id)))
        waiting = [r.id for r in s.execute(
            select(Case.id, Case.status).where(Case.status.in_(("scheduled", "triaged", "submitted")))
            .order_by((Case.status == "scheduled").desc(), Case.submitted_at, Case.id)) if r.id not in on_agenda]
        submitted_on = {r.id: r.submitted_at for r in done}
        waiting_submitted = dict(s.execute(select(Case.id, Case.submitted_at).where(Case.id.in_(waiting))).all())
    closed_ids = {r.id for r in done if r.status == "closed"}
    discussed_pool = [r.id for r in done]
    eligible_m1 = [cid for cid in discussed_pool if submitted_on[cid] < m1_start - timedelta(days=1)]
    m1_cases = eligible_m1[: (len(discussed_pool) + 1) // 2]
    m2_cases = [cid for cid in discussed_pool if cid not in m1_cases]
    # Cases left undiscussed: waiting cases submitted before the meeting (fallback: any waiting case).
    undiscussed: dict[int, list[int]] = {}
    pool = list(waiting)
    for key, start in ((1, m1_start), (2, m2_start)):
        cutoff = start - timedelta(days=1)
        before = [cid for cid in pool if (sub := waiting_submitted[cid]) is not None and sub < cutoff]
        pick = (before + [cid for cid in pool if cid not in before])[:UNDISCUSSED_PER_MEETING]
        undiscussed[key] = pick
        pool = [cid for cid in pool if cid not in pick]

    counts: dict[str, Any] = {
        "meetings": 0, "finalised_meetings": 0, "upcoming_meetings": 0, "relisted_cases": 0, "decisions": 0,
        "recommendations": 0, "goals": 0, "actions": 0, "actions_done": 0, "actions_overdue": 0, "letters": 0,
        "letters_acknowledged": 0, "carried_forward": 0, "preparation_notes": 0, "closed_again": 0}
    decided: list[int] = []

    def title(day: date) -> str:
        return f"MSK pain hub MDT, {day.day} {day:%B %Y}"

    def relist_and_add(meeting_id: int, case_id: int) -> None:
        with session_factory() as s:
            status = s.get_one(Case, case_id).status
        if status in ("returned", "closed"):
            _relist_for_history(session_factory, chair, case_id)
            counts["relisted_cases"] += 1
        meetings.add_case(session_factory, chair, meeting_id, case_id)

    def discuss(meeting_id: int, day: date, writers: list[Actor], skip: set[int]) -> None:
        with session_factory() as s:
            items = s.execute(select(AgendaItem.id, AgendaItem.case_id).where(AgendaItem.meeting_id == meeting_id)
                              .order_by(AgendaItem.position)).all()
        for n, (item_id, case_id) in enumerate(items):
            if case_id in skip:
                continue
            info = load_case_info(session_factory, case_id, patterns)
            form = build_form(info, day, seed, earliest_due)
            version = decisions.save(session_factory, writers[n % len(writers)], item_id, form, 0)
            decisions.finalise(session_factory, chair, item_id, version, finalise_day=day)
            decided.append(case_id)
            counts["decisions"] += 1
            counts["recommendations"] += len(form.recommendations)
            counts["goals"] += len(form.goals)

    # Meeting 1 (about 5 weeks ago): all disciplines present.
    m1 = meetings.create_meeting(session_factory, chair, title=title(m1_day), starts_at=m1_start,
                                 video_link=VIDEO_LINK, minutes_per_case=MINUTES_PER_CASE, duration_minutes=120,
                                 propose=False)
    for cid in m1_cases:
        relist_and_add(m1, cid)
    for cid in undiscussed[1]:
        meetings.add_case(session_factory, chair, m1, cid)
    meetings.set_attendance(session_factory, chair, m1, [
        (actors["chair"].user_id, "pain_medicine"), (actors["dr.pain"].user_id, "pain_medicine"),
        (actors["physio"].user_id, "physiotherapy"), (actors["psych"].user_id, "psychology"),
        (actors["pharm"].user_id, "pharmacy")]
        + ([(actors["rheum"].user_id, "rheumatology")] if "rheum" in actors else [])
        + ([(actors["gp.north"].user_id, "general_practice")] if "gp.north" in actors else []))
    meetings.start_meeting(session_factory, chair, m1)
    discuss(m1, m1_day, [chair, actors["dr.pain"]], set(undiscussed[1]))
    # Meeting 2 exists (planned) before meeting 1 closes, so its undiscussed cases are carried to it first.
    m2 = meetings.create_meeting(session_factory, chair, title=title(m2_day), starts_at=m2_start,
                                 video_link=VIDEO_LINK, minutes_per_case=MINUTES_PER_CASE, duration_minutes=120,
                                 propose=False)
    meetings.finalise_meeting(session_factory, chair, m1)
    for cid in m2_cases:
        relist_and_add(m2, cid)
    for cid in undiscussed[2]:
        meetings.add_case(session_factory, chair, m2, cid)
    # Meeting 2 (about 3 weeks ago): psychology absent, finalised with a recorded reason.
    q2 = meetings.set_attendance(session_factory, chair, m2, [
        (actors["chair"].user_id, "pain_medicine"), (actors["dr.pain"].user_id, "pain_medicine"),
        (actors["physio"].user_id, "physiotherapy"), (actors["pharm"].user_id, "pharmacy")]
        + ([(actors["gp.river"].user_id, "general_practice")] if "gp.river" in actors else []))
    meetings.start_meeting(session_factory, chair, m2)
    discuss(m2, m2_day, [chair, actors["dr.pain"]], set(undiscussed[2]))
    meetings.finalise_meeting(session_factory, chair, m2, override_reason=None if q2.met else QUORUM_OVERRIDE)
    # Cases closed in the demo story are closed again once their decision is out (unless the
    # follow-through rules already sent one back to the queue).
    with session_factory() as s:
        status_now = dict(s.execute(select(Case.id, Case.status).where(Case.id.in_(decided))).all())
    for cid in decided:
        if cid in closed_ids and status_now[cid] == "returned":
            hub_cases.change_status(session_factory, chair, cid, "closed")
            counts["closed_again"] += 1

    # Follow-through: about half of the actions done by their owners, most letters acknowledged.
    _follow_through(session_factory, actors, today, seed, closed_ids, counts)

    # The upcoming meeting: carried cases first, then the queue by priority; preparation by two disciplines.
    up = meetings.create_meeting(session_factory, chair, title=title(today + timedelta(days=UPCOMING_DAYS)),
                                 starts_at=_meeting_start(today + timedelta(days=UPCOMING_DAYS)),
                                 video_link=VIDEO_LINK, minutes_per_case=10, duration_minutes=90)
    with session_factory() as s:
        up_items = s.execute(select(AgendaItem.id, AgendaItem.case_id).where(AgendaItem.meeting_id == up)
                             .order_by(AgendaItem.position)).all()
    prep_rng = random.Random(seed * 7 + 3)
    physio_items = up_items[:3]
    psych_items = [up_items[i] for i in sorted(prep_rng.sample(range(1, min(len(up_items), 6)),
                                                               min(2, max(0, min(len(up_items), 6) - 1))))]
    for item_id, case_id in physio_items:
        meetings.save_preparation(session_factory, actors["physio"], item_id,
                                  _physio_note(load_case_info(session_factory, case_id, patterns)))
        counts["preparation_notes"] += 1
    for item_id, case_id in psych_items:
        meetings.save_preparation(session_factory, actors["psych"], item_id,
                                  _psych_note(load_case_info(session_factory, case_id, patterns)))
        counts["preparation_notes"] += 1

    _backdate_history(session_factory, seed, today)

    with session_factory() as s:
        counts["meetings"] = s.scalar(select(func.count()).select_from(Meeting))
        counts["finalised_meetings"] = s.scalar(select(func.count()).select_from(Meeting)
                                                .where(Meeting.status == "finalised"))
        counts["upcoming_meetings"] = s.scalar(select(func.count()).select_from(Meeting)
                                               .where(Meeting.status.in_(meetings.UPCOMING)))
        counts["carried_forward"] = s.scalar(select(func.count()).select_from(AgendaItem)
                                             .where(AgendaItem.status == "carried_forward"))
        counts["upcoming_agenda"] = len(up_items)
        # Cases the follow-through rules sent back to the queue by themselves (none expected on a fresh demo).
        counts["relisted_by_follow_through"] = s.scalar(select(func.count()).select_from(Case)
                                                        .where(Case.id.in_(decided), Case.status == "submitted"))
    counts["meeting_ids"] = [m1, m2, up]
    return counts


def _follow_through(session_factory: SessionFactory, actors: dict[str, Actor], today: date, seed: int,
                    closed_ids: set[int],
                    counts: dict) -> None:
    """Complete about half of the actions as their owners and acknowledge most letters as the PCPs."""
    rng = random.Random(seed * 13 + 5)
    by_user = {a.user_id: a for a in actors.values()}
    by_discipline = {a.discipline: a for name, a in actors.items()
                     if a.discipline and "chair" not in a.roles and name != "dr.pain"}
    pcp_of_practice = {a.practice_id: a for a in actors.values() if a.has("pcp") and a.practice_id is not None}
    with session_factory() as s:
        acts = s.execute(select(Action.id, Action.case_id, Action.owner_user_id, Action.owner_role, Action.due_date,
                                Action.recommendation_id).order_by(Action.id)).all()
        rec_kind = dict(s.execute(select(Recommendation.id, Recommendation.kind)).all())
        letters = s.execute(select(Letter.id, Letter.case_id, Case.practice_id).join(Case, Case.id == Letter.case_id)
                            .order_by(Letter.id)).all()
    counts["actions"] = len(acts)
    counts["letters"] = len(letters)

    def owner(a) -> Actor | None:
        if a.owner_user_id is not None:
            return by_user.get(a.owner_user_id)
        return by_discipline.get(a.owner_role)

    # Keep the first action of a few non-closed cases open and overdue, so the inbox shows some.
    keep_open: set[int] = set()
    seen_cases: set[int] = set()
    for a in acts:
        if a.case_id not in closed_ids and a.case_id not in seen_cases and a.due_date < today:
            seen_cases.add(a.case_id)
            if len(seen_cases) % 3 == 1:
                keep_open.add(a.id)
    # Closed cases have mostly been followed through; returned ones about a third: half overall.
    done = 0
    for a in acts:
        chance = CLOSED_DONE_SHARE if a.case_id in closed_ids else RETURNED_DONE_SHARE
        if rng.random() >= chance or a.id in keep_open:
            continue
        who = owner(a)
        if who is None:
            continue
        note = _COMPLETION_NOTES.get(rec_kind.get(a.recommendation_id, "other"), "Done.")
        inbox.complete_action(session_factory, who, a.id, note)
        done += 1
    counts["actions_done"] = done
    with session_factory() as s:
        counts["actions_overdue"] = s.scalar(select(func.count()).select_from(Action)
                                             .where(Action.status == "open", Action.due_date < today))

    # Every letter acknowledged except the last one or two of the most recent meeting.
    leave = {letters[-1].id} if letters else set()
    if len(letters) > 3:
        leave.add(letters[-1 - rng.randint(1, 3)].id)
    for letter_id, _, practice_id in letters:
        if letter_id in leave:
            continue
        gp = pcp_of_practice.get(practice_id)
        if gp is None:
            continue
        inbox.open_letter(session_factory, gp, letter_id)  # a letter is read before it is acknowledged
        inbox.acknowledge_letter(session_factory, gp, letter_id)
        counts["letters_acknowledged"] += 1


def _backdate_history(session_factory: SessionFactory, seed: int, today: date) -> None:
    """Give the synthetic history its own dates: decisions and letters on the meeting day, acknowledgements
    and completed actions in the days after (the services stamp 'now'; the audit trail keeps the seeding
    time, which is the truth about when these rows were written)."""
    from db.models import Action, Decision, Letter

    rng = random.Random(seed * 11 + 5)
    now = datetime.combine(today, datetime.min.time()) + timedelta(hours=8)
    with session_factory.begin() as s:
        rows = s.execute(select(Decision, Meeting.starts_at).join(AgendaItem, AgendaItem.id == Decision.agenda_item_id)
                         .join(Meeting, Meeting.id == AgendaItem.meeting_id)
                         .where(Decision.status == "final").order_by(Decision.id)).all()
        for d, starts in rows:
            decided = starts + timedelta(minutes=50 + rng.randint(0, 60))
            d.finalised_at = d.updated_at = decided
            for letter in s.scalars(select(Letter).where(Letter.decision_id == d.id)):
                letter.created_at = letter.sent_at = decided
                if letter.acknowledged_at is not None:
                    letter.acknowledged_at = min(now, decided + timedelta(days=rng.choice((0, 1, 1, 2, 3, 6)),
                                                                          hours=rng.randint(1, 7)))
            for a in s.scalars(select(Action).where(Action.decision_id == d.id)):
                a.created_at = decided
                if a.completed_at is not None:
                    span = max(1, (a.due_date - decided.date()).days + rng.choice((-3, -1, 0, 2, 5)))
                    a.completed_at = min(now, decided + timedelta(days=span, hours=rng.randint(1, 6)))
