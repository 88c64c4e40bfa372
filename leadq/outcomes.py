"""Outcomes: what became of each lead in the CRM (SQL, opportunity, won), read from an export."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from leadq.config import OUTCOME_STAGES, Config, OutcomesSection
from leadq.engagement import LEAD_ID
from leadq.errors import ConfigError
from leadq.readers import TableScan, expand_patterns, read_options
from leadq.timestamps import parse_local_times

STAGE = "_stage"
"""Stage of each outcome row: 0 for no stage, 1 for SQL, 2 for opportunity, 3 for won."""
OUTCOME_DAY = "_outcome_day"
CONVERTED = "converted"
_KEY = "_outcome_key"


@dataclass(frozen=True)
class OutcomeCounts:
    """Counts of the rows of the outcomes file, by what happened to them."""

    rows_read: int
    rejected: int
    """Rows with more or fewer fields than the header."""
    missing_key: int
    unmatched: int
    """Rows whose key matches no lead."""
    undated: int
    """Rows with a missing or unreadable date, when `outcomes.date` is set."""


@dataclass(frozen=True)
class Outcomes:
    """The outcome rows that belong to a lead, and counts of the rows that did not."""

    rows: pl.DataFrame
    """One row per outcome row and lead: LEAD_ID, STAGE and OUTCOME_DAY (null when undated)."""
    counts: OutcomeCounts
    converted_stage: int
    """The lowest STAGE that counts as converted."""
    is_dated: bool
    path: str


@dataclass(frozen=True)
class Labels:
    """Each lead's outcome within a period, and how many leads the period leaves out."""

    leads: pl.DataFrame
    """LEAD_ID, CONVERTED and STAGE (highest reached in the period) for each lead kept."""
    converted_before: int
    """Leads left out because they converted on or before the cut-off day."""


def outcomes_section(config: Config) -> OutcomesSection:
    """Return the config's `[outcomes]` section, or raise ConfigError explaining how to add it."""
    if config.outcomes is None:
        problem = (
            "outcomes: there is no [outcomes] section; add one that names the lead key and "
            "the stage column of the outcome export (see docs/calibration.md)"
        )
        raise ConfigError(str(config.path or "config"), [problem])
    return config.outcomes


def read_outcomes(config: Config, leads: pl.DataFrame, path: str | None = None) -> Outcomes:
    """Read the outcome export and match its rows to `leads` (LEAD_ID, and `email` if mapped).

    `path` overrides `outcomes.file`. Raises ConfigError when neither names a file, and
    InputDataError when the file cannot be read or lacks a configured column.
    """
    section = outcomes_section(config)
    file_name = path or section.file
    if file_name is None:
        problem = "no outcomes file: set outcomes.file in the config or pass --outcomes"
        raise ConfigError("inputs", [problem])
    if section.email and not config.leads.email:
        problem = "leads.email: outcomes are joined by e-mail, so name the leads' e-mail column"
        raise ConfigError(str(config.path or "config"), [problem])

    uses = _column_uses(section)
    base = None if path else config.folder
    scan = TableScan(
        expand_patterns([file_name], table="outcomes"),
        columns=list(uses),
        options=read_options(config.inputs),
        table="outcomes",
        uses=uses,
        base=base,
    )
    table = scan.read_all()
    frame = table.frame.with_columns(_stage_expr(section).alias(STAGE))
    undated = 0
    if section.date:
        timezone = config.activities.timezone if config.activities else "UTC"
        times = parse_local_times(
            frame.get_column(section.date),
            timezone=timezone,
            timestamp_format=section.date_format,
            format_setting="outcomes.date_format",
        )
        frame = frame.with_columns(times.dt.date().alias(OUTCOME_DAY))
        undated = frame.filter(pl.col(OUTCOME_DAY).is_null()).height
        frame = frame.filter(pl.col(OUTCOME_DAY).is_not_null())
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Date).alias(OUTCOME_DAY))

    key_column = section.lead_id or section.email
    assert key_column is not None
    key = pl.col(key_column) if section.lead_id else pl.col(key_column).str.to_lowercase()
    keyed = frame.with_columns(key.alias(_KEY))
    missing_key = keyed.filter(pl.col(_KEY).is_null()).height
    lead_key = pl.col(LEAD_ID) if section.lead_id else pl.col("email").str.to_lowercase()
    lead_keys = leads.select(lead_key.alias(_KEY), LEAD_ID).drop_nulls(_KEY)
    # An e-mail shared by several leads gives the outcome to each of them, as for activities.
    matched = keyed.drop_nulls(_KEY).join(lead_keys, on=_KEY, how="inner")
    unmatched = keyed.drop_nulls(_KEY).join(lead_keys, on=_KEY, how="anti").height

    return Outcomes(
        rows=matched.select(LEAD_ID, STAGE, OUTCOME_DAY),
        counts=OutcomeCounts(
            # table.frame still contains the undated rows, which `frame` has dropped.
            rows_read=table.frame.height + table.rejects.height,
            rejected=table.rejects.height,
            missing_key=missing_key,
            unmatched=unmatched,
            undated=undated,
        ),
        converted_stage=OUTCOME_STAGES.index(section.converted) + 1,
        is_dated=section.date is not None,
        path=table.files[0].path if table.files else file_name,
    )


def label_leads(
    lead_ids: pl.DataFrame,
    outcomes: Outcomes,
    *,
    after: dt.date | None = None,
    until: dt.date | None = None,
) -> Labels:
    """Mark each lead converted or not by its outcome rows dated after `after`, up to `until`.

    A lead that converted on or before `after` is left out. It was already converted on the
    day it was scored, so counting it would let the future leak into the past. Leads without
    an outcome row in the period are not converted. Without dates, `after` and `until` do
    nothing and every row counts.
    """
    rows = outcomes.rows
    converted_before = pl.DataFrame(schema={LEAD_ID: pl.String})
    if outcomes.is_dated and after is not None:
        converted_before = (
            rows.filter(
                (pl.col(STAGE) >= outcomes.converted_stage) & (pl.col(OUTCOME_DAY) <= after)
            )
            .select(LEAD_ID)
            .unique()
        )
        rows = rows.filter(pl.col(OUTCOME_DAY) > after)
    if outcomes.is_dated and until is not None:
        rows = rows.filter(pl.col(OUTCOME_DAY) <= until)

    stages = rows.group_by(LEAD_ID).agg(pl.col(STAGE).max())
    labelled = (
        lead_ids.select(LEAD_ID)
        .join(converted_before, on=LEAD_ID, how="anti")
        .join(stages, on=LEAD_ID, how="left", maintain_order="left")
        .with_columns(pl.col(STAGE).fill_null(0))
        .with_columns((pl.col(STAGE) >= outcomes.converted_stage).alias(CONVERTED))
    )
    return Labels(leads=labelled, converted_before=converted_before.height)


def last_outcome_day(outcomes: Outcomes) -> dt.date | None:
    """Return the latest outcome date, or None when the outcomes have no dates."""
    if not outcomes.is_dated or outcomes.rows.is_empty():
        return None
    latest = outcomes.rows.get_column(OUTCOME_DAY).max()
    assert isinstance(latest, dt.date)
    return latest


def _column_uses(section: OutcomesSection) -> dict[str, str]:
    uses: dict[str, str] = {}
    for key in ("lead_id", "email", "column", "date"):
        column = getattr(section, key)
        if column:
            uses.setdefault(column, f"outcomes.{key}")
    return uses


def _stage_expr(section: OutcomesSection) -> pl.Expr:
    """Return the stage of each row: the highest stage whose values list the row's value."""
    if section.each_row is not None:
        return pl.lit(OUTCOME_STAGES.index(section.each_row) + 1, dtype=pl.Int64)
    assert section.column is not None
    value = pl.col(section.column).str.strip_chars().str.to_lowercase()
    stage = pl.lit(0, dtype=pl.Int64)
    # The highest stage comes last, so that a value listed under two stages gets the higher one.
    for rank, values in enumerate((section.sql, section.opportunity, section.won), start=1):
        if values:
            folded = [item.strip().lower() for item in values]
            stage = pl.when(value.is_in(folded)).then(pl.lit(rank, dtype=pl.Int64)).otherwise(stage)
    return stage.fill_null(0)
