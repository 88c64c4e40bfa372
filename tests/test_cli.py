"""The command line: exit codes, streams, outputs on disk, help text and each command."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from leadq.cli import app
from leadq.errors import ExitCode
from tests.conftest import write_csv

runner = CliRunner()

CONFIG = """
[inputs]
leads = "leads.csv"
activities = ["activities/*.csv"]

[leads]
id = "Record ID"
email = "Email"

[activities]
lead_id = "Contact ID"
type = "Activity Type"
timestamp = "Occurred At"

[[fit.filters]]
name = "Target industry"
field = "Industry"
in = ["Software"]

[[engagement.rules]]
name = "Pricing page visit"
type = "page_view"
where = [{ field = "Page URL", contains = "/pricing" }]
points = 15

[[engagement.rules]]
name = "Demo request"
type = "form_submit"
points = 25

[mql]
threshold = 30
qualifying_rules = ["Demo request"]

[output]
columns = ["Company"]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A config with a leads file and two activity files beside it."""
    write_csv(
        tmp_path / "leads.csv",
        [
            {"Record ID": "L1", "Email": "a@acme.com", "Industry": "Software", "Company": "Acme"},
            {"Record ID": "L2", "Email": "b@beta.com", "Industry": "Software", "Company": "Beta"},
            {"Record ID": "L3", "Email": "c@gamma.com", "Industry": "Retail", "Company": "Gamma"},
        ],
    )
    (tmp_path / "activities").mkdir()
    write_csv(
        tmp_path / "activities" / "web.csv",
        [
            {
                "Contact ID": lead_id,
                "Activity Type": "page_view",
                "Occurred At": "2026-11-29T10:00:00Z",
                "Page URL": "/pricing",
            }
            for lead_id in ("L1", "L1", "L3", "L3", "L3")
        ],
    )
    write_csv(
        tmp_path / "activities" / "forms.csv",
        [
            {"Contact ID": "L2", "Activity Type": "form_submit", "Occurred At": "2026-11-30"},
            {"Contact ID": "L9", "Activity Type": "form_submit", "Occurred At": "2026-11-30"},
            {"Contact ID": "L2", "Activity Type": "form_submit", "Occurred At": "yesterday"},
        ],
    )
    config = tmp_path / "leadq.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


def score_args(config: Path, out: Path, *extra: str) -> list[str]:
    return ["score", "--config", str(config), "--as-of", "2026-11-30", "--out", str(out), *extra]


def test_score_writes_every_output(project: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = runner.invoke(app, score_args(project, out))
    assert result.exit_code == 0, result.output
    names = sorted(path.name for path in out.iterdir())
    assert names == ["mqls.csv", "rejects.csv", "scored_leads.csv", "summary.json", "summary.md"]

    mqls = pl.read_csv(out / "mqls.csv", infer_schema=False)
    assert mqls["lead_id"].to_list() == ["L1", "L2"]
    assert mqls.columns == [
        "lead_id",
        "email",
        "Company",
        "fit",
        "fit_failed",
        "engagement_score",
        "reasons",
        "mql",
        "mql_reason",
    ]
    assert mqls.row(0) == (
        "L1",
        "a@acme.com",
        "Acme",
        "true",
        "",
        "30.0",
        "Pricing page visit x2 +30",
        "true",
        "score 30 >= 30",
    )
    assert mqls["mql_reason"].to_list() == ["score 30 >= 30", "Demo request"]


def test_summary_counts(project: Path, tmp_path: Path):
    out = tmp_path / "out"
    runner.invoke(app, score_args(project, out))
    summary = json.loads((out / "summary.json").read_text())

    assert summary["as_of"] == "2026-11-30"
    assert summary["leads"] == {
        "rows_read": 3,
        "rejected": 0,
        "total": 3,
        "fit": 2,
        "engaged": 3,
        "mql": 2,
    }
    assert summary["activities"] == {
        "rows_read": 8,
        "in_window": 6,
        "before_window": 0,
        "future_dated": 0,
        "unmatched": 1,
        "rejected": 1,
    }

    assert summary["fit_filters"] == [
        {
            "name": "Target industry",
            "field": "Industry",
            "passed": 2,
            "failed": 1,
            "pass_rate": 0.6667,
        }
    ]
    assert summary["rules"][0] == {
        "name": "Pricing page visit",
        "source": "activity",
        "hits": 5,
        "leads": 2,
        "points": 75.0,
    }
    assert [f["rows"] for f in summary["inputs"]["activities"]] == [3, 5]
    assert len(summary["config"]["sha256"]) == 64

    rejects = pl.read_csv(out / "rejects.csv")
    assert rejects.select("file", "line", "problem").rows() == [
        (summary["inputs"]["activities"][0]["path"], 4, "unreadable timestamp")
    ]


def test_rerun_is_byte_identical(project: Path, tmp_path: Path):
    first, second = tmp_path / "first", tmp_path / "second"
    for fmt in ("csv", "parquet", "jsonl", "xlsx"):
        assert runner.invoke(app, score_args(project, first, "--format", fmt)).exit_code == 0
        assert runner.invoke(app, score_args(project, second, "--format", fmt)).exit_code == 0
        for name in (f"scored_leads.{fmt}", f"mqls.{fmt}", "rejects.csv", "summary.md"):
            assert (first / name).read_bytes() == (second / name).read_bytes(), name
        one = json.loads((first / "summary.json").read_text())
        two = json.loads((second / "summary.json").read_text())
        one.pop("timing")
        two.pop("timing")
        assert one == two


def test_formats_hold_the_same_rows(project: Path, tmp_path: Path):
    frames = {}
    for fmt, reader in (("parquet", pl.read_parquet), ("jsonl", pl.read_ndjson)):
        out = tmp_path / fmt
        assert runner.invoke(app, score_args(project, out, "--format", fmt)).exit_code == 0
        frames[fmt] = reader(out / f"scored_leads.{fmt}")
    assert frames["parquet"].equals(frames["jsonl"])
    assert frames["parquet"]["engagement_score"].to_list() == [30.0, 25.0, 45.0]


def test_mqls_dash_streams_csv_only(project: Path, tmp_path: Path):
    result = runner.invoke(app, score_args(project, tmp_path / "out", "--mqls", "-"))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("lead_id,email,Company,fit")
    assert [line.split(",")[0] for line in lines[1:]] == ["L1", "L2"]
    assert "Leads as of 2026-11-30" in result.stderr


def test_quiet_prints_nothing(project: Path, tmp_path: Path):
    result = runner.invoke(app, score_args(project, tmp_path / "out", "-q"))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == ""


def test_missing_column_exits_1_naming_file_and_column(project: Path, tmp_path: Path):
    text = project.read_text().replace('field = "Industry"', 'field = "Sector"')
    project.write_text(text)
    result = runner.invoke(app, score_args(project, tmp_path / "out"))
    assert result.exit_code == ExitCode.BAD_DATA
    assert "leads.csv" in result.stderr
    assert "column 'Sector' (used by fit.filters[1] ('Target industry')) is missing" in (
        result.stderr
    )
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_every_missing_column_reported_at_once(project: Path, tmp_path: Path):
    text = project.read_text().replace('field = "Industry"', 'field = "Industri"')
    text = text.replace('columns = ["Company"]', 'columns = ["Compnay"]')
    project.write_text(text)
    result = runner.invoke(app, score_args(project, tmp_path / "out"))
    assert result.exit_code == ExitCode.BAD_DATA
    assert "column 'Industri' (used by fit.filters[1] ('Target industry')) is missing." in (
        result.stderr
    )
    assert "Did you mean 'Industry'?" in result.stderr
    assert "column 'Compnay' (used by output.columns) is missing." in result.stderr
    assert "Did you mean 'Company'?" in result.stderr


def test_missing_columns_of_several_files_together(project: Path, tmp_path: Path):
    text = project.read_text().replace('field = "Industry"', 'field = "Industri"')
    text = text.replace('timestamp = "Occurred At"', 'timestamp = "Occured At"')
    project.write_text(text)
    result = runner.invoke(app, ["check", "--config", str(project)])
    assert result.exit_code == ExitCode.BAD_DATA
    errors = " ".join(result.stderr.split())
    # the leads file and both activity files, in one run
    assert "3 input files cannot be read as configured" in errors
    assert "leads.csv: column 'Industri'" in errors
    assert "web.csv: column 'Occured At' (used by activities.timestamp) is missing" in errors
    assert "forms.csv: column 'Occured At'" in errors


def test_misspelled_where_column_gets_a_suggestion(project: Path, tmp_path: Path):
    project.write_text(project.read_text().replace('field = "Page URL"', 'field = "Page Url"'))
    result = runner.invoke(app, score_args(project, tmp_path / "out"))
    assert result.exit_code == ExitCode.BAD_DATA
    assert "column 'Page Url' (used by engagement.rules[1] ('Pricing page visit').where[1])" in (
        result.stderr
    )
    assert "Did you mean 'Page URL'?" in result.stderr


def test_config_mistakes_exit_2(project: Path, tmp_path: Path):
    text = project.read_text().replace("threshold = 30", "threshold = 30\nthreshhold = 2")
    text = text.replace('["Demo request"]', '["Demo requests"]')
    project.write_text(text)
    result = runner.invoke(app, score_args(project, tmp_path / "out"))
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert "2 problems" in result.stderr
    assert "mql.threshhold: unknown key" in result.stderr
    assert "'Demo requests'" in result.stderr


def test_bad_as_of_exits_2(project: Path, tmp_path: Path):
    args = ["score", "--config", str(project), "--as-of", "30/11/2026", "--out", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert "YYYY-MM-DD" in result.stderr


def test_reject_rate_over_limit_exits_3(project: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = runner.invoke(app, score_args(project, out, "--max-reject-rate", "5%"))
    assert result.exit_code == ExitCode.TOO_MANY_REJECTS
    assert "1 of 11 input rows (9.09%) were rejected" in result.stderr
    assert (out / "mqls.csv").exists()
    allowed = runner.invoke(app, score_args(project, out, "--max-reject-rate", "0.1"))
    assert allowed.exit_code == 0


def test_failed_run_keeps_previous_outputs(project: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert runner.invoke(app, score_args(project, out)).exit_code == 0
    before = (out / "scored_leads.csv").read_bytes()
    (tmp_path / "leads.csv").write_text("")
    result = runner.invoke(app, score_args(project, out))
    assert result.exit_code == ExitCode.BAD_DATA
    assert "empty" in result.stderr
    assert (out / "scored_leads.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []


def test_output_folder_with_other_files_is_refused(project: Path, tmp_path: Path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    result = runner.invoke(app, score_args(project, out))
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert "notes.txt" in result.stderr
    assert (out / "notes.txt").read_text() == "keep me"


def test_format_change_leaves_no_stale_tables(project: Path, tmp_path: Path):
    out = tmp_path / "out"
    runner.invoke(app, score_args(project, out))
    runner.invoke(app, score_args(project, out, "--format", "parquet"))
    assert not (out / "scored_leads.csv").exists()
    assert (out / "scored_leads.parquet").exists()


def test_check_reports_counts_and_writes_nothing(project: Path, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", "--config", str(project)])
    assert result.exit_code == 0, result.output
    assert "is valid" in result.stdout
    assert "activities: 8 rows read, 7 usable, 1 rejected" in result.stdout
    assert "unreadable timestamp: 1" in result.stdout
    assert "Nothing was written." in result.stdout
    assert not (tmp_path / "leadq-out").exists()


def test_explain_shows_filters_and_activities(project: Path):
    args = ["explain", "--config", str(project), "--as-of", "2026-11-30", "L1"]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Lead L1: MQL (score 30 >= 30)" in result.stdout
    assert "Target industry" in result.stdout
    assert "'Software'" in result.stdout
    assert result.stdout.count("Pricing page visit") >= 2
    assert "+15.00" in result.stdout
    assert "web.csv:2" in result.stdout
    assert "Scored as of 2026-11-30 (UTC); activities count from 2026-09-02." in result.stdout


def test_explain_unknown_lead_exits_1(project: Path):
    result = runner.invoke(app, ["explain", "--config", str(project), "L404"])
    assert result.exit_code == ExitCode.BAD_DATA
    assert "no lead has the id 'L404'" in result.stderr


def test_explain_id_in_other_case_suggested(project: Path):
    result = runner.invoke(app, ["explain", "--config", str(project), "l1"])
    assert result.exit_code == ExitCode.BAD_DATA
    assert "Lead ids are case-sensitive; did you mean 'L1'?" in result.stderr


def test_init_writes_starter_configs_that_validate(tmp_path: Path):
    for template in ("b2b", "b2c"):
        path = tmp_path / f"{template}.toml"
        result = runner.invoke(app, ["init", "--template", template, str(path)])
        assert result.exit_code == 0, result.output
        runner.invoke(app, ["check", "--config", str(path)])
        from leadq.config import load_config

        assert load_config(path).mql is not None
    again = runner.invoke(app, ["init", str(tmp_path / "b2b.toml")])
    assert again.exit_code == ExitCode.BAD_CONFIG


@pytest.mark.parametrize(
    "command", ["score", "check", "explain", "diff", "init", "calibrate", "backtest"]
)
def test_every_help_shows_an_example(command: str):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert f"leadq {command}" in result.stdout


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("leadq ")


def test_spreadsheet_safe_csv_and_xlsx(tmp_path: Path):
    import openpyxl

    write_csv(
        tmp_path / "leads.csv",
        [{"Record ID": "00012345678901234567", "Company": '=HYPERLINK("http://x.test","click")'}],
    )
    config = tmp_path / "leadq.toml"
    config.write_text(
        '[inputs]\nleads = "leads.csv"\n[leads]\nid = "Record ID"\n'
        '[mql]\nthreshold = 0\n[output]\ncolumns = ["Company"]\n'
    )
    for fmt in ("csv", "xlsx"):
        out = tmp_path / fmt
        result = runner.invoke(app, score_args(config, out, "--format", fmt))
        assert result.exit_code == 0, result.output

    rows = pl.read_csv(tmp_path / "csv" / "mqls.csv", infer_schema=False)
    assert rows["lead_id"].item() == "00012345678901234567"
    assert rows["Company"].item() == '\'=HYPERLINK("http://x.test","click")'
    assert rows["engagement_score"].item() == "0.0"

    sheet = openpyxl.load_workbook(tmp_path / "xlsx" / "mqls.xlsx").active
    assert sheet["A2"].value == "00012345678901234567"
    assert sheet["A2"].data_type == "s"
    assert sheet["B2"].value == '\'=HYPERLINK("http://x.test","click")'
    assert sheet["B2"].data_type == "s"
    assert sheet.freeze_panes == "A2"


def test_formula_escaping_can_be_turned_off(tmp_path: Path):
    write_csv(tmp_path / "leads.csv", [{"Record ID": "1", "Company": "=1+1"}])
    config = tmp_path / "leadq.toml"
    config.write_text(
        '[inputs]\nleads = "leads.csv"\n[leads]\nid = "Record ID"\n'
        '[mql]\nthreshold = 0\n[output]\ncolumns = ["Company"]\n'
    )
    out = tmp_path / "out"
    result = runner.invoke(app, score_args(config, out, "--no-escape-formulas"))
    assert result.exit_code == 0, result.output
    assert pl.read_csv(out / "mqls.csv")["Company"].item() == "=1+1"


def test_error_keeps_square_brackets(tmp_path: Path):
    config = tmp_path / "leadq.toml"
    config.write_text(
        '[leads]\nid = "id"\n[[engagement.rules]]\nname = "Visit"\ntype = "page_view"\n'
        "points = 1\n[mql]\nthreshold = 1\n"
    )
    result = runner.invoke(app, ["check", "--config", str(config)])
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert "there is no [activities] section" in result.stderr


def test_output_folder_is_readable_by_others(project: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert runner.invoke(app, score_args(project, out)).exit_code == 0
    assert out.stat().st_mode & 0o055 == 0o055 & ~_umask()


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_check_counts_rejects_by_problem_in_messy_file(tmp_path: Path):
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "Record ID,Industry,Last Modified\n"
        "1,Software,2026-01-01\n"
        "1,Retail,2026-02-01\n"
        ",Retail,2026-02-01\n"
        "2,Software,2026-01-01,surplus\n"
        "3,Software\n"
        "4,Retail,2026-01-01\n"
    )
    config = tmp_path / "leadq.toml"
    config.write_text(
        '[inputs]\nleads = "leads.csv"\n[leads]\nid = "Record ID"\nupdated_at = "Last Modified"\n'
        '[[fit.filters]]\nname = "Industry"\nfield = "Industry"\nequals = "Software"\n'
        "[mql]\nthreshold = 0\n"
    )
    result = runner.invoke(app, ["check", "--config", str(config)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "leads: 6 rows read, 2 usable, 4 rejected" in result.stdout
    assert "wrong number of fields: 2" in result.stdout
    assert "duplicate lead id: 1" in result.stdout
    assert "missing lead id: 1" in result.stdout
    assert not (tmp_path / "leadq-out").exists()


def test_check_warns_about_idle_rule(tmp_path: Path):
    # A misspelt type matches no activity. `check` scores as of today, so the activities
    # happened yesterday, inside the 90-day window.
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    lead = {"Record ID": "L1", "Email": "a@acme.com", "Industry": "Software", "Company": "Acme"}
    write_csv(tmp_path / "leads.csv", [lead])
    (tmp_path / "activities").mkdir()
    write_csv(
        tmp_path / "activities" / "web.csv",
        [
            {"Contact ID": "L1", "Activity Type": t, "Occurred At": yesterday, "Page URL": url}
            for t, url in (("page_view", "/pricing"), ("form_submit", ""))
        ],
    )
    config = tmp_path / "leadq.toml"
    config.write_text(CONFIG.replace('type = "page_view"', 'type = "page_veiw"'), "utf-8")
    result = runner.invoke(app, ["check", "--config", str(config)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "rule 'Pricing page visit' matched no activity" in result.stdout
    assert "'page_veiw'" in result.stdout
    assert "rule 'Demo request' matched no activity" not in result.stdout
