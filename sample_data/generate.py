"""Generate the sample CRM exports that configs/b2b.toml and configs/b2c.toml score.

Run ``python sample_data/generate.py`` to rewrite sample_data/b2b/ and sample_data/b2c/.
The output depends only on the seeds below, so repeated runs write the same bytes. The B2B
outcomes (sample_data/b2b/outcomes.csv) draw from their own seed, after the leads and
activities are drawn, so changing them leaves every other file as it is. People
and companies are random combinations of made-up names, and company e-mail domains use the
reserved ``.example`` top-level domain.

NOTE: Python keeps the sequence of ``random.Random`` stable across versions only for
``random()`` itself, so another Python version may draw other random rows. The values of the
hand-made rows stay the same, but their line numbers may change.

Besides the random rows, hand-made rows give tests fixed cases: the ``*_SPECIAL_*`` tables
and the ``*_messy_*`` and ``add_*_mess`` functions list them with what each one exercises.
"""

from __future__ import annotations

import csv
import math
import random
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
B2B_SEED = 20261130
B2C_SEED = 20261131
OUTCOMES_SEED = 20270131
FIRST_DAY = date(2026, 8, 1)
AS_OF = date(2026, 11, 30)
SPAN_DAYS = (AS_OF - FIRST_DAY).days + 1

Row = dict[str, str]
# An activity row before writing. A datetime is local wall-clock time that the writer renders
# in a random ISO 8601 form, while text is a hand-written timestamp that is written as it is.
Activity = dict[str, str | datetime]


class Profile(NamedTuple):
    """How much and how recently a group of leads interacts with the company."""

    share: int  # weight when drawing a lead's profile
    activities: tuple[int, int]  # minimum and maximum activities per lead
    mean_age_days: float  # mean age of an activity on AS_OF, before the cut at FIRST_DAY


PROFILES = {
    "cold": Profile(44, (0, 4), 150),
    "warm": Profile(30, (4, 14), 45),
    "hot": Profile(26, (14, 32), 14),
}

# fmt: off
FIRST_NAMES = [
    "Anna", "Lars", "Ingrid", "Marco", "Sofia", "James", "Priya", "Chen", "Fatima", "Jonas",
    "Emma", "Lucas", "Olivia", "Noah", "Maja", "Ahmed", "Elena", "Tomasz", "Aisha", "Daniel",
    "Hannah", "Mateo", "Yuki", "Oskar", "Grace", "Leila", "Felix", "Nora", "Samuel", "Zoë",
]
LAST_NAMES = [
    "Berg", "Hansen", "Rossi", "Schmidt", "Garcia", "Smith", "Patel", "Wang", "Khan", "Müller",
    "Novak", "Kim", "Dubois", "Haugen", "Okafor", "Nguyen", "Núñez", "Öztürk", "Larsen", "Brown",
    "Silva", "Jensen", "Moreau", "Fischer", "Hall", "Ivanova", "Costa", "Lindqvist", "Ali", "Ross",
]
# fmt: on


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    """Draw one key of ``weights``, each with probability proportional to its value."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def messy(rng: random.Random, value: str, rate: float) -> str:
    """Return ``value``, or with probability ``rate`` a hand-typed variant of it.

    The variants differ only in case and surrounding white space, so a reader that trims and
    ignores case must treat them as ``value``.
    """
    if not value or rng.random() >= rate:
        return value
    return rng.choice([value.upper(), f" {value.lower()} ", value.title(), f"{value}  "])


def ascii_fold(text: str) -> str:
    """Lower-case ``text`` and drop its accents, so that a name fits in an e-mail address."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def make_emails_unique(rows: list[Row], column: str) -> None:
    """Append the row number to each address that an earlier row already uses.

    Addresses compare trimmed and lower-cased, as leadq joins them.
    """
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        if row[column].strip().lower() in seen:
            local_part, domain = row[column].split("@")
            row[column] = f"{local_part}{number}@{domain}"
        seen.add(row[column].strip().lower())


def activity_time(rng: random.Random, mean_age_days: float) -> datetime:
    """Draw a local wall-clock time between 07:00 and 21:59 from FIRST_DAY to AS_OF."""
    # Ages in days follow an exponential distribution, redrawn until they fall on or after
    # FIRST_DAY, so recent days are the busiest without a spike on any single day.
    age = rng.expovariate(1 / mean_age_days)
    while age >= SPAN_DAYS:
        age = rng.expovariate(1 / mean_age_days)
    day = AS_OF - timedelta(days=int(age))
    return datetime.combine(day, time(rng.randint(7, 21), rng.randrange(60), rng.randrange(60)))


def days_ago(days: int) -> datetime:
    """Return 10:00 local time on the day ``days`` days before AS_OF."""
    return datetime.combine(AS_OF - timedelta(days=days), time(10, 0))


def render_timestamp(rng: random.Random, local: datetime, zone: ZoneInfo) -> str:
    """Write a local wall-clock time in one of the ISO 8601 forms that real exports mix."""
    aware = local.replace(tzinfo=zone)
    form = rng.random()
    if form < 0.35:
        return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if form < 0.6:
        return aware.isoformat(timespec="seconds")
    if form < 0.8:
        return local.strftime("%Y-%m-%d %H:%M:%S")
    return local.strftime("%Y-%m-%dT%H:%M:%S")


def write_csv(path: Path, rows: list[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_activity_files(
    rng: random.Random,
    folder: Path,
    files: dict[str, list[Activity]],
    *,
    type_column: str,
    time_column: str,
    zone: ZoneInfo,
) -> None:
    """Write each file sorted by time, as exports are, with odd case in some type names.

    Rows with a hand-written timestamp keep it as it is and go to a random line.
    """
    for name, activities in files.items():
        timed: list[tuple[datetime, Activity]] = []
        hand_written: list[Row] = []
        for activity in activities:
            when = activity[time_column]
            if isinstance(when, datetime):
                timed.append((when, activity))
            else:
                hand_written.append({key: str(value) for key, value in activity.items()})
        timed.sort(key=lambda pair: pair[0])

        rows: list[Row] = []
        for when, activity in timed:
            row = {key: str(value) for key, value in activity.items()}
            row[time_column] = render_timestamp(rng, when, zone)
            row[type_column] = messy(rng, row[type_column], rate=0.03)
            rows.append(row)
        for row in hand_written:
            rows.insert(rng.randrange(len(rows) + 1), row)
        write_csv(folder / f"{name}.csv", rows)


# ---------------------------------------------------------------------------------------------
# B2B: a software vendor's CRM leads and its web, e-mail, form and webinar activities.

B2B_LEADS = 400
# fmt: off
INDUSTRIES = {
    "Software": 36, "Financial Services": 24, "Healthcare": 18, "Retail": 6,
    "Manufacturing": 6, "Education": 4, "Government": 3, "Media": 3,
}
COMPANY_WORDS = [
    "Northwind", "Bluefin", "Granite", "Aurora", "Fjord", "Cobalt", "Lumen", "Harbor",
    "Summit", "Quartz", "Evergreen", "Atlas", "Beacon", "Nimbus", "Redwood", "Meridian",
]
COMPANY_SUFFIXES = {
    "Software": ["Software", "Labs", "Cloud"],
    "Financial Services": ["Capital", "Bank", "Insurance"],
    "Healthcare": ["Health", "Clinics", "Medical"],
    "Retail": ["Stores", "Outfitters", "Market"],
    "Manufacturing": ["Industries", "Manufacturing", "Works"],
    "Education": ["University", "Academy", "Schools"],
    "Government": ["City Council", "County", "Agency"],
    "Media": ["Media", "Studios", "Press"],
}
BUYING_ROLES = {
    "Decision Maker": 20, "Economic Buyer": 10, "Champion": 24, "Influencer": 30,
    "End User": 8, "Other": 4, "": 4,
}
JOB_TITLES = {
    "Decision Maker": ["VP of Marketing", "Chief Revenue Officer", "Head of Sales", "CMO"],
    "Economic Buyer": ["CFO", "VP Finance", "Procurement Director"],
    "Champion": ["Marketing Operations Manager", "RevOps Lead", "Demand Generation Manager"],
    "Influencer": ["Sales Operations Analyst", "CRM Administrator", "Growth Marketer"],
    "End User": ["Sales Development Rep", "Account Executive", "Marketing Coordinator"],
    "Other": ["Consultant", "Recruiter", "Student"],
    "": ["Manager", "Analyst"],
}
CRMS = ["Salesforce", "HubSpot", "Microsoft Dynamics", "Pipedrive"]
OTHER_TOOLS = ["Slack", "AWS", "Azure", "Google Workspace", "Snowflake", "Zendesk", "Jira"]
B2B_COUNTRIES = {"DE": 22, "NO": 9, "SE": 7, "GB": 15, "FR": 8, "NL": 8, "US": 24, "CA": 7}
PERSONAL_DOMAINS = ["gmail.com", "yahoo.com", "hotmail.com"]

B2B_ACTIVITY_MIX = {
    "page_view": 58, "email_click": 17, "content_download": 11,
    "form_submit": 7, "webinar_attended": 7,
}
PAGE_URLS = {
    "/pricing": 12, "/pricing?plan=enterprise": 4, "/": 14, "/product/integrations": 8,
    "/blog/lead-scoring-basics": 10, "/blog/crm-data-hygiene": 8, "/blog/b2b-attribution": 7,
    "/docs/getting-started": 8, "/docs/api/webhooks": 5, "/customers": 6, "/careers": 4,
}
RESOURCE_URLS = ["/resources/ebook-lead-scoring", "/resources/whitepaper-data-quality"]
WEBINAR_URLS = ["/webinars/scoring-in-practice", "/webinars/revops-roundtable"]
FORMS = {"Newsletter": 50, "Ebook": 40, "Demo request": 6, "Contact sales": 4}
HOT_FORMS = {"Newsletter": 25, "Ebook": 25, "Demo request": 35, "Contact sales": 15}
FORM_URLS = {
    "Newsletter": "/newsletter", "Ebook": "/resources/ebook-lead-scoring",
    "Demo request": "/demo", "Contact sales": "/contact",
}
B2B_ACTIVITY_FILES = {
    "page_view": "web", "content_download": "web", "email_click": "email",
    "unsubscribe": "email", "form_submit": "forms", "webinar_attended": "webinars",
}
# fmt: on

# Hand-made leads, by lead number, with the column values that replace the random ones.
# B2B_FIT passes every fit filter in configs/b2b.toml, so their activities decide the outcome.
B2B_FIT = {"Industry": "Software", "Employees": "420", "Buying Role": "Champion",
           "Tech Stack": "HubSpot; Slack; AWS"}  # fmt: skip
B2B_SPECIAL_LEADS: dict[int, Row] = {
    12: B2B_FIT,  # MQL only through a demo request 40 days ago
    87: B2B_FIT,  # MQL only through a demo request 55 days ago
    233: B2B_FIT,  # MQL only through " contact sales" (odd case) 70 days ago
    45: B2B_FIT | {"Email": "lena.haugen84@gmail.com"},  # very engaged, personal e-mail
    178: B2B_FIT | {"Industry": "Education"},  # very engaged, industry not targeted
    310: B2B_FIT | {"Employees": "12"},  # very engaged, company too small
    200: B2B_FIT,  # activities on both edges of the window, see b2b_messy_activities
    150: B2B_FIT | {"Last Modified": "2026-11-20T08:15:00Z"},  # duplicated, see add_b2b_mess
}


def employees(rng: random.Random) -> str:
    band = rng.random()
    if band < 0.02:
        return rng.choice(["N/A", ""])
    if band < 0.06:
        count = rng.randint(2, 49)
    elif band < 0.94:
        count = int(50 * 100 ** rng.random())  # 50 to 4,999, log-uniform
    else:
        count = rng.randint(5_001, 60_000)
    return f"{count:,}" if count >= 1_000 and rng.random() < 0.6 else str(count)


def tech_stack(rng: random.Random) -> str:
    if rng.random() < 0.06:
        return ""
    tools = rng.sample(OTHER_TOOLS, rng.randint(1, 3))
    if rng.random() < 0.93:
        tools.insert(0, rng.choice(CRMS))
    return rng.choice(["; ", ";", ", "]).join(tools)


def make_b2b_lead(rng: random.Random, number: int, fixed: Row) -> Row:
    """Draw a random lead, then apply the ``fixed`` column values of a hand-made lead."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    industry = fixed.get("Industry") or pick(rng, INDUSTRIES)
    company = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIXES[industry])}"
    # Hand-made leads get a company address unless ``fixed`` sets another one.
    if fixed or rng.random() >= 0.03:
        email = f"{ascii_fold(first)}.{ascii_fold(last)}@{ascii_fold(company).replace(' ', '')}"
        email += ".example"
    else:
        email = f"{ascii_fold(first + last)}{rng.randint(1, 99)}@{rng.choice(PERSONAL_DOMAINS)}"
    role = pick(rng, BUYING_ROLES)
    modified = datetime.combine(AS_OF, time()) - timedelta(minutes=rng.randint(60, 259_200))
    lead = {
        "Record ID": f"L-{number:06d}",
        "First Name": first,
        "Last Name": last,
        "Email": email,
        "Company": company,
        "Industry": messy(rng, industry, rate=0.08),
        "Employees": employees(rng),
        "Job Title": rng.choice(JOB_TITLES[role]),
        "Buying Role": messy(rng, role, rate=0.04),
        "Tech Stack": tech_stack(rng),
        "Country": pick(rng, B2B_COUNTRIES),
        "Last Modified": modified.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return lead | fixed


def b2b_activity(
    lead_id: str, kind: str, when: str | datetime, url: str, form: str = ""
) -> Activity:
    return {"Contact ID": lead_id, "Activity Type": kind, "Occurred At": when,
            "Page URL": url, "Form": form}  # fmt: skip


def random_b2b_activity(
    rng: random.Random, lead_id: str, kind: str, when: datetime, *, is_hot: bool
) -> Activity:
    if kind == "page_view":
        return b2b_activity(lead_id, kind, when, pick(rng, PAGE_URLS))
    if kind == "email_click":
        return b2b_activity(lead_id, kind, when, pick(rng, PAGE_URLS) + "?utm_medium=email")
    if kind == "content_download":
        return b2b_activity(lead_id, kind, when, rng.choice(RESOURCE_URLS))
    if kind == "webinar_attended":
        return b2b_activity(lead_id, kind, when, rng.choice(WEBINAR_URLS))
    if kind == "form_submit":
        form = pick(rng, HOT_FORMS if is_hot else FORMS)
        return b2b_activity(lead_id, kind, when, FORM_URLS[form], form)
    return b2b_activity(lead_id, kind, when, "/email/preferences")


def make_b2b_activities(rng: random.Random, lead_id: str) -> list[Activity]:
    name = pick(rng, {key: profile.share for key, profile in PROFILES.items()})
    profile = PROFILES[name]
    activities = []
    for _ in range(rng.randint(*profile.activities)):
        kind = pick(rng, B2B_ACTIVITY_MIX)
        when = activity_time(rng, profile.mean_age_days)
        activities.append(random_b2b_activity(rng, lead_id, kind, when, is_hot=name == "hot"))
    if name != "hot" and rng.random() < 0.08:
        when = activity_time(rng, PROFILES["cold"].mean_age_days)
        activities.append(b2b_activity(lead_id, "unsubscribe", when, "/email/preferences"))
    return activities


def b2b_special_activities(rng: random.Random) -> list[Activity]:
    """Build the activities of the hand-made leads in B2B_SPECIAL_LEADS."""
    activities = [
        b2b_activity("L-000012", "form_submit", days_ago(40), "/demo", "Demo request"),
        b2b_activity("L-000012", "page_view", days_ago(41), "/blog/crm-data-hygiene"),
        b2b_activity("L-000087", "form_submit", days_ago(55), "/demo", "Demo request"),
        b2b_activity("L-000233", "page_view", days_ago(75), "/"),
        b2b_activity("L-000233", "form_submit", days_ago(70), "/contact", " contact sales"),
    ]
    for lead_id in ("L-000045", "L-000178", "L-000310"):
        for days in (1, 2, 3, 5):
            activities.append(b2b_activity(lead_id, "page_view", days_ago(days), "/pricing"))
        activities += [
            b2b_activity(lead_id, "content_download", days_ago(4), RESOURCE_URLS[0]),
            b2b_activity(lead_id, "webinar_attended", days_ago(6), WEBINAR_URLS[0]),
            b2b_activity(lead_id, "form_submit", days_ago(2), "/demo", "Demo request"),
        ]
        for days in range(20):
            when = days_ago(days)
            activities.append(random_b2b_activity(rng, lead_id, "page_view", when, is_hot=True))
    return activities


def b2b_messy_activities() -> dict[str, list[Activity]]:
    """Return the deliberately broken or borderline activity rows, by file name."""
    future = datetime(2026, 12, 3, 9, 30)
    # fmt: off
    return {
        "web": [
            b2b_activity("L-000031", "page_view", "", "/pricing"),  # reject: no timestamp
            b2b_activity("L-000032", "page_view", "not a date", "/pricing"),  # reject
            b2b_activity("L-000033", "page_view", future, "/pricing"),
            b2b_activity("L-000034", "page_view", future + timedelta(days=12), "/"),
            b2b_activity("L-009990", "page_view", days_ago(3), "/pricing"),  # no such lead
            b2b_activity("L-009991", "page_view", days_ago(8), "/"),  # no such lead
            b2b_activity("", "page_view", days_ago(2), "/pricing"),
            b2b_activity("", "page_view", days_ago(9), "/docs/getting-started"),
            b2b_activity(" L-000036 ", "page_view", days_ago(4), "/pricing"),  # L-000036
            b2b_activity("l-000037", "page_view", days_ago(4), "/pricing"),  # ids keep case
            # L-000200 around the edges of the 90-day window, in Europe/Berlin time.
            b2b_activity("L-000200", "page_view", "2026-09-01T23:59:59", "/pricing"),  # too old
            b2b_activity("L-000200", "page_view", "2026-09-02 00:00:00", "/pricing"),  # age 89
            b2b_activity("L-000200", "page_view", "2026-11-30T23:30:00Z", "/pricing"),  # Dec 1
        ],
        "forms": [
            b2b_activity("L-000038", "form_submit", "", "/demo", "Demo request"),
            b2b_activity("L-000039", "form_submit", "not a date", "/demo", "Demo request"),
            b2b_activity("L-009992", "form_submit", days_ago(1), "/demo", "Demo request"),
        ],
        "webinars": [
            # L-000200 in the last second of the as-of day, age 0.
            b2b_activity("L-000200", "webinar_attended", "2026-11-30T23:59:59+01:00", "/webinars"),
            b2b_activity("L-000040", "webinar_attended", future - timedelta(days=2), "/webinars"),
        ],
        "email": [
            b2b_activity("", "email_click", days_ago(5), "/?utm_medium=email"),
        ],
    }
    # fmt: on


def add_b2b_mess(rng: random.Random, leads: list[Row]) -> None:
    """Add a duplicated lead and a lead without id, as CRM exports tend to contain."""
    # The stale copy of L-000150 comes last in the file, so only Last Modified can tell that
    # the earlier row (fit, modified 2026-11-20) is the current one.
    stale = leads[149] | {"Industry": "Retail", "Last Modified": "2026-10-01T12:00:00Z"}
    leads.append(stale)
    leads.insert(rng.randrange(len(leads)), make_b2b_lead(rng, 0, {"Record ID": ""}))


def write_b2b(rng: random.Random, folder: Path) -> tuple[list[Row], list[Activity]]:
    """Write the leads and activity files, and return the leads and their random activities.

    The returned activities are those of the random and hand-made leads, without the broken
    rows of b2b_messy_activities. The leads include the duplicated and the id-less rows.
    """
    leads = [
        make_b2b_lead(rng, number, B2B_SPECIAL_LEADS.get(number, {}))
        for number in range(1, B2B_LEADS + 1)
    ]
    make_emails_unique(leads, "Email")

    activities = b2b_special_activities(rng)
    for number, lead in enumerate(leads, start=1):
        if number not in B2B_SPECIAL_LEADS:
            activities += make_b2b_activities(rng, lead["Record ID"])
    add_b2b_mess(rng, leads)

    files = b2b_messy_activities()
    for activity in activities:
        files[B2B_ACTIVITY_FILES[str(activity["Activity Type"])]].append(activity)
    write_csv(folder / "leads.csv", leads)
    write_activity_files(rng, folder / "activities", files,
                         type_column="Activity Type", time_column="Occurred At",
                         zone=ZoneInfo("Europe/Berlin"))  # fmt: skip
    return leads, activities


# ---------------------------------------------------------------------------------------------
# B2B outcomes: the CRM's lead-status history, exported on OUTCOMES_EXPORT_DAY, for calibrate.

OUTCOMES_EXPORT_DAY = date(2027, 1, 31)
# Weights on the log-odds that a lead becomes a Sales Qualified Lead. Fit and a demo or
# sales request weigh most, webinars and pricing visits less, and an unsubscribe counts
# against a lead. Content downloads, e-mail clicks, other page views and the supported-CRM
# filter carry no weight, so calibrate can show that the "Content download" rule of
# configs/b2b.toml adds nothing once the other rules are known.
CONVERSION_BASE = -3.4
CONVERSION_WEIGHTS = {
    "fit": 1.6, "sales_request": 2.2, "webinar_attended": 1.3, "pricing_view": 0.45,
    "unsubscribe": -0.9,
}  # fmt: skip
MAX_PRICING_VIEWS = 3
FIT_INDUSTRIES = {"software", "financial services", "healthcare"}
FIT_ROLES = {"decision maker", "economic buyer", "champion", "influencer"}


class StatusChange(NamedTuple):
    """One row of the status history. A None time is written as an empty cell."""

    lead_id: str
    status: str
    when: datetime | None

    def row(self) -> Row:
        when = self.when.strftime("%Y-%m-%d %H:%M") if self.when else ""
        return {"Record ID": self.lead_id, "Status": self.status, "Changed At": when}


def looks_fit(lead: Row) -> bool:
    """Tell roughly whether configs/b2b.toml finds a lead fit, without its CRM filter.

    Only the odds of converting depend on it, so it need not match leadq's fit exactly.
    """
    employees = lead["Employees"].replace(",", "").strip()
    return (
        lead["Industry"].strip().lower() in FIT_INDUSTRIES
        and employees.isdigit()
        and 50 <= int(employees) <= 5000
        and lead["Buying Role"].strip().lower() in FIT_ROLES
        and lead["Email"].split("@")[-1] not in PERSONAL_DOMAINS
    )


def conversion_chance(lead: Row, activities: list[Activity]) -> float:
    """Return the chance that a lead becomes an SQL, from its fit and some of its activities."""
    kinds = {str(activity["Activity Type"]) for activity in activities}
    sales_request = any(
        activity["Form"] in ("Demo request", "Contact sales") for activity in activities
    )
    pricing_views = sum(
        activity["Activity Type"] == "page_view" and "/pricing" in str(activity["Page URL"])
        for activity in activities
    )
    weights = CONVERSION_WEIGHTS
    log_odds = CONVERSION_BASE
    if looks_fit(lead):
        log_odds += weights["fit"]
    if sales_request:
        log_odds += weights["sales_request"]
    if "webinar_attended" in kinds:
        log_odds += weights["webinar_attended"]
    if "unsubscribe" in kinds:
        log_odds += weights["unsubscribe"]
    log_odds += weights["pricing_view"] * min(pricing_views, MAX_PRICING_VIEWS)
    return 1 / (1 + math.exp(-log_odds))


def status_time(rng: random.Random, after: date, days: tuple[int, int]) -> datetime:
    """Draw a working-hours time from days[0] to days[1] days after ``after``."""
    day = after + timedelta(days=rng.randint(*days))
    return datetime.combine(day, time(rng.randint(8, 18), rng.randrange(60)))


def lead_history(rng: random.Random, lead: Row, activities: list[Activity]) -> list[StatusChange]:
    """Draw a lead's status changes, each after its last activity. Most leads get none."""
    lead_id = lead["Record ID"]
    times = [activity["Occurred At"] for activity in activities]
    last_times = [when for when in times if isinstance(when, datetime)]
    # A lead without activities entered the CRM some time in the sample's months.
    if last_times:
        last_day = max(last_times).date()
    else:
        last_day = FIRST_DAY + timedelta(days=rng.randrange(SPAN_DAYS))

    history: list[StatusChange] = []
    if rng.random() < conversion_chance(lead, activities):
        sql = status_time(rng, last_day, (2, 40))
        history.append(StatusChange(lead_id, "Sales Qualified", sql))
        if rng.random() < 0.55:
            opportunity = status_time(rng, sql.date(), (4, 25))
            history.append(StatusChange(lead_id, "Opportunity", opportunity))
            if rng.random() < 0.45:
                closed = status_time(rng, opportunity.date(), (10, 45))
                history.append(StatusChange(lead_id, "Closed Won", closed))
            elif rng.random() < 0.5:
                closed = status_time(rng, opportunity.date(), (10, 45))
                history.append(StatusChange(lead_id, "Closed Lost", closed))
    elif activities and rng.random() < 0.45:
        # Sales looked at the lead and turned it down.
        contacted = status_time(rng, last_day, (1, 20))
        history.append(StatusChange(lead_id, "Contacted", contacted))
        if rng.random() < 0.7:
            disqualified = status_time(rng, contacted.date(), (2, 20))
            history.append(StatusChange(lead_id, "Disqualified", disqualified))
    # Changes after the export day had not happened when the CRM was exported.
    return [
        change
        for change in history
        if change.when is not None and change.when.date() <= OUTCOMES_EXPORT_DAY
    ]


# The hand-made leads whose whole history is in B2B_MESSY_OUTCOMES.
B2B_MESSY_OUTCOME_LEADS = {"L-000012", "L-000087"}
B2B_MESSY_OUTCOMES = [
    # L-000012 (an MQL through its demo request) is won, written in odd case with spaces.
    StatusChange("L-000012", "Sales Qualified", days_ago(-3)),
    StatusChange("L-000012", " closed won ", days_ago(-30)),
    StatusChange("L-009990", "Sales Qualified", days_ago(-5)),  # matches no lead
    StatusChange("L-000087", "Opportunity", None),  # no date
]


def write_b2b_outcomes(
    rng: random.Random, folder: Path, leads: list[Row], activities: list[Activity]
) -> None:
    """Write outcomes.csv, one row per status change, sorted by time as a CRM report is.

    Only some leads have rows. The rows of B2B_MESSY_OUTCOMES go to random lines.
    """
    by_lead: dict[str, list[Activity]] = {}
    for activity in activities:
        by_lead.setdefault(str(activity["Contact ID"]), []).append(activity)

    changes: list[StatusChange] = []
    seen: set[str] = set()
    for lead in leads:
        lead_id = lead["Record ID"]
        if not lead_id or lead_id in seen or lead_id in B2B_MESSY_OUTCOME_LEADS:
            continue
        seen.add(lead_id)
        changes += lead_history(rng, lead, by_lead.get(lead_id, []))
    changes.sort(key=lambda change: (change.when, change.lead_id))

    rows = [change.row() for change in changes]
    for change in B2B_MESSY_OUTCOMES:
        rows.insert(rng.randrange(len(rows) + 1), change.row())
    write_csv(folder / "outcomes.csv", rows)


# ---------------------------------------------------------------------------------------------
# B2C: an online shop's customers and their site, retargeting-ad and SMS events, by e-mail.

B2C_CUSTOMERS = 400
# fmt: off
SEGMENTS = {
    "Urban Professional": 24, "Young Family": 20, "Outdoor Enthusiast": 18, "Homeowner": 14,
    "Student": 10, "Retiree": 8, "Budget Shopper": 6,
}
B2C_COUNTRIES = {"US": 66, "CA": 20, "GB": 6, "DE": 3, "NO": 3, "MX": 2}
REGIONS = {
    "US": ["NY", "NJ", "MA", "PA", "CA", "TX", "IL", "WA", "FL", "CO"],
    "CA": ["ON", "QC", "BC", "AB"], "GB": ["England", "Scotland"],
    "DE": ["Bavaria", "Berlin"], "NO": ["Oslo", "Vestland"], "MX": ["Jalisco"],
}
CONSUMER_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com"]
CATEGORIES = ["Outdoor Gear", "Home & Kitchen", "Apparel", "Electronics", "Beauty", "Toys"]
B2C_EVENT_MIX = {"product_view": 58, "add_to_cart": 16, "retargeting_ad_click": 18, "purchase": 8}
CHANNELS = {
    "product_view": ["Web", "App"], "add_to_cart": ["Web", "App"], "purchase": ["Web", "App"],
    "retargeting_ad_click": ["Meta Ads", "Google Ads"], "sms_optin": ["SMS"],
    "unsubscribe": ["Email", "SMS"],
}
B2C_EVENT_FILES = {
    "product_view": "site", "add_to_cart": "site", "purchase": "site",
    "retargeting_ad_click": "ads", "sms_optin": "messaging", "unsubscribe": "messaging",
}
# fmt: on

# Hand-made customers, laid out like B2B_SPECIAL_LEADS. B2C_FIT passes every fit filter in
# configs/b2c.toml.
B2C_FIT = {"Age": "34", "Annual Income": "82,000", "Lifestyle Segment": "Urban Professional",
           "Country": "US", "Region": "NY"}  # fmt: skip
# Their hand-written addresses have shapes that random ones (first.last@...) never take, so
# no random customer shares one by chance.
B2C_SPECIAL_CUSTOMERS: dict[int, Row] = {
    40: B2C_FIT | {"Email": "nguyen.family@gmail.com"},  # shares its e-mail with 41
    41: B2C_FIT | {"Email": "nguyen.family@gmail.com", "Lifestyle Segment": "Young Family"},
    # Very engaged, but not fit: too young, outside the market, disposable e-mail, and an
    # income written as text that is not a number.
    90: B2C_FIT | {"Email": "zoe19.campus@icloud.com", "Age": "19", "Lifestyle Segment": "Student"},
    91: B2C_FIT | {"Email": "jross.london@yahoo.com", "Country": "GB", "Region": "England"},
    92: B2C_FIT | {"Email": "deal.hunter@mailinator.com"},
    300: B2C_FIT | {"Email": "nora.costa.home@gmail.com", "Annual Income": "85k"},
    # Mixed case and spaces here, lower case in the events.
    200: B2C_FIT | {"Email": " Grace.Hall.NYC@Outlook.com "},
    250: B2C_FIT | {"Email": "", "SMS Opt-In": "yes"},  # no e-mail, so only the lead rule
    120: B2C_FIT,  # duplicated, see add_b2c_mess
}
HOT_UNFIT_EMAILS = [
    "zoe19.campus@icloud.com", "jross.london@yahoo.com", "deal.hunter@mailinator.com",
    "nora.costa.home@gmail.com",
]  # fmt: skip


def age(rng: random.Random) -> str:
    band = rng.random()
    if band < 0.02:
        return rng.choice(["", "N/A"])
    if band < 0.1:
        return str(rng.randint(18, 24))
    if band < 0.92:
        return str(rng.randint(25, 64))
    return str(rng.randint(65, 88))


def annual_income(rng: random.Random) -> str:
    if rng.random() < 0.02:
        return rng.choice(["", "N/A"])
    income = int(rng.lognormvariate(11.1, 0.5)) // 500 * 500  # median about 66,000
    return f"{income:,}" if rng.random() < 0.4 else str(income)


def make_customer(rng: random.Random, number: int) -> Row:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = f"{ascii_fold(first)}.{ascii_fold(last)}@{rng.choice(CONSUMER_DOMAINS)}"
    country = pick(rng, B2C_COUNTRIES)
    return {
        "Customer ID": str(100_000 + number),
        "Email": messy(rng, email, rate=0.05),
        "First Name": first,
        "Last Name": last,
        "Age": age(rng),
        "Annual Income": annual_income(rng),
        "Lifestyle Segment": messy(rng, pick(rng, SEGMENTS), rate=0.06),
        "Country": country,
        "Region": rng.choice(REGIONS[country]),
        "SMS Opt-In": messy(rng, rng.choice(["yes", "no", "no"]), rate=0.1),
    }


def b2c_event(rng: random.Random, email: str, event: str, when: str | datetime) -> Activity:
    shop_event = event not in ("sms_optin", "unsubscribe")
    return {
        "Email": email,
        "Event": event,
        "Timestamp": when,
        "Product Category": rng.choice(CATEGORIES) if shop_event else "",
        "Channel": rng.choice(CHANNELS[event]),
    }


def make_b2c_events(rng: random.Random, customer: Row) -> list[Activity]:
    email = customer["Email"].strip().lower()
    name = pick(rng, {key: profile.share for key, profile in PROFILES.items()})
    profile = PROFILES[name]
    kinds = [pick(rng, B2C_EVENT_MIX) for _ in range(rng.randint(*profile.activities))]
    if customer["SMS Opt-In"].strip().lower() == "yes":
        kinds.append("sms_optin")
    if name != "hot" and rng.random() < 0.08:
        kinds.append("unsubscribe")

    events = []
    for kind in kinds:
        # Customers opt in to SMS at any time, however much they shop.
        timing = PROFILES["cold"] if kind == "sms_optin" else profile
        when = activity_time(rng, timing.mean_age_days)
        events.append(b2c_event(rng, messy(rng, email, rate=0.08), kind, when))
    return events


def b2c_special_events(rng: random.Random) -> list[Activity]:
    """Build the events of the hand-made customers in B2C_SPECIAL_CUSTOMERS."""
    events = [
        b2c_event(rng, "nguyen.family@gmail.com", kind, days_ago(days))
        for kind, days in [("add_to_cart", 2), ("add_to_cart", 5), ("purchase", 3)]
    ]
    events += [
        b2c_event(rng, "grace.hall.nyc@outlook.com", "add_to_cart", days_ago(1)),
        b2c_event(rng, "grace.hall.nyc@outlook.com", "retargeting_ad_click", days_ago(6)),
    ]
    for email in HOT_UNFIT_EMAILS:
        kinds = ["add_to_cart"] * 3 + ["purchase"] * 2 + ["retargeting_ad_click"] * 4
        kinds += ["product_view"] * 15 + ["sms_optin"]
        for days, kind in enumerate(kinds):
            events.append(b2c_event(rng, email, kind, days_ago(days % 10)))
    return events


def b2c_messy_events(rng: random.Random) -> dict[str, list[Activity]]:
    """Return the deliberately broken or borderline event rows, by file name."""
    future = datetime(2026, 12, 2, 11, 0)
    # fmt: off
    return {
        "site": [
            b2c_event(rng, "anna.berg@gmail.com", "product_view", ""),  # reject: no timestamp
            b2c_event(rng, "anna.berg@gmail.com", "add_to_cart", "not a date"),  # reject
            b2c_event(rng, "grace.hall.nyc@outlook.com", "purchase", future),
            # Guest checkouts: no customer has these addresses.
            b2c_event(rng, "guest.checkout1@gmail.com", "purchase", days_ago(3)),
            b2c_event(rng, "guest.checkout2@yahoo.com", "add_to_cart", days_ago(6)),
            b2c_event(rng, "", "product_view", days_ago(1)),
            b2c_event(rng, "", "add_to_cart", days_ago(2)),
            # 23:30 on Nov 30 in New York, so on the as-of day, although Dec 1 in UTC.
            b2c_event(rng, "grace.hall.nyc@outlook.com", "purchase", "2026-12-01T04:30:00Z"),
        ],
        "ads": [
            b2c_event(rng, "nguyen.family@gmail.com", "retargeting_ad_click", "not a date"),
            b2c_event(rng, "grace.hall.nyc@outlook.com", "retargeting_ad_click", future),
        ],
        "messaging": [
            b2c_event(rng, "noah.wang@outlook.com", "sms_optin", ""),  # reject: no timestamp
            b2c_event(rng, "unknown.number@icloud.com", "sms_optin", days_ago(4)),  # no customer
        ],
    }
    # fmt: on


def add_b2c_mess(rng: random.Random, customers: list[Row]) -> None:
    """Add a duplicated customer and a customer without id."""
    # configs/b2c.toml names no updated_at column, so the last row of a duplicated id is kept.
    # Here that is the Student copy, which fails the segment filter, while the first row of
    # 100120 is fit.
    customers.append(customers[119] | {"Lifestyle Segment": "Student"})
    customers.insert(rng.randrange(len(customers)), make_customer(rng, 0) | {"Customer ID": ""})


def write_b2c(rng: random.Random, folder: Path) -> None:
    customers = [make_customer(rng, number) for number in range(1, B2C_CUSTOMERS + 1)]
    make_emails_unique(customers, "Email")
    for number, fixed in B2C_SPECIAL_CUSTOMERS.items():
        customers[number - 1] |= fixed

    events = b2c_special_events(rng)
    for number, customer in enumerate(customers, start=1):
        if number not in B2C_SPECIAL_CUSTOMERS:
            events += make_b2c_events(rng, customer)
    add_b2c_mess(rng, customers)

    files = b2c_messy_events(rng)
    for event in events:
        files[B2C_EVENT_FILES[str(event["Event"])]].append(event)
    write_csv(folder / "customers.csv", customers)
    write_activity_files(rng, folder / "events", files, type_column="Event",
                         time_column="Timestamp", zone=ZoneInfo("America/New_York"))  # fmt: skip


def main() -> None:
    leads, activities = write_b2b(random.Random(B2B_SEED), HERE / "b2b")
    write_b2b_outcomes(random.Random(OUTCOMES_SEED), HERE / "b2b", leads, activities)
    write_b2c(random.Random(B2C_SEED), HERE / "b2c")


if __name__ == "__main__":
    main()
