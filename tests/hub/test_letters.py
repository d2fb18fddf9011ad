"""Tests of hub.letters: PRSB letter structure, send-blocking, escaping, patient version, PDFs, minutes."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import letter_pdf as letter_pdf_module
from hub import letters as L
from hub.letters import (
    LetterData,
    LetterGoal,
    LetterItem,
    MinutesCase,
    MinutesData,
    build_letter,
    escape_markdown,
    letter_pdf,
    minutes_markdown,
    minutes_pdf,
    unescape_markdown,
)

ROOT = Path(__file__).resolve().parents[2]
PDFTOTEXT = os.environ.get("HUB_PDFTOTEXT", "/usr/bin/pdftotext")
PAYLOAD = "<script>alert(1)</script> **bold** [x](javascript:alert(1))"

EXPECTED_SECTIONS = [
    ("Patient demographics", "886731000000109", "Mandatory"),
    ("GP practice", "886711000000101", "Mandatory"),
    ("Attendance details", "1077881000000105", "Mandatory"),
    ("Clinical summary", "887181000000106", "Mandatory"),
    ("Allergies and adverse reactions", "886921000000105", "Mandatory"),
    ("Person completing record", "887231000000104", "Mandatory"),
    ("Referrer details", None, "Required"),
    ("Diagnoses", None, "Required"),
    ("Problems and issues", None, "Required"),
    ("Plan and requested actions", "887201000000105", "Required"),
    ("Information and advice given", None, "Required"),
    ("Safety alerts", None, "Required"),
    ("Individual requirements", None, "Required"),
    ("Legal information", None, "Required"),
    ("Participation in research", None, "Required"),
    ("Distribution list", None, "Required"),
    ("Assessment scales", "887141000000103", "Optional"),
    ("Medications and medical devices", "933361000000108", "Optional"),
    ("Patient and carer concerns, expectations and wishes", None, "Optional"),
]
MANDATORY_TITLES = [t for t, _, c in EXPECTED_SECTIONS if c == "Mandatory"]

TAPER = LetterItem(
    "taper_medicine",
    "Reduce oxycodone MR by 10 mg/day every 2 weeks (40 mg bd → 35 mg bd first); review OME at each step",
    "GP (Dr Asha Patel)", date(2026, 7, 1), rationale="OME ≥ 120 mg/day with no meaningful benefit (NG193)",
)
PHYSIO = LetterItem("refer", "Refer to community MSK physiotherapy for a knee strengthening programme",
                    "Physiotherapy", date(2026, 6, 26), status="planned")
CBT = LetterItem("psychological_therapy", "Offer pain-focused CBT via Talking Therapies", "Psychology (Dr Tom Reid)",
                 None)
WALK = LetterItem("exercise_programme", "Walk 10 minutes every day and do the knee exercises 3 times a week",
                  "Patient", date(2026, 7, 15), for_patient=True)
DIARY = LetterItem("education", "Read the pain toolkit and keep a 2-week activity diary", "Patient and carer",
                   date(2026, 6, 30), for_patient=True)
GOAL_SHOPS = LetterGoal(
    "Walk to the local shops (400 m) with a stick, twice a week, by September",
    {-2: "Cannot walk outside", -1: "Walks 100 m with a stick", 0: "Walks to the shops twice a week",
     1: "Walks to the shops 3-4 times a week", 2: "Walks to the shops daily without a stick"},
    date(2026, 9, 1),
)
GOAL_GRANDCHILD = LetterGoal(
    "Play with grandchildren in the park for 20 minutes once a week",
    {-2: "Not at all", -1: "5 minutes", 0: "20 minutes once a week", 1: "30 minutes", 2: "45 minutes"},
    date(2026, 10, 1),
)


def full_data(**changes) -> LetterData:
    data = LetterData(
        patient_name="Zoë Ó'Brien", nhs_number="9434765919", birth_year=1961, sex="female",
        practice_name="Riverside Medical Centre", referrer_name="Dr Asha Patel",
        meeting_date=date(2026, 6, 12), meeting_type="Virtual pain hub MDT",
        attendees=[("Dr Sam Okafor", "pain_medicine"), ("Priya Shah", "Physiotherapy"),
                   ("Dr Tom Reid", "Psychology"), ("Lena Müller", "Pharmacy")],
        chair_name="Dr Sam Okafor",
        clinical_question="Should oxycodone be continued for her knee pain, and what else could help?",
        answer="No: oxycodone 80 mg/day has not helped function; taper slowly and start active rehabilitation.",
        condition="knee_oa", pain_classification="secondary",
        formulation="Knee OA with high fear of movement and low mood.\nLong-term opioid with no functional gain.",
        pathway_step="S4: specialist MDT review",
        allergies="No known drug allergies",
        assessment_lines=["PEG 7.0 (3 Mar) → 4.7 (2 Jun): moderate improvement", "PHQ-9 12 (moderate); item 9 = 1",
                          "STarT MSK: high risk"],
        medication_lines=["Oxycodone MR 40 mg twice daily", "Paracetamol 1 g four times daily"],
        total_ome=120.0,
        flags_and_responses=["Opioid ≥ 120 mg/day OME: change — taper agreed",
                             "Therapeutic inertia: change — start CBT"],
        recommendations=[TAPER, PHYSIO, CBT, WALK, DIARY],
        goals=[GOAL_SHOPS, GOAL_GRANDCHILD],
        what_matters="Looking after her grandchildren", beliefs_concerns="Worried that exercise will wear the knee out",
        options_discussed="Taper, physiotherapy, CBT, knee replacement referral", option_preferred="Taper with physio",
        options_declined="Knee injection",
        discussed_with_patient="yes", patient_view="agrees",
        safety_netting="If pain or low mood gets much worse during the taper, contact the GP the same week.",
        safety_alerts=["PHQ-9 item 9 positive (score 1): GP to assess suicide risk within 1 week"],
        follow_up_date=date(2026, 9, 15),
        rediscussion_criteria="PEG not improved by 30% at 3 months, or taper not tolerated",
        completed_by="Dr Sam Okafor", completed_by_role="Hub chair", completed_on=date(2026, 6, 12),
        distribution=["Dr Asha Patel, Riverside Medical Centre", "Patient (plain-language copy)",
                      "Community MSK physiotherapy"],
    )
    return dataclasses.replace(data, **changes)


def section(letter, title):
    return next(s for s in letter.sections if s.title == title)


def subsections(body: str) -> dict[str, str]:
    """Split the plan body at its sub-headings."""
    out: dict[str, list[str]] = {}
    current = None
    for line in body.split("\n"):
        if line in L.PLAN_SUBHEADINGS:
            current = line
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    if not Path(PDFTOTEXT).exists():
        reason = f"{PDFTOTEXT} not found (install poppler-utils) — cannot read generated PDFs back"
        if os.environ.get("HUB_REQUIRE_E2E", "").strip() in ("1", "true", "yes"):
            pytest.fail(f"HUB_REQUIRE_E2E=1 but {reason}")
        pytest.skip(reason)
    f = tmp_path / "out.pdf"
    f.write_bytes(pdf)
    return subprocess.run([PDFTOTEXT, "-enc", "UTF-8", str(f), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout


def squash(s: str) -> str:
    return re.sub(r"\s+", " ", s)


# --- structure -------------------------------------------------------------------------------


def test_section_order_codes_and_conformance():
    letter = build_letter(full_data())
    assert [(s.title, s.code, s.conformance) for s in letter.sections] == EXPECTED_SECTIONS


def test_markdown_has_prsb_headings_in_order():
    md = build_letter(full_data()).markdown
    headings = [ln[3:] for ln in md.split("\n") if ln.startswith("## ")]
    assert headings == [t for t, _, _ in EXPECTED_SECTIONS]
    assert md.startswith("# Pain hub outcome letter\n")


def test_complete_letter_can_send():
    letter = build_letter(full_data())
    assert letter.missing_mandatory == ()
    assert letter.can_send
    assert "Draft" not in letter.markdown
    assert all(not section(letter, t).empty for t in MANDATORY_TITLES)


@pytest.mark.parametrize("changes, title", [
    ({"allergies": "   "}, "Allergies and adverse reactions"),
    ({"nhs_number": ""}, "Patient demographics"),
    ({"nhs_number": "9434765918"}, "Patient demographics"),  # fails Modulus 11
    ({"patient_name": ""}, "Patient demographics"),
    ({"practice_name": ""}, "GP practice"),
    ({"meeting_date": None}, "Attendance details"),
    ({"answer": "\n"}, "Clinical summary"),
    ({"completed_by": ""}, "Person completing record"),
])
def test_empty_mandatory_section_blocks_sending(changes, title):
    letter = build_letter(full_data(**changes))
    assert letter.missing_mandatory == (title,)
    assert not letter.can_send
    assert section(letter, title).empty
    assert "Draft: cannot be sent" in unescape_markdown(letter.markdown)
    assert "Missing (mandatory)" in unescape_markdown(letter.markdown)


def test_missing_mandatory_lists_exactly_the_empty_ones_in_order():
    letter = build_letter(full_data(allergies="", completed_by="", practice_name="", referrer_name=""))
    assert letter.missing_mandatory == ("GP practice", "Allergies and adverse reactions", "Person completing record")
    assert section(letter, "Referrer details").empty  # Required: shown as None recorded, never blocks
    assert letter.missing_mandatory == tuple(
        s.title for s in letter.sections if s.conformance == "Mandatory" and s.empty)


def test_empty_required_and_optional_sections_say_none_recorded():
    letter = build_letter(full_data(
        flags_and_responses=[], distribution=[], assessment_lines=[], medication_lines=[], total_ome=None,
        what_matters="", beliefs_concerns="", options_discussed="", option_preferred="", options_declined="",
        safety_alerts=[], safety_netting="", recommendations=[], goals=[], discussed_with_patient=None,
        patient_view=None, follow_up_date=None, rediscussion_criteria=""))
    assert letter.can_send
    md = letter.markdown
    for title in ("Problems and issues", "Plan and requested actions", "Information and advice given",
                  "Safety alerts", "Individual requirements", "Legal information", "Participation in research",
                  "Distribution list", "Assessment scales", "Medications and medical devices",
                  "Patient and carer concerns, expectations and wishes"):
        assert section(letter, title).empty
        block = md.split(f"## {escape_markdown(title)}\n\n", 1)[1].split("\n\n", 1)[0]
        assert block.strip() == "None recorded", title


def test_demographics_and_attendance_content():
    letter = build_letter(full_data())
    demo = section(letter, "Patient demographics").body
    assert "NHS number: 943 476 5919" in demo and "Zoë Ó'Brien" in demo and "1961" in demo and "Female" in demo
    att = section(letter, "Attendance details").body
    assert "12 June 2026" in att and "Virtual pain hub MDT" in att and "Chair (lead clinician): Dr Sam Okafor" in att
    assert "Disciplines present: Pain medicine, Physiotherapy, Psychology, Pharmacy" in att
    assert "- Lena Müller (Pharmacy)" in att
    summary = section(letter, "Clinical summary").body
    for text in ("Should oxycodone be continued", "taper slowly", "Chronic secondary pain",
                 "Long-term opioid with no functional gain", "S4: specialist MDT review"):
        assert text in summary
    assert "Knee osteoarthritis" in section(letter, "Diagnoses").body
    assert "Dr Asha Patel" in section(letter, "Referrer details").body
    assert "Hub chair" in section(letter, "Person completing record").body


def test_medications_include_total_ome_and_scales_and_concerns():
    letter = build_letter(full_data())
    meds = section(letter, "Medications and medical devices").body
    assert "- Oxycodone MR 40 mg twice daily" in meds
    assert "Total oral morphine equivalent (OME): 120 mg/day" in meds
    assert "Total oral morphine equivalent (OME): 22.5 mg/day" in section(
        build_letter(full_data(total_ome=22.5)), "Medications and medical devices").body
    scales = section(letter, "Assessment scales").body
    assert "- PEG 7.0 (3 Mar) → 4.7 (2 Jun): moderate improvement" in scales
    concerns = section(letter, "Patient and carer concerns, expectations and wishes").body
    for text in ("Looking after her grandchildren", "wear the knee out", "knee replacement referral",
                 "Preferred option: Taper with physio", "Options declined: Knee injection"):
        assert text in concerns
    problems = section(letter, "Problems and issues").body
    assert "- Therapeutic inertia: change — start CBT" in problems


def test_safety_alerts_include_phq9_and_safety_netting():
    body = section(build_letter(full_data()), "Safety alerts").body
    assert "- PHQ-9 item 9 positive (score 1)" in body
    assert "Safety-netting advice: If pain or low mood gets much worse" in body


# --- plan ------------------------------------------------------------------------------------


def test_plan_subheadings_in_order():
    body = section(build_letter(full_data()), "Plan and requested actions").body
    positions = [body.index(h) for h in L.PLAN_SUBHEADINGS]
    assert positions == sorted(positions)
    assert list(subsections(body)) == list(L.PLAN_SUBHEADINGS)


@pytest.mark.parametrize("item", [TAPER, PHYSIO, CBT, WALK, DIARY], ids=lambda i: i.kind)
def test_each_action_is_under_the_right_subheading_with_owner_and_due(item):
    subs = subsections(section(build_letter(full_data()), "Plan and requested actions").body)
    right = L.PATIENT_ACTIONS if item.for_patient else L.HCP_ACTIONS
    wrong = L.HCP_ACTIONS if item.for_patient else L.PATIENT_ACTIONS
    assert item.description in subs[right]
    assert item.description not in subs[wrong]
    lines = subs[right].split("\n")
    i = next(n for n, ln in enumerate(lines) if item.description in ln)
    assert lines[i].startswith("- ")
    detail = lines[i + 1]
    assert detail.startswith("  - Owner: " + item.owner + " · Due: ")
    assert (L.format_date(item.due) if item.due else "no date set") in detail
    assert L.STATUS_LABELS[item.status] in detail
    if item.rationale:
        assert lines[i + 2] == "  - Rationale: " + item.rationale


def test_goals_with_gas_levels_and_due_dates_agreement_and_care_planning():
    subs = subsections(section(build_letter(full_data()), "Plan and requested actions").body)
    goals = subs[L.GOALS]
    for n, g in enumerate([GOAL_SHOPS, GOAL_GRANDCHILD], 1):
        assert f"- Goal {n}: {g.text}" in goals
        assert f"Review by: {L.format_date(g.due)}" in goals
        for lvl, text in g.levels.items():
            shown = f"{lvl:+d}" if lvl else "0"
            assert f"  - GAS {shown} ({L.GAS_LEVEL_LABELS[lvl]}): {text}" in goals
    assert goals.index("GAS -2") < goals.index("GAS 0") < goals.index("GAS +2")
    assert subs[L.AGREED].strip() == "Discussed with the patient: Yes\nPatient's view: Agrees with the plan"
    assert "Follow-up date: 15 September 2026" in subs[L.CARE_PLANNING]
    assert "Re-discussion criteria: PEG not improved by 30%" in subs[L.CARE_PLANNING]


def test_gas_levels_from_json_string_keys():
    goal = LetterGoal("Swim 20 lengths", {"-2": "None", "0": "20 lengths", "2": "40 lengths"}, None)
    body = section(build_letter(full_data(goals=[goal])), "Plan and requested actions").body
    assert "GAS -2 (much less than expected): None" in body and "GAS +2" in body and "Review by: no date set" in body


def test_plan_empty_subsections_say_none_recorded_and_agreement_unknown():
    letter = build_letter(full_data(recommendations=[WALK], goals=[], discussed_with_patient=None, patient_view=None))
    subs = subsections(section(letter, "Plan and requested actions").body)
    assert subs[L.HCP_ACTIONS].strip() == "None recorded"
    assert subs[L.GOALS].strip() == "None recorded"
    assert subs[L.AGREED].strip() == "Discussed with the patient: Not recorded\nPatient's view: Not recorded"
    not_yet = build_letter(full_data(discussed_with_patient="not_yet", patient_view="not_yet_asked"))
    assert subsections(section(not_yet, "Plan and requested actions").body)[L.AGREED].strip() == (
        "Discussed with the patient: Not yet\nPatient's view: Not yet asked")


def test_plan_markdown_uses_subheadings():
    md = build_letter(full_data()).markdown
    plan = md.split("## Plan and requested actions", 1)[1].split("\n## ", 1)[0]
    assert [ln[4:] for ln in plan.split("\n") if ln.startswith("### ")] == [
        escape_markdown(h) for h in L.PLAN_SUBHEADINGS]
    assert escape_markdown(TAPER.owner) in plan and "1 July 2026" in plan


def test_education_items_are_listed_as_information_given():
    body = section(build_letter(full_data()), "Information and advice given").body
    assert DIARY.description in body and TAPER.description not in body


# --- patient version -------------------------------------------------------------------------


def test_patient_version_plain_language():
    letter = build_letter(full_data())
    text = unescape_markdown(letter.patient_markdown)
    assert "PRSB" not in text
    assert "15 September 2026" in text  # the follow-up date
    assert "Dear Zoë Ó'Brien," in text
    assert re.search(r"\byou\b", text) and re.search(r"\byour\b", text, re.I)
    assert "the patient" not in text.lower()
    explained = {"OME": "oral morphine equivalent", "MDT": "multidisciplinary team", "PEG": "PEG:",
                 "PHQ-9": "PHQ-9:", "MR": "modified release", "CBT": "cognitive behavioural therapy"}
    for term, explanation in explained.items():
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(term)}(?![A-Za-z0-9])", text):
            assert explanation in text, term
    # our own wording never uses the jargon: only caller text (explained in the glossary) may
    assert "MDT" not in unescape_markdown(build_letter(full_data(meeting_type="Virtual pain hub MDT",
                                                                  assessment_lines=[])).patient_markdown
                                          .split("## Words we used")[0])


def test_patient_version_content():
    text = unescape_markdown(build_letter(full_data()).patient_markdown)
    for item in (TAPER, PHYSIO, CBT, WALK, DIARY):
        assert item.description in text
    assert "Slowly reduce a medicine" in text and "Talking therapy" in text
    assert "Who: GP (Dr Asha Patel). When: by 1 July 2026." in text
    assert "Who: You. When: by 15 July 2026." in text and "Who: You and your carer." in text
    assert GOAL_SHOPS.text in text and "We hope you can do this by 1 September 2026." in text
    assert "you told us you agree with it." in text
    assert "counted as morphine taken by mouth: 120 mg/day" in text
    assert "No known drug allergies" in text
    assert "call 999" in text
    assert "contact the GP the same week" in text  # the safety-netting advice
    assert "long-lasting pain that is caused by another condition" in text
    no_date = unescape_markdown(build_letter(full_data(follow_up_date=None)).patient_markdown)
    assert "has not been set yet" in no_date


# --- escaping --------------------------------------------------------------------------------

SPECIAL = set("\\`*_{}[]()#+-!|<>~=&$")


def unescaped_specials(md: str) -> list[str]:
    """Special characters in md not preceded by a backslash escape."""
    found, i = [], 0
    while i < len(md):
        if md[i] == "\\" and i + 1 < len(md):
            i += 2
            continue
        if md[i] in SPECIAL:
            found.append(md[i])
        i += 1
    return found


def test_escape_markdown_payload():
    esc = escape_markdown(PAYLOAD)
    assert "<" not in esc.replace("\\<", "")
    assert unescaped_specials(esc) == []
    assert unescape_markdown(esc) == PAYLOAD
    assert escape_markdown("1. not a list") == "1\\. not a list"
    assert escape_markdown("a\n# not a heading") == "a \\# not a heading"


@given(st.text(max_size=200))
def test_escape_markdown_leaves_no_markup(s):
    esc = escape_markdown(s)
    assert "\n" not in esc and "\r" not in esc
    assert unescaped_specials(esc) == []
    assert unescape_markdown(esc) == L.flat(s)


def test_letter_markdown_is_not_injectable():
    nasty = PAYLOAD + "\n# Fake heading\n- fake bullet\n<img src=x onerror=alert(1)>"
    data = full_data(
        patient_name=PAYLOAD, practice_name=PAYLOAD, referrer_name=PAYLOAD, answer=nasty, formulation=nasty,
        attendees=[(PAYLOAD, PAYLOAD)], chair_name=PAYLOAD, allergies=nasty, assessment_lines=[PAYLOAD],
        medication_lines=[PAYLOAD], flags_and_responses=[PAYLOAD],
        recommendations=[LetterItem(PAYLOAD, nasty, PAYLOAD, date(2026, 7, 1), rationale=PAYLOAD),
                         LetterItem("other", PAYLOAD, PAYLOAD, None, for_patient=True)],
        goals=[LetterGoal(PAYLOAD, {0: PAYLOAD}, None)], what_matters=nasty, safety_netting=nasty,
        safety_alerts=[PAYLOAD], rediscussion_criteria=PAYLOAD, completed_by=PAYLOAD, distribution=[PAYLOAD],
    )
    letter = build_letter(data)
    assert letter.can_send
    for md in (letter.markdown, letter.patient_markdown):
        assert "<" not in unescaped_specials(md)  # no raw HTML can start
        assert "](" not in md.replace("\\]\\(", "")
        assert "**bold**" not in md
        assert escape_markdown(PAYLOAD) in md
        # only our own structure: headings and list markers come from the module, not from user text
        assert "Fake heading" not in [ln.lstrip("# ") for ln in md.split("\n") if ln.startswith("#")]
        assert not any(ln.startswith(("- fake", "<")) for ln in md.split("\n"))
        for line in md.split("\n"):
            stripped = re.sub(r"^(#{1,3} |  - |- |> )", "", line).replace("**", "")
            assert unescaped_specials(stripped) == [], line
    # the plain-text body keeps the text as typed (it is never interpreted as Markdown)
    assert PAYLOAD in section(letter, "Patient demographics").body


def test_control_characters_are_dropped():
    letter = build_letter(full_data(patient_name="Zoë\x00 Ó'Brien\u202e", answer="ok\x1b[31m"))
    assert "\x00" not in letter.markdown and "\u202e" not in letter.markdown and "\x1b" not in letter.markdown


def test_empty_letter_lists_every_mandatory_section_and_still_renders():
    empty = LetterData("", "", None, "", "", "", None, "", [], "", "", "", "", "", "", "", "", [], [], None, [], [], [],
                       "", "", "", "", "", "", [], None, "", "", "", date(2026, 1, 1), [])
    letter = build_letter(empty)
    assert letter.missing_mandatory == tuple(MANDATORY_TITLES)
    assert all(s.empty for s in letter.sections)
    assert letter_pdf(letter).startswith(b"%PDF")
    assert letter_pdf(letter, patient_version=True).startswith(b"%PDF")
    assert "has not been set yet" in unescape_markdown(letter.patient_markdown)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80), st.text(max_size=300))
def test_any_text_builds_a_safe_letter_and_pdf(name, free):
    letter = build_letter(full_data(patient_name=name or "x", answer=free or "x",
                                    recommendations=[LetterItem("other", free, name, None)]))
    for md in (letter.markdown, letter.patient_markdown):
        for line in md.split("\n"):
            stripped = re.sub(r"^(#{1,3} |  - |- |> )", "", line).replace("**", "")
            assert unescaped_specials(stripped) == [], line
    assert letter_pdf(letter).startswith(b"%PDF")


# --- PDF -------------------------------------------------------------------------------------


def test_fonts_are_shipped_with_licence():
    fonts = ROOT / "hub" / "fonts"
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        assert (fonts / name).stat().st_size > 100_000
        assert letter_pdf_module._font_file(name).parent == fonts
    assert "Bitstream" in (fonts / "LICENSE-DejaVu.txt").read_text()


def test_letter_pdf_reads_back(tmp_path):
    letter = build_letter(full_data())
    pdf = letter_pdf(letter)
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")
    text = pdf_text(pdf, tmp_path)
    flat = squash(text)
    assert "NHS number: 943 476 5919" in flat
    assert "Zoë Ó'Brien" in flat and "Lena Müller" in flat
    assert "≥ 120 mg/day" in flat and "→ 4.7" in flat
    for title, _, _ in EXPECTED_SECTIONS:
        assert title in flat, title
    for sub in L.PLAN_SUBHEADINGS:
        assert sub in flat
    assert TAPER.description in flat and "GP (Dr Asha Patel)" in flat
    assert "Page 1 of" in flat and "DRAFT" not in flat


def test_long_letter_pdf_has_numbered_pages_and_headers(tmp_path):
    many = [dataclasses.replace(PHYSIO, description=f"Action number {i}: " + "word " * 40) for i in range(60)]
    long_token = "x" * 400
    letter = build_letter(full_data(recommendations=many, formulation=long_token))
    text = pdf_text(letter_pdf(letter), tmp_path)
    pages = text.split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) >= 3
    for n, page in enumerate(pages, 1):
        assert f"Page {n} of {len(pages)}" in page
        assert "943 476 5919" in page and "Pain hub outcome letter" in page
    assert "Action number 59" in squash(text)


def test_draft_pdf_is_marked(tmp_path):
    letter = build_letter(full_data(allergies=""))
    text = squash(pdf_text(letter_pdf(letter), tmp_path))
    assert "DRAFT: not for sending" in text
    assert "Mandatory sections not completed: Allergies and adverse reactions" in text


def test_patient_pdf_reads_back(tmp_path):
    letter = build_letter(full_data())
    pdf = letter_pdf(letter, title="Your pain hub letter", patient_version=True)
    assert pdf.startswith(b"%PDF")
    text = squash(pdf_text(pdf, tmp_path))
    assert "Your pain hub letter" in text and "NHS number: 943 476 5919" in text
    assert "Dear Zoë Ó'Brien," in text
    assert "Your next review is planned for 15 September 2026." in text
    assert "Words we used" in text and "oral morphine equivalent" in text
    assert "\\" not in text and "**" not in text  # Markdown escapes do not leak into the PDF


def test_pdf_of_hostile_text_is_literal(tmp_path):
    letter = build_letter(full_data(answer=PAYLOAD + " {nb} --under-- __it__"))
    text = squash(pdf_text(letter_pdf(letter), tmp_path))
    assert PAYLOAD + " {nb} --under-- __it__" in text


# --- minutes ---------------------------------------------------------------------------------


def minutes_data() -> MinutesData:
    return MinutesData(
        title="Pain hub MDT — 12 June 2026", meeting_date=date(2026, 6, 12), chair_name="Dr Sam Okafor",
        video_link="https://meet.example.nhs.uk/hub-123",
        attendees=[("Dr Sam Okafor", "pain_medicine"), ("Priya Shah", "Physiotherapy"), ("Zoë Ó'Brien", "Psychology")],
        quorum_met=True, quorum_note="Quorum met: pain medicine, physiotherapy and psychology present (≥ 3 disciplines).",
        cases=[
            MinutesCase("Case 1 — ZÓ, 943 476 5919", "Continue oxycodone?", "Taper oxycodone; refer to physiotherapy",
                        [("Start oxycodone taper", "GP (Dr Asha Patel)", date(2026, 7, 1)),
                         ("Physiotherapy referral", "Physiotherapy", None)]),
            MinutesCase("Case 2 — AB", "Injection for shoulder?", "Not discussed — carried forward", []),
        ],
    )


def test_minutes_markdown():
    md = minutes_markdown(minutes_data())
    text = unescape_markdown(md)
    assert md.startswith("# Pain hub MDT")
    for name in ("Dr Sam Okafor (Pain medicine)", "Priya Shah (Physiotherapy)", "Zoë Ó'Brien (Psychology)"):
        assert name in text
    assert "(≥ 3 disciplines)" in text and "Quorum: met." in text
    assert "Outcome: Taper oxycodone; refer to physiotherapy" in text
    assert "Outcome: Not discussed — carried forward" in text
    assert "Start oxycodone taper (owner: GP (Dr Asha Patel); due: 1 July 2026)" in text
    assert "Physiotherapy referral (owner: Physiotherapy; due: no date set)" in text
    assert "](" not in md  # the video link is text, never a Markdown link
    not_quorate = unescape_markdown(minutes_markdown(dataclasses.replace(minutes_data(), quorum_met=False)))
    assert "Quorum: NOT met." in not_quorate


def test_minutes_escape_user_text():
    m = dataclasses.replace(minutes_data(), title=PAYLOAD, quorum_note=PAYLOAD,
                            cases=[MinutesCase(PAYLOAD, PAYLOAD, PAYLOAD, [(PAYLOAD, PAYLOAD, None)])])
    md = minutes_markdown(m)
    assert "<" not in unescaped_specials(md) and "**bold**" not in md and escape_markdown(PAYLOAD) in md


def test_minutes_pdf(tmp_path):
    pdf = minutes_pdf(minutes_data())
    assert pdf.startswith(b"%PDF")
    text = squash(pdf_text(pdf, tmp_path))
    for s in ("Dr Sam Okafor (Pain medicine)", "Zoë Ó'Brien (Psychology)", "(≥ 3 disciplines)",
              "Taper oxycodone; refer to physiotherapy", "Not discussed — carried forward",
              "Start oxycodone taper (owner: GP (Dr Asha Patel); due: 1 July 2026)", "Page 1 of 1",
              "https://meet.example.nhs.uk/hub-123"):
        assert s in text, s


# --- purity ----------------------------------------------------------------------------------


def test_module_is_pure():
    code = ("import sys, hub.letters; bad = [m for m in ('streamlit', 'sqlalchemy', 'db', 'pandas') "
            "if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_public_functions_have_docstrings():
    for name in ("build_letter", "letter_pdf", "minutes_markdown", "minutes_pdf", "escape_markdown",
                 "unescape_markdown", "format_date", "clean_text"):
        doc = getattr(L, name).__doc__
        assert doc and "\n" not in doc.strip(), name
