"""What the demo meetings know of a demo case: its condition, medicines, latest scores, flags and the
trajectory its questions reveal, read back from the seeded cohort."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from db.models import Assessment, Case, Treatment
from hub.clinical import opioids
from hub.demo.catalogue import ome_mg_per_day
from hub.flags import FlagView, for_case
from db.engine import SessionFactory

SITE = {"knee_oa": "knee", "hip_oa": "hip", "hand_oa": "hands", "low_back_pain": "back", "sciatica": "back and leg",
         "neck_pain": "neck", "shoulder_pain": "shoulder", "tendinopathy": "tendon", "widespread_pain": "whole-body",
         "other": "joint"}

# ----------------------------------------------------------------------------- reading the cohort


@dataclass
class Med:
    drug: str
    name: str
    route: str
    dose: float | None
    patch: float | None
    ome: float


@dataclass
class CaseInfo:
    """What the demo decisions are written from (read-only snapshot of one case)."""

    id: int
    status: str
    practice_id: int
    referrer_id: int
    condition: str
    pain_class: str
    question: str
    goals_text: str
    concerns_text: str
    risk_band: str | None
    baseline_pain: float | None
    latest_pain: float | None
    latest_instrument: str | None
    primary_outcome: str | None
    ome: float
    priority: float
    submitted_at: datetime | None
    flags: tuple[FlagView, ...]
    given: str
    sex: str
    meds: list[Med] = field(default_factory=list)
    nondrug: list[str] = field(default_factory=list)
    phq9: float | None = None
    trajectory: str = "plateaued"
    response_instrument: str | None = None
    tried: list[str] = field(default_factory=list)

    @property
    def open_flags(self) -> list[FlagView]:
        return [f for f in self.flags if f.is_open]

    def has_flag(self, code: str) -> bool:
        return any(f.code == code for f in self.open_flags)

    @property
    def opioids(self) -> list[Med]:
        return sorted((m for m in self.meds if opioids.is_opioid(m.drug)), key=lambda m: (-m.ome, m.drug))

    @property
    def gabapentinoids(self) -> list[Med]:
        return [m for m in self.meds if opioids.is_gabapentinoid(m.drug)]

    @property
    def benzodiazepines(self) -> list[Med]:
        return [m for m in self.meds if opioids.is_benzodiazepine(m.drug)]

    @property
    def reduce_target(self) -> Med | None:
        """The medicine to reduce first when the patient is doing well (as the referrer asked)."""
        asked = [m for m in self.meds if m.drug and m.drug in self.question.lower()]
        oral = [m for m in self.meds if m.route != "topical"]
        first = asked or self.opioids or self.gabapentinoids or oral
        return first[0] if first else None

    @property
    def pron(self) -> str:
        return {"female": "she", "male": "he"}.get(self.sex, "they")

    @property
    def site(self) -> str:
        return SITE.get(self.condition, "joint")


def question_patterns() -> dict[str, list[re.Pattern]]:
    """Regular expressions of the demo's clinical-question templates, by trajectory."""
    from hub.demo.catalogue import QUESTIONS

    out: dict[str, list[re.Pattern]] = {}
    for trajectory, templates in QUESTIONS.items():
        pats = []
        for t in templates:
            parts = re.split(r"\{[^}]*\}", t)
            pats.append(re.compile(".*?".join(re.escape(p) for p in parts), re.DOTALL))
        out[trajectory] = pats
    return out


def _trajectory(info: CaseInfo, patterns: dict[str, list[re.Pattern]]) -> str:
    """The demo trajectory behind a case: from its question's template, else from its flags."""
    for trajectory, pats in patterns.items():
        if any(p.fullmatch(info.question or "") for p in pats):
            return trajectory
    if info.ome >= 90 or info.has_flag("opioid_red") or info.has_flag("opioid_amber"):
        return "high_dose_opioid"
    if info.has_flag("missed_appointments") or info.has_flag("prom_non_completion"):
        return "disengaging"
    if (info.latest_pain or 0) - (info.baseline_pain or 0) >= 1.5:
        return "worsening"
    if (info.baseline_pain or 0) - (info.latest_pain or 0) >= 2:
        return "improving"
    return "plateaued"


def _load(s, case_id: int, patterns: dict[str, list[re.Pattern]]) -> CaseInfo:
    c = s.get(Case, case_id)
    info = CaseInfo(
        id=c.id, status=c.status, practice_id=c.practice_id, referrer_id=c.referrer_id, condition=c.condition,
        pain_class=c.pain_classification, question=c.clinical_question or "", goals_text=c.goals_text or "",
        concerns_text=c.concerns_text or "", risk_band=c.risk_band, baseline_pain=c.baseline_pain,
        latest_pain=c.latest_pain, latest_instrument=c.latest_pain_instrument, primary_outcome=c.primary_outcome,
        ome=float(c.ome_total or 0), priority=float(c.priority or 0), submitted_at=c.submitted_at,
        flags=for_case(s, c.id), given=c.patient.given_name, sex=c.patient.sex,
        response_instrument=(c.response or {}).get("instrument"))
    for t in s.scalars(select(Treatment).where(Treatment.patient_id == c.patient_id, Treatment.status != "planned")
                       .order_by(Treatment.start_date, Treatment.id)):
        if t.category != "medicine":
            info.tried.append(t.name)
            if t.status == "active":
                info.nondrug.append(t.name)
        elif t.drug and t.status == "active":
            name = t.name[:1].lower() + t.name[1:]
            info.meds.append(Med(t.drug.lower(), name, t.route or "oral", t.daily_dose_mg, t.patch_mcg_per_h,
                                  ome_mg_per_day(t.drug, t.route, t.daily_dose_mg, t.patch_mcg_per_h)))
    info.phq9 = s.scalar(select(Assessment.total).where(Assessment.patient_id == c.patient_id,
                                                        Assessment.instrument == "phq9",
                                                        Assessment.status == "completed")
                         .order_by(Assessment.administered_on.desc(), Assessment.id.desc()).limit(1))
    info.trajectory = _trajectory(info, patterns)
    return info


def load_case_info(session_factory: SessionFactory, case_id: int, patterns) -> CaseInfo:
    with session_factory() as s:
        return _load(s, case_id, patterns)

