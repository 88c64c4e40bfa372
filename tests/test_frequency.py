"""Frequency limits per rule: max_per_day, once_per_days and max_count, alone and together."""

from __future__ import annotations

import polars as pl

from tests.conftest import Scorer, lead

ONE_LEAD = [{"id": "L1", "email": "ada@example.com"}]


def engagement(*rules: dict[str, object], **settings: object) -> dict[str, object]:
    return {"engagement": {"rules": list(rules), **settings}}


def visits(*times: str) -> list[dict[str, str]]:
    return [{"lead": "L1", "type": "page_view", "at": at} for at in times]


def counted_times(ledger: pl.DataFrame) -> list[str]:
    """The counted activity times of a ledger, latest first, as text."""
    return [str(time) for time in ledger.filter(pl.col("counted"))["activity_time"]]


def cut_reasons(ledger: pl.DataFrame) -> dict[str, str]:
    """Map each activity time of a ledger to its cut reason."""
    return {
        str(time): reason
        for time, reason in zip(ledger["activity_time"], ledger["cut_reason"], strict=True)
    }


def test_once_per_days_period_edges(score: Scorer):
    # once_per_days 7 as of 11-30: period 0 contains ages 0-6 (11-30 back to 11-24), period 1
    # ages 7-13 (11-23 back to 11-17), period 2 ages 14-20 (from 11-16). The latest match
    # of each period counts: 11-30, 11-23 and 11-16. With a 7-day half-life:
    # 10 * (0.5 ** 0 + 0.5 ** 1 + 0.5 ** 2) = 17.5
    activities = visits("2026-11-24", "2026-11-30", "2026-11-17", "2026-11-23", "2026-11-16")
    rule = {"name": "Visit", "type": "page_view", "points": 10, "once_per_days": 7}
    result = score(engagement(rule, half_life_days=7), ONE_LEAD, activities)
    assert lead(result, "L1")["engagement_score"] == 17.5
    assert lead(result, "L1")["reasons"] == "Visit x3 +17.5"
    ledger = result.ledger_for("L1")
    assert counted_times(ledger) == [
        "2026-11-30 00:00:00",
        "2026-11-23 00:00:00",
        "2026-11-16 00:00:00",
    ]
    reasons = cut_reasons(ledger)
    assert reasons["2026-11-24 00:00:00"] == "once_per_days 7"
    assert reasons["2026-11-17 00:00:00"] == "once_per_days 7"


def test_once_per_days_latest_in_period_counts(score: Scorer):
    # both in period 0 (ages 2 and 1): the later one, 11-29 18:00, counts
    activities = visits("2026-11-28 09:00", "2026-11-29 18:00", "2026-11-29 08:00")
    rule = {"name": "Visit", "type": "page_view", "points": 10, "once_per_days": 3}
    result = score(engagement(rule), ONE_LEAD, activities)
    assert lead(result, "L1")["engagement_score"] == 10
    assert counted_times(result.ledger_for("L1")) == ["2026-11-29 18:00:00"]


def test_max_per_day_same_time_later_row_counts(score: Scorer):
    # lines 2 and 3 have the same time on 11-29: the later line of the input counts,
    # 09:00 on the same day does not, and 11-30 is another day: 10 + 10 = 20
    activities = visits(
        "2026-11-29 10:00:00", "2026-11-29 10:00:00", "2026-11-29 09:00:00", "2026-11-30 08:00"
    )
    rule = {"name": "Visit", "type": "page_view", "points": 10, "max_per_day": 1}
    result = score(engagement(rule), ONE_LEAD, activities)
    assert lead(result, "L1")["engagement_score"] == 20
    ledger = result.ledger_for("L1")
    counted = ledger.filter(pl.col("counted"))
    assert counted["line"].to_list() == [5, 3]
    dropped = ledger.filter(~pl.col("counted"))
    assert dropped["line"].to_list() == [2, 4]
    assert dropped["cut_reason"].to_list() == ["max_per_day 1", "max_per_day 1"]


def test_max_per_day_two_keeps_both_ties(score: Scorer):
    activities = visits("2026-11-29 10:00:00", "2026-11-29 10:00:00", "2026-11-29 09:00:00")
    rule = {"name": "Visit", "type": "page_view", "points": 10, "max_per_day": 2}
    result = score(engagement(rule), ONE_LEAD, activities)
    assert lead(result, "L1")["engagement_score"] == 20
    assert lead(result, "L1")["reasons"] == "Visit x2 +20"


def test_max_per_day_uses_local_calendar_day(score: Scorer):
    # 23:30Z on 11-29 and 00:30Z on 11-30 are two UTC days, but 00:30 and 01:30 on 11-30
    # in Berlin, one local day
    activities = visits("2026-11-29T23:30:00Z", "2026-11-30T00:30:00Z")
    rule = {"name": "Visit", "type": "page_view", "points": 10, "max_per_day": 1}
    in_utc = score(engagement(rule), ONE_LEAD, activities)
    assert lead(in_utc, "L1")["engagement_score"] == 20
    berlin = {**engagement(rule), "activities": {"timezone": "Europe/Berlin"}}
    assert lead(score(berlin, ONE_LEAD, activities), "L1")["engagement_score"] == 10


def test_limits_apply_in_order(score: Scorer):
    # max_per_day 1 drops 11-30 09:00 (10:00 is later that day). once_per_days 7 then keeps
    # the latest of each period: 11-30 10:00 of ages 0-6 (dropping 11-28), 11-22 of ages
    # 7-13 (dropping 11-20), and 11-10 of ages 14-20. max_count 2 keeps 11-30 and 11-22,
    # dropping 11-10. With an 8-day half-life: 10 * 0.5 ** 0 + 10 * 0.5 ** (8 / 8) = 15
    activities = visits(
        "2026-11-30 09:00",
        "2026-11-30 10:00",
        "2026-11-28",
        "2026-11-22",
        "2026-11-20",
        "2026-11-10",
    )
    rule = {
        "name": "Visit",
        "type": "page_view",
        "points": 10,
        "max_per_day": 1,
        "once_per_days": 7,
        "max_count": 2,
    }
    result = score(engagement(rule, half_life_days=8), ONE_LEAD, activities)
    assert lead(result, "L1")["engagement_score"] == 15
    assert lead(result, "L1")["reasons"] == "Visit x2 +15"

    ledger = result.ledger_for("L1")
    assert cut_reasons(ledger) == {
        "2026-11-30 10:00:00": "",
        "2026-11-30 09:00:00": "max_per_day 1",
        "2026-11-28 00:00:00": "once_per_days 7",
        "2026-11-22 00:00:00": "",
        "2026-11-20 00:00:00": "once_per_days 7",
        "2026-11-10 00:00:00": "max_count 2",
    }
    assert ledger.filter(~pl.col("counted"))["points_earned"].to_list() == [0.0] * 4


def test_limits_are_per_lead_and_rule(score: Scorer):
    leads = [{"id": "L1", "email": ""}, {"id": "L2", "email": ""}]
    activities = [
        {"lead": "L1", "type": "page_view", "at": "2026-11-30 08:00"},
        {"lead": "L1", "type": "page_view", "at": "2026-11-30 09:00"},
        {"lead": "L2", "type": "page_view", "at": "2026-11-30 10:00"},
    ]
    once_a_day = {"name": "Visit", "type": "page_view", "points": 10, "max_per_day": 1}
    every_touch = {"name": "Touch", "points": 1}
    result = score(engagement(once_a_day, every_touch), leads, activities)
    # L1: one visit counts (10) and both touches (2); L2: 10 + 1
    assert lead(result, "L1")["engagement_score"] == 12
    assert lead(result, "L2")["engagement_score"] == 11


def test_once_per_days_outside_window_ignored(score: Scorer):
    # the 11-20 match is before a 7-day window, so it does not use up period 1
    activities = visits("2026-11-30", "2026-11-20")
    rule = {"name": "Visit", "type": "page_view", "points": 10, "once_per_days": 1}
    result = score(engagement(rule, lookback_days=7), ONE_LEAD, activities)
    assert lead(result, "L1")["engagement_score"] == 10
