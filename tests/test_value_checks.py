"""Warnings about lead values that numeric fit criteria cannot read as the export meant."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from leadq.cli import app
from leadq.config import Config, parse_config
from leadq.value_checks import number_problems

runner = CliRunner()


def config(fit: dict[str, list[dict[str, object]]], *, decimal_comma: bool = False) -> Config:
    raw = {
        "inputs": {"decimal_comma": decimal_comma},
        "leads": {"id": "Record ID"},
        "fit": fit,
        "mql": {"threshold": 1},
    }
    return parse_config(raw)


LEADS = pl.DataFrame(
    {
        "Record ID": ["1", "2", "3", "4", "5"],
        "Employees": ["1.200", "abc", "250", "abc", "unknown"],
        "Industry": ["Software", "1,5", "x", None, "Retail"],
    }
)


def test_numeric_filter_values_counted():
    size = {"name": "Company size", "field": "Employees", "between": [50, 5000]}
    (problem,) = number_problems(LEADS, config({"filters": [size]}))
    assert problem.column == "Employees"
    assert problem.criteria == ["Company size"]
    # 'abc' twice and 'unknown' once; '1.200' and '250' are numbers
    assert problem.not_numbers == 3
    assert problem.not_number_examples == ["abc", "unknown"]
    assert problem.point_thousands == 1
    assert problem.point_thousands_examples == ["1.200"]


def test_decimal_comma_reads_point_thousands():
    size = {"name": "Company size", "field": "Employees", "min": 50}
    (problem,) = number_problems(LEADS, config({"filters": [size]}, decimal_comma=True))
    assert problem.point_thousands == 0
    assert problem.not_numbers == 3


def test_text_criteria_not_checked():
    industry = {"name": "Target industry", "field": "Industry", "in": ["Software"]}
    assert number_problems(LEADS, config({"filters": [industry]})) == []


def test_number_in_list_makes_criterion_numeric():
    # `in = [1]` compares numbers, so 'x' and 'Software' are not numbers; '1,5' is not either
    listed = {"name": "Tier", "field": "Industry", "in": [1]}
    (problem,) = number_problems(LEADS, config({"exclude": [listed]}))
    assert problem.not_numbers == 4


def test_check_warns_with_setting(tmp_path: Path):
    (tmp_path / "leads.csv").write_text("Record ID,Employees\n1,1.200\n2,abc\n3,250\n")
    (tmp_path / "c.toml").write_text(
        '[inputs]\nleads = "leads.csv"\n[leads]\nid = "Record ID"\n'
        '[[fit.filters]]\nname = "Company size"\nfield = "Employees"\nbetween = [50, 5000]\n'
        "[mql]\nthreshold = 1\n"
    )
    result = runner.invoke(app, ["check", "--config", str(tmp_path / "c.toml")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "1 value of 'Employees' is not a number ('abc')" in text
    assert "'Company size' compares it as a number" in text
    assert "set inputs.decimal_comma = true" in text
