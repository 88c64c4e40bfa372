"""Each condition operator, judged on fit filters and exclusions, with hand-worked outcomes."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from leadq.conditions import clean_text, condition_expr, number_expr
from leadq.config import DEFAULT_NULL_VALUES, Condition


def judge(condition: dict[str, Any], values: list[str | None], role: str = "filter") -> list[bool]:
    frame = pl.DataFrame({"f": values}, schema={"f": pl.String})
    cleaned = frame.with_columns(clean_text("f", DEFAULT_NULL_VALUES))
    parsed = Condition.model_validate({"field": "f", **condition})
    return cleaned.select(condition_expr(parsed, role=role)).to_series().to_list()  # type: ignore[arg-type]


def test_equals_ignores_case_and_spaces():
    assert judge({"equals": "Software"}, [" software ", "SOFTWARE", "Soft", None]) == [
        True,
        True,
        False,
        False,
    ]


def test_equals_case_sensitive_still_trims():
    assert judge({"equals": "Software", "case_sensitive": True}, [" Software ", "software"]) == [
        True,
        False,
    ]


def test_equals_number_reads_thousands_separators():
    assert judge({"equals": 1200}, ["1,200", "1200", "1200.0", "1.200", "12,00"]) == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_equals_boolean_reads_yes_no():
    assert judge({"equals": True}, ["yes", "TRUE", "1", "no", "maybe"]) == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_in_compares_each_value_by_its_type():
    condition = {"in": ["Software", 50]}
    assert judge(condition, ["software", "50", "50.0", "Retail", "fifty"]) == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_not_in_fails_on_missing_value():
    assert judge({"not_in": ["Retail"]}, ["Software", "retail", None, ""]) == [
        True,
        False,
        False,
        False,
    ]


def test_min_max_between_inclusive():
    assert judge({"min": 50}, ["50", "49.99", "1,000"]) == [True, False, True]
    assert judge({"max": 50}, ["50", "50.01", "-3"]) == [True, False, True]
    assert judge({"between": [50, 5000]}, ["50", "5,000", "5001", "49"]) == [
        True,
        True,
        False,
        False,
    ]


def test_numeric_operators_fail_on_text():
    assert judge({"min": 0}, ["unknown", "12 employees", "1.2.3"]) == [False, False, False]


def test_contains_is_a_substring_test():
    assert judge({"contains": "/PRICING"}, ["/pricing/enterprise", "/docs", None]) == [
        True,
        False,
        False,
    ]


def test_contains_any_matches_any_listed_substring():
    condition = {"contains_any": ["salesforce", "hubspot"]}
    assert judge(condition, ["Salesforce; Slack; AWS", "AWS; HubSpot", "Slack"]) == [
        True,
        True,
        False,
    ]


def test_contains_any_accented_case():
    # a needle with letters beyond ASCII is searched for in the text folded to lower case
    condition = {"contains_any": ["Société", "gmbh"]}
    assert judge(condition, ["SOCIÉTÉ Générale", "Acme GMBH", "Societe", "Acme AG"]) == [
        True,
        True,
        False,
        False,
    ]


def test_contains_any_case_sensitive():
    condition = {"contains_any": ["HubSpot", "/Pricing"], "case_sensitive": True}
    assert judge(condition, ["HubSpot CRM", "hubspot", "/pricing", "/Pricing/x"]) == [
        True,
        False,
        False,
        True,
    ]


def test_matches_searches_ignoring_case():
    condition = {"matches": r"@(gmail|yahoo)\."}
    assert judge(condition, ["ada@GMAIL.com", "bob@acme.com", " x@yahoo.de "]) == [
        True,
        False,
        True,
    ]


def test_matches_case_sensitive():
    assert judge({"matches": "^VP", "case_sensitive": True}, ["VP Sales", "vp sales"]) == [
        True,
        False,
    ]


def test_missing_operator_sees_blanks_and_null_tokens():
    values = [None, "", "   ", "N/A", "#N/A", "null", "None", "-", "value"]
    assert judge({"missing": True}, values) == [True] * 8 + [False]
    assert judge({"missing": False}, values) == [False] * 8 + [True]


def test_filter_fails_on_missing_unless_if_missing_pass():
    assert judge({"equals": "x"}, [None]) == [False]
    assert judge({"equals": "x", "if_missing": "pass"}, [None, "y"]) == [True, False]


def test_exclusion_does_not_match_missing_or_non_numbers():
    assert judge({"matches": "gmail"}, [None, "a@gmail.com"], role="exclusion") == [False, True]
    assert judge({"max": 10}, ["unknown", "5"], role="exclusion") == [False, True]


def test_exclusion_on_missing_with_missing_operator():
    assert judge({"missing": True}, [None, "x"], role="exclusion") == [True, False]


def test_several_operators_must_all_hold():
    condition = {"min": 10, "max": 20}
    assert judge(condition, ["9", "10", "20", "21"]) == [False, True, True, False]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,200", 1200.0),
        ("-3.5", -3.5),
        ("+7", 7.0),
        ("1,234,567.89", 1234567.89),
        ("12,00", None),
        ("1,2345", None),
        ("abc", None),
        ("", None),
    ],
)
def test_number_text(text: str, expected: float | None):
    frame = pl.DataFrame({"f": [text]})
    assert frame.select(number_expr(pl.col("f"))).item() == expected
