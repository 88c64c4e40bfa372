"""Engagement: the points each lead's activities earn, with window, caps and decay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from leadq.conditions import condition_expr
from leadq.config import ActivitiesSection, EngagementRule, EngagementSection
from leadq.readers import FILE_COLUMN, LINE_COLUMN, ORDER_COLUMN
from leadq.timestamps import SlashedDates, parse_local_times

LEAD_ID = "lead_id"
KEY = "_key"
ORDER = ORDER_COLUMN
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


def parse_activities(
    activities: pl.DataFrame,
    section: ActivitiesSection,
    *,
    slashed_dates: SlashedDates | None = None,
) -> pl.DataFrame:
    """Add the join key, folded type, local time and day, and why a row cannot be used."""
    key_column = section.lead_id or section.email
    assert key_column is not None
    key = pl.col(key_column) if section.lead_id else pl.col(key_column).str.to_lowercase()
    timestamp = pl.col(section.timestamp)
    local_time = parse_local_times(
        activities.get_column(section.timestamp),
        timezone=section.timezone,
        timestamp_format=section.timestamp_format,
        slashed_dates=slashed_dates,
    )

    # A blank lead key is not a reject: mixed exports (Salesforce tasks for leads and
    # contacts) leave it blank on purpose, and such rows count as matching no lead.
    reason = (
        pl.when(timestamp.is_null())
        .then(pl.lit(f"missing timestamp in {section.timestamp!r}"))
        .when(pl.col(LOCAL_TIME).is_null())
        .then(
            pl.format(
                "unreadable timestamp '{}' in {}; if it is a date, set "
                "activities.timestamp_format to the format it is written in",
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


def count_column(position: int) -> str:
    """Name of the per-lead column counting the matches of rule `position` that earned points."""
    return f"_count_{position}"


def points_column(position: int) -> str:
    """Name of the per-lead column summing the points rule `position` earned."""
    return f"_points_{position}"


def match_activities(
    credits: pl.DataFrame, engagement: EngagementSection, window: Window, *, decimal_comma: bool
) -> pl.DataFrame:
    """Match in-window activities against every activity rule, in one pass over them.

    `credits` has one row per activity and lead it credits. Adds `decay_factor` and, per
    activity rule, `_match_N` (the rule matches) and `_raw_N` (its points after decay, before
    any `max_count` cap, null where it does not match).
    """
    rules = _activity_rules(engagement)
    age_days = (pl.lit(window.as_of) - pl.col(DAY)).dt.total_days()
    decay = (
        pl.lit(0.5).pow(age_days / engagement.half_life_days)
        if engagement.half_life_days
        else pl.lit(1.0)
    )
    # lazily, so that Polars computes a sub-expression shared by several rules only once
    frame = credits.lazy().with_columns(decay.alias("decay_factor"))
    frame = frame.with_columns(
        _rule_match_expr(rule, decimal_comma=decimal_comma).alias(f"_match_{position}")
        for position, rule in rules
    )
    return frame.with_columns(
        pl.when(pl.col(f"_match_{position}"))
        .then(pl.col("decay_factor") * rule.points)
        .alias(f"_raw_{position}")
        for position, rule in rules
    ).collect()


class EngagementTotals:
    """Per-lead counts and points of the activity rules, summed over batches of activities.

    Rules without `max_count` keep running sums. For a rule with `max_count = N`, each lead's
    N most recent matches so far are kept, because a later batch can push older ones out.
    """

    def __init__(self, engagement: EngagementSection) -> None:
        self._rules = _activity_rules(engagement)
        self._sums: list[pl.DataFrame] = []
        self._latest: dict[int, pl.DataFrame] = {}

    def add(self, matches: pl.DataFrame) -> None:
        """Take in one batch of matched activities."""
        if matches.is_empty():
            return
        # the kept state repeats each lead id many times, so it stores them as categories
        matches = matches.with_columns(pl.col(LEAD_ID).cast(pl.Categorical))
        uncapped = [(p, rule) for p, rule in self._rules if rule.max_count is None]
        if uncapped:
            self._sums.append(
                matches.group_by(LEAD_ID).agg(
                    expr
                    for position, _ in uncapped
                    for expr in (
                        pl.col(f"_match_{position}")
                        .sum()
                        .cast(pl.Int64)
                        .alias(count_column(position)),
                        pl.col(f"_raw_{position}").sum().alias(points_column(position)),
                    )
                )
            )
            if len(self._sums) > 2:
                self._sums = [self._summed()]
        for position, rule in self._rules:
            if rule.max_count is not None:
                found = matches.filter(pl.col(f"_match_{position}")).select(
                    LEAD_ID, LOCAL_TIME, ORDER, pl.col(f"_raw_{position}").alias("points")
                )
                previous = self._latest.get(position)
                merged = found if previous is None else pl.concat([previous, found])
                self._latest[position] = _most_recent(merged, rule.max_count)

    def finish(self) -> pl.DataFrame:
        """Return one row per lead with a count and a points column per activity rule."""
        totals = self._summed() if self._sums else None
        for position, _ in self._rules:
            latest = self._latest.get(position)
            if latest is None:
                continue
            capped = latest.group_by(LEAD_ID).agg(
                pl.len().cast(pl.Int64).alias(count_column(position)),
                pl.col("points").sum().alias(points_column(position)),
            )
            totals = (
                capped
                if totals is None
                else totals.join(capped, on=LEAD_ID, how="full", coalesce=True)
            )
        if totals is None:
            return empty_activity_totals_for(self._rules)
        totals = totals.with_columns(pl.col(LEAD_ID).cast(pl.String))
        missing = [
            expr
            for position, _ in self._rules
            if count_column(position) not in totals.columns
            for expr in (
                pl.lit(0, dtype=pl.Int64).alias(count_column(position)),
                pl.lit(0.0).alias(points_column(position)),
            )
        ]
        return totals.with_columns(missing)

    def _summed(self) -> pl.DataFrame:
        stacked = pl.concat(self._sums)
        return stacked.group_by(LEAD_ID).agg(pl.exclude(LEAD_ID).sum())


def _most_recent(matches: pl.DataFrame, count: int) -> pl.DataFrame:
    """Keep each lead's `count` latest matches; ties go to the later row of the input."""
    return (
        matches.sort([LOCAL_TIME, ORDER], descending=True)
        .group_by(LEAD_ID, maintain_order=True)
        .head(count)
    )


def empty_activity_totals(engagement: EngagementSection) -> pl.DataFrame:
    """Per-lead activity totals for a run without activities."""
    return empty_activity_totals_for(_activity_rules(engagement))


def empty_activity_totals_for(rules: list[tuple[int, EngagementRule]]) -> pl.DataFrame:
    """Per-lead activity totals with no rows, for the given activity rules."""
    schema: dict[str, pl.DataType] = {LEAD_ID: pl.String()}
    for position, _ in rules:
        schema[count_column(position)] = pl.Int64()
        schema[points_column(position)] = pl.Float64()
    return pl.DataFrame(schema=schema)


def with_lead_rules(
    leads: pl.DataFrame, engagement: EngagementSection, *, decimal_comma: bool
) -> pl.DataFrame:
    """Add count and points columns for each `source = "lead"` rule, judged on lead columns."""
    columns = []
    for position, rule in enumerate(engagement.rules):
        if rule.source == "lead":
            hit = _where_expr(rule, decimal_comma=decimal_comma).fill_null(False)
            columns.append(hit.cast(pl.Int64).alias(count_column(position)))
            columns.append((hit.cast(pl.Float64) * rule.points).alias(points_column(position)))
    return leads.with_columns(columns)


def with_engagement(leads: pl.DataFrame, rules: list[EngagementRule]) -> pl.DataFrame:
    """Add `engagement_score` (rounded) and `reasons` from the per-rule count and points columns.

    Leads without a column's value (no activity joined) count as 0 for it.
    """
    filled = leads.with_columns(
        expr
        for position in range(len(rules))
        for expr in (
            pl.col(count_column(position)).fill_null(0),
            pl.col(points_column(position)).fill_null(0.0),
        )
    )
    score = pl.sum_horizontal([pl.col(points_column(p)) for p in range(len(rules))] or [0.0])
    by_name = sorted(range(len(rules)), key=lambda position: rules[position].name)
    parts = [
        pl.when(pl.col(count_column(position)) > 0).then(
            pl.format(
                "{} x{} {}",
                pl.lit(rules[position].name),
                pl.col(count_column(position)),
                signed_number_text(pl.col(points_column(position))),
            )
        )
        for position in by_name
    ]
    reasons = pl.concat_str(parts, separator="; ", ignore_nulls=True) if parts else pl.lit("")
    return filled.with_columns(
        round_score(score).alias("engagement_score"), reasons.fill_null("").alias("reasons")
    )


def ledger(matches: pl.DataFrame, engagement: EngagementSection) -> pl.DataFrame:
    """Return one row per activity and matching rule: when, which rule, decay, points, counted."""
    rules = _activity_rules(engagement)
    if not rules or matches.is_empty():
        return _empty_ledger()
    # latest first within each lead, so a running count of matches ranks them for max_count
    matches = matches.sort([LEAD_ID, LOCAL_TIME, ORDER], descending=[False, True, True])
    matches = matches.with_columns(
        _counted_expr(position, rule).alias(f"_counted_{position}") for position, rule in rules
    )
    per_rule = [
        matches.filter(pl.col(f"_match_{position}")).select(
            LEAD_ID,
            pl.lit(position, dtype=pl.Int64).alias("rule_position"),
            LOCAL_TIME,
            FILE_COLUMN,
            LINE_COLUMN,
            "decay_factor",
            pl.col(f"_counted_{position}").alias("counted"),
            pl.when(pl.col(f"_counted_{position}"))
            .then(pl.col(f"_raw_{position}"))
            .otherwise(0.0)
            .alias("points"),
        )
        for position, _ in rules
    ]
    return pl.concat(per_rule).sort(
        LEAD_ID, "rule_position", LOCAL_TIME, descending=[False, False, True]
    )


def round_score(score: pl.Expr) -> pl.Expr:
    """Round half away from zero to 2 decimals, as users expect from a spreadsheet.

    The nudge of 1e-9 keeps sums such as 0.1 + 0.2 + ... that land a hair below a half
    cent from rounding down. Only values within a billionth of a half cent move.
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


def _activity_rules(engagement: EngagementSection) -> list[tuple[int, EngagementRule]]:
    return [(p, rule) for p, rule in enumerate(engagement.rules) if rule.source == "activity"]


def _counted_expr(position: int, rule: EngagementRule) -> pl.Expr:
    is_match = pl.col(f"_match_{position}")
    if rule.max_count is None:
        return is_match
    return is_match & (is_match.cum_sum().over(LEAD_ID) <= rule.max_count)


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
