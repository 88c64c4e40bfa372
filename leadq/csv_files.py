"""CSV specifics: encodings, delimiters, the header row, and rows that break the table shape."""

from __future__ import annotations

import codecs
import csv
import gzip
from pathlib import Path

import polars as pl

from leadq.errors import InputDataError

LINE_COLUMN = "_line"
FIELDS_COLUMN = "_fields"
DELIMITERS = [",", ";", "\t", "|"]
# A byte that does not occur in text exports, so that a whole physical line reads as one field.
_NO_SEPARATOR = "\x1f"

CsvSource = Path | bytes


def open_source(path: Path, *, encoding: str, label: str) -> CsvSource:
    """Return what Polars should read: the path itself for plain UTF-8, else UTF-8 bytes.

    Gzip files are decompressed, and other encodings are decoded here, because Polars reads
    UTF-8 only.
    """
    is_utf8 = codecs.lookup(encoding).name == "utf-8"
    is_gzip = path.suffix.lower() == ".gz"
    if is_utf8 and not is_gzip:
        return path
    data = path.read_bytes()
    if is_gzip:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            msg = f"the file is not valid gzip: {error}"
            raise InputDataError(msg, path=label) from None
    if is_utf8:
        return data
    return data.decode(encoding, errors="replace").encode("utf-8")


def header_names(source: CsvSource, *, delimiter: str | None, label: str) -> tuple[list[str], str]:
    """Return the header's column names as written, and the delimiter (detected if not given)."""
    head = source[:65536] if isinstance(source, bytes) else _read_head(source)
    first_line = head.decode("utf-8-sig", errors="replace").splitlines()[:1]
    if not first_line or not first_line[0].strip():
        msg = "the file is empty: it has no header row"
        raise InputDataError(msg, path=label)
    separator = delimiter or max(DELIMITERS, key=first_line[0].count)
    names = next(csv.reader(first_line, delimiter=separator))
    return names, separator


def _read_head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(65536)


def read_records(
    source: CsvSource, *, separator: str, columns: dict[str, str], label: str
) -> pl.DataFrame:
    """Read `columns` (output name to header name) as text, with each record's first line.

    Adds FIELDS_COLUMN, the record's number of fields, null when a quoted field spans lines.
    Blank lines are left out.
    """
    try:
        records = pl.read_csv(
            source,
            infer_schema=False,
            separator=separator,
            columns=list(columns.values()),
            truncate_ragged_lines=True,
            raise_if_empty=False,
        )
    except pl.exceptions.ComputeError as error:
        if "utf-8" in str(error).lower() or "utf8" in str(error).lower():
            raise _invalid_utf8(source, label) from None
        raise
    records = records.rename({original: name for name, original in columns.items()})
    layout = record_layout(source, separator=separator)
    if layout.height != records.height:
        # NOTE: a layout this pass cannot follow (a stray quote, say): count records instead
        layout = pl.DataFrame(
            {LINE_COLUMN: range(2, records.height + 2), FIELDS_COLUMN: [None] * records.height},
            schema={LINE_COLUMN: pl.Int64, FIELDS_COLUMN: pl.Int64, "_blank": pl.Boolean},
        ).with_columns(pl.lit(False).alias("_blank"))
    combined = pl.concat([records, layout], how="horizontal")
    return combined.filter(~pl.col("_blank")).drop("_blank")


def record_layout(source: CsvSource, *, separator: str) -> pl.DataFrame:
    """Find where each data record starts and how many fields it has, from the raw lines.

    A record starts on a line that begins outside quotes. Its fields are counted only when
    it fits on one line: separators inside quoted sections do not count.
    """
    lines = pl.read_csv(
        source,
        has_header=False,
        separator=_NO_SEPARATOR,
        quote_char=None,
        new_columns=["text"],
        infer_schema=False,
        truncate_ragged_lines=True,
        encoding="utf8-lossy",
        raise_if_empty=False,
    )
    text = pl.col("text")
    counts = lines.select(
        text.str.count_matches('"', literal=True).fill_null(0).cast(pl.Int64).alias("quotes"),
        text.str.count_matches(separator, literal=True).fill_null(0).cast(pl.Int64).alias("seps"),
        (text.is_null() | text.str.contains(r"^\s*$")).alias("_blank"),
    )
    quoted = counts.get_column("quotes") > 0
    if quoted.any():
        # only lines with quotes can hide separators, so only they pay for the regex
        unquoted = lines.filter(quoted).select(
            text.str.replace_all(r'"[^"]*"', "").str.count_matches(separator, literal=True)
        )
        seps = counts.get_column("seps").scatter(
            quoted.arg_true(), unquoted.to_series().cast(pl.Int64)
        )
        counts = counts.with_columns(seps)

    quotes = pl.col("quotes")
    inside_before = (quotes.cum_sum() - quotes) % 2 == 1
    return (
        counts.with_row_index(LINE_COLUMN, offset=1)
        .filter(~inside_before)
        .slice(1)
        .select(
            pl.col(LINE_COLUMN).cast(pl.Int64),
            pl.when(quotes % 2 == 0).then(pl.col("seps") + 1).alias(FIELDS_COLUMN),
            "_blank",
        )
    )


def _invalid_utf8(source: CsvSource, label: str) -> InputDataError:
    data = source if isinstance(source, bytes) else source.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start]
        msg = (
            f"the file is not valid UTF-8 (byte 0x{byte:02X}). If it was saved by Excel or "
            'an older Windows tool, set inputs.encoding = "windows-1252" (or "latin-1") '
            "in the config"
        )
        return InputDataError(msg, path=label, line=line)
    return InputDataError("the file is not valid UTF-8", path=label)
