"""Reading real-world exports: one small file per quirk, each with its values or its error."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from leadq.config import parse_config
from leadq.errors import InputDataError
from leadq.readers import display_path
from leadq.scoring import ScoringResult, score_leads
from tests.conftest import lead, write_csv

FILES = Path(__file__).parent / "files"


def score_file(
    leads: Path,
    *,
    fit: list[dict[str, Any]] | None = None,
    inputs: dict[str, Any] | None = None,
    leads_section: dict[str, Any] | None = None,
    columns: list[str] | None = None,
    activities: Path | None = None,
    activity_section: dict[str, Any] | None = None,
    as_of: dt.date = dt.date(2026, 11, 30),
    lookback_days: int = 90,
) -> ScoringResult:
    raw: dict[str, Any] = {
        "inputs": {"leads": str(leads), **(inputs or {})},
        "leads": {"id": "Record ID", **(leads_section or {})},
        "fit": {"filters": fit or []},
        "mql": {"threshold": 1},
        "output": {"columns": columns or []},
        "engagement": {"lookback_days": lookback_days},
    }
    if activities is not None:
        raw["inputs"]["activities"] = str(activities)
        raw["activities"] = {
            "lead_id": "Contact ID",
            "type": "Activity Type",
            "timestamp": "Occurred At",
            **(activity_section or {}),
        }
        raw["engagement"]["rules"] = [{"name": "Touch", "points": 1}]
    return score_leads(parse_config(raw), as_of=as_of)


def test_german_excel_export():
    # semicolons, a BOM, `1.200` employees, decimal commas and `31.12.2025 14:05` dates
    source = FILES / "hubspot-excel-german.csv"
    raw = {
        "inputs": {"leads": str(source), "activities": str(source), "decimal_comma": True},
        "leads": {"id": "Record ID", "email": "E-Mail"},
        "activities": {
            "lead_id": "Record ID",
            "type": "Firmenname",
            "timestamp": "Letzte Aktivität",
            "timezone": "Europe/Berlin",
        },
        "fit": {
            "filters": [
                {"name": "Size", "field": "Employees", "min": 100},
                {"name": "Revenue", "field": "Jahresumsatz", "min": 10000.5},
            ]
        },
        "engagement": {"lookback_days": 31, "rules": [{"name": "Touch", "points": 10}]},
        "mql": {"threshold": 10},
        "output": {"columns": ["Firmenname"]},
    }
    result = score_leads(parse_config(raw), as_of=dt.date(2025, 12, 31))

    assert lead(result, "101")["fit"] is True
    assert lead(result, "101")["Firmenname"] == "Beispiel GmbH"
    assert lead(result, "102")["fit_failed"] == "Size"
    # 9.999,99 is just below the 10000.5 minimum
    assert lead(result, "103")["fit_failed"] == "Revenue"

    # 31.12 and 01.12 are inside a 31-day window ending 31 December; 15.11 is not
    assert lead(result, "101")["engagement_score"] == 10
    assert lead(result, "102")["engagement_score"] == 10
    assert lead(result, "103")["engagement_score"] == 0
    assert result.rejects.is_empty()


def test_text_in_numeric_column_late_in_file(tmp_path: Path):
    rows = [{"Record ID": str(n), "Employees": str(100 + n)} for n in range(1, 3000)]
    rows.append({"Record ID": "3000", "Employees": "unknown"})
    path = write_csv(tmp_path / "leads.csv", rows)
    result = score_file(path, fit=[{"name": "Size", "field": "Employees", "min": 50}])
    assert result.scored_leads.height == 3000
    assert result.scored_leads["fit"].sum() == 2999
    assert lead(result, "3000")["fit_failed"] == "Size"
    assert lead(result, "2999")["fit"] is True


def test_latin1_file_with_encoding_setting():
    result = score_file(
        FILES / "latin1-leads.csv", inputs={"encoding": "latin-1"}, columns=["Company"]
    )
    assert lead(result, "1")["Company"] == "Société Générale"
    assert lead(result, "2")["Company"] == "Müller & Söhne"


def test_invalid_utf8_names_line_and_setting():
    with pytest.raises(InputDataError) as caught:
        score_file(FILES / "not-utf8.csv", columns=["Company"])
    message = str(caught.value)
    assert "not-utf8.csv, line 3" in message
    assert "byte 0xE9" in message
    assert 'inputs.encoding = "windows-1252"' in message


def test_quoted_newlines_and_delimiters():
    result = score_file(
        FILES / "quoted-newlines.csv",
        columns=["Notes"],
        fit=[{"name": "Industry", "field": "Industry", "equals": "Software"}],
    )
    assert result.scored_leads["lead_id"].to_list() == ["1", "2", "3", "5"]
    assert lead(result, "1")["Notes"] == "Met at the fair, wants a demo\nCall back on Monday"
    assert lead(result, "2")["Notes"] == 'Said "maybe"; budget, next year'
    assert lead(result, "5")["fit"] is True
    # the row with an extra field starts on line 6, after a record that spans two lines
    assert result.rejects.select("line", "problem").rows() == [(6, "wrong number of fields")]
    assert result.rejects["reason"].item() == "the row has 4 fields but the header has 3"
    assert result.lead_rows_read == 5


def test_duplicate_ids_keep_latest_update():
    result = score_file(
        FILES / "duplicate-ids.csv",
        leads_section={"updated_at": "Last Modified"},
        columns=["Industry"],
    )
    assert lead(result, "7")["Industry"] == "Software"
    assert result.scored_leads.height == 2
    duplicates = result.rejects.filter(pl.col("problem") == "duplicate lead id")
    assert duplicates["line"].to_list() == [2, 4]
    assert all("line 3 of" in reason for reason in duplicates["reason"])


def test_duplicate_ids_keep_last_row_without_updated_at():
    result = score_file(FILES / "duplicate-ids.csv", columns=["Industry"])
    assert lead(result, "7")["Industry"] == "Healthcare"


@pytest.mark.parametrize(
    ("as_of", "points"),
    [
        # 01:30+01:00 and the non-existent 02:30 both fall on 29 March
        (dt.date(2026, 3, 29), 2),
        # 02:30 occurs twice that night and still counts once, on 25 October
        (dt.date(2026, 10, 25), 1),
        # 1767225600000 ms is 2026-01-01 00:00 UTC, 01:00 in Berlin
        (dt.date(2026, 1, 1), 1),
        (dt.date(2026, 3, 28), 0),
    ],
)
def test_berlin_clock_changes_and_epoch(tmp_path: Path, as_of: dt.date, points: int):
    leads = write_csv(tmp_path / "leads.csv", [{"Record ID": "1"}])
    result = score_file(
        leads,
        activities=FILES / "berlin-activities.csv",
        activity_section={"timezone": "Europe/Berlin"},
        as_of=as_of,
        lookback_days=1,
    )
    assert lead(result, "1")["engagement_score"] == points
    assert result.rejects.is_empty()


def test_ambiguous_slashed_dates_stop_with_clear_error(tmp_path: Path):
    leads = write_csv(tmp_path / "leads.csv", [{"Record ID": "1"}])
    with pytest.raises(InputDataError) as caught:
        score_file(leads, activities=FILES / "ambiguous-dates.csv")
    message = str(caught.value)
    assert caught.value.path is not None
    assert caught.value.path.endswith("ambiguous-dates.csv")
    assert "column 'Occurred At'" in message
    assert "fit both day-first and month-first order" in message
    assert "'03/04/2026'" in message
    assert "activities.timestamp_format" in message


def test_ambiguous_slashed_dates_with_format(tmp_path: Path):
    leads = write_csv(tmp_path / "leads.csv", [{"Record ID": "1"}])
    result = score_file(
        leads,
        activities=FILES / "ambiguous-dates.csv",
        activity_section={"timestamp_format": "%d/%m/%Y"},
        as_of=dt.date(2026, 4, 5),
        lookback_days=3,
    )
    # 3 April and 5 April count; 11 December is future-dated
    assert lead(result, "1")["engagement_score"] == 2
    assert result.activity_counts.future_dated == 1


def test_slashed_dates_settled_by_one_value(tmp_path: Path):
    leads = write_csv(tmp_path / "leads.csv", [{"Record ID": "1"}])
    activities = write_csv(
        tmp_path / "activities.csv",
        [
            {"Contact ID": "1", "Activity Type": "x", "Occurred At": "03/04/2026 10:00"},
            {"Contact ID": "1", "Activity Type": "x", "Occurred At": "25/03/2026 08:15 PM"},
        ],
    )
    result = score_file(leads, activities=activities, as_of=dt.date(2026, 4, 3), lookback_days=10)
    assert lead(result, "1")["engagement_score"] == 2


def test_mixed_slash_orders_are_an_error(tmp_path: Path):
    leads = write_csv(tmp_path / "leads.csv", [{"Record ID": "1"}])
    activities = write_csv(
        tmp_path / "activities.csv",
        [
            {"Contact ID": "1", "Activity Type": "x", "Occurred At": "13/04/2026"},
            {"Contact ID": "1", "Activity Type": "x", "Occurred At": "04/13/2026"},
        ],
    )
    with pytest.raises(InputDataError, match="mixes day-first and month-first dates"):
        score_file(leads, activities=activities)


def test_stray_header_spaces_blank_columns_and_lines():
    result = score_file(FILES / "stray-header-spaces.csv", columns=["Industry"])
    assert result.scored_leads["Industry"].to_list() == ["Software", "Retail"]
    assert result.rejects.is_empty()
    assert result.lead_rows_read == 2


def test_header_only_file_is_zero_rows():
    result = score_file(FILES / "header-only.csv", columns=["Industry"])
    assert result.scored_leads.height == 0
    assert result.mqls.height == 0


def test_empty_file_is_an_error():
    with pytest.raises(InputDataError, match="the file is empty"):
        score_file(FILES / "empty.csv")


@pytest.mark.parametrize("name", ["tab-delimited.tsv", "pipe-delimited.csv", "gzipped.csv.gz"])
def test_delimiters_and_gzip(name: str):
    result = score_file(FILES / name, columns=["Industry"])
    assert lead(result, "1")["Industry"] == "Software"


def test_delimiter_setting(tmp_path: Path):
    path = tmp_path / "leads.csv"
    path.write_text("Record ID;Industry,Segment\n1;Software,SMB\n")
    result = score_file(path, inputs={"delimiter": ";"}, columns=["Industry,Segment"])
    assert lead(result, "1")["Industry,Segment"] == "Software,SMB"


def test_duplicate_header_is_an_error():
    with pytest.raises(InputDataError, match="names the column 'Industry' twice"):
        score_file(FILES / "duplicate-header.csv", columns=["Industry"])


def test_ragged_activity_rows_are_rejected(tmp_path: Path):
    leads = write_csv(tmp_path / "leads.csv", [{"Record ID": "1"}])
    activities = tmp_path / "activities.csv"
    activities.write_text(
        "Contact ID,Activity Type,Occurred At\n"
        "1,x,2026-11-30\n"
        "1,x\n"
        "1,x,2026-11-30,surplus\n"
        "1,x,2026-11-29\n"
    )
    result = score_file(leads, activities=activities)
    assert lead(result, "1")["engagement_score"] == 2
    assert result.rejects["line"].to_list() == [3, 4]
    assert result.activity_counts.total == 4
    assert result.activity_counts.rejected == 2


def test_plain_file_late_surplus_field(tmp_path: Path):
    # the check for plain files must read to the end: line 3,001 has one field too many
    leads = write_csv(tmp_path / "leads.csv", [{"Record ID": "1"}])
    activities = tmp_path / "activities.csv"
    rows = ["1,x,2026-11-30\n"] * 3000
    rows[2999] = "1,x,2026-11-30,surplus\n"
    activities.write_text("Contact ID,Activity Type,Occurred At\n" + "".join(rows))
    result = score_file(leads, activities=activities)
    assert lead(result, "1")["engagement_score"] == 2999
    assert result.rejects["line"].to_list() == [3001]


def test_plain_file_line_numbers(tmp_path: Path):
    leads = write_csv(tmp_path / "leads.csv", [{"Record ID": "1"}])
    activities = tmp_path / "activities.csv"
    activities.write_text("Contact ID,Activity Type,Occurred At\n1,x,2026-11-30\n1,x,never\n")
    result = score_file(leads, activities=activities)
    assert result.rejects["line"].to_list() == [3]


def test_quoted_separator_hiding_missing_field(tmp_path: Path):
    # line 3 has the header's count of commas, but one is quoted: 2 fields, not 3
    leads = write_csv(tmp_path / "leads.csv", [{"Record ID": "1"}])
    activities = tmp_path / "activities.csv"
    activities.write_text(
        'Contact ID,Activity Type,Occurred At\n1,x,2026-11-30\n1,"x,2026-11-30"\n1,x,""\n'
    )
    result = score_file(leads, activities=activities)
    assert lead(result, "1")["engagement_score"] == 1
    assert result.rejects["line"].to_list() == [3, 4]
    assert result.rejects["problem"].to_list() == ["wrong number of fields", "missing timestamp"]


def test_quoted_empties_keep_line_numbers(tmp_path: Path):
    # only "" pairs: every line is still one record, and line 5 has one field too many
    leads = write_csv(tmp_path / "leads.csv", [{"Record ID": "1"}])
    activities = tmp_path / "activities.csv"
    activities.write_text(
        "Contact ID,Activity Type,Occurred At,Form\n"
        '1,x,2026-11-30,""\n1,x,never,""\n1,x,2026-11-30,""\n1,x,2026-11-30,"",surplus\n'
    )
    result = score_file(leads, activities=activities)
    assert lead(result, "1")["engagement_score"] == 2
    assert result.rejects["line"].to_list() == [3, 5]


def test_excel_input_keeps_ids_as_text(tmp_path: Path):
    path = tmp_path / "leads.xlsx"
    pl.DataFrame(
        {"Record ID": ["00123", "L-2"], "Employees": [1200, 7], "Industry": ["Software", None]}
    ).write_excel(path)
    result = score_file(
        path,
        fit=[{"name": "Size", "field": "Employees", "min": 1000}],
        columns=["Industry"],
    )
    assert result.scored_leads["lead_id"].to_list() == ["00123", "L-2"]
    assert lead(result, "00123")["fit"] is True
    assert lead(result, "L-2")["fit"] is False


def test_parquet_input_with_typed_columns(tmp_path: Path):
    path = tmp_path / "leads.parquet"
    pl.DataFrame(
        {
            "Record ID": [1, 2, 3],
            "Employees": [1200.0, float("nan"), 12.0],
            "Active": [True, False, True],
        }
    ).write_parquet(path)
    result = score_file(
        path,
        fit=[
            {"name": "Size", "field": "Employees", "min": 50},
            {"name": "Active", "field": "Active", "equals": True},
        ],
    )
    assert result.scored_leads["lead_id"].to_list() == ["1", "2", "3"]
    assert lead(result, "1")["fit"] is True
    assert lead(result, "2")["fit_failed"] == "Size; Active"
    assert lead(result, "3")["fit_failed"] == "Size"


def test_duplicate_ids_with_unreadable_dates_say_so(tmp_path: Path):
    path = tmp_path / "leads.csv"
    path.write_text("Record ID,Industry,Last Modified\n7,Retail,yesterday\n7,Software,soon\n")
    result = score_file(path, leads_section={"updated_at": "Last Modified"}, columns=["Industry"])
    assert lead(result, "7")["Industry"] == "Software"
    reason = result.rejects["reason"].item()
    assert "the last in file order, as no row has a readable 'Last Modified'" in reason


def test_quoted_empty_and_quoted_tokens_are_missing(tmp_path: Path):
    path = tmp_path / "leads.csv"
    path.write_text(
        'Record ID,Country,Industry\n1,"",Software\n2,"N/A",Software\n3,DE,"-"\n"",DE,Software\n'
    )
    result = score_file(
        path,
        fit=[
            {"name": "Served country", "field": "Country", "not_in": ["IR"]},
            {"name": "Industry", "field": "Industry", "missing": False},
        ],
    )
    assert result.scored_leads["lead_id"].to_list() == ["1", "2", "3"]
    assert lead(result, "1")["fit_failed"] == "Served country"
    assert lead(result, "2")["fit_failed"] == "Served country"
    assert lead(result, "3")["fit_failed"] == "Industry"
    assert result.rejects["problem"].to_list() == ["missing lead id"]


def test_display_path_inside_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    inner = tmp_path / "work" / "exports" / "leads.csv"
    outside = tmp_path / "elsewhere" / "leads.csv"
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert display_path(inner) == str(Path("exports") / "leads.csv")
    assert display_path(outside) == str(outside)


def test_unfit_timestamp_format_is_named(tmp_path: Path):
    leads = write_csv(tmp_path / "leads.csv", [{"Record ID": "1"}])
    activities = tmp_path / "activities.csv"
    activities.write_text("Contact ID,Activity Type,Occurred At\n1,x,2026-11-30T10:00:00Z\n")
    result = score_file(
        leads, activities=activities, activity_section={"timestamp_format": "%d.%m.%Y %H:%M"}
    )
    assert result.rejects["reason"].to_list() == [
        "unreadable timestamp '2026-11-30T10:00:00Z' in 'Occurred At'; it does not fit "
        "activities.timestamp_format '%d.%m.%Y %H:%M'; correct the format or remove it"
    ]
