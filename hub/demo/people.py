"""The demo's people: practices, clinician accounts and synthetic patient identities (common-name lists,
NHS numbers from the never-issued test range 999 000 0000 - 999 999 9999, addresses in a fictional town)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from db.models import (
    User,
    UserRole,
)
from hub.auth import hash_password
from hub.clinical.identifiers import nhs_check_digit, validate_nhs_number

if TYPE_CHECKING:  # the plan is built from these people (hub.demo.history imports this module)
    from hub.demo.history import Plan

DEMO_PASSWORD = "pain-hub-demo"

PRACTICES: tuple[tuple[str, str], ...] = (
    ("NORTH", "Northgate Medical Centre"),
    ("RIVER", "Riverside Surgery"),
    ("HILL", "Hillview Health Centre"),
)
# Fictitious ODS codes in the GP-practice format (a letter and five digits) for the demo practices.
PRACTICE_ODS: dict[str, str] = {"NORTH": "Z99901", "RIVER": "Z99902", "HILL": "Z99903"}
# Synthetic addresses: invented streets in an invented town, with postcodes in the NHS "ZZ99" pseudo
# district, which is well formed but never a real delivery address.
_STREETS = ("Example Street", "Sample Road", "Demo Lane", "Placeholder Avenue", "Fiction Close", "Mockup Way")
_TOWN = "Exampleton"

DEMO_USERS: list[dict[str, Any]] = [
    {"username": "gp.north", "name": "Dr Asha Patel", "roles": ["pcp"], "discipline": None, "practice_code": "NORTH"},
    {"username": "gp.river", "name": "Dr Tom Okafor", "roles": ["pcp"], "discipline": None, "practice_code": "RIVER"},
    {"username": "gp.hill", "name": "Dr Rhiannon Evans", "roles": ["pcp"], "discipline": None,
     "practice_code": "HILL"},
    {"username": "dr.pain", "name": "Dr Samuel Adeyemi", "roles": ["specialist"], "discipline": "pain_medicine",
     "practice_code": None},
    {"username": "physio", "name": "Megan Clarke", "roles": ["specialist"], "discipline": "physiotherapy",
     "practice_code": None},
    {"username": "psych", "name": "Dr Hannah Levy", "roles": ["specialist"], "discipline": "psychology",
     "practice_code": None},
    {"username": "pharm", "name": "Imran Qureshi", "roles": ["specialist"], "discipline": "pharmacy",
     "practice_code": None},
    {"username": "rheum", "name": "Dr Fiona MacLeod", "roles": ["specialist"], "discipline": "rheumatology",
     "practice_code": None},
    {"username": "chair", "name": "Dr Katherine Ward", "roles": ["chair", "specialist"],
     "discipline": "pain_medicine", "practice_code": None},
    {"username": "admin", "name": "Jordan Lee", "roles": ["admin"], "discipline": None, "practice_code": None},
]

# ----------------------------------------------------------------------------- names

FEMALE_NAMES = ("Olivia", "Amelia", "Sarah", "Margaret", "Priya", "Fatima", "Emma", "Joanne", "Linda", "Grace",
           "Aisha", "Niamh", "Sian", "Chloe", "Patricia", "Helen", "Karen", "Mei", "Zainab", "Rachel", "Julie",
           "Susan", "Nadia", "Bethan", "Claire", "Ewa", "Deborah", "Hannah", "Sophie", "Janet", "Anita", "Ruth",
           "Lucy", "Kathleen", "Aaliyah", "Catherine", "Gillian", "Yasmin", "Maureen", "Isla")
MALE_NAMES = ("James", "Mohammed", "David", "Peter", "Arjun", "Daniel", "Michael", "Gareth", "Kwame", "Liam",
         "Robert", "Stephen", "Hassan", "Andrew", "Paul", "Tomasz", "Brian", "Oliver", "Rajesh", "Ian",
         "Christopher", "Keith", "Samuel", "Dylan", "Graham", "Wei", "Callum", "Anthony", "Imran", "Neil",
         "George", "Kevin", "Connor", "Trevor", "Yusuf", "Martin", "Owen", "Patrick", "Derek", "Harry")
FAMILY_NAMES = ("Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
           "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
           "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill",
           "Ward", "Morris", "Moore", "Khan", "Ali", "Begum", "Hussain", "Singh", "Kaur", "Nowak", "Murphy",
           "O'Brien", "Campbell", "Stewart", "MacDonald", "Okonkwo", "Mensah", "Chen", "Nguyen", "Shah",
           "Ahmed", "Baker", "Price", "Bennett", "Griffiths", "Kelly", "Lloyd", "Owen", "Parry", "Rees")


# ----------------------------------------------------------------------------- NHS numbers


def _test_range_nhs_number(k: int) -> str | None:
    """The k-th (0..999999) number of the test range 999 000 0000-999 999 9999, or None if it cannot be valid."""
    nine = f"999{k:06d}"
    check = nhs_check_digit(nine)
    if check is None:
        return None
    number = nine + str(check)
    return number if validate_nhs_number(number)[0] else None


def nhs_numbers(rng: random.Random, n: int, exclude: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """n distinct valid test-range NHS numbers not in `exclude`, in a deterministic random order."""
    want = min(1_000_000, n + n // 4 + len(exclude) + 200)
    out: list[str] = []
    for k in rng.sample(range(1_000_000), want):
        number = _test_range_nhs_number(k)
        if number is not None and number not in exclude:
            out.append(number)
            if len(out) == n:
                return out
    raise ValueError(f"The NHS test range holds fewer than {n} unused valid numbers.")


def create_users(s, practice_ids: dict[str, int], usernames: list[str] | None = None,
                  password: str = DEMO_PASSWORD) -> dict[str, int]:
    """Create demo users (all, or the named ones) with one shared bcrypt hash; returns username -> id."""
    password_hash = hash_password(password)
    ids: dict[str, int] = {}
    for u in DEMO_USERS:
        if usernames is not None and u["username"] not in usernames:
            continue
        user = User(username=u["username"], name=u["name"], email=f"{u['username']}@demo.invalid",
                    password_hash=password_hash, discipline=u["discipline"],
                    practice_id=practice_ids[u["practice_code"]] if u["practice_code"] else None,
                    roles=[UserRole(role=r) for r in u["roles"]])
        s.add(user)
        s.flush()
        ids[u["username"]] = user.id
    return ids


def pcp_username(code: str) -> str:
    return next(u["username"] for u in DEMO_USERS if u["practice_code"] == code and "pcp" in u["roles"])


def identity(p: Plan, today: date) -> dict[str, Any]:
    """Date of birth in the birth year (today.year - age) and a synthetic address, derived from the patient's
    index so that no random draw is taken (the rest of the cohort stays as it was)."""
    year = today.year - p.age
    dob = date(year, 1, 1) + timedelta(days=(p.index * 37) % 365)
    if dob.year != year:  # keep the date inside the birth year
        dob = date(year, 12, 31)
    street = _STREETS[p.index % len(_STREETS)]
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    postcode = f"ZZ99 {p.index % 9 + 1}{letters[p.index % 20]}{letters[(p.index // 20) % 20]}"
    return {"date_of_birth": dob, "address": f"{p.index % 97 + 1} {street}, {_TOWN}", "postcode": postcode}

