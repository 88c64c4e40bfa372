"""Generate seeded benchmark data for leadq: a CRM leads export and activity exports.

The data is fictional but shaped like real exports, and it carries their usual dirt.
Employee counts read `1,200`, `N/A` or `51-200`, and some text has odd case or stray spaces.
Timestamps mix ISO 8601 forms (`Z`, offsets, none, date only), and a few are blank or
unreadable. Some activities belong to leads missing from the leads file or lie in the
future, and a few lead ids are duplicated or blank. `benchmarks/bench.toml` is the leadq
config written for this data.

    python benchmarks/generate.py --leads 1000000 --activities 20000000 --out /tmp/bench-1m

writes `leads.parquet` and `activities/part-00000.parquet` (and further parts, one per
`--chunk-rows` activities) into `--out`. With `--format csv` the same rows go to `.csv`
files, and `--format both` writes both. The same seed and `--chunk-rows` give the same rows.
Each chunk is generated and written on its own, so memory stays bounded by one chunk.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

AS_OF = "2026-11-30"
TIMEZONE = "Europe/Berlin"
# Activities fall in the six months that end with the as-of day, and a few lie after it.
FIRST_INSTANT = datetime(2026, 6, 1, tzinfo=UTC)
END_INSTANT = datetime(2026, 12, 1, tzinfo=UTC)
FUTURE_END_INSTANT = datetime(2026, 12, 31, tzinfo=UTC)
DEFAULT_CHUNK_ROWS = 10_000_000
DEFAULT_SEED = 20261130

FIRST_NAMES = (  # noqa: SIM905 (a word list reads better as one string)
    "Ada Alex Amara Ana Anders Aiko Ben Bruno Camila Chen Chloe Daniel Diego Elena Emma Erik "
    "Fatima Felix Hana Hugo Ines Ivan Jana Jonas Julia Kai Kenji Lara Leon Lina Luca Maria "
    "Mateo Maya Mia Nadia Noah Nora Olga Omar Oscar Priya Rafael Rosa Sara Sofia Tariq Tomas "
    "Uma Victor Yara Yusuf Zoe"
).split()
LAST_NAMES = (  # noqa: SIM905 (a word list reads better as one string)
    "Ali Andersen Berg Costa Dubois Eriksen Fischer Garcia Haddad Hansen Ito Jensen Kim "
    "Kowalski Larsen Lopez Meyer Moreau Nakamura Nguyen Novak Okafor Olsen Patel Rossi Santos "
    "Schmidt Silva Singh Smith Suzuki Tanaka Weber Wong Yilmaz Zhang"
).split()
COMPANY_WORDS = (  # noqa: SIM905 (a word list reads better as one string)
    "Acme Alpine Amber Apex Arc Aspen Atlas Aurora Beacon Birch Blue Bold Bright Cedar Cobalt "
    "Coral Crest Delta Ember Evergreen Falcon Fern Flint Harbor Helix Horizon Indigo Iron "
    "Jade Juniper Keystone Lumen Maple Meridian Nimbus Nova Oak Onyx Orbit Pine Polar Prism "
    "Quartz Redwood Ridge River Sage Sierra Silver Slate Solar Spruce Summit Tidal Vector "
    "Willow Zenith"
).split()
COMPANY_NOUNS = (  # noqa: SIM905 (a word list reads better as one string)
    "Analytics Bank Bio Capital Cloud Data Dynamics Energy Foods Freight Health Insurance "
    "Labs Logistics Media Medical Metrics Networks Partners Pay Pharma Retail Robotics "
    "Security Software Systems Telecom Works"
).split()
COMPANY_SUFFIXES = ["", " Inc", " GmbH", " Ltd", " AS", " BV", " SA"]
PERSONAL_DOMAINS = ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com"]

# (value, weight): the weights need not add up to 1.
INDUSTRIES = [
    ("Software", 18),
    ("Financial Services", 12),
    ("Healthcare", 10),
    ("Manufacturing", 10),
    ("Retail", 8),
    ("Education", 6),
    ("Government", 4),
    ("Media", 5),
    ("Logistics", 5),
    ("Telecommunications", 4),
    ("Energy", 3),
    ("Non-profit", 3),
    (" software", 1),
    ("FINANCIAL SERVICES", 1),
    ("healthcare ", 1),
    ("", 3),
    ("N/A", 1),
]
BUYING_ROLES = [
    ("Decision Maker", 14),
    ("Economic Buyer", 8),
    ("Champion", 12),
    ("Influencer", 18),
    ("End User", 25),
    ("Student", 4),
    ("Other", 6),
    ("decision maker", 1),
    ("", 8),
]
COUNTRIES = [
    ("US", 30),
    ("GB", 10),
    ("DE", 10),
    ("FR", 6),
    ("NL", 4),
    ("NO", 3),
    ("SE", 3),
    ("CA", 5),
    ("AU", 4),
    ("IN", 6),
    ("BR", 4),
    ("JP", 3),
    ("ES", 3),
    ("PL", 2),
    ("IR", 0.3),
    ("CU", 0.2),
    ("KP", 0.1),
    ("", 3),
]
LEAD_SOURCES = [
    ("Web", 35),
    ("Paid search", 15),
    ("Event", 10),
    ("Customer referral", 6),
    ("Partner", 8),
    ("Outbound", 16),
    ("customer referral ", 1),
    ("", 9),
]
# (tool, share of companies that use it)
TECH_TOOLS = [
    ("Salesforce", 0.28),
    ("HubSpot", 0.22),
    ("Microsoft Dynamics", 0.08),
    ("Pipedrive", 0.05),
    ("Slack", 0.45),
    ("Microsoft Teams", 0.35),
    ("AWS", 0.40),
    ("Azure", 0.20),
    ("Google Cloud", 0.15),
    ("Snowflake", 0.12),
    ("Zendesk", 0.15),
    ("Jira", 0.30),
    ("Shopify", 0.06),
    ("Marketo", 0.07),
]
EMPLOYEE_BUCKETS = [
    (10, "1-10"),
    (50, "11-50"),
    (200, "51-200"),
    (500, "201-500"),
    (1000, "501-1000"),
    (5000, "1001-5000"),
    (10000, "5001-10000"),
]
# (activity type as written, weight). leadq folds the odd spellings into the same type.
ACTIVITY_TYPES = [
    ("page_view", 50),
    ("Page_View", 2),
    ("PAGE_VIEW", 1),
    ("email_open", 15),
    ("Email_Open", 1),
    ("email_click", 8),
    ("content_download", 6),
    ("Content_Download", 0.5),
    ("form_submit", 4),
    ("Form_Submit ", 0.3),
    ("webinar_registered", 4),
    ("webinar_attended", 2.5),
    ("WEBINAR_ATTENDED", 0.2),
    ("unsubscribe", 0.5),
]
PAGE_PATHS = [
    ("/", 12),
    ("/pricing", 7),
    ("/Pricing", 0.5),
    ("/pricing/enterprise", 2),
    ("/product", 8),
    ("/product/scoring", 5),
    ("/features/integrations", 4),
    ("/integrations/salesforce", 3),
    ("/blog/lead-scoring-basics", 10),
    ("/blog/mql-vs-sql", 8),
    ("/docs/getting-started", 6),
    ("/careers", 2),
    ("/careers/data-engineer", 1),
    ("/jobs", 0.5),
    ("/about", 3),
    ("/contact", 2),
]
URL_QUERIES = [("", 80), ("?utm_source=linkedin", 8), ("?utm_source=newsletter", 7), ("#top", 5)]
FORMS = [
    ("Demo request", 20),
    ("Contact sales", 10),
    (" demo request", 1),
    ("Free trial", 15),
    ("Newsletter signup", 35),
    ("Ebook download", 19),
]
UTC_OFFSETS = [
    ("-08:00", -480, 2),
    ("-05:00", -300, 4),
    ("-04:00", -240, 3),
    ("+00:00", 0, 2),
    ("+01:00", 60, 3),
    ("+02:00", 120, 4),
    ("+05:30", 330, 1),
    ("+09:00", 540, 1),
]
UNREADABLE_TIMESTAMPS = ["TBD", "0000-00-00 00:00:00", "2026-13-45T10:00:00", "unknown"]
# (clock, strftime pattern, weight) of each way `Occurred At` is written. The clocks are
# "utc" (written with Z), "offset" (local time at a random UTC offset, then that offset) and
# "zone" (wall-clock time in TIMEZONE without an offset). "blank" and "unreadable" are dirt.
TIMESTAMP_FORMS = [
    ("utc", "%Y-%m-%dT%H:%M:%SZ", 44),
    ("utc", "%Y-%m-%dT%H:%M:%S%.3fZ", 10),
    ("offset", "%Y-%m-%dT%H:%M:%S", 16),
    ("zone", "%Y-%m-%d %H:%M:%S", 24),
    ("zone", "%Y-%m-%dT%H:%M", 3),
    ("zone", "%Y-%m-%d", 2.6),
    ("blank", "", 0.2),
    ("unreadable", "", 0.2),
]

# The fraction of rows that carry each kind of dirt.
DUPLICATE_LEAD_SHARE = 0.0005
BLANK_LEAD_ID_SHARE = 0.0001
INACTIVE_LEAD_SHARE = 0.30
UNKNOWN_LEAD_SHARE = 0.003
BLANK_CONTACT_SHARE = 0.0002
PADDED_CONTACT_SHARE = 0.001
FUTURE_SHARE = 0.002


def parse_count(text: str) -> int:
    """Parse a row count such as `20000000`, `20m`, `100k` or `1_000_000`."""
    cleaned = text.strip().lower().replace("_", "")
    factor = 1
    if cleaned.endswith("k"):
        factor, cleaned = 1_000, cleaned[:-1]
    elif cleaned.endswith("m"):
        factor, cleaned = 1_000_000, cleaned[:-1]
    try:
        count = round(float(cleaned) * factor)
    except ValueError:
        msg = f"invalid row count {text!r}; write it like 200000, 200k or 20m"
        raise argparse.ArgumentTypeError(msg) from None
    if count < 1:
        msg = f"invalid row count {text!r}; it must be at least 1"
        raise argparse.ArgumentTypeError(msg)
    return count


def _pick(rng: np.random.Generator, choices: list[tuple[str, float]], size: int) -> pl.Series:
    """Draw `size` values from (value, weight) pairs."""
    values = [value for value, _ in choices]
    weights = np.array([weight for _, weight in choices], dtype=np.float64)
    codes = rng.choice(len(values), size=size, p=weights / weights.sum())
    return pl.Series(values, dtype=pl.String).gather(codes)


def _id_expr(prefix: str, number: pl.Expr, width: int) -> pl.Expr:
    """Format numbers as ids such as `L-0000042`."""
    return pl.lit(prefix) + number.cast(pl.String).str.zfill(width)


def lead_id_width(n_leads: int) -> int:
    """Digits in a lead id, so ids of unknown leads (above `n_leads`) keep the same width."""
    return max(7, len(str(n_leads * 2)))


def generate_companies(rng: np.random.Generator, n_companies: int) -> pl.DataFrame:
    """Build companies with the attributes their leads share: industry, size, tools, country."""
    pool = len(COMPANY_WORDS) * len(COMPANY_NOUNS) * len(COMPANY_SUFFIXES)
    # NOTE: beyond the pool's size, company names repeat for different companies.
    codes = (
        rng.permutation(pool)[:n_companies]
        if n_companies <= pool
        else rng.integers(0, pool, n_companies)
    )
    word, rest = np.divmod(codes, len(COMPANY_NOUNS) * len(COMPANY_SUFFIXES))
    noun, suffix = np.divmod(rest, len(COMPANY_SUFFIXES))
    words = pl.Series(COMPANY_WORDS).gather(word)
    nouns = pl.Series(COMPANY_NOUNS).gather(noun)
    suffixes = pl.Series(COMPANY_SUFFIXES).gather(suffix)

    sizes = np.clip(np.exp(rng.normal(np.log(250), 1.7, n_companies)), 1, 250_000).astype(np.int64)
    tools = {tool: rng.random(n_companies) < share for tool, share in TECH_TOOLS}
    frame = pl.DataFrame(
        {
            "Company": words + " " + nouns + suffixes,
            "domain": (words + nouns).str.to_lowercase() + ".example",
            "Industry": _pick(rng, INDUSTRIES, n_companies),
            "size": sizes,
            "size_form": rng.choice(6, size=n_companies, p=[0.58, 0.27, 0.04, 0.03, 0.03, 0.05]),
            "Country": _pick(rng, COUNTRIES, n_companies),
            **tools,
        }
    )
    tech_stack = pl.concat_str(
        [pl.when(pl.col(tool)).then(pl.lit(tool)) for tool, _ in TECH_TOOLS],
        separator="; ",
        ignore_nulls=True,
    )
    return frame.with_columns(
        pl.when(tech_stack == "").then(None).otherwise(tech_stack).alias("Tech Stack"),
        _employees_text().alias("Employees"),
    ).drop([tool for tool, _ in TECH_TOOLS] + ["size", "size_form"])


def _employees_text() -> pl.Expr:
    """Write company sizes as exports do: plain, with thousands commas, ranges, blank, N/A."""
    size = pl.col("size")
    plain = size.cast(pl.String)
    with_commas = (
        pl.when(size >= 1000)
        .then((size // 1000).cast(pl.String) + "," + (size % 1000).cast(pl.String).str.zfill(3))
        .otherwise(plain)
    )
    bucket = pl.lit("10001+")
    for upper, label in reversed(EMPLOYEE_BUCKETS):
        bucket = pl.when(size <= upper).then(pl.lit(label)).otherwise(bucket)
    form = pl.col("size_form")
    return (
        pl.when(form == 0)
        .then(plain)
        .when(form == 1)
        .then(with_commas)
        .when(form == 2)
        .then(bucket)
        .when(form == 3)
        .then(pl.lit("N/A"))
        .when(form == 4)
        .then(pl.lit(" ") + plain)
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def generate_leads(n_leads: int, *, seed: int) -> pl.DataFrame:
    """Build the leads export: `n_leads` rows, a few with a duplicate or blank `Record ID`."""
    rng = np.random.default_rng([seed, 0])
    n_companies = max(20, n_leads // 25)
    companies = generate_companies(rng, n_companies)
    # a few big accounts have many leads, and most companies have a handful
    popularity = np.exp(rng.normal(0.0, 1.0, n_companies))
    company_index = rng.choice(n_companies, size=n_leads, p=popularity / popularity.sum())

    drawn = companies[company_index].with_columns(
        pl.Series("id_number", _lead_id_numbers(rng, n_leads)),
        pl.Series("is_blank_id", rng.random(n_leads) < BLANK_LEAD_ID_SHARE),
        _pick(rng, [(name, 1) for name in FIRST_NAMES], n_leads).alias("First Name"),
        _pick(rng, [(name, 1) for name in LAST_NAMES], n_leads).alias("Last Name"),
        pl.Series("is_personal", rng.random(n_leads) < 0.12),
        pl.Series("email_form", rng.choice(4, size=n_leads, p=[0.80, 0.12, 0.05, 0.03])),
        _pick(rng, [(domain, 1) for domain in PERSONAL_DOMAINS], n_leads).alias("personal"),
        pl.Series("email_number", rng.integers(1, 100, n_leads)).cast(pl.String),
        _pick(rng, BUYING_ROLES, n_leads).alias("Buying Role"),
        _pick(rng, LEAD_SOURCES, n_leads).alias("Lead Source"),
    )

    record_id = (
        pl.when(pl.col("is_blank_id"))
        .then(pl.lit(""))
        .otherwise(_id_expr("L-", pl.col("id_number"), lead_id_width(n_leads)))
    )
    local_part = (pl.col("First Name") + "." + pl.col("Last Name")).str.to_lowercase()
    address = local_part + "@" + pl.when("is_personal").then("personal").otherwise("domain")
    email = (
        pl.when(pl.col("email_form") == 0)
        .then(address)
        .when(pl.col("email_form") == 1)
        .then(local_part + pl.col("email_number") + "@" + pl.col("domain"))
        .when(pl.col("email_form") == 2)
        .then(address.str.to_uppercase())
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    return drawn.select(
        record_id.alias("Record ID"),
        "First Name",
        "Last Name",
        email.alias("Email"),
        "Company",
        "Industry",
        "Employees",
        "Buying Role",
        "Tech Stack",
        "Country",
        "Lead Source",
    )


def _lead_id_numbers(rng: np.random.Generator, n_leads: int) -> np.ndarray:
    """Number the leads 1..n, except that a few rows repeat an earlier lead's number."""
    numbers = np.arange(1, n_leads + 1)
    is_duplicate = (rng.random(n_leads) < DUPLICATE_LEAD_SHARE) & (numbers > 1)
    earlier = 1 + (rng.random(n_leads) * (numbers - 1)).astype(np.int64)
    return np.where(is_duplicate, earlier, numbers)


def lead_weights(n_leads: int, *, seed: int) -> np.ndarray:
    """Return the cumulative share of activities each lead receives; 30% of leads get none."""
    rng = np.random.default_rng([seed, 1])
    weights = np.exp(rng.normal(0.0, 1.3, n_leads))
    weights[rng.random(n_leads) < INACTIVE_LEAD_SHARE] = 0.0
    cumulative = np.cumsum(weights)
    return cumulative / cumulative[-1]


def generate_activities(
    rows: int, *, first_row: int, chunk: int, n_leads: int, cumulative: np.ndarray, seed: int
) -> pl.DataFrame:
    """Build one chunk of the activity export, `rows` rows numbered from `first_row`."""
    rng = np.random.default_rng([seed, 2, chunk])
    lead_index = np.searchsorted(cumulative, rng.random(rows), side="right")
    lead_number = np.minimum(lead_index, n_leads - 1) + 1
    dirt = rng.random(rows)
    unknown_number = n_leads + rng.integers(1, n_leads + 2, rows)
    lead_number = np.where(dirt < UNKNOWN_LEAD_SHARE, unknown_number, lead_number)
    drawn = pl.DataFrame(
        {
            "row": np.arange(first_row + 1, first_row + rows + 1),
            "lead_number": lead_number,
            "dirt": dirt,
            "Activity Type": _pick(rng, ACTIVITY_TYPES, rows),
            "Occurred At": _timestamps(rng, rows),
            "page": _pick(rng, PAGE_PATHS, rows),
            "query": _pick(rng, URL_QUERIES, rows),
            "form": _pick(rng, FORMS, rows),
        }
    )

    lead_id = _id_expr("L-", pl.col("lead_number"), lead_id_width(n_leads))
    is_blank = pl.col("dirt").is_between(
        UNKNOWN_LEAD_SHARE, UNKNOWN_LEAD_SHARE + BLANK_CONTACT_SHARE
    )
    contact = (
        pl.when(is_blank)
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("dirt") > 1 - PADDED_CONTACT_SHARE)
        .then(pl.lit(" ") + lead_id + " ")
        .otherwise(lead_id)
    )
    folded_type = pl.col("Activity Type").str.strip_chars().str.to_lowercase()
    page_url = pl.lit("https://www.example.com") + pl.col("page") + pl.col("query")
    return drawn.select(
        _id_expr("A-", pl.col("row"), 9).alias("Activity ID"),
        contact.alias("Contact ID"),
        "Activity Type",
        "Occurred At",
        pl.when(folded_type == "page_view").then(page_url).alias("Page URL"),
        pl.when(folded_type == "form_submit").then(pl.col("form")).alias("Form"),
    )


def _timestamps(rng: np.random.Generator, rows: int) -> pl.Series:
    """Draw instants over the six months and write each in one of several ISO 8601 forms."""
    first_us = int(FIRST_INSTANT.timestamp() * 1e6)
    end_us = int(END_INSTANT.timestamp() * 1e6)
    future_us = int(FUTURE_END_INSTANT.timestamp() * 1e6)
    is_future = rng.random(rows) < FUTURE_SHARE
    day_us = 86_400_000_000
    days = np.where(
        is_future,
        rng.integers(0, (future_us - end_us) // day_us, rows) + (end_us - first_us) // day_us,
        rng.integers(0, (end_us - first_us) // day_us, rows),
    )
    # more activity in working hours than at night, in the UTC day
    hour_weights = np.array(
        [1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 10, 9, 8, 9, 10, 10, 9, 7, 5, 4, 3, 2, 2, 1]
    )
    hours = rng.choice(24, size=rows, p=hour_weights / hour_weights.sum())
    within_hour = rng.integers(0, 3_600_000, rows) * 1000
    instants = first_us + days * day_us + hours * 3_600_000_000 + within_hour

    weights = np.array([weight for _, _, weight in TIMESTAMP_FORMS])
    frame = pl.DataFrame(
        {
            "row": np.arange(rows),
            "utc": pl.Series(instants).cast(pl.Datetime("us", "UTC")),
            "form": rng.choice(len(weights), size=rows, p=weights / weights.sum()),
            "offset": rng.choice(len(UTC_OFFSETS), size=rows, p=_offset_shares()),
            "unreadable": rng.integers(0, len(UNREADABLE_TIMESTAMPS), rows),
        }
    )
    # each form is written for its own rows only, which is faster than one when/then chain
    # that would write every form for every row
    parts = [
        frame.filter(pl.col("form") == code).select("row", _written_expr(clock, pattern))
        for code, (clock, pattern, _) in enumerate(TIMESTAMP_FORMS)
    ]
    return pl.concat(parts).sort("row").get_column("Occurred At")


def _written_expr(clock: str, pattern: str) -> pl.Expr:
    """Write the instant in `utc` on the given clock; see TIMESTAMP_FORMS."""
    utc = pl.col("utc").dt.replace_time_zone(None)
    if clock == "utc":
        written = utc.dt.strftime(pattern)
    elif clock == "offset":
        minutes = pl.Series([minutes for _, minutes, _ in UTC_OFFSETS])
        texts = pl.Series([text for text, _, _ in UTC_OFFSETS])
        shifted = utc + pl.duration(
            minutes=pl.col("offset").replace_strict(range(len(UTC_OFFSETS)), minutes)
        )
        written = shifted.dt.strftime(pattern) + pl.col("offset").replace_strict(
            range(len(UTC_OFFSETS)), texts
        )
    elif clock == "zone":
        local = pl.col("utc").dt.convert_time_zone(TIMEZONE).dt.replace_time_zone(None)
        written = local.dt.strftime(pattern)
    elif clock == "unreadable":
        written = pl.col("unreadable").replace_strict(
            range(len(UNREADABLE_TIMESTAMPS)), UNREADABLE_TIMESTAMPS
        )
    else:
        written = pl.lit(None, dtype=pl.String)
    return written.alias("Occurred At")


def _offset_shares() -> np.ndarray:
    weights = np.array([weight for _, _, weight in UTC_OFFSETS], dtype=np.float64)
    return weights / weights.sum()


def write_frame(frame: pl.DataFrame, path: Path) -> None:
    """Write `frame` as Parquet or CSV, chosen by the file suffix."""
    if path.suffix == ".parquet":
        frame.write_parquet(path)
    else:
        frame.write_csv(path)


def generate(
    out: Path, *, n_leads: int, n_activities: int, formats: list[str], chunk_rows: int, seed: int
) -> None:
    """Write the leads file and the activity parts in each of `formats` into `out`."""
    (out / "activities").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    leads = generate_leads(n_leads, seed=seed)
    for fmt in formats:
        write_frame(leads, out / f"leads.{fmt}")
    _log(f"{n_leads:,} leads", started)
    del leads

    cumulative = lead_weights(n_leads, seed=seed)
    for chunk, first_row in enumerate(range(0, n_activities, chunk_rows)):
        rows = min(chunk_rows, n_activities - first_row)
        activities = generate_activities(
            rows,
            first_row=first_row,
            chunk=chunk,
            n_leads=n_leads,
            cumulative=cumulative,
            seed=seed,
        )
        for fmt in formats:
            write_frame(activities, out / "activities" / f"part-{chunk:05d}.{fmt}")
        _log(f"activity part {chunk}: {rows:,} rows", started)


def _log(message: str, started: float) -> None:
    print(f"{time.perf_counter() - started:7.1f}s  {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Generate seeded leads and activity exports for benchmarking leadq.",
        epilog="Example: python benchmarks/generate.py --leads 50k --activities 1m "
        "--out /tmp/bench-1m --format both",
    )
    parser.add_argument("--leads", type=parse_count, required=True, help="number of lead rows")
    parser.add_argument(
        "--activities", type=parse_count, required=True, help="number of activity rows"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    parser.add_argument(
        "--format",
        choices=["parquet", "csv", "both"],
        default="parquet",
        help="file format of the output (default: parquet)",
    )
    parser.add_argument(
        "--chunk-rows",
        type=parse_count,
        default=DEFAULT_CHUNK_ROWS,
        help=f"activity rows per file; each file is generated in memory on its own "
        f"(default: {DEFAULT_CHUNK_ROWS:,})",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    args = parser.parse_args(argv)

    formats = ["parquet", "csv"] if args.format == "both" else [args.format]
    generate(
        args.out,
        n_leads=args.leads,
        n_activities=args.activities,
        formats=formats,
        chunk_rows=args.chunk_rows,
        seed=args.seed,
    )


if __name__ == "__main__":
    main()
