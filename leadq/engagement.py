"""Engagement: the points each lead's activities earn, with window, caps and decay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from leadq.conditions import condition_expr
from leadq.config import ActivitiesSection, EngagementRule, EngagementSection
from leadq.readers import FILE_COLUMN, LINE_COLUMN
from leadq.timestamps import local_time_expr

LEAD_ID = "lead_id"
KEY = "_key"
ORDER = "_order"
LOCAL_TIME = "activity_time"
DAY = "_day"
TYPE = "_type"
REJECT_REASON = "_reject_reason"
REJECT_PROBLEM = "_reject_problem"


@dataclass(frozen=True)
class Window:
    """The calendar days whose activities count: the as-of day and the days before it."""

    as_of: date
    lookback_days: int

    @property
    def first_day(self) -> date:
        """The earliest local calendar day inside the window."""
        return self.as_of - timedelta(days=self.lookback_days - 1)


def parse_activities(activities: pl.DataFrame, section: ActivitiesSection) -> pl.DataFrame:
    """Add the join key, folded type, local time and day, and why a row cannot be used."""
    key_column = section.lead_id or section.email
    assert key_column is not None
    key = pl.col(key_column) if section.lead_id else pl.col(key_column).str.to_lowercase()
    timestamp = pl.col(section.timestamp)
    local_time = local_time_expr(
        activities.get_column(section.timestamp),
        column=section.timestamp,
        timezone=section.timezone,
        timestamp_format=section.timestamp_format,
    )
    # A blank lead key is not a reject: mixed exports (Salesforce tasks for leads and
    # contacts) leave it blank on purpose, and such rows count as matching no lead.
    reason = (
        pl.when(timestamp.is_null())
        .then(pl.lit(f"missing timestamp in {section.timestamp!r}"))
        .when(pl.col(LOCAL_TIME).is_null())
        .then(
            pl.format(
                "unreadable timestamp '{}' in {}; set activities.timestamp_format to its format",
                timestamp,
                pl.lit(repr(section.timestamp)),
            )
        )
    )
    problem = (
        pl.when(timestamp.is_null())
        .then(pl.lit("missing timestamp"))
        .when(pl.col(LOCAL_TIME).is_null())
        .then(pl.lit("unreadable timestamp"))
    )
    parsed = activities.with_columns(
        key.alias(KEY),
        pl.col(section.type).str.to_lowercase().alias(TYPE),
        local_time.alias(LOCAL_TIME),
    )
    return parsed.with_columns(
        reason.alias(REJECT_REASON),
        problem.alias(REJECT_PROBLEM),
        pl.col(LOCAL_TIME).dt.date().alias(DAY),
    )


def score_activities(
    credits: pl.DataFrame, engagement: EngagementSection, window: Window, *, decimal_comma: bool
) -> pl.DataFrame:
    """Match in-window activities against every activity rule and return the ledger.

    `credits` has one row per activity and lead it credits. The ledger has one row per
    activity and matching rule: `counted` is false where `max_count` left the match out, and
    `points` is what the match earned after decay (0 when not counted).
    """
    rules = [
        (position, rule)
        for position, rule in enumerate(engagement.rules)
        if rule.source == "activity"
    ]
    if not rules or credits.is_empty():
        return _empty_ledger()

    age_days = (pl.lit(window.as_of) - pl.col(DAY)).dt.total_days()
    decay = (
        pl.lit(0.5).pow(age_days / engagement.half_life_days)
        if engagement.half_life_days
        else pl.lit(1.0)
    )
    latest_first = credits.sort(
        [LEAD_ID, LOCAL_TIME, ORDER], descending=[False, True, True]
    ).with_columns(decay.alias("decay_factor"))

    matched = latest_first.with_columns(
        _rule_match_expr(rule, decimal_comma=decimal_comma).alias(_match_column(position))
        for position, rule in rules
    )
    outcomes = matched.with_columns(
        _rule_outcome_expr(position, rule).alias(_outcome_column(position))
        for position, rule in rules
    )
    index = [LEAD_ID, LOCAL_TIME, FILE_COLUMN, LINE_COLUMN, "decay_factor"]
    long = outcomes.unpivot(
        index=index,
        on=[_outcome_column(position) for position, _ in rules],
        variable_name="_outcome",
    ).drop_nulls("value")
    ledger = long.unnest("value").with_columns(
        pl.col("_outcome").str.strip_prefix("_outcome_").cast(pl.Int64).alias("rule_position")
    )
    return ledger.select(
        LEAD_ID,
        "rule_position",
        LOCAL_TIME,
        FILE_COLUMN,
        LINE_COLUMN,
        "decay_factor",
        "counted",
        "points",
    ).sort(LEAD_ID, "rule_position", LOCAL_TIME, descending=[False, False, True])


def score_lead_rules(
    leads: pl.DataFrame, engagement: EngagementSection, *, decimal_comma: bool
) -> pl.DataFrame:
    """Return one row per lead and `source = "lead"` rule whose conditions hold."""
    hits = [
        leads.filter(_where_expr(rule, decimal_comma=decimal_comma)).select(
            LEAD_ID,
            pl.lit(position, dtype=pl.Int64).alias("rule_position"),
            pl.lit(1, dtype=pl.UInt32).alias("count"),
            pl.lit(rule.points, dtype=pl.Float64).alias("points"),
        )
        for position, rule in enumerate(engagement.rules)
        if rule.source == "lead"
    ]
    if not hits:
        return _empty_rule_totals()
    return pl.concat(hits)


def rule_totals(ledger: pl.DataFrame, lead_rule_hits: pl.DataFrame) -> pl.DataFrame:
    """Sum counted matches and points per lead and rule, across activity and lead rules."""
    from_activities = (
        ledger.filter(pl.col("counted"))
        .group_by(LEAD_ID, "rule_position")
        .agg(pl.len().alias("count"), pl.col("points").sum())
    )
    return pl.concat([from_activities, lead_rule_hits]).sort(LEAD_ID, "rule_position")


def lead_engagement(totals: pl.DataFrame, rules: list[EngagementRule]) -> pl.DataFrame:
    """Return per lead: the unrounded score, the readable reasons and the rule positions hit."""
    names = pl.DataFrame(
        {
            "rule_position": list(range(len(rules))),
            "rule": [rule.name for rule in rules],
        },
        schema={"rule_position": pl.Int64, "rule": pl.String},
    )
    reason = pl.format(
        "{} x{} {}", pl.col("rule"), pl.col("count"), signed_number_text(pl.col("points"))
    )
    return (
        totals.join(names, on="rule_position", how="left")
        .sort(LEAD_ID, "rule")
        .group_by(LEAD_ID, maintain_order=True)
        .agg(
            pl.col("points").sum().alias("_raw_score"),
            reason.str.join("; ").alias("reasons"),
            pl.col("rule_position").alias("_rules_hit"),
        )
    )


def round_score(score: pl.Expr) -> pl.Expr:
    """Round half away from zero to 2 decimals, as users expect from a spreadsheet.

    The nudge of 1e-9 keeps sums such as 0.1 + 0.2 + ... that land a hair below a half
    cent from rounding down; it is far below any point value a config can express usefully.
    """
    nudged = score + score.sign() * 1e-9
    return nudged.round(2, mode="half_away_from_zero") + 0.0


def number_text(value: pl.Expr) -> pl.Expr:
    """Write a number rounded to 2 decimals without trailing zeros: 30, 12.5, -7.25."""
    rounded = round_score(value)
    whole = rounded.cast(pl.Int64).cast(pl.String)
    return pl.when(rounded == rounded.floor()).then(whole).otherwise(rounded.cast(pl.String))


def signed_number_text(value: pl.Expr) -> pl.Expr:
    """Write points with their sign: +25, -20, +7.5."""
    text = number_text(value)
    return pl.when(round_score(value) >= 0).then(pl.lit("+") + text).otherwise(text)


def _where_expr(rule: EngagementRule, *, decimal_comma: bool) -> pl.Expr:
    conditions = [condition_expr(c, decimal_comma=decimal_comma) for c in rule.where]
    return pl.all_horizontal(conditions or [True])


def _rule_match_expr(rule: EngagementRule, *, decimal_comma: bool) -> pl.Expr:
    type_match = (
        pl.col(TYPE).is_in([name.strip().lower() for name in rule.type])
        if rule.type
        else pl.lit(True)
    )
    return (type_match & _where_expr(rule, decimal_comma=decimal_comma)).fill_null(False)


def _rule_outcome_expr(position: int, rule: EngagementRule) -> pl.Expr:
    is_match = pl.col(_match_column(position))
    counted = is_match
    if rule.max_count is not None:
        # rows are sorted latest first within each lead, so a running count ranks the matches
        counted = is_match & (is_match.cum_sum().over(LEAD_ID) <= rule.max_count)
    earned = pl.when(counted).then(pl.col("decay_factor") * rule.points).otherwise(0.0)
    return pl.when(is_match).then(pl.struct(counted.alias("counted"), earned.alias("points")))


def _match_column(position: int) -> str:
    return f"_match_{position}"


def _outcome_column(position: int) -> str:
    return f"_outcome_{position}"


def _empty_ledger() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            LEAD_ID: pl.String,
            "rule_position": pl.Int64,
            LOCAL_TIME: pl.Datetime("us"),
            FILE_COLUMN: pl.String,
            LINE_COLUMN: pl.Int64,
            "decay_factor": pl.Float64,
            "counted": pl.Boolean,
            "points": pl.Float64,
        }
    )


def _empty_rule_totals() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            LEAD_ID: pl.String,
            "rule_position": pl.Int64,
            "count": pl.UInt32,
            "points": pl.Float64,
        }
    )
