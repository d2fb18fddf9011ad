"""The clinic's controlled vocabularies: codes stored in the database and their display labels.

A leaf module (no imports from the project) so that both the models and the services use one list.
"""

from __future__ import annotations

ROLES: dict[str, str] = {
    "pcp": "Primary care clinician (GP)",
    "specialist": "Hub specialist",
    "chair": "Hub chair",
    "admin": "Administrator",
}

DISCIPLINES: dict[str, str] = {
    "pain_medicine": "Pain medicine",
    "physiotherapy": "Physiotherapy",
    "psychology": "Psychology",
    "rheumatology": "Rheumatology",
    "orthopaedics": "Orthopaedics",
    "pharmacy": "Pharmacy",
    "social_prescribing": "Social prescribing",
    "nutrition": "Nutrition",
}

CONDITIONS: dict[str, str] = {
    "knee_oa": "Knee osteoarthritis",
    "hip_oa": "Hip osteoarthritis",
    "hand_oa": "Hand osteoarthritis",
    "low_back_pain": "Chronic low back pain",
    "sciatica": "Sciatica",
    "neck_pain": "Neck pain",
    "shoulder_pain": "Shoulder pain",
    "tendinopathy": "Tendinopathy",
    "widespread_pain": "Chronic widespread / primary pain",
    "other": "Other",
}

PAIN_CLASSIFICATIONS: dict[str, str] = {
    "primary": "Chronic primary pain",
    "secondary": "Chronic secondary pain",
}

# Case status moves only along hub.workflow.TRANSITIONS.
CASE_STATUSES: dict[str, str] = {
    "draft": "Draft",
    "submitted": "Submitted",
    "triaged": "Triaged",
    "scheduled": "Scheduled",
    "discussed": "Discussed",
    "returned": "Returned to PCP (follow-up)",
    "closed": "Closed",
}

SEXES: dict[str, str] = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Not known"}

TREATMENT_CATEGORIES: dict[str, str] = {
    "education": "Education / self-management",
    "exercise": "Exercise / physiotherapy",
    "medicine": "Medicine",
    "injection": "Injection",
    "psychological": "Psychological therapy (CBT / ACT)",
    "acupuncture": "Acupuncture",
    "social_prescribing": "Social prescribing",
    "manual_therapy": "Manual therapy",
    "weight_management": "Weight management",
    "other": "Other",
}

ROUTES: dict[str, str] = {
    "oral": "Oral",
    "transdermal": "Transdermal patch",
    "sublingual": "Sublingual",
    "topical": "Topical",
    "subcutaneous": "Subcutaneous",
    "intramuscular": "Intramuscular",
    "intra_articular": "Intra-articular",
    "other": "Other",
}

TREATMENT_STATUSES: dict[str, str] = {"active": "Current", "stopped": "Stopped", "planned": "Planned"}

STOP_REASONS: dict[str, str] = {
    "ineffective": "Not effective",
    "side_effects": "Side effects",
    "completed": "Course completed",
    "patient_choice": "Patient choice",
    "tapered": "Tapered off",
    "other": "Other",
}

ATTENDANCE: dict[str, str] = {"attended": "Attended", "dna": "Did not attend", "cancelled": "Cancelled"}

REVIEW_MODES: dict[str, str] = {
    "face_to_face": "Face to face",
    "telephone": "Telephone",
    "video": "Video",
    "telemedicine_checkin": "Telemedicine check-in",
}

RISK_TOOLS: dict[str, str] = {"sbst": "Keele STarT Back", "start_msk": "Keele STarT MSK"}
RISK_BANDS: dict[str, str] = {"low": "Low", "medium": "Medium", "high": "High"}

ASSESSMENT_STATUSES: dict[str, str] = {
    "completed": "Completed",
    "incomplete": "Returned incomplete (not scored)",  # e.g. a PHQ-9 back without item 9 (hazard H2)
    "not_returned": "Not returned",
}

# Red-flag screen of docs/CLINICAL.md section 3.1 (S0_SAFETY): any "yes" sends the patient to an
# urgent pathway instead of the hub.
RED_FLAGS: dict[str, str] = {
    "cauda_equina": "Cauda equina signs (saddle anaesthesia, new bladder or bowel dysfunction)",
    "malignancy": "Suspected malignancy (history of cancer, unexplained weight loss, night pain)",
    "infection": "Suspected infection (fever, immunosuppression, IV drug use)",
    "fracture": "Suspected fracture or significant trauma",
    "inflammatory": "Suspected inflammatory joint or connective tissue disease (e.g. spondyloarthritis)",
    "neurology": "Widespread or progressive neurological deficit",
    "mental_health_crisis": "Severe mental illness or unmanaged suicide risk",
    # Added in clinical safety review v0.2 (hazard H10; NICE CKS red flags [S]).
    "cauda_equina_bilateral_sciatica": "Cauda equina: bilateral sciatica (leg pain in both legs)",
    "cauda_equina_sexual_dysfunction": "Cauda equina: new sexual dysfunction",
    "aaa": "Abdominal aortic aneurysm: back or abdominal pain with a pulsatile abdominal mass, or age over 50 "
           "with vascular risk factors and sudden severe pain",
    "giant_cell_arteritis": "Giant cell arteritis: new headache, jaw claudication or visual disturbance in a "
                            "person over 50 with neck or shoulder pain",
    "osteoporotic_fracture": "Osteoporotic fracture: sudden back pain with long-term corticosteroids, known "
                             "osteoporosis, or age over 70 after minor trauma",
}

# Instruments that can be a case's primary outcome (chosen at the hub meeting), in the order a default is
# chosen when none was (hub.clinical.case_review.choose_primary_outcome).
# hub.clinical reads this list too (hub.vocab is a leaf module: it imports nothing of the project).
PRIMARY_OUTCOMES: dict[str, str] = {"peg": "PEG", "nrs": "Pain NRS", "mskhq": "MSK-HQ", "odi": "ODI"}

# The UK nation of a practice: it decides the bank holidays that are not working days.
NATIONS: dict[str, str] = {"eng": "England", "wls": "Wales", "sct": "Scotland", "nir": "Northern Ireland"}


DECISION_STATUSES: dict[str, str] = {"draft": "Draft", "final": "Final"}

# Severity of a hub flag (case_flag.severity).
FLAG_SEVERITIES: dict[str, str] = {"red": "Red", "amber": "Amber", "info": "Information"}

# Wearable sources.
WEARABLE_SOURCES: dict[str, str] = {"demo": "Demo data", "csv": "CSV import", "apple_health": "Apple Health"}


def label(vocabulary: dict[str, str], code: str | None) -> str:
    """Display label of a code, or the code itself when unknown (never raises in a page)."""
    if code is None:
        return ""
    return vocabulary.get(code, code)


def sql_in(vocabulary: dict[str, str]) -> str:
    """The codes of a vocabulary as an SQL IN list for a CHECK constraint."""
    return "(" + ", ".join("'" + c + "'" for c in vocabulary) + ")"

MEETING_STATUSES: dict[str, str] = {"planned": "Planned", "in_progress": "In progress", "finalised": "Finalised"}

AGENDA_STATUSES: dict[str, str] = {
    "pending": "To discuss",
    "discussed": "Discussed",
    "carried_forward": "Not discussed: carried forward",
}

RECOMMENDATION_TYPES: dict[str, str] = {
    "start_medicine": "Start a medicine",
    "increase_dose": "Increase the dose of a medicine",
    "stop_medicine": "Stop a medicine",
    "taper_medicine": "Taper a medicine",
    "continue_medicine": "Continue a medicine",
    "refer": "Refer to a discipline",
    "exercise_programme": "Exercise programme",
    "psychological_therapy": "Psychological therapy",
    "investigation": "Investigation",
    "social_prescribing": "Social prescribing",
    "education": "Education",
    "other": "Other",
}
MEDICINE_RECOMMENDATIONS = ("start_medicine", "increase_dose", "stop_medicine", "taper_medicine", "continue_medicine")
# The guideline check treats these like starting the medicine (a do-not rule blocks without an override
# reason); continuing is checked as "already taking"; stopping and tapering are never blocked.
GUIDELINE_CHECK_AS_START = ("start_medicine", "increase_dose")

# Who owns a recommendation or action when it is not a named person.
OWNER_ROLES: dict[str, str] = {
    "pcp": "Referring GP / PCP",
    "patient": "Patient",
    "hub": "Pain hub team",
    **{d: label for d, label in DISCIPLINES.items()},
}

# Whether the plan was discussed with the patient, and the patient's view of it: two separate facts, so a
# letter never turns "not discussed yet" into "did not agree".
DISCUSSED_WITH_PATIENT: dict[str, str] = {"not_yet": "Not yet", "yes": "Yes"}
PATIENT_VIEWS: dict[str, str] = {
    "agrees": "Agrees with the plan",
    "disagrees": "Disagrees with the plan",
    "wants_time": "Wants time to decide",
    "not_yet_asked": "Not yet asked",
}

# How a medicine recommendation changes the medicine (the letter's medication-changes table).
MEDICATION_CHANGES: dict[str, str] = {
    "start_medicine": "Start",
    "increase_dose": "Increase",
    "taper_medicine": "Reduce",
    "stop_medicine": "Stop",
    "continue_medicine": "Continue",
}

FLAG_RESPONSES: dict[str, str] = {
    "change": "Change management",
    "escalate": "Escalate",
    "restraint": "Appropriate restraint (no change, with reason)",
}

ACTION_STATUSES: dict[str, str] = {"open": "Open", "done": "Done", "cancelled": "Cancelled"}
LETTER_STATUSES: dict[str, str] = {"draft": "Draft", "sent": "Sent", "acknowledged": "Acknowledged"}

# Pathway steps a hub decision can name (labels for the meeting room, the letter and FHIR).
PATHWAY_STEP_LABELS: dict[str, str] = {
    "S3_SELF_MANAGEMENT": "S3 Self-management",
    "S4_ACTIVE_NON_PHARM": "S4 Active non-pharmacological treatment",
    "S5_PHARMACOLOGY": "S5 Pharmacology",
    "S6_COMBINED_PROGRAMME": "S6 Combined physical and psychological programme",
    "S7_ESCALATE_TO_MDT_OR_SPECIALIST": "S7 Escalate to specialist",
    "S8_REVIEW_LOOP": "S8 Review loop",
}

# How an assessment was completed: by the patient on paper or in clinic ("self"), by a clinician
# reading the items out, or by the patient through an invitation link ("patient-completed").
ASSESSMENT_MODES: dict[str, str] = {
    "self": "Self-report (entered by a clinician)",
    "clinician": "Clinician-administered",
    "patient-completed": "Completed by the patient through an invitation link",
}

# Invitations to the patient to complete questionnaires through a link (hub.invitations).
INVITATION_STATUSES: dict[str, str] = {
    "scheduled": "Scheduled (link not issued yet)",
    "open": "Link issued, waiting for the patient",
    "completed": "Completed by the patient",
    "revoked": "Revoked",
}
INVITATION_OCCASIONS: dict[str, str] = {
    "baseline": "Baseline",
    "pre_meeting": "Before a hub meeting",
    "follow_up": "Follow-up",
}
