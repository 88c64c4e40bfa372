"""The webhook against a local endpoint that fails, times out, rejects and recovers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from leadq.config import NotifySection
from leadq.notify import pending_path_for, read_pending, send_pending, write_pending
from tests.nightly_support import (
    b2b_config,
    days,
    lead_ids,
    notify_section,
    plain_mqls,
    score_day,
    webhook_server,
)

FIRST_DAY = dt.date(2026, 11, 24)


def test_delivers_each_mql_once_after_outages(tmp_path: Path):
    state, out, log = tmp_path / "state.parquet", tmp_path / "out", tmp_path / "run.log"
    # day 1: every attempt fails; day 2: every attempt times out; day 3 and 4: it recovers
    plan = ["fail"] * 3 + ["slow"] * 3
    with webhook_server(plan) as hook:
        config = b2b_config(tmp_path, notify_section(hook.url, max_attempts=3))
        expected: list[str] = []
        before: set[str] = set()
        for number, day in enumerate(days(FIRST_DAY, 4), start=1):
            result = score_day(config, day, out, "--state", str(state), "--log-file", str(log))
            assert result.exit_code == 0, result.output
            assert lead_ids(out / "new_mqls.csv") == plain_mqls(config, day) - before
            expected += sorted(plain_mqls(config, day) - before)
            before = plain_mqls(config, day)
            if number <= 2:
                assert "The webhook did not take every batch" in result.stderr
                assert read_pending(pending_path_for(state))
        assert hook.requests >= 6
        delivered = hook.received_leads()

    assert sorted(delivered) == sorted(expected)
    assert len(delivered) == len(set(delivered))
    assert not pending_path_for(state).exists()
    text = log.read_text(encoding="utf-8")
    assert "@" not in text
    attempts = [json.loads(line) for line in text.splitlines() if '"notify attempt"' in line]
    assert [record["http_status"] for record in attempts[:3]] == [503, 503, 503]
    assert attempts[3]["problem"] == "the request timed out after 0.3 seconds"


def test_batch_carries_leads_and_id(tmp_path: Path):
    state = tmp_path / "state.parquet"
    with webhook_server() as hook:
        config = b2b_config(tmp_path, notify_section(hook.url, batch_size=10))
        assert score_day(config, FIRST_DAY, tmp_path / "out", "--state", str(state)).exit_code == 0

    mqls = len(plain_mqls(config, FIRST_DAY))
    # batches of 10: a full batch for each 10 MQLs and one for the rest
    assert len(hook.received) == -(-mqls // 10)
    first = hook.received[0]
    assert first["as_of"] == "2026-11-24"
    assert first["batch_id"].startswith("2026-11-24-")
    lead = first["leads"][0]
    assert lead["status"] == "new"
    assert lead["mql_since"] == "2026-11-24"
    assert "@" in lead["email"]


def section(url: str, **options: object) -> NotifySection:
    return NotifySection(url=url, timeout_seconds=0.3, backoff_seconds=0.01, **options)


def batch(number: int) -> dict[str, object]:
    return {"batch_id": f"b{number}", "run_id": "r", "as_of": "2026-11-24", "leads": []}


def test_4xx_not_retried(tmp_path: Path):
    pending = tmp_path / "pending.jsonl"
    write_pending(pending, [batch(1), batch(2)])
    with webhook_server(["reject"]) as hook:
        delivery = send_pending(pending, section(hook.url), log=lambda *_a, **_k: None)
        assert hook.requests == 1
    assert delivery.problem == "batch b1 was not delivered after 1 attempt(s): " + (
        "the endpoint returned status 400 Bad Request"
    )
    assert [item["batch_id"] for item in read_pending(pending)] == ["b1", "b2"]


def test_5xx_retried_with_backoff(tmp_path: Path):
    pending = tmp_path / "pending.jsonl"
    write_pending(pending, [batch(1)])
    waits: list[float] = []
    with webhook_server(["fail", "fail"]) as hook:
        delivery = send_pending(
            pending, section(hook.url, max_attempts=4), log=lambda *_a, **_k: None,
            sleep=waits.append,
        )  # fmt: skip
        assert hook.requests == 3
    # waits of 0.01 s, then twice that before the third attempt
    assert waits == [0.01, 0.02]
    assert delivery.sent_batches == 1
    assert not pending.exists()


def test_refused_connection_keeps_batches(tmp_path: Path):
    pending = tmp_path / "pending.jsonl"
    write_pending(pending, [batch(1)])
    with webhook_server() as hook:
        url = hook.url
    # the server is gone, so the port refuses connections
    delivery = send_pending(pending, section(url, max_attempts=2), log=lambda *_a, **_k: None)
    assert delivery.pending_batches == 1
    assert delivery.problem is not None
    assert "the connection failed" in delivery.problem
