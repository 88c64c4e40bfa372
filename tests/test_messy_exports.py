"""Exports as CRM, marketing tools and spreadsheets really write them: each case with its values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from xlsxwriter import Workbook

from leadq.errors import InputDataError
from tests.conftest import lead
from tests.test_readers import score_file

ACTIVITY_HEADER = "Contact ID,Activity Type,Occurred At\n"


def write_workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    """Write one sheet per entry, each row at its own Excel row; None leaves a cell empty."""
    workbook = Workbook(path)
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        for row_index, row in enumerate(rows):
            for column_index, value in enumerate(row):
                if value is not None:
                    sheet.write(row_index, column_index, value)
    workbook.close()
    return path


def test_parquet_list_column_reads_as_joined_text(tmp_path: Path):
    # a multi-select field exported as a list: ["Salesforce", "Slack"] reads as
    # "Salesforce; Slack", so contains_any finds Slack; an empty list is missing
    path = tmp_path / "leads.parquet"
    pl.DataFrame(
        {"Record ID": ["1", "2", "3"], "Tools": [["Salesforce", "Slack"], [], None]}
    ).write_parquet(path)
    result = score_file(
        path,
        fit=[{"name": "Uses Slack", "field": "Tools", "contains_any": ["slack"]}],
        columns=["Tools"],
    )
    assert lead(result, "1")["Tools"] == "Salesforce; Slack"
    assert lead(result, "1")["fit"] is True
    assert lead(result, "2")["Tools"] is None
    assert lead(result, "2")["fit_failed"] == "Uses Slack"
    assert lead(result, "3")["fit_failed"] == "Uses Slack"


def test_parquet_duration_reads_as_seconds(tmp_path: Path):
    # 1 minute 30.5 seconds on site is 90.5 seconds, which passes min = 60; 45 s does not
    path = tmp_path / "leads.parquet"
    pl.DataFrame(
        {
            "Record ID": ["1", "2"],
            "Time on Site": [dt.timedelta(minutes=1, seconds=30.5), dt.timedelta(seconds=45)],
        }
    ).write_parquet(path)
    result = score_file(
        path, fit=[{"name": "Stayed", "field": "Time on Site", "min": 60}], columns=["Time on Site"]
    )
    assert lead(result, "1")["Time on Site"] == "90.5"
    assert lead(result, "1")["fit"] is True
    assert lead(result, "2")["Time on Site"] == "45"
    assert lead(result, "2")["fit"] is False


def test_parquet_struct_column_reads_as_json(tmp_path: Path):
    path = tmp_path / "leads.parquet"
    pl.DataFrame({"Record ID": ["1"], "Address": [{"city": "Lyon", "zip": "69001"}]}).write_parquet(
        path
    )
    result = score_file(path, columns=["Address"])
    assert lead(result, "1")["Address"] == '{"city":"Lyon","zip":"69001"}'


def test_parquet_whole_float_ids_join_as_digits(tmp_path: Path):
    # pandas stores an integer column with a blank as floats: 12345.0 must still match the
    # activity's "12345", and 1200.0 employees reads as 1200 like the same cell in Excel
    leads = tmp_path / "leads.parquet"
    pl.DataFrame(
        {"Record ID": [12345.0, 7.0, None], "Employees": [1200.0, 12.5, 3.0]}
    ).write_parquet(leads)
    activities = tmp_path / "activities.csv"
    activities.write_text(ACTIVITY_HEADER + "12345,page_view,2026-11-30\n7,page_view,2026-11-29\n")
    result = score_file(leads, activities=activities, columns=["Employees"])
    assert result.scored_leads["lead_id"].to_list() == ["12345", "7"]
    assert lead(result, "12345")["engagement_score"] == 1
    assert lead(result, "7")["engagement_score"] == 1
    assert lead(result, "12345")["Employees"] == "1200"
    assert lead(result, "7")["Employees"] == "12.5"
    assert result.activity_counts.unmatched == 0


def test_excel_sheet_not_found_lists_sheets(tmp_path: Path):
    path = write_workbook(tmp_path / "export.xlsx", {"Notes": [["x"]], "Leads": [["Record ID"]]})
    with pytest.raises(InputDataError) as caught:
        score_file(path, inputs={"sheet": "Contacts"})
    message = str(caught.value)
    assert message.startswith(f"{path.name}: ") or f"{path}" in message
    assert "no sheet named 'Contacts'" in message
    assert "'Notes', 'Leads'" in message


def test_excel_first_sheet_without_columns_suggests_sheet(tmp_path: Path):
    # the workbook opens on a notes sheet; the leads are on the second one
    path = write_workbook(
        tmp_path / "export.xlsx",
        {"Notes": [["Exported by Ann"]], "Leads": [["Record ID"], ["L-1"]]},
    )
    with pytest.raises(InputDataError) as caught:
        score_file(path)
    message = str(caught.value)
    assert "column 'Record ID' (used by leads.id) is missing" in message
    assert "sheet 'Notes'" in message
    assert "inputs.sheet" in message
    assert "'Leads'" in message

    result = score_file(path, inputs={"sheet": "Leads"})
    assert result.scored_leads["lead_id"].to_list() == ["L-1"]


def test_excel_title_rows_name_the_header_row(tmp_path: Path):
    # Excel rows: 1 a report title, 2 blank, 3 the header, 4 the first lead
    path = write_workbook(
        tmp_path / "report.xlsx",
        {"Report": [["Leads by source"], [], ["Record ID", "Source"], ["L-1", "Web"]]},
    )
    with pytest.raises(InputDataError) as caught:
        score_file(path, columns=["Source"])
    message = str(caught.value)
    assert "Row 3 of sheet 'Report' holds these column names" in message
    assert "delete the rows above it" in message


def test_excel_blank_row_keeps_row_numbers(tmp_path: Path):
    # Excel rows: 1 header, 2 L-1 (older), 3 blank, 4 L-1 (newer), 5 no id
    path = write_workbook(
        tmp_path / "leads.xlsx",
        {
            "Leads": [
                ["Record ID", "Last Modified"],
                ["L-1", "2026-01-01"],
                [],
                ["L-1", "2026-01-02"],
                [None, "2026-01-03"],
            ]
        },
    )
    result = score_file(path, leads_section={"updated_at": "Last Modified"})
    assert result.scored_leads["lead_id"].to_list() == ["L-1"]
    assert result.rejects.select("line", "problem").rows() == [
        (2, "duplicate lead id"),
        (5, "missing lead id"),
    ]
    assert "line 4 of" in result.rejects["reason"][0]
    # rows 2, 4 and 5 are read; the blank row 3 is neither a lead nor a reject
    assert result.lead_rows_read == 3


def test_csv_saved_as_xls_says_what_it_is(tmp_path: Path):
    path = tmp_path / "leads.xls"
    path.write_text("Record ID,Name\nL-1,Ann\n", encoding="utf-8")
    with pytest.raises(InputDataError) as caught:
        score_file(path)
    message = str(caught.value)
    assert message.startswith("leads.xls: ") or str(path) in message
    assert "not an Excel workbook" in message
    assert ".csv" in message


def test_utf8_bom_wins_over_encoding_setting(tmp_path: Path):
    # encoding = windows-1252 set for other exports; this one is UTF-8 with a BOM, which
    # would otherwise read as "ï»¿Record ID" and "JÃ¶rg"
    path = tmp_path / "leads.csv"
    path.write_bytes("\ufeffRecord ID,Name\nL-1,Jörg\n".encode())
    result = score_file(path, inputs={"encoding": "windows-1252"}, columns=["Name"])
    assert lead(result, "L-1")["Name"] == "Jörg"


def test_utf16_export_with_bom_is_read(tmp_path: Path):
    # Excel's "Unicode Text" export: UTF-16 with a byte order mark, tab-separated, CRLF
    path = tmp_path / "leads.txt"
    path.write_bytes("Record ID\tName\r\nL-1\tJörg\r\nL-2\tZoë\r\n".encode("utf-16"))
    result = score_file(path, columns=["Name"])
    assert lead(result, "L-1")["Name"] == "Jörg"
    assert lead(result, "L-2")["Name"] == "Zoë"


def test_carriage_return_line_ends(tmp_path: Path):
    # Excel for Mac's "CSV (Macintosh)" ends lines with a carriage return alone;
    # line 3 has one field too many
    path = tmp_path / "leads.csv"
    path.write_bytes(b"Record ID,Name\rL-1,Ann\rL-2,Bo,extra\rL-3,Cy\r")
    result = score_file(path, columns=["Name"])
    assert result.scored_leads["lead_id"].to_list() == ["L-1", "L-3"]
    assert lead(result, "L-3")["Name"] == "Cy"
    assert result.rejects.select("line", "problem").rows() == [(3, "wrong number of fields")]


def test_duplicate_header_of_unused_column_is_ignored(tmp_path: Path):
    # Salesforce reports can repeat a label such as "Owner"; leadq does not use it here
    path = tmp_path / "leads.csv"
    path.write_text("Record ID,Owner,Industry,Owner\nL-1,Ann,Software,Bo\n", encoding="utf-8")
    result = score_file(path, columns=["Industry"])
    assert lead(result, "L-1")["Industry"] == "Software"


def test_duplicate_header_of_used_column_names_it(tmp_path: Path):
    path = tmp_path / "leads.csv"
    path.write_text("Record ID,Owner,Industry,Owner\nL-1,Ann,Software,Bo\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="names the column 'Owner' twice"):
        score_file(path, columns=["Owner"])


def test_parquet_floats_follow_decimal_comma(tmp_path: Path):
    # decimal_comma is set for the German CSV exports of the same run. A Parquet float
    # 1200.5 must still be 1200.5, so it is written 1200,5, and 12.345 must not be 12345.
    path = tmp_path / "leads.parquet"
    pl.DataFrame({"Record ID": ["1", "2", "3"], "Revenue": [1200.5, 12.345, 5000.0]}).write_parquet(
        path
    )
    result = score_file(
        path,
        inputs={"decimal_comma": True},
        fit=[{"name": "Revenue", "field": "Revenue", "min": 1000}],
        columns=["Revenue"],
    )
    assert lead(result, "1")["Revenue"] == "1200,5"
    assert lead(result, "1")["fit"] is True
    assert lead(result, "2")["fit"] is False
    assert lead(result, "3")["Revenue"] == "5000"
    assert lead(result, "3")["fit"] is True
