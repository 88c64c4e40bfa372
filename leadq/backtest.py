"""`leadq backtest`: the MQLs of a series of as-of dates, scored from one read of the inputs.

The inputs are read and matched against the rules once, with a window wide enough for every
date. Each date then takes its own window, decay and `max_count` from those matches through
the same functions that `leadq score` uses, so a date's scores equal a `score --as-of` run.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from leadq.calibration_stats import wilson_interval
from leadq.config import Config
from leadq.engagement import (
    DAY,
    LEAD_ID,
    EngagementTotals,
    Window,
    count_column,
    empty_activity_totals,
    match_activities,
    points_column,
)
from leadq.errors import ConfigError
from leadq.outcomes import CONVERTED, label_leads, read_outcomes
from leadq.scoring import ScoringResult, decide_mqls, score_leads

# The whole range must fit a date window that `[engagement] lookback_days` also accepts.
MAX_DATES = 1000
_EVERY = re.compile(r"\s*(\d+)\s*([dw])\s*", re.IGNORECASE)


@dataclass(frozen=True)
class BacktestResult:
    """The per-date scores of every lead and the per-date counts."""

    leads: pl.DataFrame
    """One row per as-of date and lead: `as_of`, LEAD_ID, `fit`, `engagement_score`, `mql`."""
    periods: pl.DataFrame
    """One row per as-of date: leads, fit leads, MQLs, new MQLs and, with outcomes, how the
    new MQLs converted."""


def parse_every(text: str) -> int:
    """Parse a step such as `7d` or `2w` into days. Raise ConfigError if it is invalid."""
    match = _EVERY.fullmatch(text)
    days = 0
    if match:
        days = int(match.group(1))
        if match.group(2).lower() == "w":
            days *= 7
    if days < 1:
        problem = f"--every {text!r} is invalid; write days or weeks, e.g. 7d or 2w"
        raise ConfigError("command line", [problem])
    return days


def as_of_dates(start: dt.date, end: dt.date, every_days: int) -> list[dt.date]:
    """Return `start`, then every `every_days` days up to and including `end` if it falls on one."""
    if end < start:
        problem = f"--to {end} is before --from {start}; give the earlier date first"
        raise ConfigError("command line", [problem])
    count = (end - start).days // every_days + 1
    if count > MAX_DATES:
        problem = (
            f"--from {start} to --to {end} every {every_days} days gives {count} dates; "
            f"use at most {MAX_DATES}, with a longer --every or a shorter range"
        )
        raise ConfigError("command line", [problem])
    return [start + dt.timedelta(days=every_days * step) for step in range(count)]


def backtest(
    config: Config,
    dates: Sequence[dt.date],
    *,
    leads_path: str | None = None,
    activity_patterns: Sequence[str] | None = None,
    outcomes_path: str | None = None,
    on_step: Callable[[str], None] | None = None,
) -> BacktestResult:
    """Score every lead as of each of `dates` (ascending), reading each input file once.

    With `outcomes_path` (or `outcomes.file`), each date's new MQLs are followed up: those
    with an outcome dated after that date count as converted, or with any outcome when the
    outcomes have no dates.
    """
    # NOTE: each date is decided from one set of rules and one MQL definition.
    config.reject_models("leadq backtest")
    first, last = dates[0], dates[-1]
    lookback = config.engagement.lookback_days
    # One window that contains every date's window, from the first date's first day to the last.
    wide = config.model_copy(deep=True)
    wide.engagement.lookback_days = (last - first).days + lookback
    wide_result = score_leads(
        wide,
        leads_path=leads_path,
        activity_patterns=activity_patterns,
        as_of=last,
        on_step=on_step,
        ledger_leads=None,
    )
    step = on_step or (lambda _name: None)
    step(f"Scoring {len(dates)} dates")
    frames = [
        _score_date(config, wide_result, Window(as_of=day, lookback_days=lookback)) for day in dates
    ]
    leads = pl.concat(frames)
    periods = _periods(leads)
    if outcomes_path is not None or (config.outcomes is not None and config.outcomes.file):
        periods = _follow_up(config, wide_result, leads, periods, outcomes_path)
    return BacktestResult(leads=leads, periods=periods)


def _score_date(config: Config, wide: ScoringResult, window: Window) -> pl.DataFrame:
    """Score the leads of `wide` as of `window.as_of` from the activities `wide` kept."""
    rules = config.engagement.rules
    activity_positions = [p for p, rule in enumerate(rules) if rule.source == "activity"]
    matched = wide.matches
    if matched.is_empty():
        totals = empty_activity_totals(config.engagement)
    else:
        # The wide run's match columns contain its own decay, so each date computes them anew.
        derived = ["decay_factor", *[f"_match_{p}" for p in activity_positions]]
        derived += [f"_raw_{p}" for p in activity_positions]
        credits = matched.filter(pl.col(DAY).is_between(window.first_day, window.as_of)).drop(
            derived
        )
        matches = match_activities(
            credits, config.engagement, window, decimal_comma=config.inputs.decimal_comma
        )
        engagement_totals = EngagementTotals(config.engagement, window.as_of)
        engagement_totals.add(matches)
        totals = engagement_totals.finish()
    activity_columns = [
        name for p in activity_positions for name in (count_column(p), points_column(p))
    ]
    leads = wide.leads.drop(activity_columns)
    scored = decide_mqls(leads, totals, config)
    return scored.select(
        pl.lit(window.as_of).alias("as_of"), LEAD_ID, "fit", "engagement_score", "mql"
    )


def _with_new_mql(leads: pl.DataFrame) -> pl.DataFrame:
    """Add `new_mql`: an MQL on this date that was not one on the previous date."""
    was_mql = pl.col("mql").shift(1).over(LEAD_ID, order_by="as_of").fill_null(False)
    return leads.sort("as_of", LEAD_ID).with_columns((pl.col("mql") & ~was_mql).alias("new_mql"))


def _periods(leads: pl.DataFrame) -> pl.DataFrame:
    """Count leads, fit leads, MQLs and new MQLs (not MQL on the previous date) per date."""
    flagged = _with_new_mql(leads)
    first_day = leads.get_column("as_of").min()
    return (
        flagged.group_by("as_of", maintain_order=True)
        .agg(
            pl.len().alias("leads"),
            pl.col("fit").sum().alias("fit"),
            pl.col("mql").sum().alias("mqls"),
            pl.col("new_mql").sum().alias("new_mqls"),
        )
        # On the first date every MQL is new only because nothing came before.
        .with_columns(
            pl.when(pl.col("as_of") == first_day)
            .then(None)
            .otherwise(pl.col("new_mqls"))
            .alias("new_mqls")
        )
        .sort("as_of")
    )


def _follow_up(
    config: Config,
    wide: ScoringResult,
    leads: pl.DataFrame,
    periods: pl.DataFrame,
    outcomes_path: str | None,
) -> pl.DataFrame:
    """Add how many of each date's new MQLs converted after that date."""
    outcomes = read_outcomes(config, wide.leads, outcomes_path)
    flagged = _with_new_mql(leads)
    rows = []
    for day in periods.get_column("as_of").to_list():
        labels = label_leads(wide.leads, outcomes, after=day if outcomes.is_dated else None)
        new_mqls = flagged.filter((pl.col("as_of") == day) & pl.col("new_mql")).join(
            labels.leads, on=LEAD_ID, how="left"
        )
        # A lead that had converted by this date is not a new conversion.
        converted = int(new_mqls.get_column(CONVERTED).fill_null(False).sum())
        low, high = wilson_interval(converted, new_mqls.height)
        rows.append(
            {
                "as_of": day,
                "new_mqls_converted": converted,
                "new_mql_conversion": converted / new_mqls.height if new_mqls.height else None,
                "conversion_low": low if new_mqls.height else None,
                "conversion_high": high if new_mqls.height else None,
            }
        )
    follow_up = pl.DataFrame(
        rows,
        schema={
            "as_of": pl.Date,
            "new_mqls_converted": pl.Int64,
            "new_mql_conversion": pl.Float64,
            "conversion_low": pl.Float64,
            "conversion_high": pl.Float64,
        },
    )
    first_day = periods.get_column("as_of").min()
    joined = periods.join(follow_up, on="as_of", how="left")
    return joined.with_columns(
        pl.when(pl.col("as_of") != first_day).then(pl.col(name)).alias(name)
        for name in follow_up.columns[1:]
    )
