"""The ledger: each matched activity and lead rule with the points it earned after every cap.

The points earned of a lead add up to its unrounded engagement score, so the ledger shows
where each point of a score came from and where the frequency limits and caps took points.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from leadq.config import EngagementSection
from leadq.engagement import (
    DAY,
    FREQUENCY_CUT,
    LEAD_ID,
    LOCAL_TIME,
    ORDER,
    TOTAL_CUT,
    activity_rules,
    cap_label,
    count_column,
    group_cut_column,
    with_frequency_cuts,
)
from leadq.readers import FILE_COLUMN, LINE_COLUMN

LEDGER_COLUMNS = (
    LEAD_ID,
    "rule",
    "group",
    LOCAL_TIME,
    "file",
    "line",
    "rule_points",
    "decay_factor",
    "decayed_points",
    "points_earned",
    "counted",
    "cut_reason",
)
_GROUP = "_group"
_POSITION = "_rule_position"
_GROUP_LOSS = "_group_loss"
_TOTAL_LOSS = "_total_loss"


def ledger_rows(matches: pl.DataFrame, engagement: EngagementSection) -> pl.DataFrame:
    """Keep what the ledger needs of a batch of matched activities, and only rows that matched.

    Lead ids and file names become categories, because the kept rows repeat them many times.
    """
    rules = activity_rules(engagement)
    if not rules or matches.is_empty():
        return pl.DataFrame()
    any_match = pl.any_horizontal(pl.col(f"_match_{position}") for position, _ in rules)
    return matches.filter(any_match).select(
        pl.col(LEAD_ID).cast(pl.Categorical),
        LOCAL_TIME,
        DAY,
        ORDER,
        pl.col(FILE_COLUMN).cast(pl.Categorical),
        LINE_COLUMN,
        "decay_factor",
        *(column for position, _ in rules for column in (f"_match_{position}", f"_raw_{position}")),
    )


def build_ledger(
    matches: pl.DataFrame, leads: pl.DataFrame, engagement: EngagementSection, as_of: date
) -> pl.DataFrame:
    """Build one row per matched activity and rule, and per lead rule that matched, with points.

    `matches` contains `ledger_rows` of the activities, and `leads` the scored leads with their
    rule count columns, cap cut columns and source file and line. A match that a frequency
    limit drops earns 0. Then the points a group cap cut come off that group's positive
    points, and the points the total cap cut come off all positive points of the lead. Both
    take points in the same order: lead rules first, then activities from the oldest (by
    time, input order, then rule order). So a cap takes the points of whole rows and part of
    one more, and each lead's `points_earned` add up to its unrounded score.
    """
    parts = [*_activity_rows(matches, engagement, as_of), *_lead_rule_rows(leads, engagement)]
    frame = pl.concat(parts) if parts else pl.DataFrame()
    if frame.is_empty():
        return _empty_ledger()

    frame = _take_cap_cuts(frame, leads, engagement)

    return (
        frame.with_columns(
            _cut_reason(engagement).alias("cut_reason"),
            _is_counted().alias("counted"),
            pl.col(FILE_COLUMN).alias("file"),
            pl.col(LINE_COLUMN).alias("line"),
        )
        .sort(
            [LEAD_ID, LOCAL_TIME, ORDER, _POSITION],
            descending=[False, True, True, False],
            nulls_last=False,
        )
        .select(LEDGER_COLUMNS)
    )


def _take_cap_cuts(
    frame: pl.DataFrame, leads: pl.DataFrame, engagement: EngagementSection
) -> pl.DataFrame:
    """Add `points_earned`, after frequency limits, group caps and the total cap in turn."""
    cut_columns = [group_cut_column(i) for i in range(len(engagement.groups))]
    frame = frame.join(leads.select(LEAD_ID, TOTAL_CUT, *cut_columns), on=LEAD_ID, how="left")
    # Oldest first, with lead rules (no time) before every activity.
    frame = frame.sort([LEAD_ID, LOCAL_TIME, ORDER, _POSITION], nulls_last=False)

    group_cut = pl.lit(0.0)
    for index in range(len(engagement.groups)):
        group_cut = (
            pl.when(pl.col(_GROUP) == index)
            .then(pl.col(group_cut_column(index)))
            .otherwise(group_cut)
        )
    earned = pl.when(pl.col(FREQUENCY_CUT).is_null()).then(pl.col("decayed_points")).otherwise(0.0)
    frame = frame.with_columns(earned.alias("points_earned"))
    steps = [
        (_GROUP_LOSS, group_cut, [LEAD_ID, _GROUP]),
        (_TOTAL_LOSS, pl.col(TOTAL_CUT), [LEAD_ID]),
    ]
    for loss, cut, partition in steps:
        frame = frame.with_columns(_loss(pl.col("points_earned"), cut, partition).alias(loss))
        frame = frame.with_columns((pl.col("points_earned") - pl.col(loss)).alias("points_earned"))
    return frame


def _loss(points: pl.Expr, cut: pl.Expr, partition: list[str]) -> pl.Expr:
    """Take `cut` off the positive `points` of each partition, row by row in frame order."""
    positive = points.clip(lower_bound=0.0)
    taken_before = positive.shift(1, fill_value=0.0).cum_sum().over(partition)
    return pl.max_horizontal(pl.min_horizontal(cut.fill_null(0.0) - taken_before, positive), 0.0)


def _cut_reason(engagement: EngagementSection) -> pl.Expr:
    group_label = pl.lit(None, dtype=pl.String)
    for index, group in enumerate(engagement.groups):
        if group.max_points is not None:
            label = cap_label(group.max_points, group.name)
            group_label = (
                pl.when(pl.col(_GROUP) == index).then(pl.lit(label)).otherwise(group_label)
            )
    total_label = (
        pl.lit(cap_label(engagement.max_points))
        if engagement.max_points is not None
        else pl.lit(None, dtype=pl.String)
    )
    parts = [
        pl.col(FREQUENCY_CUT),
        pl.when(pl.col(_GROUP_LOSS) > 0).then(group_label),
        pl.when(pl.col(_TOTAL_LOSS) > 0).then(total_label),
    ]
    return pl.concat_str(parts, separator="; ", ignore_nulls=True).fill_null("")


def _is_counted() -> pl.Expr:
    """Mark a row counted unless a frequency limit dropped it or caps took all its points."""
    capped_away = (pl.col(_GROUP_LOSS) + pl.col(_TOTAL_LOSS) > 0) & (pl.col("points_earned") == 0)
    return pl.col(FREQUENCY_CUT).is_null() & ~capped_away


def _activity_rows(
    matches: pl.DataFrame, engagement: EngagementSection, as_of: date
) -> list[pl.DataFrame]:
    if matches.is_empty():
        return []
    group_index = {group.name: index for index, group in enumerate(engagement.groups)}
    rows = []
    for position, rule in activity_rules(engagement):
        found = matches.filter(pl.col(f"_match_{position}")).select(
            LEAD_ID,
            pl.lit(position, dtype=pl.Int64).alias(_POSITION),
            pl.lit(rule.name).alias("rule"),
            pl.lit(rule.group, dtype=pl.String).alias("group"),
            pl.lit(group_index.get(rule.group or ""), dtype=pl.Int64).alias(_GROUP),
            LOCAL_TIME,
            DAY,
            ORDER,
            FILE_COLUMN,
            LINE_COLUMN,
            pl.lit(rule.points, dtype=pl.Float64).alias("rule_points"),
            "decay_factor",
            pl.col(f"_raw_{position}").alias("decayed_points"),
        )
        if rule.has_frequency_limit:
            found = with_frequency_cuts(found, rule, as_of)
        else:
            found = found.with_columns(pl.lit(None, dtype=pl.String).alias(FREQUENCY_CUT))
        rows.append(
            found.drop(DAY).with_columns(
                pl.col(LEAD_ID).cast(pl.String), pl.col(FILE_COLUMN).cast(pl.String)
            )
        )
    return rows


def _lead_rule_rows(leads: pl.DataFrame, engagement: EngagementSection) -> list[pl.DataFrame]:
    """Build a row per lead and matching `source = "lead"` rule, citing the leads file."""
    group_index = {group.name: index for index, group in enumerate(engagement.groups)}
    rows = []
    for position, rule in enumerate(engagement.rules):
        if rule.source != "lead":
            continue
        matched_leads = leads.filter(pl.col(count_column(position)) > 0).select(
            pl.col(LEAD_ID),
            pl.lit(position, dtype=pl.Int64).alias(_POSITION),
            pl.lit(rule.name).alias("rule"),
            pl.lit(rule.group, dtype=pl.String).alias("group"),
            pl.lit(group_index.get(rule.group or ""), dtype=pl.Int64).alias(_GROUP),
            pl.lit(None, dtype=pl.Datetime("us")).alias(LOCAL_TIME),
            pl.lit(None, dtype=pl.Int64).alias(ORDER),
            pl.col(FILE_COLUMN).cast(pl.String),
            pl.col(LINE_COLUMN).cast(pl.Int64),
            pl.lit(rule.points, dtype=pl.Float64).alias("rule_points"),
            pl.lit(1.0).alias("decay_factor"),
            pl.lit(rule.points, dtype=pl.Float64).alias("decayed_points"),
            pl.lit(None, dtype=pl.String).alias(FREQUENCY_CUT),
        )
        rows.append(matched_leads)
    return rows


def _empty_ledger() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            LEAD_ID: pl.String,
            "rule": pl.String,
            "group": pl.String,
            LOCAL_TIME: pl.Datetime("us"),
            "file": pl.String,
            "line": pl.Int64,
            "rule_points": pl.Float64,
            "decay_factor": pl.Float64,
            "decayed_points": pl.Float64,
            "points_earned": pl.Float64,
            "counted": pl.Boolean,
            "cut_reason": pl.String,
        }
    )
