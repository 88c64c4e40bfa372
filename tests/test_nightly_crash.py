"""Runs killed at each step, overlapping runs and stale locks, in real subprocesses."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leadq.errors import ExitCode
from leadq.lock import lock_path_for
from leadq.nightly import NOTIFICATIONS_QUEUED, OUTPUTS_WRITTEN, STATE_SAVED
from leadq.state import STATE_WRITTEN, load_state
from tests.nightly_support import (
    REPO,
    b2b_config,
    lead_ids,
    notify_section,
    plain_mqls,
    score_day,
    webhook_server,
)

DAY_1, DAY_2, DAY_3 = dt.date(2026, 11, 24), dt.date(2026, 11, 25), dt.date(2026, 11, 26)

# Runs the real CLI with a step hook: "kill" ends the process with SIGKILL at the step, as
# `kill -9` would; "wait" creates a marker file there and waits until a go file appears.
RUNNER = """
import os, signal, sys, time
from pathlib import Path
import leadq.nightly as nightly
from leadq.cli import app

action, step, marker = sys.argv[1:4]

def hook(name):
    if name != step:
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    Path(marker).touch()
    go = Path(marker + ".go")
    deadline = time.monotonic() + 60
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.05)

nightly.step_hook = hook
app(sys.argv[4:], prog_name="leadq")
"""


def start_cli(action: str, step: str, marker: Path, args: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-c", RUNNER, action, step, str(marker), *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def cli_args(config: Path, day: dt.date, out: Path, state: Path) -> list[str]:
    return [
        "score", "--config", str(config), "--as-of", day.isoformat(),
        "--out", str(out), "--state", str(state), "-q",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "step", [OUTPUTS_WRITTEN, NOTIFICATIONS_QUEUED, STATE_WRITTEN, STATE_SAVED]
)
def test_killed_run_loses_nothing(tmp_path: Path, step: str):
    state, out = tmp_path / "state" / "leadq-state.parquet", tmp_path / "out"
    with webhook_server() as hook:
        config = b2b_config(tmp_path, notify_section(hook.url))
        assert score_day(config, DAY_1, out, "--state", str(state)).exit_code == 0

        killed = start_cli("kill", step, tmp_path / "marker", cli_args(config, DAY_2, out, state))
        _, errors = killed.communicate(timeout=120)
        assert killed.returncode == -signal.SIGKILL, errors.decode()
        assert lock_path_for(state).exists()

        saved = load_state(state)
        assert saved is not None
        # the state moves on only once it is saved, so a kill before then leaves day 1
        expected_latest = DAY_2 if step == STATE_SAVED else DAY_1
        assert saved.current.as_of == expected_latest

        # the repeat of day 2 clears the stale lock and reports day 2's changes
        result = score_day(config, DAY_2, out, "--state", str(state))
        assert result.exit_code == 0, result.output
        assert "Cleared the lock that a killed run" in result.stdout
        assert lead_ids(out / "new_mqls.csv") == plain_mqls(config, DAY_2) - plain_mqls(
            config, DAY_1
        )
        assert lead_ids(out / "lost_mqls.csv") == plain_mqls(config, DAY_1) - plain_mqls(
            config, DAY_2
        )
        assert not list(state.parent.glob(".*tmp*"))

        assert score_day(config, DAY_3, out, "--state", str(state)).exit_code == 0

    # every lead that became an MQL on one of the three days reached the webhook once
    expected = sorted(plain_mqls(config, DAY_1))
    expected += sorted(plain_mqls(config, DAY_2) - plain_mqls(config, DAY_1))
    expected += sorted(plain_mqls(config, DAY_3) - plain_mqls(config, DAY_2))
    assert sorted(hook.received_leads()) == sorted(expected)


def test_second_run_exits_with_lock_code(tmp_path: Path):
    config = b2b_config(tmp_path)
    state, marker = tmp_path / "state.parquet", tmp_path / "marker"
    first = start_cli(
        "wait", OUTPUTS_WRITTEN, marker, cli_args(config, DAY_1, tmp_path / "a", state)
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), first.communicate()[1].decode()

    second = score_day(config, DAY_1, tmp_path / "b", "--state", str(state))
    Path(f"{marker}.go").touch()
    _, errors = first.communicate(timeout=120)

    assert second.exit_code == ExitCode.LOCKED
    assert "another leadq run (process" in second.stderr
    assert "this run changed nothing" in second.stderr
    assert not (tmp_path / "b").exists()
    assert first.returncode == 0, errors.decode()
    assert not lock_path_for(state).exists()


def test_stale_lock_is_cleared(tmp_path: Path):
    config = b2b_config(tmp_path)
    state = tmp_path / "state.parquet"
    # a lock file that names a process which has ended, as a killed run leaves it
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid = int(finished.stdout)
    lock_path_for(state).write_text(f"{dead_pid} somehost\n", encoding="utf-8")

    result = score_day(config, DAY_1, tmp_path / "out", "--state", str(state))
    assert result.exit_code == 0, result.output
    assert f"killed run (process {dead_pid} on somehost)" in result.stdout
    assert not lock_path_for(state).exists()
