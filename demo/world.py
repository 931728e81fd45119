"""The demo's synthetic world, generated from a seed and nothing else (no I/O, no clock).

Two banks as DESIGN.md describes the deployments it must run:

- a collaborative bank of three hospital trusts in West Yorkshire (one hospital each, at real
  coordinates: Leeds, Bradford, Huddersfield) with doctors of every training grade and a dozen
  specialties, priority groups of each trust's regulars and one locum agency;
- a primary-care bank of practices in the ten boroughs of Greater Manchester (real borough
  centres) with workers of 26 staff types, from GPs and nurses to receptionists.

Every worker has a home, a travel radius, a grade (senior doctors may also work the grade
below: `extra_grades`), an appetite for shifts per week (some want many and run into the
working-time limits), a liking for nights and weekends, a keenness (how often it looks at the
app) and an onboarding story (most clear all seven checks; some are still missing documents;
a few had a document rejected first; a few have mandatory training that lapses during the
coming weeks). Demand (`demand`) is drawn per site, day and grade so that the bank's supply
roughly meets it, and shaped by shift patterns (days, long days, twilights, nights; GP
sessions). The same seed gives the same world: every random choice comes from
`rng(seed, ...)`, a `random.Random` keyed by a string, never from the global generator.
"""

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
KINDS = ("identity", "right_to_work", "professional_registration", "dbs", "occupational_health",
         "references", "mandatory_training")


def rng(seed, *parts):
    """A generator of its own for one purpose: the same seed and parts, the same numbers."""
    return random.Random(":".join(str(p) for p in (seed,) + parts))


def weighted(r, options):
    """One key of {option: weight}."""
    keys = list(options)
    return r.choices(keys, weights=[options[k] for k in keys])[0]


def poisson(r, lam):
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(r.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= r.random()
        if p <= limit:
            return k
        k += 1


def distance_km(lat1, lon1, lat2, lon2):
    """Great-circle distance (haversine), as the platform measures it."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 6371.0088 * 2 * math.asin(math.sqrt(a))


def offset(r, lat, lon, sigma_km):
    """A point scattered around (lat, lon), `sigma_km` either way."""
    north, east = r.gauss(0, sigma_km), r.gauss(0, sigma_km)
    return (round(lat + north / 111.2, 5), round(lon + east / (111.2 * math.cos(math.radians(lat))), 5))


# --- sizes -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Size:
    name: str
    doctors: int
    practices: int
    primary_workers: int
    history_days: int = 14  # past days recorded as worked (retrospective shifts)
    horizon_days: int = 21  # future days posted and booked live
    rounds: int = 5  # posting rounds over the coming weeks
    priority_from_round: int = 0  # rounds before this post nothing to priority groups first


FULL = {"doctors": 2800, "practices": 400, "primary_workers": 1000}
SIZES = {
    # small: priority releases only in the last rounds, whose windows nobody outside the group
    # waits for (simulate.PRIORITY_LAG), so a test never sleeps for a window to close
    "small": Size("small", doctors=14, practices=10, primary_workers=10, history_days=7, horizon_days=14,
                  rounds=3, priority_from_round=1),
    "default": Size("default", doctors=175, practices=25, primary_workers=62),  # 1/16 of full
    "full": Size("full", rounds=6, **FULL),
}


def size_from(text):
    """`small`, `default`, `full`, or a scale factor of the full size (e.g. `0.25`)."""
    if text in SIZES:
        return SIZES[text]
    scale = float(text)
    if not 0 < scale <= 2:
        raise ValueError("a scale factor is between 0 and 2")
    return Size(f"x{scale:g}", doctors=max(12, round(FULL["doctors"] * scale)),
                practices=max(10, round(FULL["practices"] * scale)),
                primary_workers=max(12, round(FULL["primary_workers"] * scale)),
                rounds=6 if scale >= 0.5 else 5)


# --- the world's parts ----------------------------------------------------------------------

@dataclass
class Organisation:
    key: str
    name: str
    kind: str
    ods_code: str | None = None


@dataclass
class Site:
    key: str
    org_key: str
    name: str
    latitude: float
    longitude: float
    postcode: str | None
    area: str


@dataclass
class Worker:
    key: str
    bank_key: str
    first: str
    last: str
    email: str
    staff_type: str
    grade: str
    extra_grades: tuple
    specialty: str | None
    registration_body: str | None
    registration_number: str | None
    latitude: float
    longitude: float
    max_travel_km: int
    opted_out_of_48h: bool
    appetite: int  # shifts (or sessions) a week it would like
    night_pref: float
    weekend_pref: float
    keen: float  # chance of looking at the app in a posting round
    picky: float  # the least a shift must appeal (simulate.Simulation.appeal) for it to take it
    home_site: str
    onboarding: str  # cleared | rejected_once | incomplete | applied
    missing: tuple = ()  # kinds never sent (incomplete)
    training_lapses_on_day: int | None = None  # mandatory training's last valid day (days from today)
    agency: bool = False

    @property
    def name(self):
        prefix = "Dr " if self.staff_type in ("doctor", "gp") else ""
        return f"{prefix}{self.first} {self.last}"

    @property
    def cleared(self):
        return self.onboarding in ("cleared", "rejected_once")

    @property
    def acts(self):
        """Looks for shifts itself (agency workers are booked by their agency)."""
        return self.cleared and not self.agency and self.appetite > 0

    @property
    def grades(self):
        return (self.grade,) + self.extra_grades


@dataclass
class User:
    key: str
    name: str
    email: str
    roles: list  # [(role, scope_type, target key: bank | org key | site key)]


@dataclass
class Slot:
    """A shift a site needs: posted (and perhaps filled) by the simulation."""

    key: str
    bank_key: str
    site_key: str
    staff_type: str
    grade: str
    specialty: str | None
    day: int  # days from today (negative: already worked)
    start_minute: int  # London wall clock
    minutes: int
    break_minutes: int
    pattern: str
    instant_book: bool = False
    release: str = "bank"  # priority | bank
    enhanced: bool = False  # posted above the card rate (a rate violation to approve)
    round: int | None = None  # live: the posting round
    repost_of: str | None = None

    def times(self, today):
        """(starts_at, ends_at) as aware datetimes: the London wall clock start, elapsed length."""
        day = today + timedelta(days=self.day)
        start = datetime.combine(day, time(self.start_minute // 60, self.start_minute % 60), tzinfo=LONDON)
        return start, (start.astimezone(UTC) + timedelta(minutes=self.minutes)).astimezone(LONDON)

    @property
    def night(self):
        return self.pattern == "night"

    def hours(self):
        return (self.minutes - self.break_minutes) / 60


@dataclass
class Bank:
    key: str
    name: str
    kind: str  # hospital | primary
    organisations: list
    sites: list
    staff_types: dict  # staff type -> {"grades": {grade: weight}, "body": registration body or None}
    rate_cards: list  # (staff_type, grade, day, night, weekend, bank_holiday)
    requirements: dict  # staff type -> kinds, where not all seven
    workers: list = field(default_factory=list)
    users: list = field(default_factory=list)
    priority_groups: dict = field(default_factory=dict)  # org key -> [worker keys]
    agency_key: str | None = None

    def site(self, key):
        return self._sites[key]

    def __post_init__(self):
        self._sites = {s.key: s for s in self.sites}


@dataclass
class World:
    seed: int
    tag: str
    size: Size
    banks: list

    def bank(self, key):
        return next(b for b in self.banks if b.key == key)

    @property
    def workers(self):
        return [w for b in self.banks for w in b.workers]


# --- names -----------------------------------------------------------------------------------

FIRST = ("Amelia Olivia Isla Ava Mia Sophia Grace Lily Freya Emily Ivy Ella Rosie Evie Florence Poppy "
         "Charlotte Willow Isabella Sienna Aisha Fatima Zara Maryam Priya Ananya Chloe Hannah Niamh "
         "Aoife Chidinma Ngozi Yewande Mei Ling Sofia Elena Oliver George Noah Arthur Muhammad Leo "
         "Harry Oscar Archie Henry Theodore Jack Charlie Thomas Jacob Alfie Freddie Ali Omar Ibrahim "
         "Yusuf Arjun Rohan Vikram Sanjay Daniel Samuel James William Joseph Kwame Tunde Chukwuemeka "
         "Wei Jun Tomasz Piotr Luca Mateo Conor Rhys Dylan Callum Ewan Finlay").split()
LAST = ("Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Robinson Wright Thompson Evans "
        "Walker White Roberts Green Hall Thomas Clarke Jackson Wood Harris Edwards Turner Martin Cooper "
        "Hill Ward Hughes Moore Clark King Harrison Lewis Baker Lee Allen Morris Khan Ahmed Ali Hussain "
        "Begum Shah Singh Kaur Sharma Gupta Iqbal Akhtar Rahman Chowdhury Okafor Adeyemi Mensah Osei "
        "Nwosu Chen Wang Li Zhang Nguyen Kowalski Nowak Murphy Kelly O'Neill Byrne Campbell Stewart "
        "Macdonald Reid Fraser Rossi Silva Santos Haworth Sutcliffe Ackroyd Greenwood Pickles").split()


def person(r):
    return r.choice(FIRST), r.choice(LAST)


def email_for(first, last, key, tag):
    local = "".join(c for c in f"{first}.{last}".lower() if c.isalnum() or c == ".")
    return f"{local}.{key}.{tag}@example.org".lower()


# --- the hospital bank -------------------------------------------------------------------------

TRUSTS = (
    # key, trust, hospital, lat, lon, postcode, share of the bank's doctors
    ("leeds", "Leeds City Hospitals NHS Trust", "Leeds City Infirmary", 53.8017, -1.5525, "LS1 3EX", 0.45),
    ("bradford", "Bradford & Airedale Hospitals NHS Trust", "Bradford Royal Hospital", 53.8076, -1.7876,
     "BD9 6RJ", 0.30),
    ("calderdale", "Calderdale & Kirklees Hospitals NHS Trust", "Huddersfield Royal Hospital", 53.6566,
     -1.8186, "HD3 3EA", 0.25),
)
ODS = {"leeds": "RR8", "bradford": "RAE", "calderdale": "RWY"}
SPECIALTIES = {"Emergency Medicine": 18, "General Medicine": 20, "General Surgery": 10, "Paediatrics": 8,
               "Obstetrics & Gynaecology": 7, "Anaesthetics": 8, "Trauma & Orthopaedics": 7,
               "Psychiatry": 5, "Geriatric Medicine": 7, "Intensive Care": 4, "Cardiology": 4,
               "Acute Medicine": 6}
DOCTOR_GRADES = {"FY1": 12, "FY2": 14, "CT1": 10, "CT2": 10, "ST3": 9, "ST4": 8, "ST5": 7, "ST6": 6,
                 "ST7": 5, "ST8": 4, "Specialty Doctor": 8, "Consultant": 7}
# The grade a worker may also work (acting down), and the grades rotas post at, with their share.
ACTING_DOWN = {"FY2": ("FY1",), "CT1": ("FY2",), "CT2": ("CT1", "FY2"), "ST4": ("ST3",), "ST5": ("ST3",),
               "ST6": ("ST3",), "ST7": ("ST3",), "ST8": ("ST3",), "Specialty Doctor": ("ST3",),
               "Consultant": ("Specialty Doctor",)}
POSTED_DOCTOR_GRADES = {"FY1": 14, "FY2": 18, "CT1": 22, "ST3": 30, "Specialty Doctor": 8, "Consultant": 8}
DOCTOR_RATES = {  # day, night, weekend, bank holiday (GBP an hour; the bank's harmonised card)
    "FY1": (38, 45, 45, 57), "FY2": (42, 50, 50, 63), "CT1": (50, 60, 60, 75), "CT2": (52, 62, 62, 78),
    "ST3": (68, 80, 80, 100), "ST4": (70, 82, 82, 102), "ST5": (72, 84, 84, 104), "ST6": (74, 86, 86, 106),
    "ST7": (76, 88, 88, 108), "ST8": (78, 90, 90, 110), "Specialty Doctor": (75, 88, 88, 110),
    "Consultant": (120, 140, 140, 170),
}
# pattern: (start minute, length in minutes, unpaid break minutes)
HOSPITAL_PATTERNS = {"day": (8 * 60, 9 * 60, 30), "long day": (8 * 60, 12 * 60 + 30, 60),
                     "twilight": (16 * 60, 8 * 60, 30), "night": (20 * 60, 12 * 60 + 30, 60)}
DOCTOR_PATTERN_MIX = {"day": 30, "long day": 25, "twilight": 15, "night": 30}
CONSULTANT_PATTERN_MIX = {"day": 60, "long day": 25, "twilight": 15}


def hospital_bank(seed, tag, size):
    orgs, sites = [], []
    for key, trust, hospital, lat, lon, postcode, _ in TRUSTS:
        orgs.append(Organisation(key, trust, "trust", ODS[key]))
        sites.append(Site(f"{key}-site", key, hospital, lat, lon, postcode, key))
    orgs.append(Organisation("agency", "Pennine Medical Locums Ltd", "agency"))
    rates = [("doctor", grade, *DOCTOR_RATES[grade]) for grade in DOCTOR_GRADES]
    bank = Bank("hospital", f"West Yorkshire Collaborative Doctors Bank ({tag})", "hospital", orgs, sites,
                {"doctor": {"grades": DOCTOR_GRADES, "body": "GMC"}}, rates, {}, agency_key="agency")
    shares = {f"{t[0]}-site": t[6] for t in TRUSTS}
    n_agency = max(2, round(size.doctors * 0.02))
    for i in range(size.doctors):
        r = rng(seed, "doctor", i)
        first, last = person(r)
        home = weighted(r, shares)
        site = bank.site(home)
        lat, lon = offset(r, site.latitude, site.longitude, 9)
        grade = weighted(r, DOCTOR_GRADES)
        key = f"d{i:04d}"
        bank.workers.append(Worker(
            key=key, bank_key="hospital", first=first, last=last, email=email_for(first, last, key, tag),
            staff_type="doctor", grade=grade, extra_grades=ACTING_DOWN.get(grade, ()),
            specialty=weighted(r, SPECIALTIES), registration_body="GMC",
            registration_number=str(7000000 + (seed * 7919 + i) % 2999999),
            latitude=lat, longitude=lon,
            max_travel_km=weighted(r, {15: 2, 20: 3, 25: 3, 30: 3, 40: 2, 60: 1}),
            opted_out_of_48h=r.random() < 0.25,
            appetite=weighted(r, {0: 20, 1: 32, 2: 24, 3: 13, 4: 7, 5: 4}),
            night_pref=weighted(r, {0.05: 30, 0.5: 30, 1.0: 25, 1.6: 15}),
            weekend_pref=weighted(r, {0.2: 25, 0.7: 35, 1.0: 25, 1.5: 15}),
            keen=round(r.uniform(0.4, 0.95), 3), picky=round(r.uniform(0.1, 0.45), 3), home_site=home,
            **onboarding(r, size, "GMC"),
            agency=i < n_agency,
        ))
    for worker in bank.workers[:n_agency]:  # locums supplied by the agency: always cleared
        worker.onboarding, worker.missing = "cleared", ()
    for org in orgs[:3]:  # each trust's regulars: keen doctors based there
        r = rng(seed, "regulars", org.key)
        based = [w.key for w in bank.workers
                 if w.home_site == f"{org.key}-site" and w.acts and w.appetite >= 2]
        bank.priority_groups[org.key] = sorted(r.sample(based, k=len(based) * 3 // 5))
    bank.users = staff_users(bank, tag, [(s.key, [s.org_key]) for s in sites])
    return bank


# --- the primary-care bank --------------------------------------------------------------------------

BOROUGHS = (
    # key, name, centre lat, lon, postcode district, share of practices
    ("bolton", "Bolton", 53.5769, -2.4282, "BL", 10), ("bury", "Bury", 53.5933, -2.2966, "BL9", 6),
    ("manchester", "Manchester", 53.4808, -2.2426, "M", 22), ("oldham", "Oldham", 53.5409, -2.1114, "OL", 9),
    ("rochdale", "Rochdale", 53.6097, -2.1561, "OL11", 8), ("salford", "Salford", 53.4875, -2.2901, "M6", 9),
    ("stockport", "Stockport", 53.4106, -2.1575, "SK", 11),
    ("tameside", "Tameside", 53.4806, -2.0810, "OL6", 8),
    ("trafford", "Trafford", 53.4215, -2.3510, "M33", 8), ("wigan", "Wigan", 53.5450, -2.6325, "WN", 9),
)
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
PRACTICE_NAMES = ("Medical Centre", "Surgery", "Health Centre", "Medical Practice", "Family Practice",
                  "Group Practice")
PLACES = ("Park", "Victoria", "Church Street", "Brook", "Mill Lane", "Moorside", "Hollins", "Castle",
          "Kingsway", "Heaton", "Ashfield", "Greenbank", "Orchard", "Bridge", "Langley", "Westwood",
          "Northgate", "Oak Tree", "Beech", "Holly Bank", "St Mary's", "Canal Side", "Fairfield", "Highfield",
          "Meadowbank", "Crossley", "Elm Grove", "Riverside", "Peel", "Newtown")
# staff type: (share of workers, {grade: weight}, registration body, day rate by grade, sessions it works)
PRIMARY_TYPES = {
    "gp": (26, {"GP": 1}, "GMC", {"GP": 92}, "clinical"),
    "practice_nurse": (13, {"Band 5": 5, "Band 6": 4}, "NMC", {"Band 5": 27, "Band 6": 32}, "clinical"),
    "advanced_nurse_practitioner": (6, {"Band 7": 3, "Band 8a": 2}, "NMC", {"Band 7": 44, "Band 8a": 52},
                                    "clinical"),
    "nursing_associate": (2, {"Band 4": 1}, "NMC", {"Band 4": 21}, "clinical"),
    "trainee_nursing_associate": (1, {"Band 3": 1}, None, {"Band 3": 16}, "clinical"),
    "healthcare_assistant": (7, {"Band 3": 1}, None, {"Band 3": 17}, "clinical"),
    "phlebotomist": (2, {"Band 2": 1}, None, {"Band 2": 14}, "clinical"),
    "clinical_pharmacist": (5, {"Band 7": 3, "Band 8a": 2}, "GPhC", {"Band 7": 40, "Band 8a": 48},
                            "clinical"),
    "pharmacy_technician": (2, {"Band 5": 1}, "GPhC", {"Band 5": 24}, "clinical"),
    "physician_associate": (3, {"Band 7": 1}, "GMC", {"Band 7": 40}, "clinical"),
    "paramedic": (3, {"Band 7": 1}, "HCPC", {"Band 7": 42}, "clinical"),
    "first_contact_physiotherapist": (3, {"Band 7": 1}, "HCPC", {"Band 7": 41}, "clinical"),
    "advanced_clinical_practitioner": (1, {"Band 8a": 1}, "HCPC", {"Band 8a": 53}, "clinical"),
    "mental_health_practitioner": (2, {"Band 6": 1, "Band 7": 1}, "NMC", {"Band 6": 34, "Band 7": 40},
                                   "clinical"),
    "dietitian": (1, {"Band 6": 1}, "HCPC", {"Band 6": 31}, "clinical"),
    "podiatrist": (1, {"Band 6": 1}, "HCPC", {"Band 6": 31}, "clinical"),
    "occupational_therapist": (1, {"Band 6": 1}, "HCPC", {"Band 6": 31}, "clinical"),
    "social_prescribing_link_worker": (2, {"Band 4": 1}, None, {"Band 4": 18}, "office"),
    "care_coordinator": (2, {"Band 4": 1}, None, {"Band 4": 18}, "office"),
    "health_and_wellbeing_coach": (1, {"Band 4": 1}, None, {"Band 4": 18}, "office"),
    "receptionist": (6, {"Band 2": 1}, None, {"Band 2": 13.5}, "office"),
    "medical_secretary": (2, {"Band 3": 1}, None, {"Band 3": 15}, "office"),
    "general_practice_assistant": (1, {"Band 3": 1}, None, {"Band 3": 14.5}, "office"),
    "dispenser": (1, {"Band 3": 1}, None, {"Band 3": 14.5}, "office"),
    "practice_manager": (1, {"Band 7": 1}, None, {"Band 7": 33}, "office"),
    "data_and_quality_lead": (1, {"Band 5": 1}, None, {"Band 5": 22}, "office"),
}
PRIMARY_ACTING_DOWN = {("practice_nurse", "Band 6"): ("Band 5",),
                       ("advanced_nurse_practitioner", "Band 8a"): ("Band 7",),
                       ("clinical_pharmacist", "Band 8a"): ("Band 7",),
                       ("mental_health_practitioner", "Band 7"): ("Band 6",)}
PRIMARY_PATTERNS = {"morning": (8 * 60, 5 * 60, 0), "afternoon": (13 * 60 + 30, 5 * 60, 0),
                    "full day": (8 * 60, 10 * 60 + 30, 60), "evening": (18 * 60 + 30, 2 * 60, 0),
                    "saturday hub": (9 * 60, 4 * 60, 0)}
CLINICAL_MIX = {"morning": 35, "afternoon": 30, "full day": 25, "evening": 10}
OFFICE_MIX = {"morning": 25, "afternoon": 20, "full day": 55}


def primary_bank(seed, tag, size):
    r = rng(seed, "practices")
    total = sum(b[5] for b in BOROUGHS)
    counts = [max(1, round(size.practices * b[5] / total)) for b in BOROUGHS]
    counts[2] += size.practices - sum(counts)  # Manchester takes the rounding
    orgs, sites = [], []
    for (key, name, lat, lon, district, _), count in zip(BOROUGHS, counts, strict=True):
        for j in range(count):
            plat, plon = offset(r, lat, lon, 3.5)
            practice = f"{r.choice(PLACES)} {r.choice(PRACTICE_NAMES)}"
            pkey = f"{key}-{j:03d}"
            orgs.append(Organisation(pkey, f"{practice}, {name}", "practice", f"P8{len(orgs):04d}"))
            sites.append(Site(f"{pkey}-site", pkey, practice, plat, plon,
                              f"{district}{r.randint(1, 9)} {r.randint(1, 9)}{r.choice(POSTCODE_LETTERS)}"
                              f"{r.choice(POSTCODE_LETTERS)}", key))
    rates, requirements = [], {}
    for staff_type, (_, _, body, day_rates, _) in PRIMARY_TYPES.items():
        for grade, day in day_rates.items():  # night, weekend and bank holiday enhanced from the day rate
            rates.append((staff_type, grade, day, round(day * 1.2, 2), round(day * 1.25, 2),
                          round(day * 1.5, 2)))
        if body is None:  # no professional register for this staff type
            requirements[staff_type] = [k for k in KINDS if k != "professional_registration"]
    bank = Bank("primary", f"Greater Manchester Primary Care Bank ({tag})", "primary", orgs, sites,
                {t: {"grades": v[1], "body": v[2]} for t, v in PRIMARY_TYPES.items()}, rates, requirements)
    area_weights = {b[0]: b[5] for b in BOROUGHS}
    centres = {b[0]: (b[2], b[3]) for b in BOROUGHS}
    by_area = {}
    for site in sites:
        by_area.setdefault(site.area, []).append(site)
    for i in range(size.primary_workers):
        r = rng(seed, "primary", i)
        first, last = person(r)
        area = weighted(r, area_weights)
        lat, lon = offset(r, *centres[area], 5)
        staff_type = weighted(r, {t: v[0] for t, v in PRIMARY_TYPES.items()})
        grades, body = PRIMARY_TYPES[staff_type][1], PRIMARY_TYPES[staff_type][2]
        grade = weighted(r, grades)
        home = min(by_area[area], key=lambda s: distance_km(lat, lon, s.latitude, s.longitude))
        key = f"p{i:04d}"
        bank.workers.append(Worker(
            key=key, bank_key="primary", first=first, last=last, email=email_for(first, last, key, tag),
            staff_type=staff_type, grade=grade, extra_grades=PRIMARY_ACTING_DOWN.get((staff_type, grade), ()),
            specialty=None, registration_body=body,
            registration_number=str(3000000 + (seed * 7919 + i) % 2999999) if body else None,
            latitude=lat, longitude=lon, max_travel_km=weighted(r, {5: 1, 8: 2, 10: 4, 15: 4, 20: 3, 30: 2}),
            opted_out_of_48h=r.random() < 0.1,
            appetite=weighted(r, {0: 15, 1: 25, 2: 25, 3: 18, 4: 10, 6: 7}),
            night_pref=1.0, weekend_pref=weighted(r, {0.3: 40, 0.8: 40, 1.3: 20}),
            keen=round(r.uniform(0.4, 0.95), 3), picky=round(r.uniform(0.1, 0.45), 3), home_site=home.key,
            **onboarding(r, size, body),
        ))
    chunks = []
    for area, area_sites in by_area.items():  # an area's bank team: 25 practices each at most
        for start in range(0, len(area_sites), 25):
            part = area_sites[start:start + 25]
            chunks.append((f"{area}-{start // 25}", [s.org_key for s in part]))
    bank.users = staff_users(bank, tag, chunks)
    return bank


def onboarding(r, size, body):
    """A worker's compliance story: which documents it sends and how they fare."""
    story = weighted(r, {"cleared": 89, "rejected_once": 3, "incomplete": 6, "applied": 2})
    missing = ()
    if story == "incomplete":
        missing = tuple(r.sample(("dbs", "occupational_health", "references", "mandatory_training"),
                                 k=r.randint(1, 2)))
    lapses = None
    if story in ("cleared", "rejected_once") and r.random() < 0.04:
        lapses = r.randint(4, max(5, size.horizon_days - 2))
    return {"onboarding": story, "missing": missing, "training_lapses_on_day": lapses}


def staff_users(bank, tag, teams):
    """The bank's staff: its admin (payroll officer), leadership, a bank-wide approver (second
    approvals, rate violations, agency cascades); per hospital site a rota coordinator and a
    timesheet approver; per area (25 practices at most) one bank team doing both for its
    practices; an agency's booking desk."""
    users = [
        User("admin", "Bank Manager", f"bank.manager.{bank.key}.{tag}@example.org",
             [("bank_admin", "bank", bank.key)]),
        User("leadership", "Director of Workforce", f"workforce.director.{bank.key}.{tag}@example.org",
             [("leadership", "bank", bank.key)]),
        User("approver", "Medical Staffing Lead" if bank.kind == "hospital" else "Bank Clinical Lead",
             f"staffing.lead.{bank.key}.{tag}@example.org", [("timesheet_approver", "bank", bank.key)]),
    ]
    for team, org_keys in teams:
        if bank.kind == "primary":
            users.append(User(f"coordinator:{team}", f"Bank Team {team}",
                              f"team.{team}.{bank.key}.{tag}@example.org",
                              [(role, "organisation", k) for k in org_keys
                               for role in ("rota_coordinator", "timesheet_approver")]))
            continue
        users.append(User(f"coordinator:{team}", f"Rota Coordinator {team}",
                          f"rota.{team}.{bank.key}.{tag}@example.org", [("rota_coordinator", "site", team)]))
        users.append(User(f"approver:{team}", f"Timesheet Approver {team}",
                          f"timesheets.{team}.{bank.key}.{tag}@example.org",
                          [("timesheet_approver", "site", team)]))
    if bank.agency_key:
        users.append(User("agency", "Agency Booking Desk",
                          f"desk.{bank.agency_key}.{bank.key}.{tag}@example.org",
                          [("agency", "organisation", bank.agency_key)]))
    return users


def make_world(seed, size, tag):
    return World(seed, tag, size, [hospital_bank(seed, tag, size), primary_bank(seed, tag, size)])


# --- demand ------------------------------------------------------------------------------------

HOSPITAL_DEMAND = 0.95  # shifts posted per shift the cleared workers would like to work
PRIMARY_DEMAND = 0.75
HARD_TO_FILL = 0.12  # share of shifts shaped like nobody in particular (any grade, specialty, site)
WEEKDAY_HOSPITAL = (1.0, 1.0, 1.0, 1.0, 1.1, 1.0, 0.9)  # Monday first
WEEKDAY_PRIMARY = (1.1, 1.0, 1.0, 1.0, 1.05, 0.2, 0.0)


def teams(bank):
    """{site key: its coordinating team}, the suffix of its coordinator's and approver's keys."""
    if bank.kind == "hospital":
        return {s.key: s.key for s in bank.sites}
    team_of_org = {k: user.key.split(":", 1)[1] for user in bank.users if user.key.startswith("coordinator:")
                   for _, _, k in user.roles}
    return {s.key: team_of_org[s.org_key] for s in bank.sites}


def demand(world, today):
    """Every slot of the simulated weeks: the past `history_days` (worked and recorded since;
    only shifts over before today began) and the coming `horizon_days` (from tomorrow), each
    live one with the posting round it is posted in. Same seed and day, same slots.

    A bank recruits for the work it has, so demand takes the shape of its workforce: each
    shift is drawn after a cleared worker (weighted by how much it wants to work) — its staff
    type, a grade it may work, mostly its specialty, a site near its home — and some after
    anyone at all (hard to fill). How many: the workers' appetite times HOSPITAL_DEMAND or
    PRIMARY_DEMAND, by weekday."""
    size = world.size
    slots = []
    days = list(range(-size.history_days, 0)) + list(range(1, size.horizon_days + 1))
    midnight = datetime.combine(today, time(0), tzinfo=LONDON)
    for bank in world.banks:
        cleared = [w for w in bank.workers if w.cleared and not w.agency]
        supply = sum(w.appetite for w in cleared) / 7
        factor, weekdays = ((HOSPITAL_DEMAND, WEEKDAY_HOSPITAL) if bank.kind == "hospital"
                            else (PRIMARY_DEMAND, WEEKDAY_PRIMARY))
        near = _nearby_sites(bank)
        for day in days:
            weekday = (today + timedelta(days=day)).weekday()
            r = rng(world.seed, "demand", bank.key, day)
            count = poisson(r, factor * supply * weekdays[weekday] / (sum(weekdays) / 7))
            for n in range(count):
                if r.random() < HARD_TO_FILL:
                    template = r.choice(bank.workers)
                else:
                    template = r.choices(cleared, weights=[w.appetite for w in cleared])[0]
                slot = _slot_like(bank, template, near, weekday, r)
                slot.key, slot.day = f"{bank.key[0]}{day:+03d}-{n:04d}", day
                if day < 0 and slot.times(today)[1] > midnight:
                    continue  # still going on (or ended only today): not history
                if day > 0:
                    _live_features(bank, slot, r, size)
                slots.append(slot)
    return slots


def _nearby_sites(bank):
    """{worker key: [site keys within its radius, nearest first]} (its home site if none)."""
    near = {}
    for w in bank.workers:
        ranked = sorted((distance_km(w.latitude, w.longitude, s.latitude, s.longitude), s.key)
                        for s in bank.sites)
        near[w.key] = [k for d, k in ranked if d <= w.max_travel_km][:6] or [w.home_site]
    return near


def _slot_like(bank, worker, near, weekday, r):
    if bank.kind == "hospital":
        grades = [g for g in worker.grades if g in POSTED_DOCTOR_GRADES] or ["ST3"]
        grade = r.choice(grades)
        specialty = worker.specialty if r.random() < 0.85 else weighted(r, SPECIALTIES)
        site = worker.home_site if r.random() < 0.7 else r.choice(near[worker.key])
        pattern = weighted(r, CONSULTANT_PATTERN_MIX if grade == "Consultant" else DOCTOR_PATTERN_MIX)
        start, minutes, brk = HOSPITAL_PATTERNS[pattern]
    else:
        grade, specialty = r.choice(worker.grades), None
        site = r.choice(near[worker.key])
        if weekday >= 5:
            pattern = "saturday hub"
        else:
            clinical = PRIMARY_TYPES[worker.staff_type][4] == "clinical"
            pattern = weighted(r, CLINICAL_MIX if clinical else OFFICE_MIX)
        start, minutes, brk = PRIMARY_PATTERNS[pattern]
    return Slot("", bank.key, site, worker.staff_type, grade, specialty, 0, start, minutes, brk, pattern)


def _live_features(bank, slot, r, size):
    """How a coming shift is posted: instant book or not, to the trust's regulars first or the
    whole bank, above the card rate (hard to fill), and in which posting round."""
    site = bank.site(slot.site_key)
    slot.instant_book = r.random() < (0.25 if bank.kind == "hospital" else 0.45)
    if slot.day <= 3:  # short notice: posted late in the cycle
        slot.round = r.randrange(size.rounds // 2, size.rounds)
    else:
        slot.round = r.randrange(size.rounds)
    if (bank.priority_groups.get(site.org_key) and slot.round >= size.priority_from_round
            and r.random() < 0.35):
        slot.release = "priority"
    hard = slot.pattern in ("night", "saturday hub")
    slot.enhanced = r.random() < (0.08 if hard else 0.02)
