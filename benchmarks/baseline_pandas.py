"""Score the benchmark data with pandas, as an analyst might write it by hand.

This is the pandas baseline of the benchmark. It applies the rules of `benchmarks/bench.toml`
to the data of `benchmarks/generate.py`: fit filters and exclusions, engagement rules with
window, decay and `max_count`, rounding and the MQL decision. It writes one CSV row per lead
with lead_id, fit, engagement_score and mql. The rules are written out here rather than read from
the config, so a change to bench.toml needs the same change here.

    python benchmarks/baseline_pandas.py --leads DATA/leads.parquet \
        --activities "DATA/activities/*.parquet" --as-of 2026-11-30 --out scores.csv
"""

from __future__ import annotations

import argparse
import glob
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

TIMEZONE = "Europe/Berlin"
LOOKBACK_DAYS = 90
HALF_LIFE_DAYS = 30
THRESHOLD = 40
NULL_TOKENS = ["N/A", "n/a", "#N/A", "null", "NULL", "None", "-"]
# `[+-]digits` with optional thousands commas in groups of three and an optional decimal part
NUMBER_PATTERN = r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?(?:[eE][+-]?\d+)?|[+-]?\.\d+"
OFFSET_PATTERN = r"(?:[Zz]|[+-]\d{2}:?\d{2})$"

LEAD_COLUMNS = [
    "Record ID",
    "Email",
    "Company",
    "Industry",
    "Employees",
    "Buying Role",
    "Tech Stack",
    "Country",
    "Lead Source",
]
ACTIVITY_COLUMNS = ["Contact ID", "Activity Type", "Occurred At", "Page URL", "Form"]


def read_table(pattern: str, columns: list[str]) -> pd.DataFrame:
    """Read every file matching `pattern` as text and stack them in file-name order."""
    paths = sorted(glob.glob(pattern)) or [pattern]
    frames = []
    for path in paths:
        if path.endswith(".parquet"):
            frame = pd.read_parquet(path, columns=columns)
        else:
            frame = pd.read_csv(
                path, usecols=columns, dtype=str, keep_default_na=False, engine="pyarrow"
            )
        frames.append(frame[columns].astype("str"))
    table = pd.concat(frames, ignore_index=True)
    for column in columns:
        table[column] = clean(table[column])
    return table


def clean(values: pd.Series) -> pd.Series:
    """Trim text, and turn blanks and null tokens into missing values."""
    trimmed = values.str.strip()
    return trimmed.mask(trimmed.isna() | (trimmed == "") | trimmed.isin(NULL_TOKENS))


def folded(values: pd.Series) -> pd.Series:
    return values.str.lower()


def as_number(values: pd.Series) -> pd.Series:
    """Parse text such as `1,200` to a float. Text that is not a number becomes NaN."""
    is_number = values.str.fullmatch(NUMBER_PATTERN).fillna(False).astype(bool)
    numbers = pd.to_numeric(values.str.replace(",", "", regex=False), errors="coerce")
    return numbers.where(is_number)


def one_row_per_lead(leads: pd.DataFrame) -> pd.DataFrame:
    """Drop rows without an id, and keep the last row of each duplicated id."""
    leads = leads[leads["Record ID"].notna()]
    return leads.drop_duplicates(subset="Record ID", keep="last").reset_index(drop=True)


def is_fit(leads: pd.DataFrame) -> pd.Series:
    """Apply the fit filters and exclusions of bench.toml.

    A missing value fails a filter, except for the CRM filter, and never triggers an exclusion.
    """
    industry = folded(leads["Industry"]).isin(
        ["software", "financial services", "healthcare", "manufacturing"]
    )
    size = as_number(leads["Employees"]).between(50, 5000)
    role = folded(leads["Buying Role"]).isin(
        ["decision maker", "economic buyer", "champion", "influencer"]
    )
    tech = folded(leads["Tech Stack"])
    crms = ["salesforce", "hubspot", "microsoft dynamics", "pipedrive"]
    uses_crm = tech.isna() | np.logical_or.reduce(
        [tech.str.contains(crm, regex=False).fillna(False).astype(bool) for crm in crms]
    )
    country = folded(leads["Country"])
    served = country.notna() & ~country.isin(["ir", "cu", "kp"])

    personal_email = leads["Email"].str.contains(
        r"@(?:gmail|yahoo|hotmail|outlook)\.", case=False, regex=True
    )
    competitor = leads["Company"].str.contains(r"^(?:Nova|Helix)\b", case=False, regex=True)
    excluded = personal_email.fillna(False).astype(bool) | competitor.fillna(False).astype(bool)
    return industry & size & role & uses_crm & served & ~excluded


def local_times(values: pd.Series) -> pd.Series:
    """Parse ISO 8601 text to naive wall-clock time in TIMEZONE.

    Values with `Z` or an offset are converted to the zone. Values without one already are
    wall-clock time there. Unreadable text becomes NaT.
    """
    has_offset = values.str.contains(OFFSET_PATTERN, regex=True).fillna(False).astype(bool)
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    with_offset = pd.to_datetime(values[has_offset], format="ISO8601", utc=True, errors="coerce")
    result[has_offset] = with_offset.dt.tz_convert(TIMEZONE).dt.tz_localize(None)
    result[~has_offset] = pd.to_datetime(values[~has_offset], format="ISO8601", errors="coerce")
    return result


def activity_rules(activities: pd.DataFrame) -> list[tuple[str, pd.Series, float, int | None]]:
    """Return (name, matching rows, points, max_count) for each activity rule of bench.toml."""
    kind = folded(activities["Activity Type"])
    url = folded(activities["Page URL"])
    form = folded(activities["Form"])
    is_page_view = kind == "page_view"

    def has(text: str) -> pd.Series:
        return url.str.contains(text, regex=False).fillna(False).astype(bool)

    product = has("/product") | has("/features") | has("/integrations")
    careers = url.str.contains(r"/(?:careers|jobs)\b", regex=True).fillna(False).astype(bool)
    return [
        ("Pricing page visit", is_page_view & has("/pricing"), 15, 3),
        ("Product page visit", is_page_view & product, 4, 5),
        ("Careers page visit", is_page_view & careers, -10, 1),
        ("Content download", kind == "content_download", 10, 5),
        ("Email click", kind == "email_click", 3, 10),
        ("Webinar attended", kind == "webinar_attended", 20, None),
        (
            "Demo request",
            (kind == "form_submit") & form.isin(["demo request", "contact sales"]),
            30,
            None,
        ),
        ("Unsubscribe", kind == "unsubscribe", -25, None),
    ]


def score_activities(activities: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Sum the decayed points of each lead's in-window activities.

    Returns a frame indexed by lead id, which also shows whether the lead has a demo request,
    the qualifying rule.
    """
    activities = activities.assign(local_time=local_times(activities["Occurred At"]))
    activities = activities[activities["local_time"].notna()]
    day = activities["local_time"].dt.normalize()
    as_of_day = pd.Timestamp(as_of)
    first_day = as_of_day - pd.Timedelta(days=LOOKBACK_DAYS - 1)
    activities = activities[(day >= first_day) & (day <= as_of_day)].copy()
    age_days = (as_of_day - activities["local_time"].dt.normalize()).dt.days
    activities["decay"] = 0.5 ** (age_days / HALF_LIFE_DAYS)
    # Latest first, so that a running count per lead picks the `max_count` most recent matches.
    # Matches at the same time have the same decay, so their order does not change the score.
    activities = activities.sort_values(["Contact ID", "local_time"], ascending=[True, False])

    earned = []
    has_demo_request = set()
    for name, matches, points, max_count in activity_rules(activities):
        matched = activities.loc[matches, ["Contact ID", "decay"]]
        if max_count is not None:
            matched = matched[matched.groupby("Contact ID").cumcount() < max_count]
        earned.append(
            pd.DataFrame({"lead_id": matched["Contact ID"], "points": matched["decay"] * points})
        )
        if name == "Demo request":
            has_demo_request = set(matched["Contact ID"])
    totals = pd.concat(earned).groupby("lead_id")["points"].sum()
    scores = totals.to_frame("activity_points")
    scores["has_demo_request"] = scores.index.isin(list(has_demo_request))
    return scores


def round_half_away(values: pd.Series) -> pd.Series:
    """Round to 2 decimals, halves away from zero.

    The 1e-9 nudge keeps sums that land a hair below a half cent, such as 0.125 - 1e-16,
    from rounding down.
    """
    nudged = values + np.sign(values) * 1e-9
    return np.sign(nudged) * np.floor(np.abs(nudged) * 100 + 0.5) / 100 + 0.0


def score(leads_path: str, activities_pattern: str, as_of: date) -> pd.DataFrame:
    """Score every lead and return lead_id, fit, engagement_score and mql, sorted by lead id."""
    leads = one_row_per_lead(read_table(leads_path, LEAD_COLUMNS))
    activities = read_table(activities_pattern, ACTIVITY_COLUMNS)
    activities = activities[activities["Contact ID"].isin(leads["Record ID"])]
    activity_scores = score_activities(activities, as_of)

    lead_ids = leads["Record ID"]
    is_referral = (folded(leads["Lead Source"]) == "customer referral").fillna(False)
    raw_score = lead_ids.map(activity_scores["activity_points"]).fillna(0.0)
    raw_score += np.where(is_referral, 10.0, 0.0)
    qualifies = lead_ids.isin(activity_scores.index[activity_scores["has_demo_request"]])

    result = pd.DataFrame({"lead_id": lead_ids, "fit": is_fit(leads)})
    result["engagement_score"] = round_half_away(raw_score)
    result["mql"] = result["fit"] & ((result["engagement_score"] >= THRESHOLD) | qualifies)
    return result[["lead_id", "fit", "engagement_score", "mql"]].sort_values("lead_id")


def main() -> None:
    parser = argparse.ArgumentParser(description="Score the benchmark data with pandas.")
    parser.add_argument("--leads", required=True, help="leads file (.parquet or .csv)")
    parser.add_argument("--activities", required=True, help="activity file or glob pattern")
    parser.add_argument("--as-of", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    args = parser.parse_args()

    scores = score(args.leads, args.activities, args.as_of)
    scores["fit"] = np.where(scores["fit"], "true", "false")
    scores["mql"] = np.where(scores["mql"], "true", "false")
    scores.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
