"""Engagement arithmetic: window, time zones, decay, max_count, sources and joins, by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import Scorer, lead

ONE_LEAD = [{"id": "L1", "email": "ada@example.com"}]


def rules(*items: dict[str, object], **engagement: object) -> dict[str, object]:
    return {"engagement": {"rules": list(items), **engagement}}


VISIT = {"name": "Visit", "type": "page_view", "points": 10}


def test_window_first_and_last_day_count(score: Scorer):
    # lookback 7 as of 2026-11-30: 2026-11-24 is the first day in, 2026-11-23 is out
    activities = [
        {"lead": "L1", "type": "page_view", "at": "2026-11-24 00:00:00"},
        {"lead": "L1", "type": "page_view", "at": "2026-11-30 23:59:59"},
        {"lead": "L1", "type": "page_view", "at": "2026-11-23 23:59:59"},
        {"lead": "L1", "type": "page_view", "at": "2026-12-01 00:00:00"},
    ]
    result = score(rules(VISIT, lookback_days=7), ONE_LEAD, activities)
    assert lead(result, "L1")["engagement_score"] == 20
    assert result.activity_counts.before_window == 1
    assert result.activity_counts.future_dated == 1
    assert result.activity_counts.in_window == 2


def test_offset_crossing_midnight_moves_the_day(score: Scorer):
    # 2026-11-30T23:30-05:00 is 2026-12-01 04:30 UTC: future-dated in a UTC config
    activities = [{"lead": "L1", "type": "page_view", "at": "2026-11-30T23:30:00-05:00"}]
    in_utc = score(rules(VISIT), ONE_LEAD, activities)
    assert lead(in_utc, "L1")["engagement_score"] == 0
    assert in_utc.activity_counts.future_dated == 1

    in_new_york = score(
        {**rules(VISIT), "activities": {"timezone": "America/New_York"}}, ONE_LEAD, activities
    )
    assert lead(in_new_york, "L1")["engagement_score"] == 10


def test_utc_timestamp_lands_on_next_local_day(score: Scorer):
    # 2026-11-23T23:30Z is 2026-11-24 00:30 in Berlin: inside a 7-day window there
    activities = [{"lead": "L1", "type": "page_view", "at": "2026-11-23T23:30:00Z"}]
    berlin = {"activities": {"timezone": "Europe/Berlin"}}
    assert (
        lead(score({**rules(VISIT, lookback_days=7), **berlin}, ONE_LEAD, activities), "L1")[
            "engagement_score"
        ]
        == 10
    )
    utc = score(rules(VISIT, lookback_days=7), ONE_LEAD, activities)
    assert lead(utc, "L1")["engagement_score"] == 0


def test_half_life_decay_by_whole_days(score: Scorer):
    # 30 points aged 0, 30 and 60 days with a 30-day half-life: 30 + 15 + 7.5 = 52.5
    activities = [
        {"lead": "L1", "type": "demo", "at": "2026-11-30T08:00:00"},
        {"lead": "L1", "type": "demo", "at": "2026-10-31T23:00:00"},
        {"lead": "L1", "type": "demo", "at": "2026-10-01"},
    ]
    rule = {"name": "Demo", "type": "demo", "points": 30}
    result = score(rules(rule, half_life_days=30), ONE_LEAD, activities)
    assert lead(result, "L1")["engagement_score"] == 52.5
    assert lead(result, "L1")["reasons"] == "Demo x3 +52.5"


def test_decay_rounds_half_away_from_zero(score: Scorer):
    # 15 * 0.5 ** (10 / 30) = 11.9055... -> 11.91
    activities = [{"lead": "L1", "type": "page_view", "at": "2026-11-20"}]
    rule = {"name": "Pricing", "type": "page_view", "points": 15}
    result = score(rules(rule, half_life_days=30), ONE_LEAD, activities)
    assert lead(result, "L1")["engagement_score"] == 11.91


def test_linear_decay_window_edges(score: Scorer):
    # lookback 10: factor 1 - age / 10, so ages 0, 5 and 9 earn 10, 5 and 1 of 10 points,
    # and age 10 (11-20) is outside the window: 16
    activities = [
        {"lead": "L1", "type": "page_view", "at": day}
        for day in ("2026-11-30 23:59", "2026-11-25", "2026-11-21 00:00", "2026-11-20 23:59")
    ]
    result = score(rules(VISIT, lookback_days=10, decay="linear"), ONE_LEAD, activities)
    assert lead(result, "L1")["engagement_score"] == 16
    factors = result.ledger_for("L1")["decay_factor"].to_list()
    assert factors == [1.0, 0.5, pytest.approx(0.1)]


def test_linear_decay_one_day_window(score: Scorer):
    # lookback 1: only the as-of day counts, at full points
    activities = [{"lead": "L1", "type": "page_view", "at": "2026-11-30"}]
    result = score(rules(VISIT, lookback_days=1, decay="linear"), ONE_LEAD, activities)
    assert lead(result, "L1")["engagement_score"] == 10


def test_linear_decay_rounds_half_away_from_zero(score: Scorer):
    # 15 * (1 - 1 / 8) = 13.125 -> 13.13
    activities = [{"lead": "L1", "type": "page_view", "at": "2026-11-29"}]
    rule = {"name": "Pricing", "type": "page_view", "points": 15}
    result = score(rules(rule, lookback_days=8, decay="linear"), ONE_LEAD, activities)
    assert lead(result, "L1")["engagement_score"] == 13.13


def test_max_count_keeps_most_recent_matches(score: Scorer):
    # four matches, max_count 2: only 11-29 and 11-30 earn, and decay shows which ones
    activities = [
        {"lead": "L1", "type": "page_view", "at": day}
        for day in ("2026-11-01", "2026-11-30", "2026-11-15", "2026-11-29")
    ]
    rule = {"name": "Visit", "type": "page_view", "points": 10, "max_count": 2}
    result = score(rules(rule, half_life_days=1), ONE_LEAD, activities)
    # 10 * 0.5**0 + 10 * 0.5**1 = 15
    assert lead(result, "L1")["engagement_score"] == 15
    assert lead(result, "L1")["reasons"] == "Visit x2 +15"
    ledger = result.ledger_for("L1")
    counted = ledger.filter(ledger["counted"])
    assert sorted(str(t.date()) for t in counted["activity_time"]) == ["2026-11-29", "2026-11-30"]


def test_max_count_ignores_matches_outside_window(score: Scorer):
    activities = [
        {"lead": "L1", "type": "page_view", "at": "2026-12-05"},
        {"lead": "L1", "type": "page_view", "at": "2026-11-10"},
    ]
    rule = {"name": "Visit", "type": "page_view", "points": 10, "max_count": 1}
    assert lead(score(rules(rule), ONE_LEAD, activities), "L1")["engagement_score"] == 10


def test_negative_points_can_make_score_negative(score: Scorer):
    activities = [
        {"lead": "L1", "type": "page_view", "at": "2026-11-30"},
        {"lead": "L1", "type": "unsubscribe", "at": "2026-11-30"},
    ]
    unsubscribe = {"name": "Unsubscribe", "type": "unsubscribe", "points": -25}
    result = score(rules(VISIT, unsubscribe), ONE_LEAD, activities)
    row = lead(result, "L1")
    assert row["engagement_score"] == -15
    assert row["reasons"] == "Unsubscribe x1 -25; Visit x1 +10"


def test_each_matching_rule_adds_its_points(score: Scorer):
    activities = [{"lead": "L1", "type": "page_view", "at": "2026-11-30", "url": "/pricing"}]
    pricing = {
        "name": "Pricing page",
        "type": "page_view",
        "where": [{"field": "url", "contains": "/pricing"}],
        "points": 15,
    }
    result = score(rules(VISIT, pricing), ONE_LEAD, activities)
    assert lead(result, "L1")["engagement_score"] == 25


def test_type_list_and_case(score: Scorer):
    activities = [
        {"lead": "L1", "type": " Form_Submit ", "at": "2026-11-30"},
        {"lead": "L1", "type": "WEBINAR", "at": "2026-11-30"},
        {"lead": "L1", "type": "page_view", "at": "2026-11-30"},
    ]
    rule = {"name": "Conversion", "type": ["form_submit", "Webinar"], "points": 5}
    assert lead(score(rules(rule), ONE_LEAD, activities), "L1")["engagement_score"] == 10


def test_rule_without_type_matches_every_activity(score: Scorer):
    activities = [
        {"lead": "L1", "type": "page_view", "at": "2026-11-30"},
        {"lead": "L1", "type": "anything", "at": "2026-11-30"},
    ]
    rule = {"name": "Any touch", "points": 1}
    assert lead(score(rules(rule), ONE_LEAD, activities), "L1")["engagement_score"] == 2


def test_where_fails_on_missing_value(score: Scorer):
    activities = [
        {"lead": "L1", "type": "page_view", "at": "2026-11-30", "url": ""},
        {"lead": "L1", "type": "page_view", "at": "2026-11-30", "url": "/pricing"},
    ]
    rule = {"name": "Not docs", "where": [{"field": "url", "not_in": ["/docs"]}], "points": 4}
    assert lead(score(rules(rule), ONE_LEAD, activities), "L1")["engagement_score"] == 4


def test_lead_source_rule_scores_once_without_activities(score: Scorer):
    leads = [
        {"id": "L1", "email": "a@x.com", "page_views": "12"},
        {"id": "L2", "email": "b@x.com", "page_views": "3"},
    ]
    rule = {
        "name": "Frequent visitor",
        "source": "lead",
        "where": [{"field": "page_views", "min": 10}],
        "points": 10,
    }
    result = score({**rules(rule), "activities": None}, leads)
    assert lead(result, "L1")["engagement_score"] == 10
    assert lead(result, "L1")["reasons"] == "Frequent visitor x1 +10"
    assert lead(result, "L2")["engagement_score"] == 0
    assert result.activity_counts.total == 0


def test_leads_only_config_without_activities_section(score: Scorer):
    result = score({**rules(), "activities": None}, ONE_LEAD)
    assert lead(result, "L1")["engagement_score"] == 0
    assert lead(result, "L1")["mql"] is False


def test_join_by_email_ignores_case_and_spaces(score: Scorer):
    leads = [
        {"id": "L1", "email": "Ada.Lovelace@Example.com"},
        {"id": "L2", "email": "ada.lovelace@example.com "},
        {"id": "L3", "email": "other@example.com"},
    ]
    activities = [{"mail": "  ADA.LOVELACE@example.COM", "type": "page_view", "at": "2026-11-30"}]
    config = {**rules(VISIT), "activities": {"lead_id": None, "email": "mail"}}
    result = score(config, leads, activities)
    # an e-mail shared by two leads credits both of them
    assert lead(result, "L1")["engagement_score"] == 10
    assert lead(result, "L2")["engagement_score"] == 10
    assert lead(result, "L3")["engagement_score"] == 0


def test_lead_ids_are_case_sensitive_text(score: Scorer):
    leads = [{"id": "00Q1a", "email": ""}, {"id": "00Q1A", "email": ""}, {"id": "007", "email": ""}]
    activities = [
        {"lead": " 00Q1a ", "type": "page_view", "at": "2026-11-30"},
        {"lead": "007", "type": "page_view", "at": "2026-11-30"},
        {"lead": "7", "type": "page_view", "at": "2026-11-30"},
    ]
    result = score(rules(VISIT), leads, activities)
    assert lead(result, "00Q1a")["engagement_score"] == 10
    assert lead(result, "00Q1A")["engagement_score"] == 0
    assert lead(result, "007")["engagement_score"] == 10
    assert result.activity_counts.unmatched == 1


def test_unreadable_timestamps_rejected_blank_keys_unmatched(score: Scorer):
    activities = [
        {"lead": "L1", "type": "page_view", "at": "not a date"},
        {"lead": "L1", "type": "page_view", "at": ""},
        {"lead": "", "type": "page_view", "at": "2026-11-30"},
        {"lead": "L1", "type": "page_view", "at": "2026-11-30"},
    ]
    result = score(rules(VISIT), ONE_LEAD, activities)
    assert lead(result, "L1")["engagement_score"] == 10
    rejects = result.rejects
    assert rejects["line"].to_list() == [2, 3]
    assert rejects["problem"].to_list() == ["unreadable timestamp", "missing timestamp"]
    assert result.activity_counts.rejected == 2
    assert result.activity_counts.unmatched == 1


@pytest.mark.parametrize(
    ("text", "timezone", "day"),
    [
        ("2026-03-29T01:30:00+01:00", "Europe/Berlin", dt.date(2026, 3, 29)),
        ("2026-03-29 02:30", "Europe/Berlin", dt.date(2026, 3, 29)),
        ("2026-10-25 02:30", "Europe/Berlin", dt.date(2026, 10, 25)),
        ("1767225600000", "UTC", dt.date(2026, 1, 1)),
        ("1767225600", "UTC", dt.date(2026, 1, 1)),
        ("2024-03-20T10:15:00.000+0000", "UTC", dt.date(2024, 3, 20)),
        ("2026-03-28T23:30:00Z", "Europe/Berlin", dt.date(2026, 3, 29)),
        ("25.11.26 10:00", "UTC", dt.date(2026, 11, 25)),
        ("11/25/26 2:30 PM", "UTC", dt.date(2026, 11, 25)),
        ("2026-11-25T14:30:05,250", "UTC", dt.date(2026, 11, 25)),
        ("2026-11-25 23:30:00 -05:00", "UTC", dt.date(2026, 11, 26)),
    ],
)
def test_timestamp_forms_land_on_local_day(score: Scorer, text: str, timezone: str, day: dt.date):
    activities = [{"lead": "L1", "type": "page_view", "at": text}]
    config = {**rules(VISIT, lookback_days=1), "activities": {"timezone": timezone}}
    result = score(config, ONE_LEAD, activities, as_of=day)
    assert lead(result, "L1")["engagement_score"] == 10


def test_timestamp_format_option(score: Scorer):
    activities = [{"lead": "L1", "type": "page_view", "at": "11/30/26 02:18 PM"}]
    config = {**rules(VISIT), "activities": {"timestamp_format": "%m/%d/%y %I:%M %p"}}
    assert lead(score(config, ONE_LEAD, activities), "L1")["engagement_score"] == 10
