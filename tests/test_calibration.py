"""Calibration: outcomes read and labelled, conversion statistics, suggestions and data limits."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from leadq.calibration import NOT_ENOUGH_DATA, Calibration, calibrate
from leadq.calibration_stats import roc_auc, wilson_interval
from leadq.cli import app
from leadq.config import parse_config
from leadq.errors import ConfigError
from tests.conftest import write_csv

runner = CliRunner()


def test_wilson_interval_five_of_ten():
    # centre (0.5 + 1.96²/20) / (1 + 1.96²/10) = 0.5; half-width
    # 1.96 * sqrt(0.025 + 1.96²/400) / 1.38416 = 0.26341
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.23659, abs=1e-5)
    assert high == pytest.approx(0.76341, abs=1e-5)


def test_wilson_interval_stays_inside_zero_and_one():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 20)
    assert low == 0.0
    # 1.96²/20 / (1 + 1.96²/20) * 2 / 2 = 0.16113 at zero successes
    assert high == pytest.approx(0.16113, abs=1e-5)


def test_roc_auc_perfect_ties_and_missing_class():
    frame = pl.DataFrame({"score": [1, 2, 3, 4], "converted": [False, False, True, True]})
    assert roc_auc(frame, pl.col("score"), "converted") == 1.0
    # one converted lead tied with one not converted: the tie counts half
    tied = pl.DataFrame({"score": [5, 5], "converted": [True, False]})
    assert roc_auc(tied, pl.col("score"), "converted") == 0.5
    single = pl.DataFrame({"score": [1, 2], "converted": [True, True]})
    assert roc_auc(single, pl.col("score"), "converted") is None


def planted_config(tmp_path: Path, leads: list[dict[str, str]], outcomes: list[dict[str, str]]):
    """Two lead rules: `Predictive` on column a (5 points), `Noise` on column b (20 points)."""
    write_csv(tmp_path / "leads.csv", leads)
    write_csv(tmp_path / "outcomes.csv", outcomes, header=["id", "status"])
    raw: dict[str, Any] = {
        "inputs": {"leads": str(tmp_path / "leads.csv")},
        "leads": {"id": "id"},
        "engagement": {
            "rules": [
                {
                    "name": "Predictive",
                    "source": "lead",
                    "where": [{"field": "a", "equals": "yes"}],
                    "points": 5,
                },
                {
                    "name": "Noise",
                    "source": "lead",
                    "where": [{"field": "b", "equals": "yes"}],
                    "points": 20,
                },
            ]
        },
        "mql": {"threshold": 20},
        "outcomes": {
            "file": str(tmp_path / "outcomes.csv"),
            "lead_id": "id",
            "column": "status",
            "sql": ["SQL"],
            "won": ["Closed Won"],
        },
    }
    return parse_config(raw)


def planted_data(per_group: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Four groups of leads (a yes/no x b yes/no); 70% of a=yes leads convert, 10% of a=no.

    The rate does not depend on b at all, so `Noise` carries no information.
    """
    leads, outcomes = [], []
    number = 0
    for a in ("yes", "no"):
        for b in ("yes", "no"):
            converting = per_group * (7 if a == "yes" else 1) // 10
            for index in range(per_group):
                number += 1
                lead_id = f"L{number:04d}"
                leads.append({"id": lead_id, "a": a, "b": b})
                status = "SQL" if index < converting else "Disqualified"
                outcomes.append({"id": lead_id, "status": status})
    return leads, outcomes


def test_planted_rule_raised_and_noise_lowered(tmp_path: Path):
    leads, outcomes = planted_data(per_group=100)
    result = calibrate(planted_config(tmp_path, leads, outcomes))
    suggested = {s.name: s.suggested_points for s in result.suggestions}
    # the largest weight takes the largest current points (20); the noise rule's weight is 0
    assert suggested["Predictive"] == 20
    assert suggested["Noise"] == 0
    rules = {row["name"]: row for row in result.report["rules"]}
    # 140 of the 200 a=yes leads convert against 140 + 20 = 160 of 400 overall: 0.7 / 0.4
    assert rules["Predictive"]["lift"] == pytest.approx(0.7 / 0.4)
    assert rules["Noise"]["lift"] == pytest.approx(1.0)


def test_twenty_outcomes_is_not_enough_data(tmp_path: Path):
    leads, outcomes = planted_data(per_group=5)
    assert len(outcomes) == 20
    report = calibrate(planted_config(tmp_path, leads, outcomes)).report
    assert report["enough_data"] is False
    for row in report["rules"]:
        assert row["suggested_points"] == NOT_ENOUGH_DATA
        assert row["lift"] == NOT_ENOUGH_DATA
    assert report["mql"]["mql"]["rate"] == NOT_ENOUGH_DATA
    assert report["score_auc"] == NOT_ENOUGH_DATA
    # the counts are facts and stay: 3 + 3 + 0 + 0 of the 20 leads converted
    assert report["overall"]["leads"] == 20
    assert report["overall"]["converted"] == 6


def test_twenty_outcomes_cli_says_not_enough_data(tmp_path: Path):
    leads, outcomes = planted_data(per_group=5)
    config = planted_config(tmp_path, leads, outcomes)
    config_path = tmp_path / "leadq.toml"
    config_path.write_text(
        f"""
[inputs]
leads = "leads.csv"
[leads]
id = "id"
[[engagement.rules]]
name = "Predictive"
source = "lead"
where = [{{ field = "a", equals = "yes" }}]
points = 5
[mql]
threshold = {config.mql.threshold}
[outcomes]
file = "outcomes.csv"
lead_id = "id"
column = "status"
sql = ["SQL"]
""",
        encoding="utf-8",
    )
    out = tmp_path / "report"
    result = runner.invoke(
        app, ["calibrate", "--config", str(config_path), "--out", str(out), "--target-mqls", "5"]
    )
    assert result.exit_code == 0, result.output
    assert "Not enough data" in result.stdout
    markdown = (out / "calibration.md").read_text(encoding="utf-8")
    assert "not enough data" in markdown
    saved = json.loads((out / "calibration.json").read_text(encoding="utf-8"))
    assert saved["rules"][0]["suggested_points"] == "not enough data"


def stage_report(tmp_path: Path, outcomes: list[dict[str, str]], **options: Any) -> Calibration:
    leads = [{"id": f"L{n}", "email": f"p{n}@x.example", "a": "yes"} for n in range(1, 5)]
    write_csv(tmp_path / "leads.csv", leads)
    write_csv(tmp_path / "outcomes.csv", outcomes)
    section = {"file": str(tmp_path / "outcomes.csv"), **options.pop("section", {})}
    raw: dict[str, Any] = {
        "inputs": {"leads": str(tmp_path / "leads.csv")},
        "leads": {"id": "id", "email": "email"},
        "mql": {"threshold": 0},
        "outcomes": section,
    }
    return calibrate(parse_config(raw), **options)


def test_outcomes_by_email_take_each_leads_highest_stage(tmp_path: Path):
    outcomes = [
        {"Email": " P1@X.example ", "Stage": "SQL"},
        {"Email": "p1@x.example", "Stage": "Closed Won"},
        {"Email": "p2@x.example", "Stage": "Opportunity"},
        {"Email": "p3@x.example", "Stage": "Closed Lost"},
        {"Email": "nobody@x.example", "Stage": "SQL"},
    ]
    section = {
        "email": "Email",
        "column": "Stage",
        "sql": ["SQL"],
        "opportunity": ["opportunity"],
        "won": ["Closed Won"],
        "converted": "opportunity",
    }
    report = stage_report(tmp_path, outcomes, section=section).report
    # p1 reached won and p2 opportunity; SQL alone is below `converted = "opportunity"`
    assert report["overall"]["converted"] == 2
    stages = {row["stage"]: row["mql"] for row in report["stages"]}
    assert stages == {"sql": 2, "opportunity": 2, "won": 1}
    assert report["outcomes"]["rows_matching_no_lead"] == 1


def test_dated_outcomes_count_only_after_cut_off(tmp_path: Path):
    outcomes = [
        {"id": "L1", "won": "2026-09-30"},  # on the cut-off day: already converted, left out
        {"id": "L2", "won": "2026-10-01"},  # the day after: counts
        {"id": "L3", "won": ""},  # no date: cannot be placed in time, not counted
    ]
    section = {"lead_id": "id", "each_row": "won", "date": "won"}
    report = stage_report(tmp_path, outcomes, section=section, as_of=dt.date(2026, 9, 30)).report
    summary = report["outcomes"]
    # the undated row is read once and counted once among the rows read
    assert summary["rows_read"] == 3
    assert summary["leads_converted_before_cut_off"] == 1
    assert summary["leads_evaluated"] == 3
    assert summary["leads_converted"] == 1
    assert summary["rows_undated"] == 1


def test_dated_outcomes_need_as_of(tmp_path: Path):
    section = {"lead_id": "id", "each_row": "won", "date": "won"}
    with pytest.raises(ConfigError, match="--as-of is required"):
        stage_report(tmp_path, [{"id": "L1", "won": "2026-10-01"}], section=section)


def test_holdout_must_start_after_cut_off(tmp_path: Path):
    section = {"lead_id": "id", "each_row": "won", "date": "won"}
    with pytest.raises(ConfigError, match="--holdout-days 30 starts the holdout on 2026-09-01"):
        stage_report(
            tmp_path,
            [{"id": "L1", "won": "2026-10-01"}],
            section=section,
            as_of=dt.date(2026, 9, 15),
            holdout_days=30,
        )


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"column": "s", "sql": ["x"]}, "set exactly one of `lead_id` or `email`"),
        ({"lead_id": "id", "sql": ["x"]}, "set `column`"),
        ({"lead_id": "id", "column": "s"}, "list the values of 's'"),
        ({"lead_id": "id", "each_row": "lost"}, "outcomes.each_row"),
        ({"lead_id": "id", "each_row": "won", "stage": "x"}, "outcomes.stage: unknown key"),
    ],
)
def test_outcomes_section_errors(section: dict[str, Any], expected: str):
    raw = {"leads": {"id": "id"}, "mql": {"threshold": 1}, "outcomes": section}
    with pytest.raises(ConfigError) as error:
        parse_config(raw)
    assert expected in str(error.value)


def test_config_without_outcomes_is_told_to_add_them(tmp_path: Path):
    write_csv(tmp_path / "leads.csv", [{"id": "L1"}])
    raw = {"inputs": {"leads": str(tmp_path / "leads.csv")}, "leads": {"id": "id"}}
    config = parse_config({**raw, "mql": {"threshold": 1}})
    with pytest.raises(ConfigError, match=r"there is no \[outcomes\] section"):
        calibrate(config)


def test_threshold_sweep_and_targets(tmp_path: Path):
    # 100 leads scoring 0..99 points through a lead rule on column `score`; the top 40
    # (scores 60..99) convert and so do 20 of the lower 60 (scores 0..19)
    leads = [{"id": f"L{n:03d}", "score": str(n)} for n in range(100)]
    outcomes = [
        {"id": f"L{n:03d}", "status": "SQL" if n >= 60 or n < 20 else "no"} for n in range(100)
    ]
    write_csv(tmp_path / "leads.csv", leads)
    write_csv(tmp_path / "outcomes.csv", outcomes)
    rules = [
        {"name": f"At least {n}", "source": "lead", "where": [{"field": "score", "min": n}]}
        | {"points": 1}
        for n in range(1, 100)
    ]
    raw: dict[str, Any] = {
        "inputs": {"leads": str(tmp_path / "leads.csv")},
        "leads": {"id": "id"},
        "engagement": {"rules": rules},
        "mql": {"threshold": 50},
        "outcomes": {"file": str(tmp_path / "outcomes.csv"), "lead_id": "id"}
        | {"column": "status", "sql": ["SQL"]},
    }
    report = calibrate(parse_config(raw), target_precision=1.0, target_mqls=30).report
    sweep = report["threshold_sweep"]
    # every lead scoring 60 or more converted, and none from 20 to 59
    assert sweep["threshold_for_precision"] == 60
    # scores 70..99 are 30 leads
    assert sweep["threshold_for_mqls"] == 70
    at_50 = next(row for row in sweep["rows"] if row["threshold"] == 50)
    assert at_50["mqls"] == 50
    assert at_50["precision"] == pytest.approx(40 / 50)
    assert at_50["recall"] == pytest.approx(40 / 60)


def test_explain_with_outcomes_shows_suggested_points(tmp_path: Path):
    leads, outcomes = planted_data(per_group=100)
    write_csv(tmp_path / "leads.csv", leads)
    write_csv(tmp_path / "outcomes.csv", outcomes)
    config_path = tmp_path / "leadq.toml"
    config_path.write_text(
        """
[inputs]
leads = "leads.csv"
[leads]
id = "id"
[[engagement.rules]]
name = "Predictive"
source = "lead"
where = [{ field = "a", equals = "yes" }]
points = 5
[[engagement.rules]]
name = "Noise"
source = "lead"
where = [{ field = "b", equals = "yes" }]
points = 20
[mql]
threshold = 20
[outcomes]
lead_id = "id"
column = "status"
sql = ["SQL"]
""",
        encoding="utf-8",
    )
    args = ["explain", "--config", str(config_path), "--outcomes", str(tmp_path / "outcomes.csv")]
    result = runner.invoke(app, [*args, "L0001"])
    assert result.exit_code == 0, result.output
    # L0001 hits both rules: 5 + 20 points now, 20 + 0 with the suggested points
    assert "Suggested points (score 20 with them)" in result.stdout
