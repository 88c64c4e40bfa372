"""Reading lead and activity exports (CSV, Excel, Parquet) as text columns with file and line."""

from __future__ import annotations

import codecs
import difflib
import glob
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import polars as pl

from leadq.conditions import clean_text
from leadq.config import InputsSection
from leadq.csv_files import (
    FIELDS_COLUMN,
    RECORD_COLUMN,
    header_names,
    open_source,
    scan_layout,
    scan_records,
    utf8_error,
)
from leadq.csv_files import LINE_COLUMN as LINE_COLUMN
from leadq.errors import InputDataError

FILE_COLUMN = "_file"
ORDER_COLUMN = "_order"
_CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
# How many rows below the header to search for a header that title rows pushed down.
_HEADER_SEARCH_ROWS = 20


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
    rejects: pl.DataFrame
    """Rows with more or fewer fields than the header, with `problem` and `reason`."""


def expand_patterns(patterns: Sequence[str], *, table: str) -> list[Path]:
    """Expand file names and glob patterns in order, each pattern's matches sorted by name."""
    paths: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else []
        if not glob.has_magic(pattern):
            matches = [pattern] if Path(pattern).exists() else []
        if not matches:
            normalized = os.path.normpath(pattern)
            msg = (
                f"no {table} file matches {normalized!r}; check the path in the config or the flag"
            )
            raise InputDataError(msg)
        paths.extend(Path(match) for match in matches if Path(match).is_file())
    return paths


def display_path(path: Path) -> str:
    """Show `path` relative to the working folder when it is inside it, else in full.

    A path such as `../../tmp/export.csv` is hard to read, and wrong once the user has
    changed folder.
    """
    absolute = Path(os.path.normpath(path.absolute()))
    working = Path.cwd()
    if absolute.is_relative_to(working):
        return str(absolute.relative_to(working))
    return str(absolute)


@dataclass(frozen=True)
class ReadOptions:
    """How to read input files, from the config's `[inputs]` section."""

    null_values: Sequence[str]
    encoding: str = "utf-8"
    delimiter: str | None = None
    sheet: str | None = None
    decimal_comma: bool = False
    """Whether numbers are written `1.200,5`: typed Parquet floats are then written so too."""


def read_options(inputs: InputsSection) -> ReadOptions:
    """Return the file-reading settings of a config's `[inputs]` section."""
    return ReadOptions(
        null_values=inputs.null_values,
        encoding=inputs.encoding,
        delimiter=inputs.delimiter,
        sheet=inputs.sheet,
        decimal_comma=inputs.decimal_comma,
    )


@dataclass(frozen=True)
class Batch:
    """Some rows of one input file: usable rows, and rows with the wrong number of fields."""

    rows: pl.DataFrame
    rejects: pl.DataFrame
    file_index: int
    """The position of the batch's file among the scanned paths."""


class TableScan:
    """A reader of `columns` from every file in turn, in batches, cleaned as text.

    Each file must have every column except those in `optional`, which only need to be in
    one of the files: activity exports from several tools rarely share all their columns, so
    a file without one reads as missing values there. Lines are the line in the file where
    a record starts, the header being line 1. Rows with more or fewer fields than the header
    are rejects. Outputs name each file relative to `base` (the config's folder), so they do
    not change with the working folder. `uses` maps columns to the config keys that name
    them, for error messages. `files` lists the files read so far with their row counts.
    """

    def __init__(
        self,
        paths: Sequence[Path],
        *,
        columns: Sequence[str],
        options: ReadOptions,
        table: str,
        uses: Mapping[str, str] | None = None,
        optional: Sequence[str] = (),
        base: Path | None = None,
    ) -> None:
        self.paths = list(paths)
        self.columns = list(columns)
        self.options = options
        self.table = table
        self.uses = uses or {}
        self.optional = list(optional)
        self.base = base
        self.files: list[SourceFile] = []

    def batches(self, *, batch_rows: int | None) -> Iterator[Batch]:
        """Yield the rows of every file, at most `batch_rows` at a time (None: whole files)."""
        opened = [self._open(path) for path in self.paths]
        headers = [set(source.names) for source, _ in opened]
        _check_optional_columns(self.optional, headers, self.paths, self.uses, table=self.table)

        for position, (source, name) in enumerate(opened):
            present = [c for c in self.columns if c not in self.optional or c in source.names]
            absent = [
                pl.lit(None, dtype=pl.String).alias(c) for c in self.columns if c not in present
            ]
            rows_read = 0
            for frame in source.batches(present, batch_rows):
                rows_read += frame.height
                rows = frame.with_columns(
                    *absent,
                    pl.lit(name).alias(FILE_COLUMN),
                    # one order across files: file by file, then record by record
                    (pl.col(RECORD_COLUMN) + (position << 40)).alias(ORDER_COLUMN),
                )
                good, bad = _split_by_shape(rows, width=source.width)
                cleaned = good.with_columns(
                    clean_text(column, self.options.null_values) for column in self.columns
                )
                yield Batch(
                    rows=cleaned.select(*self.columns, FILE_COLUMN, LINE_COLUMN, ORDER_COLUMN),
                    rejects=bad.select(
                        *self.columns, FILE_COLUMN, LINE_COLUMN, ORDER_COLUMN, "problem", "reason"
                    ),
                    file_index=position,
                )
            self.files.append(SourceFile(path=name, rows=rows_read))

    def column_problems(self) -> list[str]:
        """Return a message for each file that cannot be opened or lacks a column.

        Only headers are read. Excel files, gzip files and text in another encoding than
        UTF-8 are skipped, because reading their header means reading the whole file.
        """
        problems = []
        utf8 = codecs.lookup(self.options.encoding).name == "utf-8"
        for path in self.paths:
            suffix = path.suffix.lower()
            decoded = suffix not in _PARQUET_SUFFIXES and not utf8
            if suffix in _EXCEL_SUFFIXES or suffix == ".gz" or decoded:
                continue
            try:
                self._open(path)
            except InputDataError as error:
                problems.append(str(error))
        return problems

    def read_all(self) -> Table:
        """Read every file at once into one table."""
        frames, rejects = [], []
        for batch in self.batches(batch_rows=None):
            frames.append(batch.rows)
            rejects.append(batch.rejects)
        return Table(
            frame=pl.concat([self.empty_rows(), *frames]),
            files=self.files,
            rejects=pl.concat([self.empty_rejects(), *rejects]),
        )

    def empty_rows(self) -> pl.DataFrame:
        """Return a frame with no rows and the columns that batches have."""
        return pl.DataFrame(schema=self._schema())

    def empty_rejects(self) -> pl.DataFrame:
        """Return a frame with no rows and the columns that batch rejects have."""
        return pl.DataFrame(schema={**self._schema(), "problem": pl.String, "reason": pl.String})

    def _schema(self) -> dict[str, pl.DataType]:
        schema: dict[str, pl.DataType] = {column: pl.String() for column in self.columns}
        schema.update({FILE_COLUMN: pl.String(), LINE_COLUMN: pl.Int64(), ORDER_COLUMN: pl.Int64()})
        return schema

    def _open(self, path: Path) -> tuple[_OpenFile, str]:
        label = display_path(path)
        source = _open(path, options=self.options, label=label, table=self.table)
        present = [c for c in self.columns if c not in self.optional or c in source.names]
        _check_columns(source.names, present, self.uses, label=label, hint=source.missing_hint)
        for column in present:
            if column in source.duplicated:
                msg = f"the header names the column {column!r} twice; rename one of them"
                raise InputDataError(msg, path=label, column=column)
        name = os.path.relpath(path.resolve(), self.base) if self.base else label
        return source, name


def _split_by_shape(rows: pl.DataFrame, *, width: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    if FIELDS_COLUMN not in rows.columns:
        rows = rows.with_columns(pl.lit(None, dtype=pl.Int64).alias(FIELDS_COLUMN))
    fields = pl.col(FIELDS_COLUMN)
    is_bad = fields.is_not_null() & (fields != width)
    bad = rows.filter(is_bad).with_columns(
        pl.lit("wrong number of fields").alias("problem"),
        pl.format("the row has {} fields but the header has {}", fields, pl.lit(width)).alias(
            "reason"
        ),
    )
    return rows.filter(~is_bad).drop(FIELDS_COLUMN), bad.drop(FIELDS_COLUMN)


def _check_optional_columns(
    optional: Sequence[str],
    headers: list[set[str]],
    paths: Sequence[Path],
    uses: Mapping[str, str],
    *,
    table: str,
) -> None:
    """Raise when an optional column is in none of the files: that is likely a typo."""
    all_names = sorted(set().union(*headers)) if headers else []
    for column in optional:
        if paths and not any(column in header for header in headers):
            names = ", ".join(display_path(path) for path in paths)
            msg = (
                f"column {column!r}{_used_by(column, uses)} is in none of the {table} files "
                f"({names}).{_close_match(column, all_names)}"
            )
            raise InputDataError(msg, column=column)


def _check_columns(
    names: Sequence[str],
    expected: Sequence[str],
    uses: Mapping[str, str],
    *,
    label: str,
    hint: Callable[[Sequence[str]], str] | None = None,
) -> None:
    """Raise an error that lists every expected column the file lacks, and the key using it.

    `hint` returns more advice about the missing columns, such as another sheet to read.
    """
    missing = [column for column in expected if column not in names]
    if not missing:
        return
    lines = [
        f"column {column!r}{_used_by(column, uses)} is missing.{_close_match(column, names)}"
        for column in missing
    ]
    available = ", ".join(repr(name) for name in names)
    msg = " ".join(lines) + f" Columns in the file: {available}"
    if hint is not None:
        msg += hint(missing)
    raise InputDataError(msg, path=label, column=missing[0])


def _used_by(column: str, uses: Mapping[str, str]) -> str:
    return f" (used by {uses[column]})" if column in uses else ""


def _close_match(column: str, names: Sequence[str]) -> str:
    hint = difflib.get_close_matches(column, list(names), n=1)
    return f" Did you mean {hint[0]!r}?" if hint else ""


@dataclass(frozen=True)
class _OpenFile:
    """One input file whose header has been read, ready to read columns from."""

    names: list[str]
    """Column names without stray spaces."""
    width: int
    """Number of fields in the header, blank names included."""
    batches: Callable[[Sequence[str], int | None], Iterator[pl.DataFrame]]
    """Yield the given columns with RECORD_COLUMN and LINE_COLUMN, in batches of rows."""
    duplicated: frozenset[str] = frozenset()
    """Column names that the header has more than once, which cannot be read by name."""
    missing_hint: Callable[[Sequence[str]], str] | None = None
    """Advice to add when columns are missing, given their names."""


def _open(path: Path, *, options: ReadOptions, label: str, table: str) -> _OpenFile:
    suffixes = [suffix.lower() for suffix in path.suffixes if suffix.lower() != ".gz"]
    suffix = suffixes[-1] if suffixes else ""
    try:
        if suffix in _PARQUET_SUFFIXES:
            return _open_parquet(
                path, label=label, table=table, decimal_comma=options.decimal_comma
            )
        if suffix in _EXCEL_SUFFIXES:
            return _open_excel(path, sheet=options.sheet, label=label, table=table)
        if suffix in _CSV_SUFFIXES:
            return _open_csv(path, options=options, label=label)
    except pl.exceptions.PolarsError as error:
        raise _unreadable(error, table=table, label=label) from None
    msg = f"unsupported file type {suffix or '(none)'!r}; use .csv, .csv.gz, .xlsx or .parquet"
    raise InputDataError(msg, path=label)


def _unreadable(error: Exception, *, table: str, label: str) -> InputDataError:
    reason = str(error).strip().splitlines()[0]
    return InputDataError(f"the {table} file cannot be read: {reason}", path=label)


def _open_csv(path: Path, *, options: ReadOptions, label: str) -> _OpenFile:
    source = open_source(path, encoding=options.encoding, label=label)
    names, separator = header_names(source, delimiter=options.delimiter, label=label)
    by_name, duplicated = _names_by_stripped(names)

    def batches(columns: Sequence[str], batch_rows: int | None) -> Iterator[pl.DataFrame]:
        wanted = _match_columns(by_name, columns, label=label)
        try:
            layout = scan_layout(
                source, separator=separator, width=len(names), batch_rows=batch_rows
            )
            records = scan_records(
                source, separator=separator, columns=wanted, null_values=options.null_values
            )
            for frame in _collect(records, batch_rows):
                yield layout.apply(frame)
        except pl.exceptions.PolarsError as error:
            raise utf8_error(error, source, label) from None

    return _OpenFile(names=list(by_name), width=len(names), batches=batches, duplicated=duplicated)


def _open_parquet(path: Path, *, label: str, table: str, decimal_comma: bool) -> _OpenFile:
    by_name, _ = _names_by_stripped(list(pl.read_parquet_schema(path)))

    def batches(columns: Sequence[str], batch_rows: int | None) -> Iterator[pl.DataFrame]:
        wanted = _match_columns(by_name, columns, label=label)
        scan = pl.scan_parquet(path).select(
            pl.col(original).alias(name) for name, original in wanted.items()
        )
        schema = scan.collect_schema()
        scan = scan.with_columns(
            _as_text(column, schema[column], decimal_comma=decimal_comma) for column in columns
        )
        if batch_rows is None:
            yield _numbered(scan, offset=0).collect()
            return
        # Slices read only the row groups they need, one batch at a time. A streaming
        # query reads ahead of a slow consumer instead, holding up to a few GB per file.
        # NOTE: a row group larger than a batch is decoded once per batch that overlaps it.
        total = pl.scan_parquet(path).select(pl.len()).collect().item()
        for offset in range(0, total, batch_rows):
            yield _numbered(scan.slice(offset, batch_rows), offset=offset).collect()

    def checked_batches(columns: Sequence[str], batch_rows: int | None) -> Iterator[pl.DataFrame]:
        try:
            yield from batches(columns, batch_rows)
        except pl.exceptions.PolarsError as error:
            raise _unreadable(error, table=table, label=label) from None

    return _OpenFile(names=list(by_name), width=len(by_name), batches=checked_batches)


def _numbered(rows: pl.LazyFrame, *, offset: int) -> pl.LazyFrame:
    """Add RECORD_COLUMN and LINE_COLUMN to rows that start at record `offset` of their file.

    The numbers are added after slicing, because a row index before a slice makes Polars
    decode every row before the slice too. Reading a 10M-row file in 2M-row batches then took
    6.4 s of CPU time instead of 3.9 s.
    """
    return rows.with_row_index(RECORD_COLUMN, offset=offset).with_columns(
        pl.col(RECORD_COLUMN).cast(pl.Int64),
        (pl.col(RECORD_COLUMN).cast(pl.Int64) + 1).alias(LINE_COLUMN),
    )


def _open_excel(path: Path, *, sheet: str | None, label: str, table: str) -> _OpenFile:
    try:
        sheet_names = fastexcel.read_excel(path).sheet_names
        if sheet is not None and sheet not in sheet_names:
            listed = ", ".join(repr(name) for name in sheet_names)
            msg = (
                f"the workbook has no sheet named {sheet!r}; its sheets are {listed}. "
                "Set inputs.sheet to one of them"
            )
            raise InputDataError(msg, path=label)
        sheet_name = sheet or sheet_names[0]
        # Every cell reads as text, so that ids keep their leading zeros and no column
        # changes type. Blank rows are dropped only after numbering, so lines match Excel's.
        frame = pl.read_excel(
            path, sheet_name=sheet_name, infer_schema_length=0, drop_empty_rows=False
        )
    except fastexcel.FastExcelError as error:
        reason = str(error).strip().splitlines()[0]
        msg = (
            f"the {table} file is not an Excel workbook that leadq can read ({reason}). "
            "If it is a CSV export, rename it to end in .csv"
        )
        raise InputDataError(msg, path=label) from None
    by_name, duplicated = _names_by_stripped(frame.columns)
    is_blank = pl.all_horizontal(pl.col(frame.columns).is_null()) if frame.width else pl.lit(True)

    def batches(columns: Sequence[str], batch_rows: int | None) -> Iterator[pl.DataFrame]:
        header_names = _match_columns(by_name, columns, label=label)
        numbered = frame.with_row_index(RECORD_COLUMN).with_columns(
            pl.col(RECORD_COLUMN).cast(pl.Int64),
            (pl.col(RECORD_COLUMN).cast(pl.Int64) + 2).alias(LINE_COLUMN),
        )
        yield numbered.filter(~is_blank).select(
            RECORD_COLUMN,
            LINE_COLUMN,
            *(pl.col(original).alias(name) for name, original in header_names.items()),
        )

    def missing_hint(missing: Sequence[str]) -> str:
        return _excel_hint(frame, missing, sheet_name=sheet_name, sheet_names=sheet_names)

    return _OpenFile(
        names=list(by_name),
        width=len(by_name),
        batches=batches,
        duplicated=duplicated,
        missing_hint=missing_hint,
    )


def _excel_hint(
    frame: pl.DataFrame, missing: Sequence[str], *, sheet_name: str, sheet_names: list[str]
) -> str:
    """Say where the missing columns may be: in a later row of the sheet, or on another sheet.

    NOTE: Excel row numbers here count from the sheet's first row that has a value, so rows
    that are blank above it make the row number too small.
    """
    missing_names = set(missing)
    head = frame.head(_HEADER_SEARCH_ROWS)
    for index, row in enumerate(head.iter_rows()):
        values = {str(value).strip() for value in row if value is not None}
        if missing_names <= values:
            return (
                f". Row {index + 2} of sheet {sheet_name!r} holds these column names: delete "
                "the rows above it, so that the header is in row 1"
            )
    others = [name for name in sheet_names if name != sheet_name]
    if not others:
        return ""
    listed = ", ".join(repr(name) for name in others)
    return (
        f". leadq read the sheet {sheet_name!r}; the workbook also has {listed}. "
        "Set inputs.sheet to the sheet that holds the table"
    )


def _collect(scan: pl.LazyFrame, batch_rows: int | None) -> Iterator[pl.DataFrame]:
    if batch_rows is None:
        yield scan.collect()
    else:
        yield from scan.collect_batches(chunk_size=batch_rows)


def _as_text(column: str, dtype: pl.DataType, *, decimal_comma: bool) -> pl.Expr:
    """Write a typed Parquet column as the text a CSV export of it would hold.

    With `decimal_comma`, floats are written with a decimal comma, as conditions then read them.
    """
    return _value_text(pl.col(column), dtype, decimal_comma=decimal_comma).alias(column)


def _value_text(value: pl.Expr, dtype: pl.DataType, *, decimal_comma: bool) -> pl.Expr:
    if dtype.is_float():
        return _float_text(value.fill_nan(None), decimal_comma=decimal_comma)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        return value.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S%.f+00:00")
    if isinstance(dtype, pl.Datetime):
        return value.dt.strftime("%Y-%m-%d %H:%M:%S%.f")
    if isinstance(dtype, pl.Duration):
        # a time on site or call length compares as seconds in min, max and between
        seconds = value.dt.total_microseconds() / 1_000_000
        return _float_text(seconds, decimal_comma=decimal_comma)
    if isinstance(dtype, pl.List | pl.Array):
        # a multi-select field reads like the "Salesforce; Slack" text that CRMs export,
        # which contains_any searches; an empty list reads as missing
        inner = dtype.inner if isinstance(dtype.inner, pl.DataType) else dtype.inner()
        items = _value_text(pl.element(), inner, decimal_comma=decimal_comma)
        if isinstance(dtype, pl.Array):
            return value.arr.eval(items).arr.join("; ")
        return value.list.eval(items).list.join("; ")
    if isinstance(dtype, pl.Struct):
        return value.struct.json_encode()
    return value.cast(pl.String)


def _float_text(value: pl.Expr, *, decimal_comma: bool) -> pl.Expr:
    """Write whole floats without `.0`, as Excel does, so that 12345.0 joins the id 12345.

    pandas stores an integer column that has a blank as floats. Beyond 2**53 floats skip
    integers, so larger values keep the float text.
    """
    is_whole = (value == value.floor()) & (value.abs() < 2**53)
    text = value.cast(pl.String)
    if decimal_comma:
        text = text.str.replace(".", ",", literal=True)
    return pl.when(is_whole).then(value.cast(pl.Int64).cast(pl.String)).otherwise(text)


def _names_by_stripped(names: Sequence[str]) -> tuple[dict[str, str], frozenset[str]]:
    """Map header names without stray spaces to the names as written, leaving out blanks.

    Also returns the names that occur more than once, each mapped to its first occurrence.
    Exports such as Salesforce reports can repeat a label, which only matters when the
    config uses it.
    """
    by_stripped: dict[str, str] = {}
    duplicated: set[str] = set()
    for name in names:
        stripped = name.strip()
        if not stripped:
            continue
        if stripped in by_stripped:
            duplicated.add(stripped)
            continue
        by_stripped[stripped] = name
    return by_stripped, frozenset(duplicated)


def _match_columns(
    by_stripped: dict[str, str], wanted: Sequence[str], *, label: str
) -> dict[str, str]:
    """Map each wanted column to the file's header name, or raise naming the missing ones."""
    _check_columns(list(by_stripped), wanted, {}, label=label)
    return {column: by_stripped[column] for column in wanted}
