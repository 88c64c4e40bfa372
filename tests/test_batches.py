"""Reading activities in small batches gives exactly what reading whole files gives."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from leadq import engagement
from leadq.config import load_config, parse_config
from leadq.scoring import score_leads
from tests.conftest import write_csv
from tests.strategies import activity_rows, engagement_section, lead_views, score_random

ROOT = Path(__file__).resolve().parents[1]
FILES = Path(__file__).parent / "files"


@pytest.mark.parametrize("name", ["b2b", "b2c"])
@pytest.mark.parametrize("batch_rows", [97, 1000])
def test_sample_batches_match_whole_files(name: str, batch_rows: int):
    config = load_config(ROOT / "configs" / f"{name}.toml")
    as_of = dt.date(2026, 11, 30)
    whole = score_leads(config, as_of=as_of, batch_rows=None)
    batched = score_leads(config, as_of=as_of, batch_rows=batch_rows)
    assert_frame_equal(batched.scored_leads, whole.scored_leads)
    assert_frame_equal(batched.rejects, whole.rejects)
    assert batched.activity_counts == whole.activity_counts
    assert batched.activity_files == whole.activity_files


def test_max_count_across_batches(tmp_path: Path):
    # the two most recent of five matches sit in different batches of two rows
    leads = write_csv(tmp_path / "leads.csv", [{"id": "L1"}])
    activities = write_csv(
        tmp_path / "activities.csv",
        [
            {"lead": "L1", "type": "visit", "at": day}
            for day in ("2026-11-30", "2026-11-01", "2026-11-02", "2026-11-29", "2026-11-03")
        ],
    )
    raw = {
        "inputs": {"leads": str(leads), "activities": str(activities)},
        "leads": {"id": "id"},
        "activities": {"lead_id": "lead", "type": "type", "timestamp": "at"},
        "engagement": {
            "half_life_days": 1,
            "rules": [{"name": "Visit", "points": 8, "max_count": 2}],
        },
        "mql": {"threshold": 1},
    }
    for batch_rows in (None, 2, 1):
        result = score_leads(parse_config(raw), as_of=dt.date(2026, 11, 30), batch_rows=batch_rows)
        # 8 * 0.5 ** 0 + 8 * 0.5 ** 1
        assert result.scored_leads["engagement_score"].to_list() == [12.0], batch_rows
        assert result.scored_leads["reasons"].to_list() == ["Visit x2 +12"], batch_rows


def sample_with_limits_and_caps() -> dict[str, Any]:
    """The b2b sample config with frequency limits, score groups and a total cap added."""
    raw = tomllib.loads((ROOT / "configs" / "b2b.toml").read_text(encoding="utf-8"))
    folder = ROOT / "configs"
    raw["inputs"]["leads"] = str(folder / raw["inputs"]["leads"])
    raw["inputs"]["activities"] = [str(folder / p) for p in raw["inputs"]["activities"]]
    engagement = raw["engagement"]
    engagement["groups"] = [{"name": "web", "max_points": 30}, {"name": "events"}]
    engagement["max_points"] = 90
    for rule in engagement["rules"]:
        if rule["name"] in ("Pricing page visit", "Content download"):
            rule.update(group="web", max_per_day=1, once_per_days=5)
        elif rule["name"] == "Webinar attended":
            rule.update(group="events", once_per_days=14, max_count=2)
        elif rule["name"] == "Demo request":
            rule["max_per_day"] = 1
    return raw


@pytest.mark.parametrize("batch_rows", [97, 1000])
@pytest.mark.parametrize("unsorted_rows", [1, 1_000_000])
def test_sample_limits_and_caps_batches_match(
    batch_rows: int, unsorted_rows: int, monkeypatch: pytest.MonkeyPatch
):
    # with 1, the kept matches are chosen again whenever the new ones outnumber them, 18 times
    # in batches of 97; with the default, all of the sample's matches wait until the end
    monkeypatch.setattr(engagement, "_UNSORTED_ROWS", unsorted_rows)
    config = parse_config(sample_with_limits_and_caps())
    as_of = dt.date(2026, 11, 30)
    whole = score_leads(config, as_of=as_of, batch_rows=None, full_ledger=True)
    batched = score_leads(config, as_of=as_of, batch_rows=batch_rows, full_ledger=True)
    assert_frame_equal(batched.scored_leads, whole.scored_leads)
    assert_frame_equal(batched.ledger(), whole.ledger())
    # the limits and caps do cut points in the sample, so the comparison tests them
    reasons = whole.ledger()["cut_reason"]
    for cut in ("max_per_day 1", "once_per_days 5", "once_per_days 14", "max_count 2"):
        assert (reasons == cut).any(), cut
    assert reasons.str.contains("group web capped at 30").any()
    assert reasons.str.contains("total capped at 90").any()


def test_frequency_limits_across_batches(tmp_path: Path):
    # the latest match of a day, and of a 7-day period, sits in a later batch than older ones
    leads = write_csv(tmp_path / "leads.csv", [{"id": "L1"}])
    days = ["2026-11-24 08:00", "2026-11-30 08:00", "2026-11-30 09:00", "2026-11-23", "2026-11-29"]
    activities = write_csv(
        tmp_path / "activities.csv", [{"lead": "L1", "type": "visit", "at": day} for day in days]
    )
    raw = {
        "inputs": {"leads": str(leads), "activities": str(activities)},
        "leads": {"id": "id"},
        "activities": {"lead_id": "lead", "type": "type", "timestamp": "at"},
        "engagement": {
            "half_life_days": 7,
            "rules": [
                {"name": "Daily", "points": 4, "max_per_day": 1},
                {"name": "Weekly", "points": 8, "once_per_days": 7},
            ],
        },
        "mql": {"threshold": 1},
    }
    for batch_rows in (None, 1, 2):
        result = score_leads(parse_config(raw), as_of=dt.date(2026, 11, 30), batch_rows=batch_rows)
        # Daily: one per day on 11-30, 11-29, 11-24 and 11-23, so ages 0, 1, 6 and 7:
        # 4 * (1 + 0.5 ** (1 / 7) + 0.5 ** (6 / 7) + 0.5) = 11.8311...
        # Weekly: 11-30 09:00 for ages 0-6 and 11-23 for ages 7-13: 8 * (1 + 0.5) = 12
        reasons = result.scored_leads["reasons"].to_list()
        assert reasons == ["Daily x4 +11.83; Weekly x2 +12"], batch_rows
        assert result.scored_leads["engagement_score"].to_list() == [23.83], batch_rows


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    engagement=engagement_section(),
    activities=activity_rows(),
    views=lead_views,
    batch_rows=st.integers(min_value=1, max_value=5),
)
def test_random_limits_and_caps_batches_match(
    engagement: dict[str, Any], activities: list[dict[str, str]], views: list[int], batch_rows: int
):
    whole = score_random(engagement, activities, views)
    batched = score_random(engagement, activities, views, batch_rows=batch_rows)
    assert_frame_equal(batched.scored_leads, whole.scored_leads)
    # the activity files of the two runs are in different temporary folders
    assert_frame_equal(batched.ledger().drop("file"), whole.ledger().drop("file"))


def test_line_numbers_across_batches_with_multiline_records(tmp_path: Path):
    leads = write_csv(tmp_path / "leads.csv", [{"id": "L1"}])
    activities = tmp_path / "activities.csv"
    activities.write_text(
        "lead,type,at,note\n"
        'L1,visit,2026-11-30,"two\nlines"\n'
        "L1,visit,not a date,x\n"
        'L1,visit,2026-11-30,"three\nline\nnote"\n'
        "\n"
        "L1,visit,2026-11-30,x,surplus\n"
        "L1,visit,yesterday,x\n"
    )
    raw = {
        "inputs": {"leads": str(leads), "activities": str(activities)},
        "leads": {"id": "id"},
        "activities": {"lead_id": "lead", "type": "type", "timestamp": "at"},
        "engagement": {"rules": [{"name": "Visit", "points": 1}]},
        "mql": {"threshold": 1},
    }
    for batch_rows in (None, 1, 2, 3):
        result = score_leads(parse_config(raw), as_of=dt.date(2026, 11, 30), batch_rows=batch_rows)
        assert result.rejects["line"].to_list() == [4, 9, 10], batch_rows
        assert result.rejects["problem"].to_list() == [
            "unreadable timestamp",
            "wrong number of fields",
            "unreadable timestamp",
        ], batch_rows
        assert result.scored_leads["engagement_score"].to_list() == [2.0], batch_rows


def test_slashed_dates_settled_by_a_later_batch(tmp_path: Path):
    leads = write_csv(tmp_path / "leads.csv", [{"id": "L1"}])
    activities = write_csv(
        tmp_path / "activities.csv",
        [
            {"lead": "L1", "type": "visit", "at": "03/04/2026"},
            {"lead": "L1", "type": "visit", "at": "04/05/2026"},
            {"lead": "L1", "type": "visit", "at": "25/04/2026"},
        ],
    )
    raw = {
        "inputs": {"leads": str(leads), "activities": str(activities)},
        "leads": {"id": "id"},
        "activities": {"lead_id": "lead", "type": "type", "timestamp": "at"},
        "engagement": {"lookback_days": 30, "rules": [{"name": "Visit", "points": 1}]},
        "mql": {"threshold": 1},
    }
    # day first: 3 April, 4 May and 25 April, so only 4 May is outside a window ending 1 May
    for batch_rows in (None, 1):
        result = score_leads(parse_config(raw), as_of=dt.date(2026, 5, 1), batch_rows=batch_rows)
        assert result.scored_leads["engagement_score"].to_list() == [2.0], batch_rows
        assert result.activity_counts.future_dated == 1, batch_rows
