"""Engagement: the points each lead's activities earn, with window, caps and decay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from leadq.conditions import condition_expr
from leadq.config import ActivitiesSection, EngagementRule, EngagementSection
from leadq.readers import ORDER_COLUMN
from leadq.timestamps import SlashedDates, parse_local_times

LEAD_ID = "lead_id"
KEY = "_key"
ORDER = ORDER_COLUMN
LOCAL_TIME = "activity_time"
DAY = "_day"
TYPE = "_type"
FREQUENCY_CUT = "_frequency_cut"
ENGAGEMENT_TOTAL = "_engagement_total"
TOTAL_CUT = "_total_cut"
# Column that is true while a match is still kept by the frequency limits applied so far.
_KEPT = "_kept"
_OVER_CAP = "_over_cap"


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
    source: str | None = None,
) -> pl.DataFrame:
    """Add the join key, local time and day. Rows whose LOCAL_TIME is null cannot be used.

    `source` names the file of the rows in errors about its timestamps.
    """
    key_column = section.lead_id or section.email
    assert key_column is not None
    key = pl.col(key_column) if section.lead_id else pl.col(key_column).str.to_lowercase()
    local_time = parse_local_times(
        activities.get_column(section.timestamp),
        timezone=section.timezone,
        timestamp_format=section.timestamp_format,
        slashed_dates=slashed_dates,
        source=source,
    )
    return activities.with_columns(key.alias(KEY), local_time.alias(LOCAL_TIME)).with_columns(
        pl.col(LOCAL_TIME).dt.date().alias(DAY)
    )


def with_reject_reasons(rejected: pl.DataFrame, section: ActivitiesSection) -> pl.DataFrame:
    """Add `problem` and `reason` to the rows of `parse_activities` whose timestamp is unusable.

    The text is written only for these rows, because writing it for every activity took about
    7% of the CPU time of scoring 20M activities.
    """
    timestamp = pl.col(section.timestamp)
    if section.timestamp_format is None:
        advice = "if it is a date, set activities.timestamp_format to the format it is written in"
    else:
        # The format itself may be the mistake, for example after an export changed its dates.
        advice = (
            f"it does not fit activities.timestamp_format {section.timestamp_format!r}; "
            "correct the format or remove it"
        )
    return rejected.with_columns(
        pl.when(timestamp.is_null())
        .then(pl.lit("missing timestamp"))
        .otherwise(pl.lit("unreadable timestamp"))
        .alias("problem"),
        pl.when(timestamp.is_null())
        .then(pl.lit(f"missing timestamp in {section.timestamp!r}"))
        .otherwise(
            pl.format(
                "unreadable timestamp '{}' in {}; {}",
                timestamp,
                pl.lit(repr(section.timestamp)),
                pl.lit(advice),
            )
        )
        .alias("reason"),
    )


def with_activity_type(activities: pl.DataFrame, section: ActivitiesSection) -> pl.DataFrame:
    """Add TYPE, the activity type in lower case, which rules match against."""
    return activities.with_columns(pl.col(section.type).str.to_lowercase().alias(TYPE))


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
    rules = activity_rules(engagement)
    decay = decay_expr(engagement, window)
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


def decay_expr(engagement: EngagementSection, window: Window) -> pl.Expr:
    """Build the decay factor of an activity from its age in whole days (as-of day minus DAY).

    `half_life` earns `0.5 ** (age / half_life_days)`, or 1 without `half_life_days`.
    `linear` earns `1 - age / lookback_days`: 1 on the as-of day, `1 / lookback_days` on the
    first day of the window.
    """
    age_days = (pl.lit(window.as_of) - pl.col(DAY)).dt.total_days()
    if engagement.decay == "linear":
        return 1.0 - age_days / engagement.lookback_days
    if engagement.half_life_days:
        return pl.lit(0.5).pow(age_days / engagement.half_life_days)
    return pl.lit(1.0)


def with_frequency_cuts(matches: pl.DataFrame, rule: EngagementRule, as_of: date) -> pl.DataFrame:
    """Add FREQUENCY_CUT: the limit of `rule` that keeps a match from counting, null if none.

    `matches` contains matches of `rule` only, with LEAD_ID, LOCAL_TIME, ORDER and DAY. Per lead,
    the limits apply in this order, each to the matches that the previous ones left.
    `max_per_day = N` keeps the N latest of each local day. `once_per_days = N` keeps the
    latest of each N-day period counted back from the as-of day, where period k contains the
    ages k*N to k*N+N-1. `max_count = N` keeps the N latest of the rest. Matches at the same time
    rank by ORDER, so the later row of the input counts. Returns the rows by lead, latest
    first.
    """
    age_days = (pl.lit(as_of) - pl.col(DAY)).dt.total_days()
    stages: list[tuple[str, pl.Expr | None, int]] = []
    if rule.max_per_day is not None:
        stages.append((f"max_per_day {rule.max_per_day}", pl.col(DAY), rule.max_per_day))
    if rule.once_per_days is not None:
        stages.append((f"once_per_days {rule.once_per_days}", age_days // rule.once_per_days, 1))
    if rule.max_count is not None:
        stages.append((f"max_count {rule.max_count}", None, rule.max_count))

    # Sorted by lead and latest first, every lead's days and periods are runs of rows, so a
    # running count of the kept rows, less its value where the run starts, ranks them.
    frame = matches.sort([LEAD_ID, LOCAL_TIME, ORDER], descending=[False, True, True])
    frame = frame.with_columns(
        pl.lit(True).alias(_KEPT), pl.lit(None, dtype=pl.String).alias(FREQUENCY_CUT)
    )
    new_lead = (pl.col(LEAD_ID) != pl.col(LEAD_ID).shift(1)).fill_null(True)
    for label, key, limit in stages:
        starts = new_lead if key is None else new_lead | (key != key.shift(1)).fill_null(True)
        kept = pl.col(_KEPT).cast(pl.Int64)
        running = kept.cum_sum()
        before_run = pl.when(starts).then(running - kept).forward_fill()
        within = running - before_run <= limit
        frame = frame.with_columns(
            pl.when(pl.col(_KEPT) & ~within)
            .then(pl.lit(label))
            .otherwise(pl.col(FREQUENCY_CUT))
            .alias(FREQUENCY_CUT),
            (pl.col(_KEPT) & within).alias(_KEPT),
        )
    return frame.drop(_KEPT)


# Maximum number of new matches of a rule with a frequency limit that may wait before the kept
# ones are sorted again. That is a few tens of MB, and enough to sort large batches in one go.
_UNSORTED_ROWS = 1_000_000
# How many batches' per-lead sums wait before they are summed into one frame.
_SUMS_KEPT = 8
_RULE_COLUMNS = ("_match_", "_raw_")


class EngagementTotals:
    """Per-lead counts and points of the activity rules, summed over batches of activities.

    Rules without a frequency limit keep running sums. For a rule with `max_count`,
    `max_per_day` or `once_per_days`, each lead's matches that still count so far are kept,
    because a later batch can push some of them out. A match that stops counting never
    counts again, so each lead keeps at most `max_count` matches, one per period, or
    `max_per_day` per day, whichever is fewest.
    """

    def __init__(self, engagement: EngagementSection, as_of: date) -> None:
        self._rules = activity_rules(engagement)
        self._as_of = as_of
        self._sums: list[pl.DataFrame] = []
        self._latest: dict[int, pl.DataFrame] = {}
        self._unsorted: dict[int, list[pl.DataFrame]] = {}

    def add(self, matches: pl.DataFrame) -> None:
        """Take in one batch of matched activities."""
        if matches.is_empty() or not self._rules:
            return
        # About half of the activities in a window match no rule, and they add nothing. Leaving
        # them out first cut a quarter of this step's time on the benchmark data.
        any_match = pl.any_horizontal(pl.col(f"_match_{position}") for position, _ in self._rules)
        used = [LEAD_ID, LOCAL_TIME, ORDER, DAY]
        used += [f"{prefix}{position}" for position, _ in self._rules for prefix in _RULE_COLUMNS]
        # The kept state repeats each lead id many times, so it stores them as categories.
        matches = (
            matches.select(used)
            .filter(any_match)
            .with_columns(pl.col(LEAD_ID).cast(pl.Categorical))
        )
        uncapped = [(p, rule) for p, rule in self._rules if not rule.has_frequency_limit]
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
            # Summing the sums again costs a pass over all of them, so it waits for several.
            if len(self._sums) > _SUMS_KEPT:
                self._sums = [self._summed()]
        for position, rule in self._rules:
            if rule.has_frequency_limit:
                found = matches.filter(pl.col(f"_match_{position}")).select(
                    LEAD_ID, LOCAL_TIME, ORDER, DAY, pl.col(f"_raw_{position}").alias("points")
                )
                unsorted = self._unsorted.setdefault(position, [])
                unsorted.append(found)
                # Choosing what still counts sorts every kept match, so it waits until the new
                # matches are as many as the kept ones. Each match is then sorted a few times,
                # not once per batch. The choice is the same, because a match that stops
                # counting never counts again.
                kept = self._latest.get(position)
                waiting = sum(frame.height for frame in unsorted)
                if waiting >= max(_UNSORTED_ROWS, 0 if kept is None else kept.height):
                    self._choose(position, rule)

    def _choose(self, position: int, rule: EngagementRule) -> None:
        """Keep the matches of rule `position` that still count, from the kept and new ones."""
        previous = self._latest.get(position)
        frames = [] if previous is None else [previous]
        frames += self._unsorted.pop(position, [])
        if frames:
            self._latest[position] = _still_counting(pl.concat(frames), rule, self._as_of)

    def finish(self) -> pl.DataFrame:
        """Return one row per lead with a count and a points column per activity rule."""
        for position, rule in self._rules:
            if position in self._unsorted:
                self._choose(position, rule)
        # One group-by over every rule's per-lead rows replaces a join per rule, because the
        # joins took as long as choosing the matches that still count.
        parts = [self._summed()] if self._sums else []
        for position, _ in self._rules:
            latest = self._latest.get(position)
            if latest is not None:
                parts.append(
                    latest.group_by(LEAD_ID).agg(
                        pl.len().cast(pl.Int64).alias(count_column(position)),
                        pl.col("points").sum().alias(points_column(position)),
                    )
                )
        totals = (
            pl.concat(parts, how="diagonal").group_by(LEAD_ID).agg(pl.all().sum())
            if parts
            else None
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


def _still_counting(matches: pl.DataFrame, rule: EngagementRule, as_of: date) -> pl.DataFrame:
    """Keep the matches of `rule` that its frequency limits let count."""
    if rule.max_per_day is None and rule.once_per_days is None:
        # With max_count alone, a faster group head makes the same choice as with_frequency_cuts.
        assert rule.max_count is not None
        # Most leads have no more matches than the cap, and all of theirs count, so only the
        # matches of the others are sorted. On the benchmark data that halved the time of this step.
        over_cap = pl.len().over(LEAD_ID) > rule.max_count
        judged = matches.with_columns(over_cap.alias(_OVER_CAP))
        within = judged.filter(~pl.col(_OVER_CAP))
        latest = (
            judged.filter(pl.col(_OVER_CAP))
            .sort([LOCAL_TIME, ORDER], descending=True)
            .group_by(LEAD_ID, maintain_order=True)
            .head(rule.max_count)
        )
        return pl.concat([within, latest.select(within.columns)]).drop(_OVER_CAP)
    judged = with_frequency_cuts(matches, rule, as_of)
    return judged.filter(pl.col(FREQUENCY_CUT).is_null()).drop(FREQUENCY_CUT)


def empty_activity_totals(engagement: EngagementSection) -> pl.DataFrame:
    """Per-lead activity totals for a run without activities."""
    return empty_activity_totals_for(activity_rules(engagement))


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


def group_cut_column(index: int) -> str:
    """Return the name of the per-lead column with the points that the cap of group `index` cut."""
    return f"_group_cut_{index}"


def cap_label(cap: float, group: str | None = None) -> str:
    """Describe a cap as `reasons` and the ledger show it, such as `group web capped at 40`."""
    amount = f"{cap:.2f}".rstrip("0").rstrip(".")
    return f"group {group} capped at {amount}" if group is not None else f"total capped at {amount}"


def with_engagement(leads: pl.DataFrame, engagement: EngagementSection) -> pl.DataFrame:
    """Add `engagement_score` (rounded), a subtotal column per group, and `reasons`.

    Each group's points are summed and capped at its `max_points`, then the total is capped
    at `engagement.max_points`. Caps limit from above only, so negative points are never
    cut. The unrounded score stays in ENGAGEMENT_TOTAL, and the points each cap cut in
    `group_cut_column(i)` and TOTAL_CUT, for the ledger. Leads without a column's value (no
    activity joined) count as 0 for it.
    """
    rules = engagement.rules
    filled = leads.with_columns(
        expr
        for position in range(len(rules))
        for expr in (
            pl.col(count_column(position)).fill_null(0),
            pl.col(points_column(position)).fill_null(0.0),
        )
    )
    group_sums = {
        group.name: pl.sum_horizontal(
            [pl.col(points_column(p)) for p, rule in enumerate(rules) if rule.group == group.name]
            or [pl.lit(0.0)]
        )
        for group in engagement.groups
    }
    filled = filled.with_columns(
        _capped(group_sums[group.name], group.max_points).alias(group.column)
        for group in engagement.groups
    )
    subtotals = [pl.col(group.column) for group in engagement.groups]
    ungrouped = [pl.col(points_column(p)) for p, rule in enumerate(rules) if rule.group is None]
    # Without groups this is the plain sum of the rules' points, in config order.
    total = pl.sum_horizontal([*subtotals, *ungrouped] or [0.0])
    capped_total = _capped(total, engagement.max_points)
    filled = filled.with_columns(
        capped_total.alias(ENGAGEMENT_TOTAL),
        (total - capped_total).alias(TOTAL_CUT),
        *(
            (group_sums[group.name] - pl.col(group.column)).alias(group_cut_column(index))
            for index, group in enumerate(engagement.groups)
        ),
    )

    by_name = sorted(range(len(rules)), key=lambda position: rules[position].name)
    parts: list[pl.Expr] = [
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
    parts += [
        _cap_note(pl.col(group_cut_column(index)), cap_label(group.max_points, group.name))
        for index, group in enumerate(engagement.groups)
        if group.max_points is not None
    ]
    if engagement.max_points is not None:
        parts.append(_cap_note(pl.col(TOTAL_CUT), cap_label(engagement.max_points)))
    reasons = pl.concat_str(parts, separator="; ", ignore_nulls=True) if parts else pl.lit("")
    # The streaming engine splits the rows over the cores. An eager call works on a frame of one
    # chunk with one thread, which made this step 2.5 times as slow on 1M leads. Only the new
    # columns go through it, so that the other columns are not copied.
    new_columns = (
        filled.lazy()
        .select(
            round_score(pl.col(ENGAGEMENT_TOTAL)).alias("engagement_score"),
            *(round_score(pl.col(group.column)).alias(group.column) for group in engagement.groups),
            reasons.fill_null("").alias("reasons"),
        )
        .collect(engine="streaming")
    )
    return filled.with_columns(new_columns.get_columns())


def _capped(total: pl.Expr, cap: float | None) -> pl.Expr:
    return total if cap is None else pl.min_horizontal(total, pl.lit(cap, dtype=pl.Float64))


def _cap_note(cut: pl.Expr, label: str) -> pl.Expr:
    """Write `label (-5.33)` where a cap cut points."""
    return pl.when(cut > 0).then(pl.format("{} (-{})", pl.lit(label), number_text(cut)))


def round_score(score: pl.Expr) -> pl.Expr:
    """Round half away from zero to 2 decimals, as users expect from a spreadsheet.

    The nudge of 1e-9 keeps sums such as 0.1 + 0.2 + ... that land a hair below a half
    cent from rounding down. Only values within a billionth of a half cent move. A value
    that rounds to zero from below becomes 0.0, not -0.0, which files would show as `-0.0`.
    """
    nudged = score + score.sign() * 1e-9
    rounded = nudged.round(2, mode="half_away_from_zero")
    # Polars drops `+ 0.0` as a no-op, so the sign of zero is cleared by an explicit choice.
    return pl.when(rounded == 0.0).then(pl.lit(0.0)).otherwise(rounded)


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


def activity_rules(engagement: EngagementSection) -> list[tuple[int, EngagementRule]]:
    """Return the activity rules with their positions among all rules."""
    return [(p, rule) for p, rule in enumerate(engagement.rules) if rule.source == "activity"]
