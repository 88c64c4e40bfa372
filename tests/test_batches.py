"""Reading activities in small batches gives exactly what reading whole files gives."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from leadq.config import load_config, parse_config
from leadq.scoring import score_leads
from tests.conftest import write_csv

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
