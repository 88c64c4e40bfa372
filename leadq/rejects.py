"""Rows that could not be used, shaped for rejects.csv."""

from __future__ import annotations

import polars as pl

from leadq.readers import FILE_COLUMN, LINE_COLUMN, SourceFile

REJECT_SCHEMA = {
    "table": pl.String,
    "file": pl.String,
    "line": pl.Int64,
    "problem": pl.String,
    "reason": pl.String,
    "record": pl.String,
}


def shape_rejects(
    table: str, rows: pl.DataFrame, columns: list[str], files: list[SourceFile]
) -> pl.DataFrame:
    """Shape rejected rows for rejects.csv, in input order: file by file, line by line."""
    if rows.is_empty():
        return no_rejects()
    file_order = {source.path: position for position, source in enumerate(files)}
    position = pl.col(FILE_COLUMN).replace_strict(file_order, return_dtype=pl.Int64)
    return rows.sort(position, LINE_COLUMN).select(
        pl.lit(table).alias("table"),
        pl.col(FILE_COLUMN).alias("file"),
        pl.col(LINE_COLUMN).alias("line"),
        pl.col("problem"),
        pl.col("reason"),
        pl.struct(columns).struct.json_encode().alias("record"),
    )


def no_rejects() -> pl.DataFrame:
    """Return an empty rejects table."""
    return pl.DataFrame(schema=REJECT_SCHEMA)
