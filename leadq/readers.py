"""Reading lead and activity exports (CSV and Parquet) into text columns with file and line."""

from __future__ import annotations

import difflib
import glob
import gzip
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from leadq.conditions import clean_text
from leadq.errors import InputDataError

FILE_COLUMN = "_file"
LINE_COLUMN = "_line"
_CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_DELIMITERS = [",", ";", "\t", "|"]


@dataclass(frozen=True)
class SourceFile:
    """One input file and the number of data rows read from it."""

    path: str
    rows: int


@dataclass(frozen=True)
class Table:
    """The rows of one input table, every used column as cleaned text, with file and line."""

    frame: pl.DataFrame
    files: list[SourceFile]


def expand_patterns(patterns: Sequence[str], *, table: str) -> list[Path]:
    """Expand file names and glob patterns in order, each pattern's matches sorted by name."""
    paths: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else []
        if not glob.has_magic(pattern):
            matches = [pattern] if Path(pattern).exists() else []
        if not matches:
            msg = f"no {table} file matches {pattern!r}; check the path in the config or the flag"
            raise InputDataError(msg)
        paths.extend(Path(match) for match in matches if Path(match).is_file())
    return paths


def display_path(path: Path) -> str:
    """Show `path` relative to the working folder when it is inside it."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def read_table(
    paths: Sequence[Path],
    *,
    columns: Sequence[str],
    null_values: Sequence[str],
    table: str,
    optional: Sequence[str] = (),
    base: Path | None = None,
) -> Table:
    """Read `columns` from every file, clean them as text, and stack the files.

    Each file must have every column except those in `optional`, which only need to be in
    one of the files: activity exports from several tools rarely share all their columns, so
    a file without one reads as missing values there. Lines count records as a spreadsheet
    numbers rows: the header is line 1. Outputs name each file relative to `base` (the
    config's folder), so they do not change with the working folder.
    """
    frames = []
    files = []
    headers: list[set[str]] = []
    for path in paths:
        header = set(_header(path))
        headers.append(header)
        present = [c for c in columns if c not in optional or c in header]
        name = os.path.relpath(path.resolve(), base) if base else display_path(path)
        frame = _read_file(path, columns=present, table=table).with_columns(
            pl.lit(name).alias(FILE_COLUMN)
        )
        absent = [pl.lit(None, dtype=pl.String).alias(c) for c in columns if c not in present]
        frames.append(frame.with_columns(absent).select(*columns, FILE_COLUMN, LINE_COLUMN))
        files.append(SourceFile(path=name, rows=frame.height))
    _check_optional_columns(optional, headers, paths, table=table)

    if frames:
        stacked = pl.concat(frames, how="vertical")
    else:
        schema = {column: pl.String for column in columns}
        stacked = pl.DataFrame(schema={**schema, FILE_COLUMN: pl.String, LINE_COLUMN: pl.Int64})
    cleaned = stacked.with_columns(clean_text(column, null_values) for column in columns)
    return Table(frame=cleaned, files=files)


def _check_optional_columns(
    optional: Sequence[str], headers: list[set[str]], paths: Sequence[Path], *, table: str
) -> None:
    """Raise when an optional column is in none of the files: that is likely a typo."""
    for column in optional:
        if paths and not any(column in header for header in headers):
            names = ", ".join(display_path(path) for path in paths)
            msg = f"column {column!r} is in none of the {table} files ({names}); the config uses it"
            raise InputDataError(msg, column=column)


def _header(path: Path) -> list[str]:
    """Return the file's column names with stray spaces removed."""
    suffixes = [suffix.lower() for suffix in path.suffixes if suffix.lower() != ".gz"]
    try:
        if suffixes and suffixes[-1] in _PARQUET_SUFFIXES:
            return [name.strip() for name in pl.read_parquet_schema(path)]
        if suffixes and suffixes[-1] in _CSV_SUFFIXES:
            line = _first_line(path, label=display_path(path))
            separator = max(_DELIMITERS, key=line.count)
            names = pl.read_csv(path, infer_schema=False, separator=separator, n_rows=0).columns
            return [name.strip() for name in names]
    except pl.exceptions.PolarsError:
        return []  # _read_file reports the problem with the file's name
    return []


def _read_file(path: Path, *, columns: Sequence[str], table: str) -> pl.DataFrame:
    suffixes = [suffix.lower() for suffix in path.suffixes]
    label = display_path(path)
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    try:
        if suffix in _PARQUET_SUFFIXES:
            frame = _read_parquet(path, columns=columns, label=label)
        elif suffix in _CSV_SUFFIXES:
            frame = _read_csv(path, columns=columns, label=label)
        else:
            msg = f"unsupported file type {suffix or '(none)'!r}; use .csv, .csv.gz or .parquet"
            raise InputDataError(msg, path=label)
    except pl.exceptions.PolarsError as error:
        reason = str(error).strip().splitlines()[0]
        msg = f"the {table} file cannot be read: {reason}"
        raise InputDataError(msg, path=label) from None
    return frame.with_columns(pl.lit(label).alias(FILE_COLUMN)).select(
        *columns, FILE_COLUMN, LINE_COLUMN
    )


def _read_csv(path: Path, *, columns: Sequence[str], label: str) -> pl.DataFrame:
    header = _first_line(path, label=label)
    separator = max(_DELIMITERS, key=header.count)
    names = pl.read_csv(path, infer_schema=False, separator=separator, n_rows=0).columns
    original = _match_columns(names, columns, label=label)
    frame = pl.read_csv(
        path,
        infer_schema=False,
        separator=separator,
        columns=[original[column] for column in columns],
        row_index_name=LINE_COLUMN,
        row_index_offset=2,
    )
    renamed = frame.rename({original[column]: column for column in columns})
    return renamed.with_columns(pl.col(LINE_COLUMN).cast(pl.Int64))


def _first_line(path: Path, *, label: str) -> str:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as handle:
        line = handle.readline()
    if not line.strip():
        msg = "the file is empty: it has no header row"
        raise InputDataError(msg, path=label)
    return line


def _read_parquet(path: Path, *, columns: Sequence[str], label: str) -> pl.DataFrame:
    names = pl.read_parquet_schema(path)
    original = _match_columns(list(names), columns, label=label)
    frame = pl.read_parquet(path, columns=[original[column] for column in columns])
    frame = frame.rename({original[column]: column for column in columns})
    frame = frame.with_columns(_as_text(column, frame.schema[column]) for column in columns)
    return frame.with_row_index(LINE_COLUMN, offset=1).with_columns(
        pl.col(LINE_COLUMN).cast(pl.Int64)
    )


def _as_text(column: str, dtype: pl.DataType) -> pl.Expr:
    """Write a typed Parquet column as the text a CSV export of it would hold."""
    value = pl.col(column)
    if dtype.is_float():
        value = value.fill_nan(None)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        return value.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S%.f+00:00")
    if isinstance(dtype, pl.Datetime):
        return value.dt.strftime("%Y-%m-%d %H:%M:%S%.f")
    return value.cast(pl.String)


def _match_columns(names: Sequence[str], wanted: Sequence[str], *, label: str) -> dict[str, str]:
    """Map each wanted column to the file's header name, ignoring stray spaces around names."""
    by_stripped: dict[str, str] = {}
    for name in names:
        stripped = name.strip()
        if stripped in by_stripped:
            msg = f"the header names the column {stripped!r} twice; rename one of them"
            raise InputDataError(msg, path=label, column=stripped)
        by_stripped[stripped] = name

    for column in wanted:
        if column not in by_stripped:
            hint = difflib.get_close_matches(column, list(by_stripped), n=1)
            suggestion = f" Did you mean {hint[0]!r}?" if hint else ""
            available = ", ".join(repr(name) for name in by_stripped)
            msg = (
                f"column {column!r} is missing; the config uses it.{suggestion} "
                f"Columns in the file: {available}"
            )
            raise InputDataError(msg, path=label, column=column)
    return {column: by_stripped[column] for column in wanted}
