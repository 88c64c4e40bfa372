"""CSV specifics: encodings, delimiters, the header row, and rows that break the table shape."""

from __future__ import annotations

import codecs
import csv
import gzip
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from leadq.errors import InputDataError

LINE_COLUMN = "_line"
FIELDS_COLUMN = "_fields"
RECORD_COLUMN = "_record"
DELIMITERS = [",", ";", "\t", "|"]
# A byte that does not occur in text exports, so that a whole physical line reads as one field.
_NO_SEPARATOR = "\x1f"

CsvSource = Path | bytes


def open_source(path: Path, *, encoding: str, label: str) -> CsvSource:
    """Return what Polars should read: the path itself for plain UTF-8, else UTF-8 bytes.

    Gzip files are decompressed, and other encodings are decoded here, because Polars reads
    UTF-8 only. A byte order mark decides the encoding over `encoding`, because it is there
    only in UTF-8 and UTF-16 text: a run that sets windows-1252 for some exports can still
    read the UTF-8 ones that Excel saves with a mark, and Excel's "Unicode Text" (UTF-16).
    Lines that end in a carriage return alone, as in the "CSV (Macintosh)" format of Excel
    for Mac, are changed to end in a line feed.
    """
    is_utf8 = codecs.lookup(encoding).name == "utf-8"
    is_gzip = path.suffix.lower() == ".gz"
    if not is_gzip:
        head = _read_head(path)
        if is_utf8 and _bom_encoding(head) != "utf-16" and not _ends_lines_with_cr(head):
            return path
    data = path.read_bytes()
    if is_gzip:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            msg = f"the file is not valid gzip: {error}"
            raise InputDataError(msg, path=label) from None
    bom = _bom_encoding(data)
    if bom == "utf-16":
        data = data.decode("utf-16", errors="replace").encode("utf-8")
    elif not is_utf8 and bom is None:
        data = data.decode(encoding, errors="replace").encode("utf-8")
    if _ends_lines_with_cr(data[:65536]):
        data = data.replace(b"\r", b"\n")
    return data


def _bom_encoding(head: bytes) -> str | None:
    """Return the encoding that a byte order mark at the start of `head` names, if any."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _ends_lines_with_cr(head: bytes) -> bool:
    """Return whether lines end in a carriage return alone: there is one, but no line feed."""
    return b"\r" in head and b"\n" not in head


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


def scan_records(
    source: CsvSource, *, separator: str, columns: dict[str, str], null_values: Sequence[str]
) -> pl.LazyFrame:
    """Scan `columns` (output name to header name) as text, with RECORD_COLUMN counting from 0.

    Empty fields and fields equal to one of `null_values` read as null.
    """
    scan = pl.scan_csv(
        source,
        infer_schema=False,
        separator=separator,
        truncate_ragged_lines=True,
        raise_if_empty=False,
        null_values=list(null_values),
    )
    selected = scan.select(pl.col(original).alias(name) for name, original in columns.items())
    return selected.with_row_index(RECORD_COLUMN).with_columns(pl.col(RECORD_COLUMN).cast(pl.Int64))


def utf8_error(error: pl.exceptions.PolarsError, source: CsvSource, label: str) -> InputDataError:
    """Turn a Polars read error into an InputDataError, naming the line for invalid UTF-8."""
    message = str(error).lower()
    if "utf-8" in message or "utf8" in message:
        return _invalid_utf8(source, label)
    reason = str(error).strip().splitlines()[0]
    return InputDataError(f"the file cannot be read: {reason}", path=label)


@dataclass(frozen=True)
class Layout:
    """The first line of each record of a CSV file, and the blank and wrongly shaped records."""

    breaks: pl.DataFrame
    """From each listed record on, line = record + 2 + offset (RECORD_COLUMN, `_offset`)."""
    ragged: pl.DataFrame
    """Records whose field count differs from the header's (RECORD_COLUMN, FIELDS_COLUMN)."""
    blank: pl.DataFrame
    """Records that are blank lines (RECORD_COLUMN)."""

    @classmethod
    def plain(cls) -> Layout:
        """Return the layout of a file with one record per line and no blank or ragged records."""
        return cls(
            breaks=pl.DataFrame(
                {RECORD_COLUMN: [0], "_offset": [0]},
                schema={RECORD_COLUMN: pl.Int64, "_offset": pl.Int64},
            ),
            ragged=pl.DataFrame(schema={RECORD_COLUMN: pl.Int64, FIELDS_COLUMN: pl.Int64}),
            blank=pl.DataFrame(schema={RECORD_COLUMN: pl.Int64}),
        )

    def apply(self, records: pl.DataFrame) -> pl.DataFrame:
        """Add LINE_COLUMN and FIELDS_COLUMN to `records`, leaving out blank lines."""
        if self.breaks.height <= 1 and self.ragged.is_empty() and self.blank.is_empty():
            # one record per line from the first on, as in most files: no joins needed
            offset = int(self.breaks.get_column("_offset")[0]) if self.breaks.height else 0
            return records.with_columns(
                (pl.col(RECORD_COLUMN) + 2 + offset).alias(LINE_COLUMN),
                pl.lit(None, dtype=pl.Int64).alias(FIELDS_COLUMN),
            )
        located = records.join_asof(self.breaks, on=RECORD_COLUMN, strategy="backward")
        located = located.with_columns(
            (pl.col(RECORD_COLUMN) + 2 + pl.col("_offset").fill_null(0)).alias(LINE_COLUMN)
        ).drop("_offset")
        shaped = located.join(self.ragged, on=RECORD_COLUMN, how="left")
        return shaped.join(self.blank, on=RECORD_COLUMN, how="anti")


def scan_layout(source: CsvSource, *, separator: str, width: int, batch_rows: int | None) -> Layout:
    """Read the raw lines once, in batches, to find each record's first line and field count.

    A record starts on a line that begins outside quotes. Its fields are counted only when
    it fits on one line: separators inside quoted sections do not count.
    """
    lines = pl.scan_csv(
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
    if width > 1 and _all_lines_plain(lines, separator, width):
        return Layout.plain()
    # Counting in the scan keeps the text of lines without quotes from being materialised.
    quotes = text.str.count_matches('"', literal=True).fill_null(0).cast(pl.Int64)
    seps = text.str.count_matches(separator, literal=True).fill_null(0).cast(pl.Int64)
    counted = lines.select(
        quotes.alias("quotes"),
        seps.alias("seps"),
        (text.is_null() | (text.str.len_bytes() == 0)).alias("blank"),
        # only lines with quotes or without separators need a second look at their text
        pl.when((quotes > 0) | (seps == 0)).then(text).alias("text"),
    )
    state = _LayoutState()
    for batch in _batches(counted, batch_rows):
        state.add(_line_shapes(batch, separator), width)
    return state.layout()


def _all_lines_plain(lines: pl.LazyFrame, separator: str, width: int) -> bool:
    """Return whether every line is one whole record with as many fields as the header.

    Most exports are like that. For them the layout pass needs only this streamed check, which
    took about half the time of the full pass on a 1M-line file. Quotes are allowed only in
    pairs (`""`, a quoted empty field), because a quoted field with text in it starts and ends
    with an odd run of quotes. So every separator on a plain line separates fields. Quotes are
    counted in a second pass, and only in files that have any, because the first pass took
    three quarters of the time without counting them.
    """
    text = pl.col("text")
    separators = text.str.count_matches(separator, literal=True)
    # a blank line reads as null, which is not plain either
    counts = lines.select(
        (separators == width - 1).fill_null(False).all().alias("fields"),
        text.str.contains('"', literal=True).any().alias("quotes"),
    ).collect(engine="streaming")
    fields, quotes = counts.row(0)
    if not fields or not quotes:
        return bool(fields)
    paired = text.str.count_matches('"', literal=True) == 2 * text.str.count_matches(
        '""', literal=True
    )
    every = lines.select(paired.fill_null(False).all()).collect(engine="streaming")
    return bool(every.item())


def _batches(scan: pl.LazyFrame, batch_rows: int | None) -> Iterator[pl.DataFrame]:
    if batch_rows is None:
        yield scan.collect()
    else:
        yield from scan.collect_batches(chunk_size=batch_rows)


def _line_shapes(counted: pl.DataFrame, separator: str) -> pl.DataFrame:
    """Correct the separator counts of lines with quotes and find lines of white space only.

    Separators inside quoted sections do not count. Many exports quote empty fields as "",
    which hides none, so only lines with other quoted text pay for the regex. A line of
    white space only counts as blank, so it gives no row and no reject.
    """
    text = pl.col("text")
    counts = counted.select("quotes", "seps", "blank")
    quoted = (counts.get_column("quotes") > 0).arg_true()
    if quoted.len():
        candidates = counted.select(text.gather(quoted).str.replace_all('""', "", literal=True))
        busy = candidates.select(text.str.contains('"', literal=True)).to_series().arg_true()
        if busy.len():
            unquoted = candidates.select(
                text.gather(busy)
                .str.replace_all(r'"[^"]*"', "")
                .str.count_matches(separator, literal=True)
                .cast(pl.Int64)
            )
            counts = counts.with_columns(
                counts.get_column("seps").scatter(quoted.gather(busy), unquoted.to_series())
            )
    spaces_only = (counts.get_column("seps") == 0) & ~counts.get_column("blank")
    if spaces_only.any():
        rows = spaces_only.arg_true()
        maybe_blank = counted.select(text.gather(rows).str.strip_chars() == "")
        counts = counts.with_columns(
            counts.get_column("blank").scatter(rows, maybe_blank.to_series())
        )
    return counts


class _LayoutState:
    """The state that the layout pass carries from one batch of lines to the next."""

    def __init__(self) -> None:
        self.lines_seen = 0
        self.records_seen = -1  # the header is record -1
        self.inside_quotes = False
        self.offset: int | None = None
        self.breaks: list[pl.DataFrame] = []
        self.ragged: list[pl.DataFrame] = []
        self.blank: list[pl.DataFrame] = []

    def add(self, shapes: pl.DataFrame, width: int) -> None:
        quotes = pl.col("quotes")
        inside_before = (quotes.cum_sum() - quotes + int(self.inside_quotes)) % 2 == 1
        starts = shapes.with_columns(
            (pl.int_range(pl.len(), dtype=pl.Int64) + self.lines_seen + 1).alias(LINE_COLUMN),
            inside_before.alias("_inside"),
            ((quotes.cum_sum() + int(self.inside_quotes)) % 2 == 1).alias("_inside_after"),
        )
        if not starts.is_empty():
            self.inside_quotes = bool(starts.get_column("_inside_after")[-1])
        self.lines_seen += shapes.height

        records = starts.filter(~pl.col("_inside")).with_columns(
            (pl.int_range(pl.len(), dtype=pl.Int64) + self.records_seen).alias(RECORD_COLUMN)
        )
        self.records_seen += records.height
        records = records.filter(pl.col(RECORD_COLUMN) >= 0)
        records = records.with_columns(
            (pl.col(LINE_COLUMN) - pl.col(RECORD_COLUMN) - 2).alias("_offset"),
            pl.when(quotes % 2 == 0).then(pl.col("seps") + 1).alias(FIELDS_COLUMN),
        )
        changed = records.filter(
            pl.col("_offset")
            != pl.col("_offset").shift(1).fill_null(self.offset if self.offset is not None else -1)
        )
        if not records.is_empty():
            self.offset = int(records.get_column("_offset")[-1])
        self.breaks.append(changed.select(RECORD_COLUMN, "_offset"))
        is_ragged = pl.col(FIELDS_COLUMN).is_not_null() & (pl.col(FIELDS_COLUMN) != width)
        self.ragged.append(
            records.filter(is_ragged & ~pl.col("blank")).select(RECORD_COLUMN, FIELDS_COLUMN)
        )
        self.blank.append(records.filter(pl.col("blank")).select(RECORD_COLUMN))

    def layout(self) -> Layout:
        empty_breaks = pl.DataFrame(schema={RECORD_COLUMN: pl.Int64, "_offset": pl.Int64})
        empty_ragged = pl.DataFrame(schema={RECORD_COLUMN: pl.Int64, FIELDS_COLUMN: pl.Int64})
        empty_blank = pl.DataFrame(schema={RECORD_COLUMN: pl.Int64})
        return Layout(
            breaks=pl.concat([empty_breaks, *self.breaks]),
            ragged=pl.concat([empty_ragged, *self.ragged]),
            blank=pl.concat([empty_blank, *self.blank]),
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
