"""Tables for spreadsheet users: text that cannot run as a formula, and Excel workbooks."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from typing import TYPE_CHECKING, Any

import polars as pl
from xlsxwriter import Workbook

from leadq.errors import InputDataError

if TYPE_CHECKING:
    from pathlib import Path

    from xlsxwriter.format import Format
    from xlsxwriter.worksheet import Worksheet

EXCEL_MAX_ROWS = 1_048_576
"""Rows in one Excel worksheet, the header row included."""

EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_CELL_TEXT = 32_767
"""Characters in one Excel cell, counted in UTF-16 code units."""

# Text starting with one of these may run as a formula. They are the characters of OWASP ASVS
# 5.0 requirement 1.2.10 (=, +, -, @, tab, null) plus the carriage return.
_FORMULA_START = r"^[=+\-@\t\r\x00]"
# A sign alone or before a plain decimal number ("-", "-5", "+3.25") names no cell, function or
# other operand, so it cannot run anything and stays unquoted.
_SIGNED_NUMBER = r"^[+-](\d+\.?\d*|\.\d+)?$"

# Column widths are in Excel's character units. The header gets room for the filter button.
_MAX_WIDTH = 50
_FILTER_BUTTON_WIDTH = 3
_PADDING = 1

_SHEET_NAME_MAX = 31
_SHEET_NAME_INVALID = re.compile(r"[\[\]:*?/\\]")

# xlsxwriter would otherwise write text starting with "=" as a formula and text that looks like
# a URL as a hyperlink. constant_memory writes each finished row to a temporary file instead of
# keeping every cell in memory.
_WORKBOOK_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": True,
}
# xlsxwriter stores the creation time in docProps/core.xml, which would make every file
# different. It already gives the zip entries fixed dates in January 1980.
_CREATED = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)


def neutralize_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix `'` to text that a spreadsheet would run as a formula.

    A String value is quoted when it starts with `=`, `+`, `-`, `@`, a tab, a carriage return
    or a null character, as OWASP advises against CSV injection. A sign alone or before a plain
    decimal number (`-`, `-5`, `+3.25`) stays as it is, because it names no cell or function
    for a formula to run. Columns of other types are unchanged, and so are nulls. Applying the
    function twice gives the same frame as applying it once.

    Examples:
        >>> frame = pl.DataFrame({"company": ["=1+1", "-5", "-2+3", "Acme"]})
        >>> neutralize_formulas(frame)["company"].to_list()
        ["'=1+1", '-5', "'-2+3", 'Acme']
    """
    text_columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(_neutralized_text(pl.col(name)) for name in text_columns)


def _neutralized_text(text: pl.Expr) -> pl.Expr:
    quoted = text.str.replace(_FORMULA_START, "'$0")
    return pl.when(text.str.contains(_SIGNED_NUMBER)).then(text).otherwise(quoted)


def write_xlsx(
    frame: pl.DataFrame,
    path: Path,
    *,
    sheet_name: str,
    max_rows: int = EXCEL_MAX_ROWS,
) -> None:
    """Write `frame` to an Excel workbook at `path`, replacing any file there.

    Text is first passed through `neutralize_formulas`. String columns are written as text
    cells with Excel's text format, so ids keep their leading zeros and every digit. Booleans
    are written as TRUE or FALSE, integers with no decimals, and floats with two. NaN and
    infinity become the Excel errors #NUM! and #DIV/0!. Each sheet has a frozen header row, a
    filter on the header, and column widths that fit the header and the longest value, up to
    50 characters.

    NOTE: Excel stores every number as a 64-bit float, so integers beyond 2**53 lose their
    last digits. Ids of that size belong in String columns.

    Each sheet has at most `max_rows` rows, the header included, which by default is Excel's
    limit of 1,048,576. Longer frames continue on sheets named `<sheet_name> 2`,
    `<sheet_name> 3` and so on, each with its own header row. The same frame always gives the
    same bytes.

    Args:
        frame: Columns of String, Boolean, integer or float type.
        path: The `.xlsx` file to write. If writing fails, no file is left there.
        sheet_name: The first sheet's name, which Excel limits to 31 characters without
            any of `[ ] : * ? / \\`.
        max_rows: Rows per sheet, the header row included.

    Raises:
        InputDataError: A text value is longer than an Excel cell allows (32,767 characters).
        TypeError: A column has a type other than String, Boolean, integer or float.
        ValueError: The frame has more columns than Excel allows (16,384), a sheet name is
            invalid, or `max_rows` is below 2.
    """
    frame = neutralize_formulas(frame)
    _check_columns(frame)
    _check_text_lengths(frame, sheet_name)
    sheets = split_sheets(frame, sheet_name, max_rows=max_rows)

    workbook = Workbook(path, _WORKBOOK_OPTIONS)
    try:
        workbook.set_properties({"created": _CREATED})
        for name, chunk in sheets:
            _write_sheet(workbook, name, chunk)
    except BaseException:
        # Closing removes xlsxwriter's temporary files but writes a partial workbook.
        with contextlib.suppress(Exception):
            workbook.close()
        path.unlink(missing_ok=True)
        raise
    workbook.close()


def split_sheets(
    frame: pl.DataFrame, sheet_name: str, *, max_rows: int = EXCEL_MAX_ROWS
) -> list[tuple[str, pl.DataFrame]]:
    """Split `frame` into one part per sheet, with that sheet's name.

    Each part has at most `max_rows - 1` rows, leaving room for a header. Sheets after the
    first are named `<sheet_name> 2`, `<sheet_name> 3` and so on. An empty frame gives one
    empty part, so the workbook still shows the header.

    Raises:
        ValueError: `max_rows` is below 2, or a sheet name is not valid in Excel.
    """
    if max_rows < 2:
        msg = f"`max_rows` must be at least 2 to fit a header and a row, got {max_rows}"
        raise ValueError(msg)

    rows_per_sheet = max_rows - 1
    offsets = range(0, max(frame.height, 1), rows_per_sheet)
    names = [sheet_name] + [f"{sheet_name} {number}" for number in range(2, len(offsets) + 1)]
    for name in names:
        _check_sheet_name(name)
    return [
        (name, frame.slice(offset, rows_per_sheet))
        for name, offset in zip(names, offsets, strict=True)
    ]


def _check_sheet_name(name: str) -> None:
    # Excel counts the length in UTF-16 code units.
    length = len(name.encode("utf-16-le")) // 2
    if not 1 <= length <= _SHEET_NAME_MAX:
        msg = (
            f"sheet name {name!r} has {length} characters, but Excel allows 1 to {_SHEET_NAME_MAX}"
        )
        raise ValueError(msg)
    if _SHEET_NAME_INVALID.search(name):
        msg = f"sheet name {name!r} contains one of [ ] : * ? / \\, which Excel does not allow"
        raise ValueError(msg)
    if name.startswith("'") or name.endswith("'"):
        msg = f"sheet name {name!r} starts or ends with an apostrophe, which Excel does not allow"
        raise ValueError(msg)


def _check_columns(frame: pl.DataFrame) -> None:
    if frame.width > EXCEL_MAX_COLUMNS:
        msg = (
            f"the table has {frame.width:,} columns, "
            f"but an Excel sheet allows at most {EXCEL_MAX_COLUMNS:,}"
        )
        raise ValueError(msg)
    for name, dtype in frame.schema.items():
        if not (dtype in (pl.String, pl.Boolean) or dtype.is_integer() or dtype.is_float()):
            msg = (
                f"column {name!r} has type {dtype}, which write_xlsx cannot write. "
                "Cast it to String, Boolean, an integer or a float type first."
            )
            raise TypeError(msg)


def _check_text_lengths(frame: pl.DataFrame, sheet_name: str) -> None:
    """Raise if a value would be cut short, because Excel truncates longer cell text."""
    for name, dtype in frame.schema.items():
        if dtype != pl.String:
            continue
        # UTF-16 stores characters beyond U+FFFF, such as most emoji, as two code units.
        utf16_length = pl.col(name).str.len_chars() + pl.col(name).str.count_matches(
            r"[\x{10000}-\x{10FFFF}]"
        )
        too_long = frame.select((utf16_length > EXCEL_MAX_CELL_TEXT).arg_true())
        if too_long.height:
            row = too_long.item(0, 0) + 1
            msg = (
                f"{sheet_name}: column {name!r} in data row {row} has more than "
                f"{EXCEL_MAX_CELL_TEXT:,} characters, the maximum for an Excel cell. "
                "Write this table as csv or parquet instead."
            )
            raise InputDataError(msg, column=name)


def _write_sheet(workbook: Workbook, name: str, chunk: pl.DataFrame) -> None:
    sheet: Worksheet = workbook.add_worksheet(name)

    # In constant_memory mode a row is written out as soon as the next one starts, so the
    # column formats must be in place before the first row.
    widths = _column_widths(chunk)
    for index, (dtype, width) in enumerate(zip(chunk.dtypes, widths, strict=True)):
        sheet.set_column(index, index, width, _cell_format(workbook, dtype))

    sheet.write_row(0, 0, chunk.columns, workbook.add_format({"bold": True}))
    # xlsxwriter takes one Python value per cell, so this loop cannot be vectorised. It is the
    # only loop over rows in this module.
    for row_index, row in enumerate(chunk.iter_rows(), start=1):
        error = sheet.write_row(row_index, 0, row)
        if error:
            msg = f"xlsxwriter failed to write row {row_index} of sheet {name!r} (code {error})"
            raise RuntimeError(msg)

    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, chunk.height, max(chunk.width - 1, 0))


def _cell_format(workbook: Workbook, dtype: pl.DataType) -> Format | None:
    """Create the number format of a column, which cells written without a format take."""
    # "0" and "0.00" keep Excel from showing long numbers in scientific notation.
    properties: dict[str, Any]
    if dtype == pl.String:
        properties = {"num_format": "@"}
    elif dtype.is_integer():
        properties = {"num_format": "0"}
    elif dtype.is_float():
        properties = {"num_format": "0.00"}
    else:
        return None
    return workbook.add_format(properties)


def _column_widths(chunk: pl.DataFrame) -> list[int]:
    """Fit each column to its header or its longest value, up to `_MAX_WIDTH` characters."""
    lengths = chunk.select(
        _display_length(pl.col(name), dtype).max().fill_null(0).alias(name)
        for name, dtype in chunk.schema.items()
    ).row(0)
    return [
        min(max(len(name) + _FILTER_BUTTON_WIDTH, length) + _PADDING, _MAX_WIDTH)
        for name, length in zip(chunk.columns, lengths, strict=True)
    ]


def _display_length(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Count the characters that each value shows, near enough to size a column."""
    if dtype == pl.Boolean:
        return pl.lit(len("FALSE"))
    if dtype.is_float():
        # The digits before the point, then the point and two decimals. NaN, infinity and
        # values beyond the Int64 range become null and do not count.
        whole = column.round(2).cast(pl.Int64, strict=False)
        return whole.cast(pl.String).str.len_chars() + 3
    return column.cast(pl.String).str.len_chars()
