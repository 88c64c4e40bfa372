"""Several scoring models in one config: shared and own rules, one row per lead and model."""

from __future__ import annotations

import copy
import datetime as dt
import json
import tomllib
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from leadq import activity_scoring, scoring
from leadq.cli import app
from leadq.config import load_config, parse_config
from leadq.errors import ConfigError, InputDataError
from leadq.scoring import ScoringResult, score_leads
from leadq.summary import build_summary, summary_markdown
from tests.conftest import Scorer

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "configs" / "examples" / "b2b-two-models.toml"
AS_OF = dt.date(2026, 11, 30)
runner = CliRunner()

# Unsubscribe is shared. Analytics adds its pricing page and a qualifying demo request, with
# threshold 30. Payments adds its own pricing page and a lead rule, and keeps the top-level
# threshold of 10. Both models name a rule "Pricing": names are unique within a model only.
CONFIG: dict[str, Any] = {
    "engagement": {"rules": [{"name": "Unsubscribe", "type": "unsubscribe", "points": -5}]},
    "mql": {"threshold": 10},
    "models": [
        {
            "name": "Analytics",
            "rules": [
                {
                    "name": "Pricing",
                    "type": "page_view",
                    "where": [{"field": "page", "contains": "/pricing/analytics"}],
                    "points": 20,
                },
                {"name": "Demo request", "type": "form", "points": 1},
            ],
            "mql": {"threshold": 30, "qualifying_rules": ["Demo request"]},
        },
        {
            "name": "Payments",
            "rules": [
                {
                    "name": "Pricing",
                    "type": "page_view",
                    "where": [{"field": "page", "contains": "/pricing/payments"}],
                    "points": 8,
                },
                {
                    "name": "Referred",
                    "source": "lead",
                    "where": [{"field": "source", "equals": "referral"}],
                    "points": 3,
                },
            ],
        },
    ],
}
LEADS = [
    {"id": "L1", "email": "l1@a.example", "source": ""},
    {"id": "L2", "email": "l2@b.example", "source": "referral"},
    {"id": "L3", "email": "l3@c.example", "source": ""},
    {"id": "L4", "email": "l4@d.example", "source": ""},
]


def visit(lead_id: str, page: str) -> dict[str, str]:
    return {"lead": lead_id, "type": "page_view", "at": "2026-11-20", "page": page}


def action(lead_id: str, kind: str) -> dict[str, str]:
    return {"lead": lead_id, "type": kind, "at": "2026-11-20", "page": ""}


ACTIVITIES = [
    visit("L1", "/pricing/analytics"),
    visit("L1", "/pricing/analytics"),
    action("L1", "unsubscribe"),
    visit("L2", "/pricing/payments"),
    visit("L2", "/pricing/payments"),
    action("L3", "form"),
    action("L4", "form"),
    visit("L4", "/pricing/payments"),
    visit("L4", "/pricing/payments"),
]


@pytest.fixture
def result(score: Scorer) -> ScoringResult:
    return score(copy.deepcopy(CONFIG), LEADS, ACTIVITIES)


def rows(frame: pl.DataFrame, *columns: str) -> list[tuple[Any, ...]]:
    return list(frame.select(columns).iter_rows())


def test_scores_per_model(result: ScoringResult):
    assert rows(result.scored_leads, "lead_id", "model", "engagement_score", "mql") == [
        # Analytics: 2 x 20 - 5 = 35 >= 30. Payments: only the shared unsubscribe, -5
        ("L1", "Analytics", 35.0, True),
        ("L1", "Payments", -5.0, False),
        # Payments: 2 x 8 + 3 for the referral = 19 >= 10; Analytics has no rule for it
        ("L2", "Analytics", 0.0, False),
        ("L2", "Payments", 19.0, True),
        # the demo request qualifies in Analytics with a score of 1; Payments ignores forms
        ("L3", "Analytics", 1.0, True),
        ("L3", "Payments", 0.0, False),
        # an MQL in both models: the demo request, and 2 x 8 = 16 >= 10
        ("L4", "Analytics", 1.0, True),
        ("L4", "Payments", 16.0, True),
    ]


def test_reasons_per_model(result: ScoringResult):
    assert rows(result.scored_leads, "reasons", "mql_reason")[:4] == [
        ("Pricing x2 +40; Unsubscribe x1 -5", "score 35 >= 30"),
        ("Unsubscribe x1 -5", "score -5 < 10"),
        ("", "score 0 < 30"),
        ("Pricing x2 +16; Referred x1 +3", "score 19 >= 10"),
    ]
    assert rows(result.scored_leads, "mql_reason")[4] == ("Demo request",)


def test_model_column_follows_lead_id(result: ScoringResult):
    assert result.scored_leads.columns[:3] == ["lead_id", "model", "email"]
    assert result.mqls.columns == result.scored_leads.columns


def test_mqls_by_score_then_lead_then_model(result: ScoringResult):
    assert rows(result.mqls, "lead_id", "model", "engagement_score") == [
        ("L1", "Analytics", 35.0),
        ("L2", "Payments", 19.0),
        ("L4", "Payments", 16.0),
        ("L3", "Analytics", 1.0),
        ("L4", "Analytics", 1.0),
    ]


def test_rows_follow_config_order_of_models(score: Scorer):
    # B comes before A in the config; both models only have the shared rule
    config = {
        "engagement": {"rules": [{"name": "Webinar", "type": "webinar", "points": 12}]},
        "models": [{"name": "B"}, {"name": "A"}],
    }
    activities = [action("L2", "webinar"), action("L1", "webinar")]
    leads = [{"id": "L2", "email": ""}, {"id": "L1", "email": ""}]
    tied = score(config, leads, activities)
    expected = [("L1", "B"), ("L1", "A"), ("L2", "B"), ("L2", "A")]
    assert rows(tied.scored_leads, "lead_id", "model") == expected
    assert rows(tied.mqls, "lead_id", "model") == expected


def test_summary_per_model(result: ScoringResult):
    summary = build_summary(result)
    # leads, not rows: L1 to L4 are each engaged and an MQL in at least one model
    assert {key: summary["leads"][key] for key in ("total", "fit", "engaged", "mql")} == {
        "total": 4,
        "fit": 4,
        "engaged": 4,
        "mql": 4,
    }
    assert summary["rules"] == []
    analytics, payments = summary["models"]
    assert (analytics["name"], analytics["threshold"]) == ("Analytics", 30)
    assert analytics["qualifying_rules"] == ["Demo request"]
    # engaged: L1 (35), L3 (1), L4 (1); MQL: the same three
    assert [analytics[key] for key in ("total", "fit", "engaged", "mql")] == [4, 4, 3, 3]
    # engaged and MQL: L2 (19) and L4 (16)
    assert [payments[key] for key in ("total", "fit", "engaged", "mql")] == [4, 4, 2, 2]
    assert [(r["name"], r["hits"], r["leads"], r["points"]) for r in analytics["rules"]] == [
        ("Unsubscribe", 1, 1, -5.0),
        ("Pricing", 2, 1, 40.0),
        ("Demo request", 2, 2, 2.0),
    ]
    assert [(r["name"], r["source"], r["hits"], r["points"]) for r in payments["rules"]] == [
        ("Unsubscribe", "activity", 1, -5.0),
        ("Pricing", "activity", 4, 32.0),
        ("Referred", "lead", 1, 3.0),
    ]


def test_summary_markdown_lists_models(result: ScoringResult):
    text = summary_markdown(build_summary(result))
    assert "| Analytics | 30 | Demo request | 4 | 4 | 3 | 3 |" in text
    assert "| Payments | 10 | none | 4 | 4 | 2 | 2 |" in text
    assert "## Engagement rules of model Payments" in text


def test_ledger_rows_carry_model(score: Scorer):
    result = score(copy.deepcopy(CONFIG), LEADS, ACTIVITIES)
    ledger = result.ledger_for("L1")
    # latest first within a model: the unsubscribe is the later row of the same day
    assert rows(ledger, "model", "rule", "points_earned") == [
        ("Analytics", "Unsubscribe", -5.0),
        ("Analytics", "Pricing", 20.0),
        ("Analytics", "Pricing", 20.0),
        ("Payments", "Unsubscribe", -5.0),
    ]
    assert ledger.columns[:2] == ["lead_id", "model"]


def test_missing_column_names_model_rule(score: Scorer):
    config = copy.deepcopy(CONFIG)
    config["models"][1]["rules"][0]["where"][0]["field"] = "url"
    key = r"models\[2\] \('Payments'\)\.rules\[1\] \('Pricing'\)\.where\[1\]"
    with pytest.raises(InputDataError, match=key):
        score(config, LEADS, ACTIVITIES)


def test_one_model_matches_no_models(tmp_path: Path):
    # The b2b sample as one model holding all its rules scores as the plain config does.
    raw = tomllib.loads((ROOT / "configs" / "b2b.toml").read_text(encoding="utf-8"))
    folder = ROOT / "configs"
    raw["inputs"]["leads"] = str(folder / raw["inputs"]["leads"])
    raw["inputs"]["activities"] = [str(folder / p) for p in raw["inputs"]["activities"]]
    del raw["accounts"]
    plain = score_leads(parse_config(raw), as_of=AS_OF, full_ledger=True)

    rules = raw["engagement"].pop("rules")
    raw["models"] = [{"name": "All", "rules": rules}]
    single = score_leads(parse_config(raw), as_of=AS_OF, full_ledger=True)
    assert_frame_equal(single.scored_leads.drop("model"), plain.scored_leads)
    assert_frame_equal(single.mqls.drop("model"), plain.mqls)
    assert_frame_equal(single.ledger().drop("model"), plain.ledger())


def example_raw() -> dict[str, Any]:
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    folder = EXAMPLE.parent
    raw["inputs"]["leads"] = str(folder / raw["inputs"]["leads"])
    raw["inputs"]["activities"] = [str(folder / p) for p in raw["inputs"]["activities"]]
    return raw


@pytest.mark.parametrize("position", [0, 1])
def test_example_models_match_separate_runs(position: int):
    # each model of the one-pass run scores as a config of that model alone
    raw = example_raw()
    both = score_leads(parse_config(raw), as_of=AS_OF)
    model = raw.pop("models")[position]
    raw["engagement"]["rules"] += model["rules"]
    raw["mql"] = model["mql"]
    alone = score_leads(parse_config(raw), as_of=AS_OF)
    got = both.scored_leads.filter(pl.col("model") == model["name"]).drop("model")
    assert_frame_equal(got, alone.scored_leads)


def test_example_funnel():
    result = score_leads(load_config(EXAMPLE), as_of=AS_OF)
    summary = build_summary(result)
    funnel = {m["name"]: (m["fit"], m["engaged"], m["mql"]) for m in summary["models"]}
    assert funnel == {"Platform": (266, 255, 70), "API": (266, 262, 66)}
    # 16 leads are an MQL in Platform only, 12 in API only and 54 in both: 82 leads, 136 rows
    assert summary["leads"]["mql"] == 82
    assert result.scored_leads.height == 800
    assert result.mqls.height == 136


@pytest.mark.parametrize("batch_rows", [97, 1000])
def test_example_batches_match_whole_files(batch_rows: int):
    config = load_config(EXAMPLE)
    whole = score_leads(config, as_of=AS_OF, batch_rows=None, full_ledger=True)
    batched = score_leads(config, as_of=AS_OF, batch_rows=batch_rows, full_ledger=True)
    assert_frame_equal(batched.scored_leads, whole.scored_leads)
    assert_frame_equal(batched.ledger(), whole.ledger())
    assert batched.activity_counts == whole.activity_counts


def test_models_read_activities_once(monkeypatch: pytest.MonkeyPatch):
    reads: list[int] = []
    real_reader = activity_scoring.score_activity_files

    def counting_reader(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return real_reader(*args, **kwargs)

    monkeypatch.setattr(scoring, "score_activity_files", counting_reader)
    result = score_leads(load_config(EXAMPLE), as_of=AS_OF)
    assert len(reads) == 1
    assert result.activity_counts.total == 4023


# Validation: every problem with its key path


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    return caught.value.problems


def base_raw(**changes: Any) -> dict[str, Any]:
    raw = {
        "leads": {"id": "id"},
        "activities": {"lead_id": "lead", "type": "type", "timestamp": "at"},
        "engagement": {"rules": [{"name": "Unsubscribe", "type": "unsubscribe", "points": -5}]},
        "mql": {"threshold": 10},
        "models": [
            {"name": "A", "rules": [{"name": "Pricing", "type": "page_view", "points": 20}]},
            {"name": "B", "rules": [{"name": "Demo", "type": "form", "points": 30}]},
        ],
    }
    raw.update(changes)
    return raw


def test_valid_models_parse():
    config = parse_config(base_raw())
    assert [model.name for model in config.models] == ["A", "B"]
    assert [rule.name for rule in config.activity_rules] == ["Unsubscribe", "Pricing", "Demo"]


def test_points_error_has_model_path():
    raw = base_raw()
    raw["models"][1]["rules"][0]["points"] = "30"
    assert problems(raw) == [
        "models[2] ('B').rules[1] ('Demo').points: input should be a valid number, got '30'; "
        "write numbers and true/false without quotes"
    ]


def test_model_names_unique_ignoring_case():
    raw = base_raw()
    raw["models"][1]["name"] = "a"
    assert problems(raw) == [
        "models[2] ('a').name: models[1] ('A') already has this name; model names must be "
        "unique, ignoring case"
    ]


@pytest.mark.parametrize("name", ["web/app", " A", "a:b"])
def test_model_name_must_suit_a_file_name(name: str):
    raw = base_raw()
    raw["models"][0]["name"] = name
    (problem,) = problems(raw)
    assert problem.startswith(f"models[1] ({name!r}).name: the name {name!r}")


def test_own_rule_may_not_reuse_a_shared_name():
    raw = base_raw()
    raw["models"][0]["rules"][0]["name"] = "Unsubscribe"
    assert problems(raw) == [
        "models[1] ('A').rules[1] ('Unsubscribe').name: a rule in [[engagement.rules]] is "
        "already named 'Unsubscribe', and the shared rules apply to every model; rule names "
        "must be unique within a model"
    ]


def test_qualifying_rule_of_another_model():
    raw = base_raw()
    raw["models"][0]["mql"] = {"threshold": 40, "qualifying_rules": ["Demo"]}
    assert problems(raw) == [
        "models[1] ('A').mql.qualifying_rules[1]: no engagement rule of model 'A' is named "
        "'Demo' (rules defined: 'Unsubscribe', 'Pricing')"
    ]


def test_top_level_mql_checked_per_model_using_it():
    # A uses [mql] and has no Demo rule; B has one, so only A is reported
    raw = base_raw(mql={"qualifying_rules": ["Demo"]})
    assert problems(raw) == [
        "mql.qualifying_rules[1]: no engagement rule of model 'A' is named 'Demo' "
        "(rules defined: 'Unsubscribe', 'Pricing')"
    ]


def test_model_rule_group_must_be_declared():
    raw = base_raw()
    raw["models"][1]["rules"][0]["group"] = "web"
    assert problems(raw) == [
        "models[2] ('B').rules[1] ('Demo').group: no group is named 'web' (groups declared: "
        "none); declare it with [[engagement.groups]]"
    ]


def test_model_mql_min_grade_needs_grades():
    raw = base_raw()
    raw["models"][0]["mql"] = {"threshold": 40, "min_grade": "A"}
    assert problems(raw) == [
        "models[1] ('A').mql.min_grade: set fit.grades too, so that leads have a grade"
    ]


def test_model_account_rule_rejected():
    raw = base_raw()
    raw["models"][0]["mql"] = {"account_rule": "mqa"}
    assert problems(raw) == [
        "models[1] ('A').mql.account_rule: \"mqa\" qualifies leads through their account, and "
        "accounts are not available with [[models]] yet; remove account_rule"
    ]


def test_unknown_key_in_model():
    raw = base_raw()
    raw["models"][0]["threshold"] = 40
    assert problems(raw) == ["models[1] ('A').threshold: unknown key; check the spelling"]


def test_accounts_rejected_with_models():
    raw = base_raw(accounts={"key": "Company", "threshold": 100})
    assert problems(raw) == [
        "accounts: accounts (MQAs and the account rule) is not available with [[models]] yet; "
        "remove [accounts] or the models"
    ]


# Commands that handle one row per lead reject a config with models


@pytest.mark.parametrize(
    ("args", "feature"),
    [
        (["score", "--report", "REPORT"], "--report"),
        (["score", "--state", "STATE"], "new and lost MQLs"),
        (["backtest", "--from", "2026-11-01", "--to", "2026-11-30"], "leadq backtest"),
        (["calibrate", "--as-of", "2026-11-30"], "leadq calibrate"),
        (["diff", "-c", str(EXAMPLE)], "leadq diff"),
    ],
)
def test_single_model_features_exit_2(tmp_path: Path, args: list[str], feature: str):
    args = [arg.replace("REPORT", str(tmp_path / "r.html")) for arg in args]
    args = [arg.replace("STATE", str(tmp_path / "state.parquet")) for arg in args]
    out = ["--out", str(tmp_path / "out")]
    result = runner.invoke(app, [*args, "-c", str(EXAMPLE), *out])
    assert result.exit_code == 2, result.output
    assert "not available with [[models]] yet" in result.output
    assert feature in result.output


def test_cli_score_writes_model_columns(tmp_path: Path):
    out = tmp_path / "out"
    args = ["score", "-c", str(EXAMPLE), "--as-of", "2026-11-30", "--out", str(out), "--ledger"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Models" in result.output
    assert "Engagement rules of model API" in result.output
    for name in ("scored_leads.csv", "mqls.csv", "ledger.csv"):
        header = (out / name).read_text(encoding="utf-8").splitlines()[0]
        assert header.startswith("lead_id,model,"), name
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [model["name"] for model in summary["models"]] == ["Platform", "API"]


def test_explain_shows_each_model():
    args = ["explain", "-c", str(EXAMPLE), "--as-of", "2026-11-30", "L-000001"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Model Platform" in result.output
    assert "Model API" in result.output
    assert "Demo request" in result.output


def test_explain_one_model():
    args = ["explain", "-c", str(EXAMPLE), "--as-of", "2026-11-30", "--model", "API"]
    result = runner.invoke(app, [*args, "L-000001"])
    assert result.exit_code == 0, result.output
    assert "Model API" in result.output
    assert "Model Platform" not in result.output


def test_explain_unknown_model_exits_2():
    args = ["explain", "-c", str(EXAMPLE), "--as-of", "2026-11-30", "--model", "Web"]
    result = runner.invoke(app, [*args, "L-000001"])
    assert result.exit_code == 2, result.output
    assert "no model has this name (models: 'Platform', 'API')" in result.output
