"""Reading the leads table: one row per lead id, with blank and superseded rows rejected."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from leadq.config import Config
from leadq.engagement import LEAD_ID, ORDER
from leadq.readers import (
    FILE_COLUMN,
    LINE_COLUMN,
    SourceFile,
    TableScan,
    display_path,
    read_options,
)
from leadq.rejects import shape_rejects
from leadq.timestamps import parse_local_times


def lead_scan(config: Config, paths: list[Path], base: Path | None) -> TableScan:
    """Return the reader of the lead columns that the config uses, from every leads file."""
    uses = config.lead_column_uses()
    return TableScan(
        paths,
        columns=list(uses),
        uses=uses,
        options=read_options(config.inputs),
        table="leads",
        base=base,
    )


def read_leads(
    config: Config, paths: list[Path], base: Path | None
) -> tuple[pl.DataFrame, pl.DataFrame, list[SourceFile], int]:
    """Read leads and keep one row per lead id, making blank and superseded rows rejects.

    Returns the leads, the rejected rows, the files read and the number of rows read.
    """
    scan = lead_scan(config, paths, base)
    columns = scan.columns
    table = scan.read_all()
    id_column = config.leads.id
    frame = table.frame.with_columns(pl.col(id_column).alias(LEAD_ID))
    if config.leads.email:
        frame = frame.with_columns(pl.col(config.leads.email).alias("email"))

    blank = frame.filter(pl.col(LEAD_ID).is_null()).with_columns(
        pl.lit("missing lead id").alias("problem"),
        pl.lit(f"missing lead id in {id_column!r}").alias("reason"),
    )
    # a lone leads file is named in errors about its dates, while several leave only the column
    source = display_path(paths[0]) if len(paths) == 1 else None
    leads, superseded = keep_one_row_per_lead(
        frame.filter(pl.col(LEAD_ID).is_not_null()), config, source=source
    )
    rejected = pl.concat([table.rejects, blank, superseded], how="diagonal_relaxed")
    rejects = shape_rejects("leads", rejected, columns, table.files)
    return leads, rejects, table.files, table.frame.height + table.rejects.height


def keep_one_row_per_lead(
    leads: pl.DataFrame, config: Config, *, source: str | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keep the latest row of each lead id by `updated_at`, else the last in file order.

    Returns the kept rows in file order and the superseded rows with a reject reason. `source`
    names the leads file in errors about the dates of `updated_at`.
    """
    updated_at = config.leads.updated_at
    order: list[pl.Expr] = [pl.col(LEAD_ID)]
    if updated_at:
        # only the order matters here, so naive times are read as UTC
        updated = parse_local_times(
            leads.get_column(updated_at),
            timezone="UTC",
            timestamp_format=config.leads.updated_at_format,
            format_setting="leads.updated_at_format",
            source=source,
        )
        leads = leads.with_columns(updated.alias("_updated"))
        order.append(pl.col("_updated"))
    ordered = leads.sort([*order, pl.col(ORDER)], nulls_last=False)
    is_kept = pl.col(ORDER) == pl.col(ORDER).last().over(LEAD_ID)

    kept = ordered.filter(is_kept)
    choice = pl.lit("the last in file order")
    if updated_at:
        # rows whose date cannot be read sort first, so a kept row without one means no
        # duplicate had a readable date
        choice = (
            pl.when(order[-1].is_null())
            .then(pl.lit(f"the last in file order, as no row has a readable {updated_at!r}"))
            .otherwise(pl.lit(f"the latest by {updated_at!r}"))
        )
    kept_rows = kept.select(
        LEAD_ID,
        pl.col(FILE_COLUMN).alias("_kept_file"),
        pl.col(LINE_COLUMN).alias("_kept_line"),
        choice.alias("_choice"),
    )
    superseded = (
        ordered.filter(~is_kept)
        .join(kept_rows, on=LEAD_ID)
        .with_columns(
            pl.lit("duplicate lead id").alias("problem"),
            pl.format(
                "duplicate lead id '{}'; line {} of {} was kept ({})",
                pl.col(LEAD_ID),
                pl.col("_kept_line"),
                pl.col("_kept_file"),
                pl.col("_choice"),
            ).alias("reason"),
        )
    )
    return kept.sort(ORDER), superseded
