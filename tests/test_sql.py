"""The SQL model: DuckDB and Spark give the Polars engine's fit, score and MQL for every lead."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlglot
from typer.testing import CliRunner

from leadq.cli import app
from leadq.config import Config, load_config, parse_config
from leadq.scoring import ScoringResult, score_leads
from leadq.sql import DIALECTS, DialectError, NotSupportedError, scoring_script, support
from leadq.sql.engines import score_leads_in_engine
from tests.conftest import AS_OF, write_csv

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "sql"
SAMPLES = ("b2b", "b2c")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark for the whole run: a JVM takes seconds to start.

    Spark needs a Java runtime. Without one the Spark tests are skipped, so that a fresh
    machine with only Python gets a green run, unless LEADQ_REQUIRE_SPARK=1 is set, as
    `.ci/run` does. A Spark that cannot start then fails the tests instead.
    """
    has_java = shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))
    if not has_java and os.environ.get("LEADQ_REQUIRE_SPARK") != "1":
        pytest.skip("Spark needs a Java runtime, and none is installed (Debian: default-jre)")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("leadq-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _messy(folder: Path) -> Config:
    """A small export with every quirk the SQL must read like leadq does.

    The zone is New York, the window the 10 days 2026-11-21 to 2026-11-30.
    """
    write_csv(
        folder / "leads.csv",
        [
            {"id": " L1 ", "email": "a@x.example", "Industry": "  software ", "Employees": "1,200"},
            {"id": "L2", "email": "b@x.example", "Industry": "Software", "Employees": "abc"},
            {"id": "L3", "email": "old@x.example", "Industry": "Retail", "Employees": "10"},
            {"id": "L3", "email": "c@x.example", "Industry": "SOFTWARE", "Employees": "80"},
            {"id": "", "email": "d@x.example", "Industry": "Software", "Employees": "80"},
            {"id": "L4", "email": "e@gmail.example", "Industry": "-", "Employees": "N/A"},
            {
                "id": "L5",
                "email": "f@x.example",
                "Industry": "Software",
                "Employees": "50",
                "Newsletter": "Yes",
            },
            {"id": "L6", "email": "g@x.example", "Industry": "software", "Employees": "5000.0"},
        ],
    )
    epoch = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC).timestamp()
    rows = [
        ("L1", " Page_View ", "2026-11-30T23:59:59", "/pricing"),  # last day, wall time
        ("L1", "page_view", "2026-12-01T04:30:00Z", "/pricing"),  # 23:30 on the 30th in NY
        ("L1", "page_view", "2026-12-01T05:00:00Z", "/pricing"),  # midnight: future-dated
        ("L1", "page_view", "2026-11-21 00:00:00", "/"),  # first day of the window
        ("L1", "page_view", "2026-11-20T23:59:59", "/"),  # before the window
        ("L1", "page_view", "2026-11-21T04:59:59Z", "/"),  # 23:59 on the 20th in NY
        ("L2", "page_view", str(int(epoch)), "/pricing"),  # epoch seconds
        ("L2", "email_click", str(int(epoch * 1000)), "/"),  # epoch milliseconds
        ("L2", "page_view", "25.11.2026 14:05", "/pricing"),  # dotted date, day first
        ("L2", "page_view", "29.11.26", "/"),  # two-digit year
        ("L2", "page_view", "1.12.26", "/"),  # future
        ("L2", "page_view", "2026-11-30T08:00:00+05:30", "/pricing"),  # 21:30 on the 29th
        ("L2", "content_download", "2026-11-28T10:00:00-0400", "/ebook"),
        ("L2", "content_download", "2026-11-27", "/whitepaper"),  # a date alone
        ("L3", "page_view", "2026-11-29T10:00:00Z", "/pricing"),  # three ties for max_count
        ("L3", "page_view", "2026-11-29T10:00:00Z", "/pricing"),
        ("L3", "page_view", "2026-11-29T10:00:00Z", "/pricing"),
        ("L4", "page_view", "2026-11-28T10:00:00.123Z", "/pricing"),
        ("L4", "content_download", "2026-11-26t10:00:00z", "/ebook"),
        ("L5", "content_download", "2026-11-26 10:00:00 +01:00", "/EBOOK"),
        ("L5", "page_view", "not a date", "/pricing"),
        ("L5", "page_view", "", "/pricing"),
        ("L5", "page_view", "N/A", "/pricing"),
        ("L999", "page_view", "2026-11-29T10:00:00Z", "/pricing"),  # no such lead
        (" L6", "Email_Click ", "2026-11-24T10:00:00Z", "/"),
    ]
    write_csv(
        folder / "activities.csv",
        [{"lead": lead, "type": kind, "at": at, "page": page} for lead, kind, at, page in rows],
    )
    raw: dict[str, Any] = {
        "inputs": {
            "leads": str(folder / "leads.csv"),
            "activities": [str(folder / "activities.csv")],
        },
        "leads": {"id": "id", "email": "email"},
        "activities": {
            "lead_id": "lead",
            "type": "type",
            "timestamp": "at",
            "timezone": "America/New_York",
        },
        "fit": {
            "filters": [
                {"name": "Industry", "field": "Industry", "in": ["Software"]},
                {"name": "Size", "field": "Employees", "between": [50, 5000]},
            ],
            "exclude": [{"name": "Personal", "field": "email", "matches": "@GMAIL\\."}],
        },
        "engagement": {
            "lookback_days": 10,
            "half_life_days": 7,
            "rules": [
                {
                    "name": "Pricing",
                    "type": "page_view",
                    "where": [{"field": "page", "contains": "/pricing"}],
                    "points": 15,
                    "max_count": 2,
                },
                {"name": "Any view", "type": ["page_view", "Email_Click"], "points": 1.5},
                {
                    "name": "Download",
                    "type": "content_download",
                    "where": [{"field": "page", "matches": "whitepaper|ebook"}],
                    "points": -3.3,
                    "max_count": 1,
                },
                {
                    "name": "Newsletter fan",
                    "source": "lead",
                    "where": [{"field": "Newsletter", "in": [True]}],
                    "points": 7,
                },
            ],
        },
        "mql": {"threshold": 20, "qualifying_rules": ["Download"]},
        "output": {"columns": ["Industry"]},
    }
    return parse_config(raw)


def _messy_features(folder: Path, *, decay: str = "half_life") -> Config:
    """The messy export scored with grades, bands, cells, caps, frequency rules and accounts.

    `decay = "linear"` swaps the half-life for linear decay and rolls accounts up by industry,
    counting fit leads only and taking their highest score.
    """
    raw = _messy(folder).model_dump(by_alias=True, exclude_defaults=True)
    rules = raw["engagement"]["rules"]
    for rule in rules:
        if rule["name"] in ("Pricing", "Any view"):
            rule["group"] = "web"
    rules[1]["max_per_day"] = 2
    rules[2]["once_per_days"] = 3
    rules.append(
        {"name": "Download streak", "type": "content_download", "points": 4, "once_per_days": 2}
    )
    raw["engagement"]["groups"] = [{"name": "web", "max_points": 25}, {"name": "empty"}]
    raw["engagement"]["max_points"] = 25.5
    raw["engagement"]["bands"] = {"hot": 20, "warm": 5}
    raw["engagement"]["fallback_band"] = "cold"
    raw["fit"]["points"] = [
        {"name": "Software", "field": "Industry", "equals": "software", "points": 30},
        {"name": "Mid-size", "field": "Employees", "between": [100, 5000], "points": 20},
        {"name": "Newsletter", "field": "Newsletter", "missing": False, "points": -12.5},
        {"name": "Free mail", "field": "email", "contains": "gmail", "points": -40},
    ]
    raw["fit"]["grades"] = {"A": 45, "B": 20}
    raw["fit"]["fallback_grade"] = "C"
    raw["mql"] = {
        "threshold": 28,
        "qualifying_rules": ["Download"],
        "cells": ["Awarm", "Bhot"],
        "min_grade": "B",
        "account_rule": "mqa",
    }
    raw["accounts"] = {
        "key_from_email": True,
        "threshold": 20,
        "min_engaged_leads": 2,
        "filters": [
            {"name": "Software", "field": "Industry", "in": ["software"]},
            {"name": "Two fit leads", "field": "fit_leads", "min": 2},
        ],
    }
    if decay == "linear":
        del raw["engagement"]["half_life_days"]
        raw["engagement"]["decay"] = "linear"
        raw["mql"]["account_rule"] = "none"
        raw["accounts"] = {
            "key": "Industry",
            "leads": "fit",
            "engagement": "max",
            "threshold": 10,
            "exclude": [{"name": "Unnamed", "field": "account", "matches": "^-$"}],
        }
    return parse_config(raw)


def _config(name: str, folder: Path) -> Config:
    if name == "messy":
        return _messy(folder)
    if name == "messy-features":
        return _messy_features(folder)
    if name == "messy-linear":
        return _messy_features(folder, decay="linear")
    return load_config(ROOT / "configs" / f"{name}.toml")


CONFIGS = [*SAMPLES, "messy", "messy-features", "messy-linear"]
# columns that hold numbers rounded to cents, compared to 0.01; all others must be equal
_ROUNDED = ("engagement_score", "fit_score")


def _assert_same_leads(expected: ScoringResult, actual: ScoringResult) -> None:
    left = expected.scored_leads.sort("lead_id")
    right = actual.scored_leads.sort("lead_id")
    assert left.columns == right.columns
    for column in left.columns:
        if column in _ROUNDED or column.startswith("group_"):
            gap = (left.get_column(column) - right.get_column(column)).abs()
            assert gap.max() is None or gap.max() <= 0.01, column  # type: ignore[operator]
        else:
            assert left.get_column(column).to_list() == right.get_column(column).to_list(), column
    left_accounts = expected.account_table
    right_accounts = actual.account_table
    assert (left_accounts is None) == (right_accounts is None)
    if left_accounts is not None and right_accounts is not None:
        assert left_accounts.columns == right_accounts.columns
        for column in left_accounts.columns:
            values = right_accounts.get_column(column).to_list()
            assert left_accounts.get_column(column).to_list() == values, f"accounts.{column}"


@pytest.mark.parametrize("name", CONFIGS)
def test_duckdb_agrees_with_polars(name: str, tmp_path: Path) -> None:
    config = _config(name, tmp_path)
    expected = score_leads(config, as_of=AS_OF)
    actual = score_leads_in_engine(config, engine="duckdb", as_of=AS_OF)
    _assert_same_leads(expected, actual)
    assert actual.activity_counts == expected.activity_counts
    assert actual.rejects.equals(expected.rejects)


@pytest.mark.parametrize("name", CONFIGS)
def test_spark_agrees_with_polars(name: str, tmp_path: Path, spark: Any) -> None:
    config = _config(name, tmp_path)
    expected = score_leads(config, as_of=AS_OF)
    actual = score_leads_in_engine(config, engine="spark", as_of=AS_OF, spark_session=spark)
    _assert_same_leads(expected, actual)
    assert actual.activity_counts == expected.activity_counts


def _score_of(result: ScoringResult, lead_id: str) -> float:
    rows = result.scored_leads.filter(pl.col("lead_id") == lead_id)
    return float(rows.get_column("engagement_score")[0])


def test_messy_scores_worked_out_by_hand(tmp_path: Path) -> None:
    config = _messy(tmp_path)
    result = score_leads_in_engine(config, engine="duckdb", as_of=AS_OF)
    # L3: three pricing views at one time on the 29th (age 1): max_count 2 counts two of
    # them, 2 * 15 * 0.5 ** (1/7) = 27.172, and "Any view" counts all three,
    # 3 * 1.5 * 0.5 ** (1/7) = 4.076; together 31.248, written 31.25
    assert _score_of(result, "L3") == 31.25
    # L1 in window: the 30th twice (age 0) and the 21st (age 9). Pricing: 2 * 15 = 30;
    # Any view: 1.5 + 1.5 + 1.5 * 0.5 ** (9/7) = 3.615; together 33.615, written 33.62
    # (rounded half away from zero), but L1 is fit, so also an MQL by score
    assert _score_of(result, "L1") == 33.62
    # L5: a Download on the 26th (age 4, -3.3 * 0.5 ** (4/7) = -2.222) and the lead rule
    # (+7): 4.78; the qualifying Download makes this fit lead an MQL despite the low score
    assert _score_of(result, "L5") == 4.78
    assert result.scored_leads.filter(pl.col("lead_id") == "L5").get_column("mql")[0]
    # future-dated: L1 at midnight in New York and L2's 1.12.26
    assert result.activity_counts.future_dated == 2


def _row_of(result: ScoringResult, lead_id: str) -> dict[str, Any]:
    return result.scored_leads.filter(pl.col("lead_id") == lead_id).row(0, named=True)


def test_messy_features_worked_out_by_hand(tmp_path: Path) -> None:
    result = score_leads_in_engine(_messy_features(tmp_path), engine="duckdb", as_of=AS_OF)
    # L3: three pricing views at one time on the 29th (age 1, decay 0.5 ** (1/7) = 0.9057).
    # Pricing keeps 2 (max_count): 27.17; Any view keeps 2 a day (max_per_day): 2.72. The
    # web group caps their 29.89 at 25, cutting 4.89
    l3 = _row_of(result, "L3")
    assert l3["reasons"] == "Any view x2 +2.72; Pricing x2 +27.17; group web capped at 25 (-4.89)"
    assert l3["engagement_score"] == 25.0
    assert l3["group_web"] == 25.0
    assert l3["group_empty"] == 0.0
    # fit points: SOFTWARE equals software (+30), 80 staff is not mid-size, no newsletter
    # column value, no free mail: 30, grade B; score 25 is band hot, and cell Bhot is listed,
    # though 25 is below the threshold 28
    assert (l3["fit_score"], l3["fit_grade"], l3["engagement_band"]) == (30.0, "B", "hot")
    assert l3["grade_band"] == "Bhot"
    assert l3["mql_reason"].startswith("cell Bhot; account x.example is MQA (")
    # L2: downloads on the 28th (age 2, decay 0.8203) and the 27th (age 3). Download keeps
    # one per 3 days back from the as-of day (ages 0-2 and 3-5), so both, then max_count 1
    # the latest: -3.3 * 0.8203 = -2.71. Download streak keeps one per 2 days (ages 2-3 are
    # one period): 4 * 0.8203 = 3.28. The group gives 25, the total 25.57 is capped at 25.5
    l2 = _row_of(result, "L2")
    assert "Download x1 -2.71; Download streak x1 +3.28;" in l2["reasons"]
    assert l2["reasons"].endswith("group web capped at 25 (-2.27); total capped at 25.5 (-0.07)")
    assert l2["engagement_score"] == 25.5
    # L5 is fit but grade C, below min_grade B, yet its account x.example is an MQA
    l5 = _row_of(result, "L5")
    assert l5["mql"]
    assert l5["mql_reason"].startswith("account x.example is MQA (score ")
    accounts = result.account_table
    assert accounts is not None
    assert accounts.get_column("account").to_list() == ["x.example", "gmail.example"]
    assert accounts.get_column("engaged_lead_ids").to_list()[0] == "L2; L1; L3; L5; L6"


def test_linear_decay_worked_out_by_hand(tmp_path: Path) -> None:
    config = _messy_features(tmp_path, decay="linear")
    result = score_leads_in_engine(config, engine="duckdb", as_of=AS_OF)
    # L3: age 1 of a 10-day window earns 1 - 1/10 = 0.9: Pricing 2 * 15 * 0.9 = 27, Any view
    # 2 * 1.5 * 0.9 = 2.7
    assert _row_of(result, "L3")["reasons"] == (
        "Any view x2 +2.7; Pricing x2 +27; group web capped at 25 (-4.7)"
    )
    # L6: one email click on the 24th, age 6: 1.5 * 0.4 = 0.6
    assert _row_of(result, "L6")["engagement_score"] == 0.6


def test_ledger_with_engine_is_refused(tmp_path: Path) -> None:
    args = ["score", "--config", str(ROOT / "configs" / "b2c.toml"), "--as-of", "2026-11-30"]
    result = CliRunner().invoke(
        app, [*args, "--engine", "duckdb", "--ledger", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    assert "--ledger needs the default engine" in result.output
    assert not (tmp_path / "out").exists()


def test_score_engine_duckdb_writes_report_state_and_accounts(tmp_path: Path) -> None:
    config = str(ROOT / "configs" / "b2b.toml")
    runner = CliRunner()
    for engine in ("polars", "duckdb"):
        args = ["score", "--config", config, "--as-of", "2026-11-30", "-q", "--engine", engine]
        args += ["--out", str(tmp_path / engine), "--report", str(tmp_path / f"{engine}.html")]
        args += ["--state", str(tmp_path / f"{engine}.state")]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert (tmp_path / f"{engine}.html").stat().st_size > 0
    for name in ("scored_leads.csv", "mqls.csv", "accounts.csv", "new_mqls.csv"):
        polars_file = (tmp_path / "polars" / name).read_bytes()
        assert (tmp_path / "duckdb" / name).read_bytes() == polars_file, name


def test_golden_files_match_and_parse_back() -> None:
    update = os.environ.get("LEADQ_UPDATE_GOLDEN") == "1"
    for name in SAMPLES:
        config = load_config(ROOT / "configs" / f"{name}.toml")
        for dialect in DIALECTS:
            script = scoring_script(config, dialect=dialect, as_of=AS_OF)
            path = GOLDEN / f"{name}.{dialect}.sql"
            if update:
                path.write_text(script, encoding="utf-8")
            assert path.read_text(encoding="utf-8") == script, (
                f"{path.name} differs from the generated SQL; if the change is intended, run "
                "LEADQ_UPDATE_GOLDEN=1 pytest tests/test_sql.py and review the diff"
            )
            statements = [s for s in sqlglot.parse(script, read=dialect) if s is not None]
            tables = 2 if config.accounts is not None else 1
            assert [type(s).__name__ for s in statements] == ["Drop", "Create"] * tables


def test_unknown_setting_is_refused_naming_the_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    # pretend max_count were a setting added after the generator
    known = support.SUPPORTED_KEYS[support.EngagementRule] - {"max_count"}
    monkeypatch.setitem(support.SUPPORTED_KEYS, support.EngagementRule, known)
    config = load_config(ROOT / "configs" / "b2b.toml")
    with pytest.raises(NotSupportedError) as error:
        scoring_script(config, dialect="duckdb", as_of=AS_OF)
    expected = (
        "not supported by --engine/sql yet: max_count in engagement.rules[1] ('Pricing page visit')"
    )
    assert expected in str(error.value)


def test_timestamp_format_is_refused(tmp_path: Path) -> None:
    config = _messy(tmp_path)
    assert config.activities is not None
    config.activities.timestamp_format = "%d/%m/%Y"
    with pytest.raises(NotSupportedError, match=r"timestamp_format in activities"):
        scoring_script(config, dialect="spark", as_of=AS_OF)


@pytest.mark.parametrize("dialect", ["snowflake", "postgres"])
def test_word_boundary_refused_in_snowflake_and_postgres(dialect: str) -> None:
    config = load_config(ROOT / "benchmarks" / "bench.toml")
    with pytest.raises(DialectError, match=r"fit\.exclude\[2\] \('Competitor'\)"):
        scoring_script(config, dialect=dialect, as_of=AS_OF)


def test_sql_command_prints_the_script() -> None:
    result = CliRunner().invoke(
        app,
        [
            "sql",
            "--config",
            str(ROOT / "configs" / "b2b.toml"),
            "--dialect",
            "bigquery",
            "--as-of",
            "2026-11-30",
            "--leads-table",
            "crm.leads",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "FROM crm.leads" in result.stdout
    assert result.stdout.startswith("-- leadq scoring model for bigquery, as of 2026-11-30")


def test_score_engine_duckdb_writes_the_same_files(tmp_path: Path) -> None:
    config = str(ROOT / "configs" / "b2c.toml")
    runner = CliRunner()
    for engine in ("polars", "duckdb"):
        args = ["score", "--config", config, "--as-of", "2026-11-30", "-q", "--engine", engine]
        result = runner.invoke(app, [*args, "--out", str(tmp_path / engine)])
        assert result.exit_code == 0, result.output
    for name in ("scored_leads.csv", "mqls.csv", "rejects.csv"):
        polars_file = (tmp_path / "polars" / name).read_bytes()
        assert (tmp_path / "duckdb" / name).read_bytes() == polars_file, name
