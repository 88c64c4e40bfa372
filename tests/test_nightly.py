"""Nightly runs with a state file: new and lost MQLs, MQL dates, reruns, rewinds and the log."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from leadq.errors import ExitCode
from leadq.state import load_state
from tests.nightly_support import (
    b2b_config,
    days,
    lead_ids,
    plain_mqls,
    score_day,
)

FIRST_DAY = dt.date(2026, 11, 21)


def test_ten_days_match_plain_runs(tmp_path: Path):
    config = b2b_config(tmp_path)
    state = tmp_path / "state" / "leadq-state.parquet"
    out = tmp_path / "out"
    before: set[str] = set()
    since: dict[str, dt.date] = {}
    totals = {"new": 0, "lost": 0}

    for day in days(FIRST_DAY, 10):
        mqls = plain_mqls(config, day)
        # what a person would compute from two plain runs: who joined and who left the list
        expected_new, expected_lost = mqls - before, before - mqls
        since = {lead: since.get(lead, day) for lead in mqls}

        result = score_day(config, day, out, "--state", str(state), "-q")
        assert result.exit_code == 0, result.output
        assert lead_ids(out / "new_mqls.csv") == expected_new, day
        assert lead_ids(out / "lost_mqls.csv") == expected_lost, day

        scored = pl.read_csv(out / "scored_leads.csv", infer_schema=False)
        mql_rows = scored.filter(pl.col("mql") == "true")
        shown_since = dict(zip(mql_rows["lead_id"], mql_rows["mql_since"], strict=True))
        assert shown_since == {lead: date.isoformat() for lead, date in since.items()}, day
        totals["new"] += len(expected_new)
        totals["lost"] += len(expected_lost)
        before = mqls

    # the sample must move both ways over these days, or this test proves little
    first_day_mqls = len(plain_mqls(config, FIRST_DAY))
    assert totals["new"] > first_day_mqls
    assert totals["lost"] > 0


def test_status_column_values(tmp_path: Path):
    config = b2b_config(tmp_path)
    state = tmp_path / "state.parquet"
    first, second = days(FIRST_DAY, 2)
    assert score_day(config, first, tmp_path / "a", "--state", str(state)).exit_code == 0
    assert score_day(config, second, tmp_path / "b", "--state", str(state)).exit_code == 0

    scored = pl.read_csv(tmp_path / "b" / "scored_leads.csv", infer_schema=False)
    assert scored.columns[-2:] == ["mql_since", "status"]
    before, after = plain_mqls(config, first), plain_mqls(config, second)
    expected = {
        lead: "still" if lead in before and lead in after else "new" if lead in after else "lost"
        for lead in before | after
    }
    shown = dict(zip(scored["lead_id"], scored["status"], strict=True))
    assert {lead: shown[lead] for lead in expected} == expected
    others = {status for lead, status in shown.items() if lead not in expected}
    assert others == {"none"}


def test_rerun_same_day_repeats_changes(tmp_path: Path):
    config = b2b_config(tmp_path)
    state = tmp_path / "state.parquet"
    first, second = days(FIRST_DAY, 2)
    score_day(config, first, tmp_path / "out", "--state", str(state))
    score_day(config, second, tmp_path / "out", "--state", str(state))
    files = ["new_mqls.csv", "lost_mqls.csv", "scored_leads.csv"]
    once = {name: (tmp_path / "out" / name).read_bytes() for name in files}

    result = score_day(config, second, tmp_path / "out", "--state", str(state))
    assert result.exit_code == 0, result.output
    again = {name: (tmp_path / "out" / name).read_bytes() for name in files}
    assert again == once
    saved = load_state(state)
    assert saved is not None
    assert saved.current.as_of == second
    assert saved.previous is not None
    assert saved.previous.as_of == first


def test_earlier_day_rejected_without_rewind(tmp_path: Path):
    config = b2b_config(tmp_path)
    state = tmp_path / "state.parquet"
    first, second = days(FIRST_DAY, 2)
    score_day(config, second, tmp_path / "out", "--state", str(state))

    result = score_day(config, first, tmp_path / "out", "--state", str(state))
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert "before 2026-11-22, the latest day in the state file" in result.stderr
    assert "--rewind" in result.stderr
    saved = load_state(state)
    assert saved is not None
    assert saved.current.as_of == second


def test_rewind_compares_with_older_snapshot(tmp_path: Path):
    config = b2b_config(tmp_path)
    state = tmp_path / "state.parquet"
    first, _, third = days(FIRST_DAY, 3)
    score_day(config, first, tmp_path / "out", "--state", str(state))
    score_day(config, third, tmp_path / "out", "--state", str(state))

    # the second day lies between the two snapshots, so it compares with the first
    second = FIRST_DAY + dt.timedelta(days=1)
    result = score_day(config, second, tmp_path / "out", "--state", str(state), "--rewind")
    assert result.exit_code == 0, result.output
    expected = plain_mqls(config, second) - plain_mqls(config, first)
    assert lead_ids(tmp_path / "out" / "new_mqls.csv") == expected
    saved = load_state(state)
    assert saved is not None
    assert saved.current.as_of == second


def test_rewind_past_history_starts_over(tmp_path: Path):
    config = b2b_config(tmp_path)
    state = tmp_path / "state.parquet"
    first, second = days(FIRST_DAY, 2)
    score_day(config, second, tmp_path / "out", "--state", str(state))

    result = score_day(config, first, tmp_path / "out", "--state", str(state), "--rewind")
    assert result.exit_code == 0, result.output
    assert "every MQL of 2026-11-21 counts as new" in result.stdout
    assert lead_ids(tmp_path / "out" / "new_mqls.csv") == plain_mqls(config, first)


def test_state_from_config_resolves_beside_it(tmp_path: Path):
    config = b2b_config(tmp_path, '[state]\npath = "kept/leadq-state.parquet"\n')
    result = score_day(config, FIRST_DAY, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "kept" / "leadq-state.parquet").exists()
    assert not (tmp_path / "kept" / "leadq-state.lock").exists()


def test_dropped_lead_listed_as_lost(tmp_path: Path):
    config = b2b_config(tmp_path)
    state = tmp_path / "state.parquet"
    leads = pl.read_csv(Path(__file__).parents[1] / "sample_data/b2b/leads.csv", infer_schema=False)
    assert score_day(config, FIRST_DAY, tmp_path / "out", "--state", str(state)).exit_code == 0
    dropped = sorted(lead_ids(tmp_path / "out" / "mqls.csv"))[0]

    fewer = tmp_path / "fewer.csv"
    leads.filter(pl.col("Record ID") != dropped).write_csv(fewer)
    result = score_day(
        config, FIRST_DAY + dt.timedelta(days=1), tmp_path / "out",
        "--state", str(state), "--leads", str(fewer),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lost = pl.read_csv(tmp_path / "out" / "lost_mqls.csv", infer_schema=False)
    row = lost.filter(pl.col("lead_id") == dropped).row(0, named=True)
    assert row["mql_reason"] == "no longer in the leads file"
    assert row["mql_since"] == FIRST_DAY.isoformat()
    assert row["status"] == "lost"


def test_no_state_keeps_outputs_unchanged(tmp_path: Path):
    config = b2b_config(tmp_path)
    result = score_day(config, FIRST_DAY, tmp_path / "out")
    assert result.exit_code == 0, result.output
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    # the sample config has [accounts], which writes accounts.csv whatever the state
    expected = ["accounts.csv", "mqls.csv", "rejects.csv", "scored_leads.csv"]
    assert names == [*expected, "summary.json", "summary.md"]
    scored = pl.read_csv(tmp_path / "out" / "scored_leads.csv", infer_schema=False)
    assert "status" not in scored.columns
    assert "mql_since" not in scored.columns


def test_log_file_lines_without_personal_data(tmp_path: Path):
    config = b2b_config(tmp_path)
    log = tmp_path / "leadq.log"
    state = tmp_path / "state.parquet"
    for day in days(FIRST_DAY, 2):
        result = score_day(
            config, day, tmp_path / "out", "--state", str(state), "--log-file", str(log)
        )
        assert result.exit_code == 0, result.output

    text = log.read_text(encoding="utf-8")
    records = [json.loads(line) for line in text.splitlines()]
    assert len({record["run_id"] for record in records}) == 2
    steps = [record["step"] for record in records if record["run_id"] == records[-1]["run_id"]]
    assert steps == [
        "run started", "state read", "scored", "changes", "outputs written",
        "state written", "state saved", "run finished",
    ]  # fmt: skip
    changes = next(record for record in records[::-1] if record["step"] == "changes")
    new = len(lead_ids(tmp_path / "out" / "new_mqls.csv"))
    assert changes["new"] == new
    assert records[-1]["exit_code"] == 0
    assert all(isinstance(record["seconds"], float) for record in records)
    assert "@" not in text
    assert "Mateo" not in text


def test_log_file_records_failed_run(tmp_path: Path):
    config = b2b_config(tmp_path)
    log = tmp_path / "leadq.log"
    result = score_day(
        config, FIRST_DAY, tmp_path / "out", "--leads", "missing.csv", "--log-file", str(log)
    )
    assert result.exit_code == ExitCode.BAD_DATA
    last = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])
    assert last["step"] == "run finished"
    assert last["exit_code"] == ExitCode.BAD_DATA
    assert last["error"] == "InputDataError"


def test_unreadable_state_exits_1(tmp_path: Path):
    config = b2b_config(tmp_path)
    state = tmp_path / "state.parquet"
    state.write_text("not parquet", encoding="utf-8")
    result = score_day(config, FIRST_DAY, tmp_path / "out", "--state", str(state))
    assert result.exit_code == ExitCode.BAD_DATA
    assert "cannot be read" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[handoff]\ntemplate = "hubspot"\n', "handoff: handoff files list the new MQLs"),
        ('[notify]\nurl = "http://127.0.0.1:9/x"\n', "notify: the webhook receives the new MQLs"),
    ],
)
def test_handoff_and_notify_need_state(tmp_path: Path, extra: str, message: str):
    config = b2b_config(tmp_path, extra)
    result = score_day(config, FIRST_DAY, tmp_path / "out")
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert message in result.stderr


def test_rewind_without_state_is_usage_error(tmp_path: Path):
    result = score_day(b2b_config(tmp_path), FIRST_DAY, tmp_path / "out", "--rewind")
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert "--rewind moves a state file back" in result.stderr
