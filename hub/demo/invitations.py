"""Demo questionnaire invitations in every state, written through hub.invitations: completed (with the patient's
words, one before an upcoming meeting), open and partly answered, open and untouched, expired, revoked; the
finalised demo decisions have already scheduled their follow-up invitations. Synthetic patients only."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from db.models import AgendaItem, Case, Invitation, Meeting, Practice, utcnow
from hub import invitations
from hub.auth import actor_for
from db.engine import SessionFactory

WORDS = [
    ("Being able to look after my grandchildren two days a week.",
     "Walk to the park and back with the dog without stopping.",
     "Is it safe to keep exercising when my knee hurts?\nCould I come off the tramadol?"),
    ("Getting back to work full time in the warehouse.",
     "Lift a box of 10 kg again and sleep through the night.",
     "Will the pain ever go away?\nWhat can I do on bad days?"),
    ("Gardening and seeing my friends at the allotment.",
     "Kneel in the garden for 20 minutes.",
     "Would an injection help?"),
]


def _answer(sf: SessionFactory, token: str, when, words: tuple[str, str, str] | None,
            rng: random.Random, upto: int | None = None, item9: int = 0) -> None:
    view = invitations.open_link(sf, token, "demo", now=when)
    if view is None:
        raise RuntimeError("a demo invitation link did not open")
    for i, step in enumerate(view.steps[:upto] if upto is not None else view.steps):
        value: str | int
        if step.kind == "text":
            value = {"what_matters": words[0], "goals": words[1], "questions": words[2]}[step.key] if words else ""
        elif step.key == "PHQ9_Q9":
            value = item9
        elif step.instrument == "nrs":
            value = rng.randint(4, 8)
        else:
            value = rng.choice([c for c, _ in step.options][:3])
        invitations.save_answer(sf, token, step.key, value, position=i + 1, now=when)


def seed_demo_invitations(sf: SessionFactory, seed: int = 13) -> dict[str, int]:
    """Invitations in every state for cases of each demo practice; returns how many of each were made."""
    rng = random.Random(seed)
    now = utcnow()
    made = {"completed": 0, "open": 0, "expired": 0, "revoked": 0}
    with sf() as s:
        upcoming = set(s.scalars(select(AgendaItem.case_id).join(Meeting, Meeting.id == AgendaItem.meeting_id)
                                 .where(Meeting.status != "finalised", Meeting.starts_at > now)))
        practices = s.execute(select(Practice.id, Practice.code).order_by(Practice.id)).all()
        by_practice = {}
        for pid, code in practices:
            by_practice[code] = s.scalars(select(Case.id).where(Case.practice_id == pid, Case.status.in_(
                ("submitted", "triaged", "scheduled"))).order_by(Case.id).limit(12)).all()
    users = {"NORTH": "gp.north", "RIVER": "gp.river", "HILL": "gp.hill"}
    chair = actor_for(sf, "chair")
    for n, (code, case_ids) in enumerate(by_practice.items()):
        gp = actor_for(sf, users.get(code, ""))
        if gp is None or len(case_ids) < 5:
            continue
        ids = list(case_ids)
        # Completed a few days ago, with the patient's words; on an upcoming agenda when there is one.
        pre = next((c for c in ids if c in upcoming), None)
        if pre is not None and chair is not None:
            ids.remove(pre)
            sent = now - timedelta(days=6 + n)
            link = invitations.create(sf, chair, pre, invitations.default_items("pre_meeting"), "pre_meeting", now=sent)
            _answer(sf, link.token, sent + timedelta(hours=5 + n), WORDS[n % 3], rng)
            invitations.submit(sf, link.token, now=sent + timedelta(hours=5 + n))
            made["completed"] += 1
        c = ids.pop(0)
        sent = now - timedelta(days=20 + n)
        link = invitations.create(sf, gp, c, invitations.default_items("baseline"), "baseline", now=sent)
        _answer(sf, link.token, sent + timedelta(days=1, hours=n), WORDS[(n + 1) % 3], rng)
        invitations.submit(sf, link.token, now=sent + timedelta(days=1, hours=n))
        made["completed"] += 1
        # Open, half answered (the patient stopped part way: reopening the link resumes there).
        c = ids.pop(0)
        sent = now - timedelta(days=2)
        link = invitations.create(sf, gp, c, invitations.default_items("baseline"), "baseline", now=sent)
        _answer(sf, link.token, sent + timedelta(hours=3), None, rng, upto=5)
        made["open"] += 1
        if n == 0 and len(ids) > 3:
            # Completed this morning with PHQ-9 item 9 above 0: the case's safety alert names the patient-completed
            # form and its time, and the practice's safety responder sees it at the top of the queue.
            c = ids.pop(0)
            sent = now - timedelta(hours=5)
            link = invitations.create(sf, gp, c, invitations.default_items("baseline"), "baseline", now=sent)
            _answer(sf, link.token, sent + timedelta(hours=3), WORDS[2], rng, item9=1)
            invitations.submit(sf, link.token, now=sent + timedelta(hours=3))
            made["completed"] += 1
        # Open, not opened yet.
        invitations.create(sf, gp, ids.pop(0), invitations.default_items("baseline"), "baseline",
                           now=now - timedelta(days=1))
        made["open"] += 1
        # Expired without being completed (counts towards 'PROMs not returned').
        invitations.create(sf, gp, ids.pop(0), ["nrs", "phq9", "gad7"], "baseline", now=now - timedelta(days=40))
        made["expired"] += 1
        # Revoked (e.g. sent to the wrong number).
        link = invitations.create(sf, gp, ids.pop(0), ["nrs", "what_matters"], "baseline", now=now - timedelta(days=9))
        invitations.revoke(sf, gp, link.invitation_id, now=now - timedelta(days=8))
        made["revoked"] += 1
    from hub import flags

    with sf.begin() as s:  # expired links count as questionnaires not returned
        flags.recompute_cases(s, s.scalars(select(Invitation.case_id)).all())
    with sf() as s:
        made["scheduled"] = len(s.scalars(select(Invitation.id).where(Invitation.status == "scheduled")).all())
    return made
