"""Fit first, then threshold or qualifying rule: the MQL decision and its reasons."""

from __future__ import annotations

from tests.conftest import Scorer, lead

FIT = {
    "fit": {
        "filters": [{"name": "Target industry", "field": "industry", "in": ["Software"]}],
        "exclude": [{"name": "Personal e-mail", "field": "email", "matches": "@gmail\\."}],
    }
}
DEMO = {"name": "Demo request", "type": "demo", "points": 25}
VISIT = {"name": "Visit", "type": "page_view", "points": 10}


def config(threshold: float | None = 40, qualifying: list[str] | None = None) -> dict:
    mql: dict[str, object] = {"qualifying_rules": qualifying or []}
    if threshold is not None:
        mql["threshold"] = threshold
    return {**FIT, "engagement": {"rules": [DEMO, VISIT]}, "mql": mql}


def visits(lead_id: str, count: int, kind: str = "page_view") -> list[dict[str, str]]:
    return [{"lead": lead_id, "type": kind, "at": "2026-11-30"} for _ in range(count)]


def test_threshold_equality_makes_an_mql(score: Scorer):
    leads = [{"id": "A", "email": "a@acme.com", "industry": "Software"}]
    row = lead(score(config(threshold=40), leads, visits("A", 4)), "A")
    assert row["engagement_score"] == 40
    assert row["mql"] is True
    assert row["mql_reason"] == "score 40 >= 40"


def test_just_below_threshold_is_not_an_mql(score: Scorer):
    leads = [{"id": "A", "email": "a@acme.com", "industry": "Software"}]
    row = lead(score(config(threshold=40.01), leads, visits("A", 4)), "A")
    assert row["mql"] is False
    assert row["mql_reason"] == "score 40 < 40.01"


def test_unfit_huge_score_not_mql(score: Scorer):
    leads = [
        {"id": "A", "email": "a@acme.com", "industry": "Retail"},
        {"id": "B", "email": "b@gmail.com", "industry": "Software"},
    ]
    activities = visits("A", 100) + visits("B", 100) + visits("A", 1, "demo")
    result = score(config(qualifying=["Demo request"]), leads, activities)
    first = lead(result, "A")
    assert first["engagement_score"] == 1025
    assert first["fit"] is False
    assert first["fit_failed"] == "Target industry"
    assert first["mql"] is False
    assert first["mql_reason"] == "not fit"
    second = lead(result, "B")
    assert second["fit_failed"] == "Personal e-mail"
    assert second["mql"] is False
    assert result.mqls.height == 0


def test_fit_failed_lists_filters_then_exclusions(score: Scorer):
    leads = [{"id": "A", "email": "a@gmail.com", "industry": ""}]
    row = lead(score(config(), leads, []), "A")
    assert row["fit_failed"] == "Target industry; Personal e-mail"


def test_qualifying_rule_makes_mql_below_threshold(score: Scorer):
    leads = [{"id": "A", "email": "a@acme.com", "industry": "software"}]
    row = lead(score(config(qualifying=["Demo request"]), leads, visits("A", 1, "demo")), "A")
    assert row["engagement_score"] == 25
    assert row["mql"] is True
    assert row["mql_reason"] == "Demo request"


def test_qualifying_rule_with_negative_score(score: Scorer):
    unsubscribe = {"name": "Unsubscribe", "type": "unsubscribe", "points": -50}
    settings = config(qualifying=["Demo request"])
    settings["engagement"]["rules"].append(unsubscribe)
    leads = [{"id": "A", "email": "a@acme.com", "industry": "Software"}]
    activities = visits("A", 1, "demo") + visits("A", 1, "unsubscribe")
    row = lead(score(settings, leads, activities), "A")
    assert row["engagement_score"] == -25
    assert row["mql"] is True


def test_threshold_and_qualifying_reasons_together(score: Scorer):
    leads = [{"id": "A", "email": "a@acme.com", "industry": "Software"}]
    activities = visits("A", 1, "demo") + visits("A", 2)
    row = lead(score(config(qualifying=["Demo request"]), leads, activities), "A")
    assert row["mql_reason"] == "score 45 >= 40; Demo request"


def test_without_threshold_only_qualifying_rules_count(score: Scorer):
    leads = [
        {"id": "A", "email": "a@acme.com", "industry": "Software"},
        {"id": "B", "email": "b@acme.com", "industry": "Software"},
    ]
    activities = visits("A", 50) + visits("B", 1, "demo")
    result = score(config(threshold=None, qualifying=["Demo request"]), leads, activities)
    assert lead(result, "A")["mql"] is False
    assert lead(result, "A")["mql_reason"] == "no qualifying activity"
    assert lead(result, "B")["mql"] is True


def test_rounded_score_decides(score: Scorer):
    # three visits of 13.335 points: 40.005 rounds to 40.01, which clears 40.01
    settings = config(threshold=40.01)
    settings["engagement"]["rules"][1] = {**VISIT, "points": 13.335}
    leads = [{"id": "A", "email": "a@acme.com", "industry": "Software"}]
    row = lead(score(settings, leads, visits("A", 3)), "A")
    assert row["engagement_score"] == 40.01
    assert row["mql"] is True


def test_mqls_sorted_by_score_then_id(score: Scorer):
    leads = [
        {"id": key, "email": f"{key}@acme.com", "industry": "Software"}
        for key in ("C", "A", "B", "D")
    ]
    activities = visits("C", 5) + visits("A", 5) + visits("B", 7) + visits("D", 1)
    result = score(config(), leads, activities)
    assert result.mqls["lead_id"].to_list() == ["B", "A", "C"]
    assert result.scored_leads["lead_id"].to_list() == ["A", "B", "C", "D"]


def test_no_fit_criteria_means_every_lead_fits(score: Scorer):
    settings = {"engagement": {"rules": [VISIT]}, "mql": {"threshold": 10}}
    result = score(settings, [{"id": "A", "email": ""}], visits("A", 1))
    assert lead(result, "A")["fit"] is True
    assert lead(result, "A")["mql"] is True
