"""Scoring activity files batch by batch, so that memory stays bounded however large they are."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from leadq.config import Config, EngagementSection
from leadq.engagement import (
    DAY,
    KEY,
    LEAD_ID,
    LOCAL_TIME,
    EngagementTotals,
    Window,
    match_activities,
    parse_activities,
    with_activity_type,
    with_reject_reasons,
)
from leadq.ledger import ledger_rows
from leadq.readers import (
    FILE_COLUMN,
    LINE_COLUMN,
    Batch,
    ReadOptions,
    SourceFile,
    TableScan,
    display_path,
)
from leadq.timestamps import SlashedDates

# Rows per batch: large enough that Polars' per-call costs stay small, and small enough to
# bound memory. On 20M activities and 1M leads, 1M rows instead of 2M took 5 to 14% more
# time and 0.7 to 1 GiB less memory. benchmarks/RESULTS.md lists the measurements.
DEFAULT_BATCH_ROWS = 1_000_000
_MATCHED = "_matched"
_HASH = "_hash"
_LEAD_KEY = "_lead_key"


@dataclass
class ActivityCounts:
    """Activity row counts by outcome, each row counted in exactly one of them."""

    total: int = 0
    rejected: int = 0
    unmatched: int = 0
    future_dated: int = 0
    before_window: int = 0
    in_window: int = 0


@dataclass
class ActivityScores:
    """Per-lead totals, counts, rejected rows and files read from the activity files."""

    totals: pl.DataFrame
    """One row per lead with a count and a points column per activity rule."""
    counts: ActivityCounts
    rejects: pl.DataFrame
    """Rejected rows with their used columns, file, line, order, `problem` and `reason`."""
    files: list[SourceFile]
    matches: pl.DataFrame
    """The `ledger_rows` of every lead, or of the leads in `ledger_leads`."""


BatchCallback = Callable[[int, int, int], None]
"""Called with the position (from 1) of the file being read, the number of files, and the
rows of the batch just scored."""


def activity_columns(config: Config) -> tuple[list[str], list[str]]:
    """Return the activity columns every file needs, and those only some files need."""
    uses = config.activity_column_uses()
    required = [column for column, key in uses.items() if key.startswith("activities.")]
    optional = [column for column in uses if column not in required]
    return required, optional


def activity_scan(
    config: Config, paths: Sequence[Path], *, options: ReadOptions, base: Path | None
) -> TableScan:
    """Return the reader of the activity columns that the config uses, from every file."""
    required, optional = activity_columns(config)
    return TableScan(
        paths,
        columns=required + optional,
        options=options,
        table="activity",
        uses=config.activity_column_uses(),
        optional=optional,
        base=base,
    )


def score_activity_files(
    config: Config,
    paths: Sequence[Path],
    lead_keys: pl.DataFrame,
    window: Window,
    *,
    options: ReadOptions,
    base: Path | None,
    batch_rows: int | None = DEFAULT_BATCH_ROWS,
    ledger_leads: Collection[str] | None = (),
    full_ledger: bool = False,
    on_batch: BatchCallback | None = None,
    engagement: EngagementSection | None = None,
) -> ActivityScores:
    """Read, check, match and total the activities of every file, one batch at a time.

    The activities are matched against the rules of `engagement`, by default
    `config.engagement`; a config with models passes the rules of all its models here.

    `lead_keys` maps the join key (KEY: lead id, or lower-case e-mail) to LEAD_ID. With
    `batch_rows = None` each file is read whole. The totals do not depend on the batch size.
    The ledger rows of `ledger_leads` are kept, or of every lead with `full_ledger`, which
    takes memory for every matched activity in the window. With `ledger_leads = None`,
    every lead's matched activities are kept whole instead, so that other dates can be
    scored from them.
    `on_batch` is called after each batch, for progress displays.
    """
    section = config.activities
    assert section is not None
    engagement = engagement or config.engagement
    scan = activity_scan(config, paths, options=options, base=base)
    slashed_dates = SlashedDates()
    known_keys = LeadKeys(lead_keys.get_column(KEY))
    totals = EngagementTotals(engagement, window.as_of)
    counts = ActivityCounts()
    rejects = [scan.empty_rejects()]
    kept_matches: list[pl.DataFrame] = []

    file_index = -1
    for batch in scan.batches(batch_rows=batch_rows):
        if batch.file_index != file_index:
            file_index = batch.file_index
            slashed_dates = _slashed_dates(scan, batch, section.timestamp, batch_rows)
        parsed = parse_activities(
            batch.rows,
            section,
            slashed_dates=slashed_dates,
            source=display_path(scan.paths[batch.file_index]),
        )
        # one mask per outcome instead of a filtered copy per step: batches are large
        parsed = parsed.with_columns(known_keys.contains(parsed.get_column(KEY)).alias(_MATCHED))
        _count(counts, batch.rejects.height, parsed, window)

        rejects.append(_detached(batch.rejects))
        rejected = parsed.filter(pl.col(LOCAL_TIME).is_null())
        if not rejected.is_empty():
            reasons = with_reject_reasons(rejected, section)
            rejects.append(_detached(reasons.select(rejects[0].columns)))
        # A blank lead key is not a reject: mixed exports (Salesforce tasks for leads and
        # contacts) leave it blank on purpose, and such rows count as matching no lead.
        in_window = parsed.filter(
            pl.col(_MATCHED) & pl.col(DAY).is_between(window.first_day, window.as_of)
        ).drop(_MATCHED)
        in_window = with_activity_type(in_window, section)
        if section.lead_id:
            # the key is the lead id itself, so no join is needed
            credits = in_window.with_columns(pl.col(KEY).alias(LEAD_ID))
        else:
            # an e-mail shared by several leads credits each of them
            credits = in_window.join(lead_keys, on=KEY, how="inner")
        matches = match_activities(
            credits, engagement, window, decimal_comma=config.inputs.decimal_comma
        )
        totals.add(matches)
        if ledger_leads is None:
            kept_matches.append(_detached(matches))
        elif full_ledger or ledger_leads:
            selected = (
                matches
                if full_ledger
                else matches.filter(pl.col(LEAD_ID).is_in(list(ledger_leads)))
            )
            rows = ledger_rows(selected, engagement)
            if not rows.is_empty():
                kept_matches.append(rows)
        if on_batch:
            on_batch(batch.file_index + 1, len(paths), batch.rows.height + batch.rejects.height)

    return ActivityScores(
        totals=totals.finish(),
        counts=counts,
        rejects=pl.concat(rejects, how="diagonal_relaxed"),
        files=scan.files,
        matches=pl.concat(kept_matches) if kept_matches else pl.DataFrame(),
    )


class LeadKeys:
    """The join keys of the leads, for finding which activities belong to a lead.

    `is_in` against a million text keys built its hash table anew for every batch, which took
    two thirds of the time of matching. Here the keys are hashed once. Each batch joins on the
    64-bit hashes and then compares the text, so the result is exact even when hashes collide.
    """

    def __init__(self, keys: pl.Series) -> None:
        distinct = keys.drop_nulls().unique()
        by_hash = pl.DataFrame({_HASH: distinct.hash(), _LEAD_KEY: distinct})
        self._keys = distinct.implode()
        # Two keys with one hash would make the join repeat rows, so then is_in is used.
        self._by_hash = by_hash if by_hash.get_column(_HASH).is_unique().all() else None

    def contains(self, keys: pl.Series) -> pl.Series:
        """Return, for each key, whether it is the key of a lead (false for a null key)."""
        if self._by_hash is None:
            return keys.is_in(self._keys).fill_null(False)
        joined = (
            keys.rename(KEY)
            .to_frame()
            .with_columns(pl.col(KEY).hash().alias(_HASH))
            .join(self._by_hash, on=_HASH, how="left", maintain_order="left")
        )
        return joined.select((pl.col(_LEAD_KEY) == pl.col(KEY)).fill_null(False)).to_series()


def _detached(rows: pl.DataFrame) -> pl.DataFrame:
    """Copy a few rows out of a batch, so that keeping them does not keep the whole batch.

    Polars' string columns are views into shared buffers, and a filtered frame still references
    the buffers of the frame it came from. Concatenating builds the text anew.
    """
    if rows.is_empty():
        return rows
    return rows.with_columns(
        pl.concat_str([pl.col(name), pl.lit("")]).alias(name)
        for name, dtype in rows.schema.items()
        if dtype == pl.String
    )


def _count(
    counts: ActivityCounts, shape_rejects: int, parsed: pl.DataFrame, window: Window
) -> None:
    """Add one batch's rows to the counts: rejected, unmatched, future, before, in window."""
    is_usable = pl.col(LOCAL_TIME).is_not_null()
    is_matched = is_usable & pl.col(_MATCHED)
    day = pl.col(DAY)
    value_rejects, unmatched, future, before, in_window = parsed.select(
        (~is_usable).sum().alias("rejected"),
        (is_usable & ~pl.col(_MATCHED)).sum().alias("unmatched"),
        (is_matched & (day > window.as_of)).sum().alias("future"),
        (is_matched & (day < window.first_day)).sum().alias("before"),
        (is_matched & day.is_between(window.first_day, window.as_of)).sum().alias("in_window"),
    ).row(0)
    counts.total += shape_rejects + parsed.height
    counts.rejected += shape_rejects + value_rejects
    counts.unmatched += unmatched
    counts.future_dated += future
    counts.before_window += before
    counts.in_window += in_window


def _slashed_dates(
    scan: TableScan, first_batch: Batch, column: str, batch_rows: int | None
) -> SlashedDates:
    """Gather the evidence of one file's slashed dates about their order.

    The order is decided for each file as a whole, since exports from different tools may
    differ. When the file's first batch has slashed dates and the file is read in batches,
    its timestamp column is read once more beforehand, because one batch may not settle it.
    """
    evidence = SlashedDates()
    evidence.add(first_batch.rows.get_column(column))
    if not evidence.seen or batch_rows is None:
        return evidence
    timestamps = TableScan(
        [scan.paths[first_batch.file_index]],
        columns=[column],
        options=scan.options,
        table=scan.table,
        base=scan.base,
    )
    for batch in timestamps.batches(batch_rows=batch_rows):
        evidence.add(batch.rows.get_column(column))
    return evidence


__all__ = ["FILE_COLUMN", "LINE_COLUMN", "LOCAL_TIME", "ActivityScores", "score_activity_files"]
