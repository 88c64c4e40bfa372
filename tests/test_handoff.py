"""CRM handoff files: the HubSpot and Salesforce layouts, own columns and config checks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from leadq.errors import ExitCode
from tests.nightly_support import b2b_config, lead_ids, score_day

DAY = dt.date(2026, 11, 24)


def run_with(tmp_path: Path, handoff: str) -> Path:
    config = b2b_config(tmp_path, handoff)
    out = tmp_path / "out"
    result = score_day(config, DAY, out, "--state", str(tmp_path / "state.parquet"))
    assert result.exit_code == 0, result.output
    return out


def test_hubspot_layout(tmp_path: Path):
    out = run_with(tmp_path, '[handoff]\ntemplate = "hubspot"\n')
    table = pl.read_csv(out / "handoff_hubspot.csv", infer_schema=False)
    assert table.columns == [
        "Record ID", "Email", "Lifecycle Stage", "leadq Score", "leadq MQL Date", "leadq Reasons",
    ]  # fmt: skip
    assert set(table["Record ID"]) == lead_ids(out / "new_mqls.csv")
    assert set(table["Lifecycle Stage"]) == {"Marketing Qualified Lead"}
    assert set(table["leadq MQL Date"]) == {"2026-11-24"}
    new = pl.read_csv(out / "new_mqls.csv", infer_schema=False)
    assert table["leadq Score"].to_list() == new["engagement_score"].to_list()
    assert table["leadq Reasons"].to_list() == new["reasons"].to_list()


def test_salesforce_layout(tmp_path: Path):
    out = run_with(tmp_path, '[handoff]\ntemplate = "salesforce"\n')
    table = pl.read_csv(out / "handoff_salesforce.csv", infer_schema=False)
    assert table.columns == [
        "Lead ID", "Email", "Lead Status", "leadq Score", "leadq MQL Date", "leadq Reasons",
    ]  # fmt: skip
    assert set(table["Lead Status"]) == {"Open - Not Contacted"}
    assert set(table["Lead ID"]) == lead_ids(out / "new_mqls.csv")


def test_own_columns_override_template(tmp_path: Path):
    handoff = """[handoff]
template = "salesforce"
columns = { "Lead Status" = { value = "MQL" }, "Company" = "Company" }
"""
    out = run_with(tmp_path, handoff)
    table = pl.read_csv(out / "handoff_salesforce.csv", infer_schema=False)
    assert table.columns[-1] == "Company"
    assert table.columns[2] == "Lead Status"
    assert set(table["Lead Status"]) == {"MQL"}


def test_only_new_mqls_handed_off(tmp_path: Path):
    config = b2b_config(tmp_path, '[handoff]\ntemplate = "hubspot"\n')
    state, out = tmp_path / "state.parquet", tmp_path / "out"
    assert score_day(config, DAY, out, "--state", str(state)).exit_code == 0
    next_day = DAY + dt.timedelta(days=1)
    assert score_day(config, next_day, out, "--state", str(state)).exit_code == 0
    table = pl.read_csv(out / "handoff_hubspot.csv", infer_schema=False)
    assert set(table["Record ID"]) == lead_ids(out / "new_mqls.csv")
    assert len(lead_ids(out / "mqls.csv")) > table.height


def test_unknown_source_column_is_config_error(tmp_path: Path):
    config = b2b_config(tmp_path, '[handoff]\ncolumns = { "Owner" = "Owner Email" }\n')
    result = score_day(config, DAY, tmp_path / "out", "--state", str(tmp_path / "s.parquet"))
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert "handoff.columns.Owner: no output column is named 'Owner Email'" in result.stderr


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("[handoff]\n", 'handoff: set `template` ("hubspot" or "salesforce")'),
        ('[handoff]\ntemplate = "pipedrive"\n', "handoff.template: input should be 'hubspot'"),
        ('[notify]\nurl = "hooks.example/x"\n', "notify.url: 'hooks.example/x' is not a web"),
        ('[notify]\nurl = "https://h/x"\nbatch_size = 0\n', "notify.batch_size: input should"),
        ('[state]\npaht = "s.parquet"\n', "state.paht: unknown key; did you mean 'path'?"),
    ],
)
def test_invalid_sections(tmp_path: Path, section: str, message: str):
    result = score_day(b2b_config(tmp_path, section), DAY, tmp_path / "out")
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert message in result.stderr
