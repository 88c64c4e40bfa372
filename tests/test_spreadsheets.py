"""Formula neutralisation and Excel workbooks, read back with openpyxl."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from leadq.errors import InputDataError
from leadq.spreadsheets import (
    EXCEL_MAX_CELL_TEXT,
    neutralize_formulas,
    split_sheets,
    write_xlsx,
)

HYPERLINK = '=HYPERLINK("http://x.test","click")'


def leads_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "lead_id": ["00012345678901234567", "00Q5e00000AbCdEFGH", "L-3"],
            "email": ["a@acme.test", None, "c@acme.test"],
            "company": [HYPERLINK, "Acme", "-"],
            "fit": [True, False, True],
            "fit_failed": ["", "Target industry", ""],
            "engagement_score": [42.5, 0.0, 1234567.891],
            "reasons": ["Demo request +25", "", "Visit +10"],
            "mql": [True, False, False],
            "mql_reason": ["threshold", "", ""],
        },
        schema_overrides={"engagement_score": pl.Float64},
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1 (555) 010", "'+1 (555) 010"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3", "'-2+3"),
        (HYPERLINK, "'" + HYPERLINK),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("\x00=1+1", "'\x00=1+1"),
        ("-5e3", "'-5e3"),
        ("--5", "'--5"),
        ("=", "'="),
    ],
)
def test_formulas_neutralised_in_text(value: str, expected: str):
    result = neutralize_formulas(pl.DataFrame({"company": [value]}))
    assert result["company"].to_list() == [expected]


@pytest.mark.parametrize(
    "value",
    ["-", "+", "-5", "+5", "-3.25", "+.5", "5.", "Acme", "a=b", " =1+1", "'=1+1", "", None],
)
def test_plain_text_and_signed_numbers_kept(value: str | None):
    result = neutralize_formulas(pl.DataFrame({"company": [value]}, schema={"company": pl.String}))
    assert result["company"].to_list() == [value]


def test_neutralise_leaves_other_types():
    frame = pl.DataFrame(
        {
            "engagement_score": [-5.0, 3.0],
            "line": [-1, 2],
            "mql": [True, False],
            "company": ["=1+1", "Acme"],
        }
    )
    expected = frame.with_columns(company=pl.Series(["'=1+1", "Acme"]))
    assert_frame_equal(neutralize_formulas(frame), expected)


def test_neutralise_twice_same_as_once():
    frame = pl.DataFrame({"company": ["=1+1", "-2+3", "-5", "Acme", None]})
    once = neutralize_formulas(frame)
    assert_frame_equal(neutralize_formulas(once), once)


def test_neutralise_keeps_input_frame():
    frame = pl.DataFrame({"company": ["=1+1"]})
    neutralize_formulas(frame)
    assert frame["company"].to_list() == ["=1+1"]


def test_xlsx_round_trip(tmp_path: Path):
    path = tmp_path / "scored_leads.xlsx"
    write_xlsx(leads_frame(), path, sheet_name="scored_leads")

    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["scored_leads"]
    sheet = workbook["scored_leads"]
    header = [cell.value for cell in sheet[1]]
    assert header == leads_frame().columns

    long_id = sheet["A2"]
    assert long_id.data_type == "s"
    assert long_id.value == "00012345678901234567"
    assert long_id.number_format == "@"
    assert sheet["A3"].value == "00Q5e00000AbCdEFGH"

    company = sheet["C2"]
    assert company.data_type == "s"
    assert company.value == "'" + HYPERLINK
    assert sheet["C4"].value == "-"

    score = sheet["F4"]
    assert score.data_type == "n"
    assert score.value == pytest.approx(1234567.891)
    assert score.number_format == "0.00"

    assert sheet["D2"].value is True
    assert sheet["D3"].value is False
    assert sheet["B3"].value is None
    assert sheet.max_row == 4


def test_xlsx_header_frozen_and_filtered(tmp_path: Path):
    path = tmp_path / "scored_leads.xlsx"
    write_xlsx(leads_frame(), path, sheet_name="scored_leads")

    sheet = openpyxl.load_workbook(path)["scored_leads"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:I4"
    assert sheet["A1"].font.bold


def test_xlsx_column_widths(tmp_path: Path):
    frame = pl.DataFrame({"lead_id": ["L-1"], "reasons": ["x" * 500], "note": ["short text"]})
    path = tmp_path / "widths.xlsx"
    write_xlsx(frame, path, sheet_name="leads")

    columns = openpyxl.load_workbook(path)["leads"].column_dimensions
    # xlsxwriter stores a width of n characters as n plus a fraction for the cell padding.
    assert int(columns["A"].width) == len("lead_id") + 3 + 1
    assert int(columns["B"].width) == 50
    assert int(columns["C"].width) == len("short text") + 1


def test_xlsx_empty_frame_header_only(tmp_path: Path):
    frame = pl.DataFrame({"line": []}, schema={"line": pl.Int64})
    path = tmp_path / "rejects.xlsx"
    write_xlsx(frame, path, sheet_name="rejects")

    sheet = openpyxl.load_workbook(path)["rejects"]
    assert [cell.value for cell in sheet[1]] == ["line"]
    assert sheet.max_row == 1


def test_xlsx_long_integer_not_scientific(tmp_path: Path):
    frame = pl.DataFrame({"line": [123456789012345]})
    path = tmp_path / "rejects.xlsx"
    write_xlsx(frame, path, sheet_name="rejects")

    cell = openpyxl.load_workbook(path)["rejects"]["A2"]
    assert cell.value == 123456789012345
    assert cell.number_format == "0"


def test_xlsx_writes_identical_bytes(tmp_path: Path):
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    write_xlsx(leads_frame(), first, sheet_name="scored_leads")
    write_xlsx(leads_frame(), second, sheet_name="scored_leads")

    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        core = archive.read("docProps/core.xml").decode()
    assert "1980-01-01T00:00:00Z" in core


def test_split_sheets_names_and_sizes():
    frame = pl.DataFrame({"lead_id": [str(number) for number in range(7)]})
    parts = split_sheets(frame, "mqls", max_rows=3)

    assert [name for name, _ in parts] == ["mqls", "mqls 2", "mqls 3", "mqls 4"]
    assert [part.height for _, part in parts] == [2, 2, 2, 1]
    assert_frame_equal(pl.concat([part for _, part in parts]), frame)


def test_split_sheets_exact_fit_one_sheet():
    frame = pl.DataFrame({"lead_id": ["A", "B"]})
    parts = split_sheets(frame, "mqls", max_rows=3)
    assert [name for name, _ in parts] == ["mqls"]


def test_split_sheets_empty_frame_one_sheet():
    parts = split_sheets(pl.DataFrame({"lead_id": []}, schema={"lead_id": pl.String}), "mqls")
    assert [(name, part.height) for name, part in parts] == [("mqls", 0)]


def test_xlsx_split_sheets_have_headers(tmp_path: Path):
    frame = leads_frame()
    path = tmp_path / "scored_leads.xlsx"
    write_xlsx(frame, path, sheet_name="scored_leads", max_rows=3)

    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["scored_leads", "scored_leads 2"]
    first, second = workbook["scored_leads"], workbook["scored_leads 2"]
    assert [cell.value for cell in first[1]] == frame.columns
    assert [cell.value for cell in second[1]] == frame.columns
    assert first.max_row == 3
    assert second.max_row == 2
    assert second["A2"].value == "L-3"
    assert second.freeze_panes == "A2"


def test_split_sheets_max_rows_below_two():
    with pytest.raises(ValueError, match="at least 2"):
        split_sheets(pl.DataFrame({"lead_id": ["A"]}), "mqls", max_rows=1)


def test_split_sheets_name_too_long():
    frame = pl.DataFrame({"lead_id": ["A", "B", "C"]})
    name = "x" * 30
    assert [part_name for part_name, _ in split_sheets(frame, name)] == [name]
    with pytest.raises(ValueError, match="Excel allows 1 to 31"):
        split_sheets(frame, name, max_rows=2)


@pytest.mark.parametrize("name", ["", "a/b", "leads?", "'leads"])
def test_split_sheets_invalid_name(name: str):
    with pytest.raises(ValueError, match="sheet name"):
        split_sheets(pl.DataFrame({"lead_id": ["A"]}), name)


def test_xlsx_text_too_long_for_cell(tmp_path: Path):
    path = tmp_path / "rejects.xlsx"
    # Each emoji is two UTF-16 code units, as Excel counts them.
    record = "\N{GRINNING FACE}" * (EXCEL_MAX_CELL_TEXT // 2 + 1)
    frame = pl.DataFrame({"table": ["leads", "leads"], "record": ["ok", record]})

    with pytest.raises(InputDataError, match="rejects: column 'record' in data row 2"):
        write_xlsx(frame, path, sheet_name="rejects")
    assert not path.exists()


def test_xlsx_longest_cell_text_written(tmp_path: Path):
    path = tmp_path / "rejects.xlsx"
    record = "x" * EXCEL_MAX_CELL_TEXT
    write_xlsx(pl.DataFrame({"record": [record]}), path, sheet_name="rejects")
    assert openpyxl.load_workbook(path)["rejects"]["A2"].value == record


def test_xlsx_unsupported_type(tmp_path: Path):
    path = tmp_path / "leads.xlsx"
    frame = pl.DataFrame({"tags": [["a", "b"]]})
    with pytest.raises(TypeError, match="column 'tags' has type"):
        write_xlsx(frame, path, sheet_name="leads")
    assert not path.exists()


def test_xlsx_too_many_columns(tmp_path: Path):
    path = tmp_path / "leads.xlsx"
    frame = pl.DataFrame({f"column_{index}": [1] for index in range(16_385)})
    with pytest.raises(ValueError, match="16,385 columns"):
        write_xlsx(frame, path, sheet_name="leads")
    assert not path.exists()


def test_xlsx_nan_and_infinity_as_errors(tmp_path: Path):
    path = tmp_path / "scores.xlsx"
    frame = pl.DataFrame({"engagement_score": [float("nan"), float("inf"), None]})
    write_xlsx(frame, path, sheet_name="scores")

    sheet = openpyxl.load_workbook(path)["scores"]
    assert sheet["A2"].value == "=#NUM!"
    assert sheet["A3"].value == "=1/0"
    assert sheet["A4"].value is None
