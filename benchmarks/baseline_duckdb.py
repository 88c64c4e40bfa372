"""Score the benchmark data with DuckDB SQL, as an analyst might write it by hand.

This is the DuckDB baseline of the benchmark. It applies the rules of `benchmarks/bench.toml`
to the data of `benchmarks/generate.py`: fit filters and exclusions, engagement rules with
window, decay and `max_count`, rounding and the MQL decision. It writes one CSV row per lead
with lead_id, fit, engagement_score and mql. The rules are written out here rather than read from
the config, so a change to bench.toml needs the same change here.

    python benchmarks/baseline_duckdb.py --leads DATA/leads.parquet \
        --activities "DATA/activities/*.parquet" --as-of 2026-11-30 --out scores.csv
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

import duckdb

TIMEZONE = "Europe/Berlin"
LOOKBACK_DAYS = 90
HALF_LIFE_DAYS = 30
THRESHOLD = 40

MACROS = r"""
-- trimmed text, with blanks and null tokens as NULL
CREATE TEMP MACRO clean(value) AS CASE
    WHEN trim(value) = '' OR trim(value) IN ('N/A', 'n/a', '#N/A', 'null', 'NULL', 'None', '-')
    THEN NULL ELSE trim(value) END;

-- `[+-]digits` with optional thousands commas in groups of three and an optional decimal part
CREATE TEMP MACRO as_number(value) AS CASE
    WHEN regexp_full_match(value,
        '[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?(?:[eE][+-]?\d+)?|[+-]?\.\d+')
    THEN TRY_CAST(replace(value, ',', '') AS DOUBLE) END;

-- naive wall-clock time in the zone. Values with Z or an offset are converted to it, and
-- values without one already are wall-clock time there. Unreadable text becomes NULL.
CREATE TEMP MACRO local_time(value) AS CASE
    WHEN regexp_matches(value, '(?:[Zz]|[+-]\d{2}:?\d{2})$')
    THEN timezone('{timezone}', TRY_CAST(value AS TIMESTAMPTZ))
    ELSE TRY_CAST(value AS TIMESTAMP) END;
"""

LEADS = """
-- a table keeps the file's row order in rowid, which decides between duplicate ids
CREATE TEMP TABLE raw_leads AS SELECT * FROM {source};

CREATE TEMP TABLE leads AS
SELECT
    clean("Record ID"::VARCHAR) AS lead_id,
    lower(clean("Industry"::VARCHAR)) AS industry,
    as_number(clean("Employees"::VARCHAR)) AS employees,
    lower(clean("Buying Role"::VARCHAR)) AS buying_role,
    lower(clean("Tech Stack"::VARCHAR)) AS tech_stack,
    lower(clean("Country"::VARCHAR)) AS country,
    clean("Email"::VARCHAR) AS email,
    clean("Company"::VARCHAR) AS company,
    lower(clean("Lead Source"::VARCHAR)) AS lead_source
FROM raw_leads
WHERE clean("Record ID"::VARCHAR) IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY clean("Record ID"::VARCHAR) ORDER BY rowid DESC) = 1;
"""

# A missing value fails a filter, except for the CRM filter, and never triggers an exclusion.
FIT = """
CREATE TEMP TABLE fit AS
SELECT
    lead_id,
    coalesce(industry IN ('software', 'financial services', 'healthcare', 'manufacturing'), false)
    AND coalesce(employees BETWEEN 50 AND 5000, false)
    AND coalesce(
        buying_role IN ('decision maker', 'economic buyer', 'champion', 'influencer'), false
    )
    AND (tech_stack IS NULL
         OR contains(tech_stack, 'salesforce') OR contains(tech_stack, 'hubspot')
         OR contains(tech_stack, 'microsoft dynamics') OR contains(tech_stack, 'pipedrive'))
    AND coalesce(country NOT IN ('ir', 'cu', 'kp'), false)
    AND NOT coalesce(regexp_matches(email, '@(?:gmail|yahoo|hotmail|outlook)\\.', 'i'), false)
    AND NOT coalesce(regexp_matches(company, '^(?:Nova|Helix)\\b', 'i'), false)
    AS fit,
    CASE WHEN lead_source = 'customer referral' THEN 10.0 ELSE 0.0 END AS lead_points
FROM leads;
"""

ACTIVITIES = """
CREATE TEMP TABLE activities AS
WITH parsed AS (
    SELECT
        clean("Contact ID"::VARCHAR) AS lead_id,
        lower(clean("Activity Type"::VARCHAR)) AS kind,
        local_time(clean("Occurred At"::VARCHAR)) AS local_time,
        lower(clean("Page URL"::VARCHAR)) AS url,
        lower(clean("Form"::VARCHAR)) AS form
    FROM {source}
)
SELECT *, date_diff('day', local_time::DATE, DATE '{as_of}') AS age_days
FROM parsed SEMI JOIN leads USING (lead_id)
WHERE local_time::DATE BETWEEN DATE '{first_day}' AND DATE '{as_of}';
"""

# Each activity rule of bench.toml: (name, condition, points, max_count).
ACTIVITY_RULES = [
    ("Pricing page visit", "kind = 'page_view' AND contains(url, '/pricing')", 15, 3),
    (
        "Product page visit",
        "kind = 'page_view' AND (contains(url, '/product') OR contains(url, '/features')"
        " OR contains(url, '/integrations'))",
        4,
        5,
    ),
    (
        "Careers page visit",
        "kind = 'page_view' AND regexp_matches(url, '/(?:careers|jobs)\\b')",
        -10,
        1,
    ),
    ("Content download", "kind = 'content_download'", 10, 5),
    ("Email click", "kind = 'email_click'", 3, 10),
    ("Webinar attended", "kind = 'webinar_attended'", 20, None),
    (
        "Demo request",
        "kind = 'form_submit' AND form IN ('demo request', 'contact sales')",
        30,
        None,
    ),
    ("Unsubscribe", "kind = 'unsubscribe'", -25, None),
]

# Matches at the same time have the same decay, so ties in `recency` do not change the score.
SCORES = """
CREATE TEMP TABLE activity_scores AS
WITH matches AS (
    {matches}
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY lead_id, rule ORDER BY local_time DESC) AS recency
    FROM matches
)
SELECT
    lead_id,
    sum(points * pow(0.5, age_days / {half_life})) AS points,
    bool_or(rule = 'Demo request') AS has_demo_request
FROM ranked
WHERE max_count IS NULL OR recency <= max_count
GROUP BY lead_id;

COPY (
    WITH scored AS (
        SELECT
            fit.lead_id,
            fit.fit,
            fit.lead_points + coalesce(activity_scores.points, 0.0) AS raw_score,
            coalesce(activity_scores.has_demo_request, false) AS has_demo_request
        FROM fit LEFT JOIN activity_scores USING (lead_id)
    ),
    rounded AS (
        -- half away from zero; the 1e-9 nudge keeps sums that land a hair below a half cent
        -- from rounding down
        SELECT *, round(raw_score + sign(raw_score) * 1e-9, 2) + 0.0 AS engagement_score
        FROM scored
    )
    SELECT
        lead_id,
        fit,
        engagement_score,
        fit AND (engagement_score >= {threshold} OR has_demo_request) AS mql
    FROM rounded
    ORDER BY lead_id
) TO '{out}' (HEADER, DELIMITER ',');
"""


def source_sql(pattern: str) -> str:
    """Return the table function that reads `pattern` (a file or glob) with every column as text."""
    quoted = "'" + pattern.replace("'", "''") + "'"
    if pattern.endswith(".parquet"):
        return f"read_parquet({quoted})"
    return f"read_csv({quoted}, header = true, all_varchar = true)"


def matches_sql() -> str:
    """Union the rows that each activity rule matches, one row per activity and rule."""
    selects = []
    for name, condition, points, max_count in ACTIVITY_RULES:
        cap = "NULL" if max_count is None else str(max_count)
        selects.append(
            f"SELECT lead_id, local_time, age_days, '{name}' AS rule, {points}.0 AS points, "
            f"{cap} AS max_count FROM activities WHERE {condition}"
        )
    return "\n    UNION ALL\n    ".join(selects)


def score(leads: str, activities: str, as_of: date, out: Path) -> None:
    """Score every lead and write lead_id, fit, engagement_score and mql to `out`."""
    first_day = as_of - timedelta(days=LOOKBACK_DAYS - 1)
    connection = duckdb.connect()
    connection.execute(MACROS.replace("{timezone}", TIMEZONE))
    connection.execute(LEADS.format(source=source_sql(leads)))
    connection.execute(FIT)
    connection.execute(
        ACTIVITIES.format(source=source_sql(activities), as_of=as_of, first_day=first_day)
    )
    connection.execute(
        SCORES.format(
            matches=matches_sql(),
            half_life=f"{HALF_LIFE_DAYS}.0",
            threshold=THRESHOLD,
            out=str(out).replace("'", "''"),
        )
    )
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Score the benchmark data with DuckDB SQL.")
    parser.add_argument("--leads", required=True, help="leads file (.parquet or .csv)")
    parser.add_argument("--activities", required=True, help="activity file or glob pattern")
    parser.add_argument("--as-of", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    args = parser.parse_args()
    score(args.leads, args.activities, args.as_of, args.out)


if __name__ == "__main__":
    main()
