"""Accounts: leads rolled up by company, account fit, account score, MQA and the account rule.

Every lead earns 10 points per `page_view` on the as-of day (no decay), so a lead's score
is 10 times its visits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from leadq.accounts import ACCOUNT_COLUMNS, score_accounts
from leadq.cli import app
from leadq.config import AccountsSection, MqlSection, parse_config
from leadq.errors import ConfigError
from leadq.scoring import ScoringResult
from leadq.summary import build_summary
from tests.conftest import BASE_CONFIG, Scorer, lead, write_csv

VISIT = {"name": "Visit", "type": "page_view", "points": 10}
INDUSTRY = {"name": "Target industry", "field": "industry", "in": ["Software"]}


def settings(accounts: dict[str, Any], *, mql: dict[str, Any] | None = None, fit=True) -> dict:
    config: dict[str, Any] = {
        "engagement": {"rules": [VISIT]},
        "mql": mql or {"threshold": 100},
        "accounts": {"key": "company", **accounts},
    }
    if fit:
        config["fit"] = {"filters": [INDUSTRY]}
    return config


def person(lead_id: str, company: str, industry: str = "Software") -> dict[str, str]:
    return {
        "id": lead_id,
        "email": f"{lead_id.lower()}@x.example",
        "company": company,
        "industry": industry,
    }


def visits(counts: dict[str, int]) -> list[dict[str, str]]:
    return [
        {"lead": lead_id, "type": "page_view", "at": "2026-11-30"}
        for lead_id, count in counts.items()
        for _ in range(count)
    ]


# Acme: A1 30 points, A2 10 (not fit: Retail), A3 0. Beta: B1 20.
ACME_BETA = [
    person("A1", "Acme"),
    person("A2", "Acme", "Retail"),
    person("A3", "Acme"),
    person("B1", "Beta"),
]
ACME_BETA_VISITS = visits({"A1": 3, "A2": 1, "B1": 2})


def account(result: ScoringResult, name: str) -> dict[str, Any]:
    table = result.account_table
    assert table is not None
    rows = table.filter(pl.col("account") == name)
    assert rows.height == 1, f"expected one account {name!r}, got {rows.height}"
    return rows.row(0, named=True)


def test_sum_adds_every_lead(score: Scorer):
    result = score(settings({"threshold": 1000}), ACME_BETA, ACME_BETA_VISITS)
    acme = account(result, "Acme")
    # 30 + 10 + 0, the unfit A2 included
    assert acme["engagement_score"] == 40
    assert (acme["leads"], acme["fit_leads"], acme["engaged_leads"]) == (3, 2, 2)
    assert acme["engaged_lead_ids"] == "A1; A2"
    assert account(result, "Beta")["engagement_score"] == 20


def test_max_takes_the_best_lead(score: Scorer):
    result = score(settings({"threshold": 1000, "engagement": "max"}), ACME_BETA, ACME_BETA_VISITS)
    assert account(result, "Acme")["engagement_score"] == 30


def test_fit_leads_only(score: Scorer):
    config = settings({"threshold": 1000, "leads": "fit"})
    acme = account(score(config, ACME_BETA, ACME_BETA_VISITS), "Acme")
    # A1 30 + A3 0, because the unfit A2 neither scores nor counts as engaged
    assert acme["engagement_score"] == 30
    assert acme["engaged_leads"] == 1
    assert acme["engaged_lead_ids"] == "A1"


def test_account_without_counted_leads_scores_0(score: Scorer):
    leads = [person("R1", "Rmart", "Retail")]
    config = settings({"threshold": 1000, "leads": "fit", "engagement": "max"})
    rmart = account(score(config, leads, visits({"R1": 5})), "Rmart")
    assert rmart["engagement_score"] == 0
    assert rmart["engaged_lead_ids"] == ""


def test_negative_scores_lower_the_sum(score: Scorer):
    config = settings({"threshold": 1000})
    config["engagement"]["rules"].append(
        {"name": "Unsubscribe", "type": "unsubscribe", "points": -25}
    )
    activities = [*visits({"A1": 3}), {"lead": "A3", "type": "unsubscribe", "at": "2026-11-30"}]
    acme = account(score(config, ACME_BETA, activities), "Acme")
    # 30 + 0 - 25, and only A1 scored above 0
    assert acme["engagement_score"] == 5
    assert acme["engaged_lead_ids"] == "A1"


def test_engaged_ids_tie_by_lead_id(score: Scorer):
    leads = [person("Z9", "Acme"), person("A1", "Acme"), person("M5", "Acme")]
    result = score(settings({"threshold": 1000}), leads, visits({"Z9": 2, "A1": 2, "M5": 3}))
    assert account(result, "Acme")["engaged_lead_ids"] == "M5; A1; Z9"


def test_missing_key_belongs_to_no_account(score: Scorer):
    leads = [person("A1", "Acme"), person("N1", ""), person("N2", "N/A"), person("N3", "  ")]
    result = score(settings({"threshold": 10}), leads, visits({"A1": 1, "N1": 5}))
    table = result.account_table
    assert table is not None
    assert table["account"].to_list() == ["Acme"]
    orphan = lead(result, "N1")
    assert orphan["account"] is None
    assert orphan["account_mqa"] is False
    summary = _account_summary(result)
    assert summary["leads_without_account"] == 3
    assert summary["total"] == 1


def test_key_ignores_case_and_shows_common_spelling(score: Scorer):
    leads = [person("A1", "ACME"), person("A2", "Acme "), person("A3", "Acme")]
    result = score(settings({"threshold": 1000}), leads, [])
    table = result.account_table
    assert table is not None
    assert table["account"].to_list() == ["Acme"]
    assert lead(result, "A1")["account"] == "Acme"


def test_key_case_sensitive_splits_accounts(score: Scorer):
    leads = [person("A1", "ACME"), person("A2", "Acme")]
    config = settings({"threshold": 1000, "key_case_sensitive": True})
    table = score(config, leads, []).account_table
    assert table is not None
    assert sorted(table["account"].to_list()) == ["ACME", "Acme"]


def test_key_from_email_domain(score: Scorer):
    leads = [
        {"id": "A1", "email": "ann@Acme.com", "industry": "Software"},
        {"id": "A2", "email": " bob@acme.COM ", "industry": "Software"},
        {"id": "N1", "email": "no-at-sign", "industry": "Software"},
        {"id": "N2", "email": "carl@", "industry": "Software"},
    ]
    config = settings({"threshold": 1000})
    config["accounts"] = {"key_from_email": True, "threshold": 1000}
    result = score(config, leads, [])
    assert account(result, "acme.com")["leads"] == 2
    assert lead(result, "N1")["account"] is None
    assert lead(result, "N2")["account"] is None


def test_attribute_is_most_common_value(score: Scorer):
    # Acme: Software twice, Retail once. Beta: a tie, Healthcare sorts before Retail.
    # Gamma: two blanks are ignored, so Retail. Delta: no value at all.
    leads = [
        person("A1", "Acme"),
        person("A2", "Acme", "Retail"),
        person("A3", "Acme"),
        person("B1", "Beta", "Retail"),
        person("B2", "Beta", "Healthcare"),
        person("G1", "Gamma", ""),
        person("G2", "Gamma", ""),
        person("G3", "Gamma", "Retail"),
        person("D1", "Delta", ""),
    ]
    config = settings({"threshold": 1000, "filters": [INDUSTRY]}, fit=False)
    result = score(config, leads, [])
    expected = {"Acme": "Software", "Beta": "Healthcare", "Gamma": "Retail", "Delta": None}
    for name, industry in expected.items():
        assert account(result, name)["industry"] == industry, name
    assert account(result, "Acme")["fit"] is True
    assert account(result, "Beta")["fit_failed"] == "Target industry"
    # a missing attribute fails the filter, as a missing lead value fails a fit filter
    assert account(result, "Delta")["fit"] is False


def test_filter_on_fit_leads(score: Scorer):
    buying_group = {"name": "Buying group", "field": "fit_leads", "min": 2}
    config = settings({"threshold": 1, "filters": [buying_group]})
    result = score(config, ACME_BETA, ACME_BETA_VISITS)
    # Acme has 2 fit leads (A1, A3), Beta 1
    assert account(result, "Acme")["fit"] is True
    beta = account(result, "Beta")
    assert beta["fit"] is False
    assert beta["fit_failed"] == "Buying group"
    assert beta["mqa"] is False
    assert beta["mqa_reason"] == "not fit"


def test_exclusion_on_account_key(score: Scorer):
    free_mail = {"name": "Free mail", "field": "account", "in": ["gmail.com"]}
    leads = [{"id": "G1", "email": "g@gmail.com"}, {"id": "A1", "email": "a@acme.com"}]
    config = {
        "engagement": {"rules": [VISIT]},
        "mql": {"threshold": 100},
        "accounts": {"key_from_email": True, "threshold": 1, "exclude": [free_mail]},
    }
    result = score(config, leads, visits({"G1": 1, "A1": 1}))
    assert account(result, "gmail.com")["fit_failed"] == "Free mail"
    assert account(result, "acme.com")["mqa"] is True


def test_filter_on_lead_count(score: Scorer):
    single = {"name": "One contact", "field": "lead_count", "equals": 1}
    result = score(settings({"threshold": 1, "exclude": [single]}), ACME_BETA, ACME_BETA_VISITS)
    assert account(result, "Beta")["fit_failed"] == "One contact"
    assert account(result, "Acme")["fit"] is True


def test_threshold_equal_is_mqa(score: Scorer):
    acme = account(score(settings({"threshold": 40}), ACME_BETA, ACME_BETA_VISITS), "Acme")
    assert acme["mqa"] is True
    assert acme["mqa_reason"] == "score 40 >= 40"


def test_just_below_threshold_is_no_mqa(score: Scorer):
    acme = account(score(settings({"threshold": 40.01}), ACME_BETA, ACME_BETA_VISITS), "Acme")
    assert acme["mqa"] is False
    assert acme["mqa_reason"] == "score 40 < 40.01"


def test_min_engaged_leads(score: Scorer):
    result = score(settings({"min_engaged_leads": 2}), ACME_BETA, ACME_BETA_VISITS)
    # Acme: A1 and A2 scored above 0. Beta: only B1
    assert account(result, "Acme")["mqa_reason"] == "engaged leads 2 >= 2"
    beta = account(result, "Beta")
    assert beta["mqa"] is False
    assert beta["mqa_reason"] == "engaged leads 1 < 2"


def test_threshold_and_min_engaged_leads_both_needed(score: Scorer):
    config = settings({"threshold": 30, "min_engaged_leads": 3})
    acme = account(score(config, ACME_BETA, ACME_BETA_VISITS), "Acme")
    # the score reaches 30, but only 2 of 3 leads are engaged, and only the missed bar is named
    assert acme["mqa"] is False
    assert acme["mqa_reason"] == "engaged leads 2 < 3"
    config = settings({"threshold": 30, "min_engaged_leads": 2})
    acme = account(score(config, ACME_BETA, ACME_BETA_VISITS), "Acme")
    assert acme["mqa_reason"] == "score 40 >= 30; engaged leads 2 >= 2"


def test_account_rule_qualifies_fit_lead_below_threshold(score: Scorer):
    config = settings({"threshold": 40}, mql={"threshold": 25, "account_rule": "mqa"})
    result = score(config, ACME_BETA, ACME_BETA_VISITS)
    quiet = lead(result, "A3")
    assert quiet["engagement_score"] == 0
    assert quiet["mql"] is True
    assert quiet["mql_reason"] == "account Acme is MQA (score 40 >= 40)"
    assert quiet["account_mqa"] is True
    busy = lead(result, "A1")
    assert busy["mql_reason"] == "score 30 >= 25; account Acme is MQA (score 40 >= 40)"
    # Beta (20) is no MQA, so B1 (20 < 25) stays as it was
    assert lead(result, "B1")["mql"] is False
    assert lead(result, "B1")["mql_reason"] == "score 20 < 25"
    # A3 is the only MQL that its account alone made one
    assert _account_summary(result)["leads_qualified_by_account"] == 1


def test_unfit_lead_of_mqa_stays_no_mql(score: Scorer):
    config = settings({"threshold": 40}, mql={"threshold": 25, "account_rule": "mqa"})
    unfit = lead(score(config, ACME_BETA, ACME_BETA_VISITS), "A2")
    assert unfit["account_mqa"] is True
    assert unfit["mql"] is False
    assert unfit["mql_reason"] == "not fit"


def test_without_account_rule_mqa_makes_no_mql(score: Scorer):
    result = score(settings({"threshold": 40}), ACME_BETA, ACME_BETA_VISITS)
    assert lead(result, "A3")["account_mqa"] is True
    assert lead(result, "A3")["mql"] is False
    assert _account_summary(result)["leads_qualified_by_account"] == 0


def test_accounts_sorted_by_score_then_name(score: Scorer):
    leads = [person("C1", "Cobalt"), person("B1", "beta"), person("A1", "Acme")]
    result = score(settings({"threshold": 1000}), leads, visits({"C1": 1, "B1": 2, "A1": 1}))
    table = result.account_table
    assert table is not None
    assert table.columns == ACCOUNT_COLUMNS
    assert table["account"].to_list() == ["beta", "Acme", "Cobalt"]


def test_lead_tables_gain_account_columns(score: Scorer):
    plain = score({"engagement": {"rules": [VISIT]}}, ACME_BETA, ACME_BETA_VISITS)
    rolled = score(
        settings({"threshold": 40}, mql={"threshold": 10}, fit=False), ACME_BETA, ACME_BETA_VISITS
    )
    assert rolled.scored_leads.columns == [*plain.scored_leads.columns, "account", "account_mqa"]
    # without the account rule, every other column stays as it was
    assert rolled.scored_leads.drop("account", "account_mqa").equals(plain.scored_leads)
    assert rolled.mqls.columns == rolled.scored_leads.columns


def test_config_without_accounts_has_no_account_output(score: Scorer):
    result = score({"engagement": {"rules": [VISIT]}}, ACME_BETA, ACME_BETA_VISITS)
    assert result.accounts is None
    assert result.account_table is None
    assert "account" not in result.scored_leads.columns


def _account_summary(result: ScoringResult) -> dict[str, Any]:
    return build_summary(result)["accounts"]


def problems(**sections: Any) -> list[str]:
    raw = {**BASE_CONFIG, "engagement": {"rules": [VISIT]}, **sections}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    return caught.value.problems


@pytest.mark.parametrize(
    ("accounts", "expected"),
    [
        (
            {"threshold": 1},
            "accounts: set exactly one of `key` (the lead column that names the account) or "
            "`key_from_email = true` (the e-mail domain names it)",
        ),
        (
            {"key": "Company", "key_from_email": True, "threshold": 1},
            "accounts: set exactly one of `key` (the lead column that names the account) or "
            "`key_from_email = true` (the e-mail domain names it)",
        ),
        (
            {"key": "Company"},
            "accounts: set `threshold`, `min_engaged_leads` or both, or no account can become "
            "an MQA",
        ),
        (
            {"key": "Company", "threshold": 1, "engagement": "mean"},
            "accounts.engagement: input should be 'sum' or 'max', got 'mean'",
        ),
        (
            {"key": "Company", "threshold": 1, "leads": "engaged"},
            "accounts.leads: input should be 'all' or 'fit', got 'engaged'",
        ),
        (
            {"key": "Company", "min_engaged_leads": 0},
            "accounts.min_engaged_leads: input should be greater than or equal to 1, got 0",
        ),
        (
            {"key": "Company", "treshold": 1, "min_engaged_leads": 1},
            "accounts.treshold: unknown key; did you mean 'threshold'?",
        ),
        (
            {"key": "Company", "threshold": "100"},
            "accounts.threshold: input should be a valid number, got '100'; write numbers and "
            "true/false without quotes",
        ),
        (
            {"key": "Company", "threshold": 1, "filters": [{"name": "Size", "field": "Employees"}]},
            "accounts.filters[1] ('Size'): no operator for field 'Employees'; use one of: "
            "equals, in, not_in, min, max, between, contains, contains_any, matches, missing",
        ),
        (
            {
                "key": "Company",
                "threshold": 1,
                "filters": [{"name": "Busy", "field": "engaged_leads", "min": 2}],
            },
            "accounts.filters[1] ('Busy').field: account filters cannot use 'engaged_leads', "
            "because account fit does not depend on activities; use "
            "accounts.min_engaged_leads or accounts.threshold instead",
        ),
        (
            {
                "key": "Company",
                "threshold": 1,
                "filters": [{"name": "Size", "field": "Employees", "min": 50}],
                "exclude": [{"name": "Size", "field": "Country", "in": ["XX"]}],
            },
            "accounts: the name 'Size' is used twice; names must be unique",
        ),
    ],
)
def test_accounts_config_errors(accounts: dict[str, Any], expected: str):
    assert problems(accounts=accounts) == [expected]


def test_account_rule_needs_accounts_section():
    found = problems(mql={"threshold": 10, "account_rule": "mqa"})
    assert found == [
        'mql.account_rule: "mqa" qualifies leads through their account, but there is no '
        "[accounts] section; add one, or remove account_rule"
    ]


def test_account_rule_value_is_checked():
    found = problems(mql={"threshold": 10, "account_rule": "yes"})
    assert found == ["mql.account_rule: input should be 'none' or 'mqa', got 'yes'"]


def test_key_from_email_needs_lead_email():
    found = problems(
        leads={"id": "id"},
        accounts={"key_from_email": True, "threshold": 1},
    )
    assert found == [
        "accounts.key_from_email: the account is the e-mail domain, so the leads table needs "
        "its e-mail column in leads.email"
    ]


def test_account_rule_alone_can_qualify():
    raw = {**BASE_CONFIG, "mql": {"account_rule": "mqa"}, "accounts": {"key": "c", "threshold": 1}}
    assert parse_config(raw).mql.account_rule == "mqa"


CLI_CONFIG = """
[inputs]
leads = "leads.csv"
activities = ["activities.csv"]

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
points = 15

[mql]
threshold = 40
account_rule = "mqa"

[accounts]
key = "Company"
threshold = 45

[[accounts.filters]]
name = "Target industry"
field = "Industry"
in = ["Software"]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Acme (L1 30, L2 15), Beta (L3 45 Retail, L4 15) and L5 (15) without a company."""
    write_csv(
        tmp_path / "leads.csv",
        [
            {"Record ID": "L1", "Email": "a@acme.com", "Industry": "Software", "Company": "Acme"},
            {"Record ID": "L2", "Email": "b@acme.com", "Industry": "Software", "Company": "Acme"},
            {"Record ID": "L3", "Email": "c@beta.com", "Industry": "Retail", "Company": "Beta"},
            {"Record ID": "L4", "Email": "d@beta.com", "Industry": "Software", "Company": "Beta"},
            {"Record ID": "L5", "Email": "e@solo.com", "Industry": "Software", "Company": ""},
        ],
    )
    visits = {"L1": 2, "L2": 1, "L3": 3, "L4": 1, "L5": 1}
    write_csv(
        tmp_path / "activities.csv",
        [
            {"Contact ID": lead_id, "Activity Type": "page_view", "Occurred At": "2026-11-30"}
            for lead_id, count in visits.items()
            for _ in range(count)
        ],
    )
    config = tmp_path / "leadq.toml"
    config.write_text(CLI_CONFIG, encoding="utf-8")
    return config


def run_score(config: Path, out: Path, *extra: str) -> None:
    args = ["score", "--config", str(config), "--as-of", "2026-11-30", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, *extra])
    assert result.exit_code == 0, result.output


def test_score_writes_accounts_file(project: Path, tmp_path: Path):
    out = tmp_path / "out"
    run_score(project, out)
    names = sorted(path.name for path in out.iterdir())
    assert names == [
        "accounts.csv",
        "mqls.csv",
        "rejects.csv",
        "scored_leads.csv",
        "summary.json",
        "summary.md",
    ]
    # Beta: 45 + 15 = 60, Industry tied 1:1, so Retail (sorted first) fails the filter.
    # Acme: 30 + 15 = 45, which reaches the threshold of 45.
    assert (out / "accounts.csv").read_text(encoding="utf-8").splitlines() == [
        "account,leads,fit_leads,engaged_leads,engagement_score,fit,fit_failed,mqa,mqa_reason,"
        "engaged_lead_ids,Industry",
        "Beta,2,1,2,60.0,false,Target industry,false,not fit,L3; L4,Retail",
        'Acme,2,2,2,45.0,true,"",true,score 45 >= 45,L1; L2,Software',
    ]


def test_lead_files_show_account_state(project: Path, tmp_path: Path):
    out = tmp_path / "out"
    run_score(project, out)
    leads = pl.read_csv(out / "scored_leads.csv", infer_schema=False)
    assert leads.columns[-2:] == ["account", "account_mqa"]
    assert leads.select("lead_id", "account", "account_mqa", "mql").rows() == [
        ("L1", "Acme", "true", "true"),
        ("L2", "Acme", "true", "true"),
        ("L3", "Beta", "false", "false"),
        ("L4", "Beta", "false", "false"),
        ("L5", None, "false", "false"),
    ]
    mqls = pl.read_csv(out / "mqls.csv", infer_schema=False)
    assert mqls.select("lead_id", "mql_reason").rows() == [
        ("L1", "account Acme is MQA (score 45 >= 45)"),
        ("L2", "account Acme is MQA (score 45 >= 45)"),
    ]


def test_summary_counts_accounts(project: Path, tmp_path: Path):
    out = tmp_path / "out"
    run_score(project, out)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["accounts"] == {
        "total": 2,
        "fit": 1,
        "engaged": 2,
        "mqa": 1,
        "leads_without_account": 1,
        "leads_qualified_by_account": 2,
    }
    assert summary["leads"]["mql"] == 2
    markdown = (out / "summary.md").read_text(encoding="utf-8")
    assert "| 2 | 1 | 2 | 1 | 1 | 2 |" in markdown


def test_accounts_in_every_format(project: Path, tmp_path: Path):
    out = tmp_path / "out"
    run_score(project, out, "--format", "parquet")
    accounts = pl.read_parquet(out / "accounts.parquet")
    assert accounts["account"].to_list() == ["Beta", "Acme"]
    assert accounts["engagement_score"].to_list() == [60.0, 45.0]
    run_score(project, out, "--format", "xlsx")
    assert (out / "accounts.xlsx").exists()
    assert not (out / "accounts.parquet").exists()


def test_no_accounts_section_writes_no_accounts_file(project: Path, tmp_path: Path):
    text = project.read_text(encoding="utf-8")
    project.write_text(
        text[: text.index("[accounts]")].replace('account_rule = "mqa"\n', ""), encoding="utf-8"
    )
    out = tmp_path / "out"
    run_score(project, out)
    assert not (out / "accounts.csv").exists()
    assert "accounts" not in json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "## Accounts" not in (out / "summary.md").read_text(encoding="utf-8")
    leads = pl.read_csv(out / "scored_leads.csv", infer_schema=False)
    assert leads.columns[-1] == "mql_reason"


def test_explain_shows_account(project: Path):
    args = ["explain", "--config", str(project), "--as-of", "2026-11-30"]
    result = CliRunner().invoke(app, [*args, "L2"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Lead L2: MQL (account Acme is MQA (score 45 >= 45))" in result.stdout
    assert "Account Acme: MQA (score 45 >= 45)" in result.stdout
    assert "account's value" in result.stdout
    assert "It has 2 leads, 2 of them fit." in result.stdout
    assert "Engaged leads, highest score first: L1; L2" in result.stdout


def test_explain_lead_without_account(project: Path):
    args = ["explain", "--config", str(project), "--as-of", "2026-11-30"]
    result = CliRunner().invoke(app, [*args, "L5"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Account: none, because the lead has no value for 'Company'." in result.stdout


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Acme", "Beta", None]),
            st.integers(min_value=-10_000, max_value=10_000),
            st.booleans(),
        ),
        max_size=12,
    ),
    st.sampled_from(["sum", "max"]),
    st.sampled_from(["all", "fit"]),
)
def test_account_arithmetic_matches_python(
    rows: list[tuple[str | None, int, bool]], engagement: str, counted: str
):
    # scores in cents, as rounded lead scores are
    leads = pl.DataFrame(
        {
            "lead_id": [f"L{index:02}" for index in range(len(rows))],
            "company": [company for company, _, _ in rows],
            "engagement_score": [cents / 100 for _, cents, _ in rows],
            "fit": [is_fit for _, _, is_fit in rows],
            "mql": [False] * len(rows),
            "mql_reason": [""] * len(rows),
        },
        schema={
            "lead_id": pl.String,
            "company": pl.String,
            "engagement_score": pl.Float64,
            "fit": pl.Boolean,
            "mql": pl.Boolean,
            "mql_reason": pl.String,
        },
    )
    section = AccountsSection(key="company", engagement=engagement, leads=counted, threshold=0)
    _, accounts = score_accounts(leads, section, MqlSection(threshold=1), decimal_comma=False)

    for name in ("Acme", "Beta"):
        members = [r for r in rows if r[0] == name]
        counted_cents = [cents for _, cents, is_fit in members if counted == "all" or is_fit]
        row = accounts.filter(pl.col("account") == name)
        assert row.height == (1 if members else 0)
        if not members:
            continue
        if engagement == "sum":
            expected = sum(counted_cents) / 100
        else:
            expected = max(counted_cents, default=0) / 100
        assert row["engagement_score"].item() == pytest.approx(expected, abs=1e-9)
        assert row["engaged_leads"].item() == sum(1 for cents in counted_cents if cents > 0)
        assert row["leads"].item() == len(members)
