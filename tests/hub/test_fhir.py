"""FHIR R4 export of a case (hub.fhir): the Bundle and every resource validate with fhir.resources' R4B
models, references resolve inside the Bundle, ids are reproducible, and only who may see the case may
export it."""

from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from db.models import Case, Goal, Letter, WearableDay
from hub import cases, decisions, fhir, inbox, meetings, records
from hub.cases import CaseInput, NewPatient
from hub.decisions import DecisionForm, GoalInput, RecommendationInput
from hub.errors import NotFound
from hub.records import TreatmentInput
from hub.vocab import RED_FLAGS

NHS = ["9434765919", "1745438912"]
DAYS = 400


def wearable_values(n: int) -> dict:
    """Day n's values, with gaps; every 30th day not divisible by 4 has no value at all."""
    return {"steps": None if n % 10 == 0 else 4000 + n, "active_minutes": 20 if n % 2 else None,
            "sleep_hours": 7.5 if n % 3 else None, "resting_hr": None if n % 4 else 62}


# Days in the 365-day cap that have at least one value (an all-gap day is not exported).
EXPORTED_DAYS = sum(1 for n in range(DAYS - 365, DAYS) if any(v is not None for v in wearable_values(n).values()))
# Meetings of today: attendance and final decisions are refused before the meeting day.
STARTS = datetime.combine(date.today(), datetime.min.time()).replace(hour=8)
TODAY = date.today()


def submit(world, i: int, condition: str = "knee_oa", submit_case: bool = True) -> int:
    """A PCP of practice A refers a new patient (submitted unless submit_case is False); returns the case id."""
    inp = CaseInput(new_patient=NewPatient(nhs_number=NHS[i], given_name=f"P{i}", family_name="Test",
                                           birth_year=1960, sex="female"),
                    condition=condition, pain_classification="secondary", duration_months=18,
                    clinical_question=f"Question {i}?", red_flags={k: False for k in RED_FLAGS}, baseline_pain=6,
                    risk_tool="start_msk", risk_band="low", goals_text="Walk further")
    return cases.save_case(world.sf, world.pcp_a, inp, submit=submit_case).case_id


def add_record(world, case_id: int) -> None:
    """Two medicines (one stopped), one non-drug treatment, two assessments and 400 wearable days."""
    records.add_treatment(world.sf, world.pcp_a, case_id, TreatmentInput(
        category="medicine", name="Naproxen", drug="naproxen", route="oral", daily_dose_mg=500,
        dose_text="250 mg twice a day", start_date=TODAY - timedelta(days=200),
        guideline_override="Discussed risks; short course with PPI cover"))
    stopped = records.add_treatment(world.sf, world.pcp_a, case_id, TreatmentInput(
        category="medicine", name="Codeine", drug="codeine", route="oral", daily_dose_mg=120,
        start_date=TODAY - timedelta(days=300), guideline_override="Historic prescription, recorded for review"))
    records.stop_treatment(world.sf, world.pcp_a, case_id, stopped, TODAY - timedelta(days=100), "ineffective")
    records.add_treatment(world.sf, world.pcp_a, case_id, TreatmentInput(
        category="exercise", name="Knee strengthening programme", start_date=TODAY - timedelta(days=60)))
    records.add_assessment(world.sf, world.pcp_a, case_id, "nrs", TODAY - timedelta(days=30), {"NRS_Q1": 7})
    records.add_assessment(world.sf, world.pcp_a, case_id, "peg", TODAY - timedelta(days=2),
                           {"PEG_Q1": 6, "PEG_Q2": 5, "PEG_Q3": 7})
    with world.sf.begin() as s:
        pid = s.get(Case, case_id).patient_id
        for n in range(DAYS):  # the oldest 35 days fall outside the 365-day cap
            s.add(WearableDay(patient_id=pid, day=TODAY - timedelta(days=DAYS - n), source="demo",
                              **wearable_values(n)))


def finalised_case(world) -> tuple[int, int, int]:
    """A case discussed at a meeting with a finalised decision; returns (case id, meeting id, letter id)."""
    cid = submit(world, 0)
    add_record(world, cid)
    mid = meetings.create_meeting(world.sf, world.chair, title="MDT", starts_at=STARTS)
    meetings.set_attendance(world.sf, world.chair, mid, [(world.chair.user_id, "pain_medicine"),
                                                         (world.specialist.user_id, "physiotherapy")])
    item = meetings.meeting_view(world.sf, world.chair, mid).agenda[0].item_id
    day = STARTS.date()
    form = DecisionForm(
        formulation="Knee OA with fear-avoidance", pathway_step="S4_ACTIVE_NON_PHARM",
        answer="Exercise-led plan; no injection now", allergies="No known drug allergies",
        what_matters="Walking the dog", discussed_with_patient="yes", patient_view="agrees",
        agreed_plan="Exercise first, review in 8 weeks",
        safety_netting="Seek help if the knee locks or swells", primary_outcome="nrs",
        follow_up_date=day + timedelta(days=56),
        recommendations=[
            RecommendationInput("exercise_programme", "Supervised knee strengthening, 6 weeks",
                                owner_role="physiotherapy", due_date=day + timedelta(days=14)),
            RecommendationInput("education", "Explain OA and exercise safety", owner_role="pcp",
                                due_date=day + timedelta(days=7)),
            RecommendationInput("refer", "Refer to community physiotherapy", owner_role=None,
                                owner_user_id=world.specialist.user_id, due_date=day + timedelta(days=21)),
            RecommendationInput("investigation", "Weight-bearing knee X-ray", owner_role="pcp",
                                due_date=day + timedelta(days=28)),
            RecommendationInput("other", "Keep an activity diary", owner_role="patient",
                                due_date=day + timedelta(days=28), for_patient=True),
        ],
        goals=[GoalInput("Walk the dog", "independently", "20 minutes", day + timedelta(days=84), 3, 2,
                         {-2: "5 min", -1: "10 min", 0: "20 min", 1: "30 min", 2: "45 min"})])
    v = decisions.save(world.sf, world.chair, item, form, 0)
    letter_id = decisions.finalise(world.sf, world.chair, item, v)
    box = inbox.inbox(world.sf, world.pcp_a)
    done = next(a for a in box.open + box.overdue if a.description == "Explain OA and exercise safety")
    inbox.complete_action(world.sf, world.pcp_a, done.action_id, "Leaflet given")
    with world.sf.begin() as s:
        s.scalars(select(Goal)).one().achieved_level = 1
    return cid, mid, letter_id


def by_type(bundle: dict) -> dict[str, list[dict]]:
    """The bundle's resources grouped by resourceType, in entry order."""
    out: dict[str, list[dict]] = {}
    for e in bundle["entry"]:
        out.setdefault(e["resource"]["resourceType"], []).append(e["resource"])
    return out


def references(value) -> list[str]:
    """Every `reference` string anywhere in a resource."""
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "reference" and isinstance(v, str):
                found.append(v)
            else:
                found.extend(references(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(references(v))
    return found


def validate(bundle: dict) -> None:
    """The Bundle and each entry's resource validate with their own R4B models."""
    Bundle.model_validate(bundle)
    for e in bundle["entry"]:
        res = e["resource"]
        get_fhir_model_class(res["resourceType"]).model_validate(res)
        assert e["fullUrl"] == f"urn:uuid:{res['id']}"
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(urls) == len(set(urls)), "fullUrls are unique"
    dangling = {r for e in bundle["entry"] for r in references(e["resource"])} - set(urls)
    assert not dangling, f"references that resolve to nothing in the bundle: {dangling}"


def resource(bundle: dict, url: str) -> dict:
    """The resource whose fullUrl is url."""
    return next(e["resource"] for e in bundle["entry"] if e["fullUrl"] == url)


def test_full_case_exports_a_valid_connected_bundle(world):
    """A finalised case exports every resource type, valid, with the expected counts and links."""
    cid, mid, letter_id = finalised_case(world)
    bundle = fhir.export_case(world.sf, world.pcp_a, cid)
    validate(bundle)
    assert bundle["type"] == "collection"
    assert any(t["code"] == "wearable-days-cap-365" for t in bundle["meta"]["tag"])
    assert any(t["code"] == "wearable-days-truncated" for t in bundle["meta"]["tag"])
    res = by_type(bundle)
    counts = Counter({k: len(v) for k, v in res.items()})
    assert counts == Counter({
        "Patient": 1, "Condition": 1, "CarePlan": 1, "Goal": 1, "ServiceRequest": 2, "Task": 5, "CareTeam": 1,
        # referrer (pcp.a), chair, physio
        "Practitioner": 3, "MedicationStatement": 2, "Observation": 2 + EXPORTED_DAYS, "DocumentReference": 1})

    patient = res["Patient"][0]
    assert patient["identifier"] == [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": NHS[0]}]
    assert patient["birthDate"] == "1960" and patient["gender"] == "female"
    assert patient["name"][0]["family"] == "Test"

    condition = res["Condition"][0]
    assert condition["code"]["coding"] == [{"system": "http://snomed.info/sct", "code": "239873007",
                                            "display": "Osteoarthritis of knee"}]
    assert condition["clinicalStatus"]["coding"][0]["code"] == "active"
    assert condition["category"][0]["coding"][0]["code"] == "problem-list-item"
    notes = " ".join(n["text"] for n in condition["note"])
    assert "Question 0?" in notes and "Chronic secondary pain" in notes

    plan = res["CarePlan"][0]
    condition_url = f"urn:uuid:{condition['id']}"
    patient_url = f"urn:uuid:{patient['id']}"
    assert plan["status"] == "active" and plan["intent"] == "plan"
    assert plan["subject"]["reference"] == patient_url and plan["addresses"][0]["reference"] == condition_url
    assert plan["goal"] == [{"reference": f"urn:uuid:{res['Goal'][0]['id']}"}]
    assert plan["careTeam"][0]["reference"] == f"urn:uuid:{res['CareTeam'][0]['id']}"
    assert len(plan["activity"]) == 5
    details = [a["detail"] for a in plan["activity"] if "detail" in a]
    assert [d["description"] for d in details] == ["Supervised knee strengthening, 6 weeks",
                                                   "Explain OA and exercise safety", "Keep an activity diary"]
    assert [d["status"] for d in details] == ["not-started", "completed", "not-started"]
    assert details[0]["scheduledPeriod"]["end"] == (STARTS.date() + timedelta(days=14)).isoformat()
    assert details[0]["performer"] == [{"display": "Physiotherapy"}]
    assert resource(bundle, details[1]["performer"][0]["reference"])["name"][0]["text"] == "Dr A"
    assert details[2]["performer"][0]["reference"] == patient_url
    referenced_srs = {a["reference"]["reference"] for a in plan["activity"] if "reference" in a}
    assert referenced_srs == {f"urn:uuid:{sr['id']}" for sr in res["ServiceRequest"]}

    referral = next(sr for sr in res["ServiceRequest"] if sr["code"]["text"] == "Refer to community physiotherapy")
    assert resource(bundle, referral["performer"][0]["reference"])["name"][0]["text"] == "Physio P"
    assert referral["basedOn"][0]["reference"] == f"urn:uuid:{plan['id']}"

    goal = res["Goal"][0]
    assert goal["lifecycleStatus"] == "active"
    assert goal["description"]["text"].startswith("Walk the dog, independently, 20 minutes")
    assert goal["target"][0]["dueDate"] == (STARTS.date() + timedelta(days=84)).isoformat()
    assert goal["achievementStatus"]["coding"][0]["code"] == "achieved"
    assert "30 min" in goal["achievementStatus"]["text"]

    tasks = {t["description"]: t for t in res["Task"]}
    assert all(t["intent"] == "order" for t in tasks.values())
    assert tasks["Explain OA and exercise safety"]["status"] == "completed"
    assert tasks["Supervised knee strengthening, 6 weeks"]["status"] == "requested"
    assert tasks["Supervised knee strengthening, 6 weeks"]["performerType"][0]["text"] == "Physiotherapy"
    assert "owner" not in tasks["Supervised knee strengthening, 6 weeks"]
    assert tasks["Explain OA and exercise safety"]["owner"]["reference"] == \
        details[1]["performer"][0]["reference"]  # the referring PCP
    assert tasks["Keep an activity diary"]["owner"]["reference"] == patient_url
    ref_task = tasks["Refer to community physiotherapy"]
    assert ref_task["focus"]["reference"] == ref_task["basedOn"][0]["reference"] == f"urn:uuid:{referral['id']}"
    assert tasks["Explain OA and exercise safety"]["basedOn"][0]["reference"] == f"urn:uuid:{plan['id']}"
    assert ref_task["executionPeriod"]["end"] == (STARTS.date() + timedelta(days=21)).isoformat()

    team = res["CareTeam"][0]
    roles = {resource(bundle, p["member"]["reference"])["name"][0]["text"]: [r["text"] for r in p["role"]]
             for p in team["participant"]}
    assert roles == {"Chair C": ["Pain medicine"], "Physio P": ["Physiotherapy"],
                     "Dr A": ["Referring GP / PCP (Practice A)"]}

    meds = {m["medicationCodeableConcept"]["text"]: m for m in res["MedicationStatement"]}
    assert set(meds) == {"Naproxen 500 mg/day oral", "Codeine 120 mg/day oral"}
    assert meds["Naproxen 500 mg/day oral"]["status"] == "active"
    assert "250 mg twice a day" in meds["Naproxen 500 mg/day oral"]["dosage"][0]["text"]
    codeine = meds["Codeine 120 mg/day oral"]
    assert codeine["status"] == "stopped" and codeine["statusReason"][0]["text"] == "Not effective"
    assert codeine["effectivePeriod"]["end"] == (TODAY - timedelta(days=100)).isoformat()

    surveys = [o for o in res["Observation"] if o["category"][0]["coding"][0]["code"] == "survey"]
    assert [o["code"]["text"] for o in surveys] == ["Pain numeric rating scale (0-10)",
                                                   "PEG (Pain, Enjoyment of life, General activity)"]
    assert surveys[0]["valueQuantity"]["value"] == 7 and surveys[0]["effectiveDateTime"] == \
        (TODAY - timedelta(days=30)).isoformat()
    activity = [o for o in res["Observation"] if o["category"][0]["coding"][0]["code"] == "activity"]
    assert EXPORTED_DAYS < 365 and len(activity) == EXPORTED_DAYS
    assert activity[0]["effectiveDateTime"] == (TODAY - timedelta(days=365)).isoformat()
    assert activity[-1]["effectiveDateTime"] == (TODAY - timedelta(days=1)).isoformat()
    codes = [[c["code"].get("coding", [{}])[0].get("code", c["code"]["text"]) for c in o["component"]]
             for o in activity]
    assert all(len(c) >= 1 for c in codes)
    assert any("55423-8" in c for c in codes) and any("93832-4" in c for c in codes)
    assert any("55423-8" not in c for c in codes)  # a day without steps has no steps component

    doc = res["DocumentReference"][0]
    with world.sf() as s:
        body = s.get(Letter, letter_id).body_markdown
    assert doc["status"] == "current" and doc["type"]["text"] == "Pain hub outcome letter"
    attachment = doc["content"][0]["attachment"]
    assert attachment["contentType"] == "text/markdown"
    assert base64.b64decode(attachment["data"]).decode("utf-8") == body
    assert doc["context"]["related"][0]["reference"] == f"urn:uuid:{plan['id']}"


def test_export_is_reproducible_and_json_round_trips(world):
    """Unchanged data exports identically for any actor who sees it; the JSON text is the same bundle."""
    cid, _, _ = finalised_case(world)
    first = fhir.export_case(world.sf, world.pcp_a, cid)
    assert fhir.export_case(world.sf, world.chair, cid) == first
    text = fhir.export_case_json(world.sf, world.specialist, cid)
    assert json.loads(text) == first and text.startswith("{\n")
    assert fhir.resource_id("patient", 1) == fhir.resource_id("patient", 1) != fhir.resource_id("patient", 2)


def test_only_clinicians_who_see_the_case_may_export(world):
    """Out of scope (other practice, non-clinical role, hub and a draft, unknown id) is NotFound."""
    cid = submit(world, 0)
    draft = submit(world, 1, submit_case=False)
    fhir.export_case(world.sf, world.specialist, cid)  # hub members see submitted cases
    with pytest.raises(NotFound):
        fhir.export_case(world.sf, world.pcp_b, cid)  # PCP of another practice
    with pytest.raises(NotFound):
        fhir.export_case(world.sf, world.admin, cid)  # not a clinical role
    with pytest.raises(NotFound):
        fhir.export_case(world.sf, world.specialist, draft)  # the hub does not see drafts
    with pytest.raises(NotFound):
        fhir.export_case_json(world.sf, world.pcp_a, 999_999)
    validate(fhir.export_case(world.sf, world.pcp_a, draft))  # own practice's draft


def test_case_without_decision_has_only_the_record(world):
    """Without a decision: Patient, Condition (text only when no confident SNOMED code) and the record."""
    cid = submit(world, 1, condition="widespread_pain")
    add_record(world, cid)
    bundle = fhir.export_case(world.sf, world.pcp_a, cid)
    validate(bundle)
    res = by_type(bundle)
    assert set(res) == {"Patient", "Condition", "Observation", "MedicationStatement"}
    assert len(res["MedicationStatement"]) == 2 and len(res["Observation"]) == 2 + EXPORTED_DAYS
    condition = res["Condition"][0]
    assert "coding" not in condition["code"] and condition["code"]["text"] == "Chronic widespread / primary pain"


def test_closed_case_plan_is_completed(world):
    """Closing the case completes the plan and its goals and makes the care team inactive."""
    cid, _, _ = finalised_case(world)
    cases.change_status(world.sf, world.chair, cid, "closed")
    bundle = fhir.export_case(world.sf, world.pcp_a, cid)
    validate(bundle)
    res = by_type(bundle)
    assert res["CarePlan"][0]["status"] == "completed"
    assert res["Goal"][0]["lifecycleStatus"] == "completed"
    assert res["CareTeam"][0]["status"] == "inactive"


def test_draft_decision_is_not_exported(world):
    """A saved but unfinalised discussion is not a plan: nothing of it is exported."""
    cid = submit(world, 0)
    mid = meetings.create_meeting(world.sf, world.chair, title="MDT", starts_at=STARTS)
    item = meetings.meeting_view(world.sf, world.chair, mid).agenda[0].item_id
    decisions.save(world.sf, world.chair, item, DecisionForm(formulation="Work in progress"), 0)
    res = by_type(fhir.export_case(world.sf, world.chair, cid))
    assert set(res) == {"Patient", "Condition"}
