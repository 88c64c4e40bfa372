"""The run log for cron: one JSON object per line, with run id, step, counts and durations.

Callers pass counts, dates, file names and error types only. Lead rows, e-mail addresses
and names never go into the log, because log files are kept and shared more widely than
the outputs.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from pathlib import Path
from typing import IO

from leadq.errors import ConfigError


def new_run_id() -> str:
    """Return a new random id that marks this run's log lines and webhook batches."""
    return uuid.uuid4().hex[:12]


class RunLog:
    """Append one JSON line per event to a log file; with no file, do nothing.

    The file is opened in append mode and each line is written and flushed at once, so runs
    that follow each other share one file and a killed run leaves whole lines.
    """

    def __init__(self, path: Path | None, run_id: str) -> None:
        self.run_id = run_id
        self._started = time.perf_counter()
        self._handle: IO[str] | None = None
        if path is not None:
            try:
                self._handle = path.open("a", encoding="utf-8")
            except OSError as error:
                problem = f"--log-file {path} cannot be opened for writing: {error.strerror}"
                raise ConfigError("command line", [problem]) from None

    def write(self, step: str, **fields: object) -> None:
        """Log one event of `step` with the seconds since the run started."""
        if self._handle is None:
            return
        record = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "run_id": self.run_id,
            "step": step,
            "elapsed_seconds": round(time.perf_counter() - self._started, 3),
            **fields,
        }
        self._handle.write(json.dumps(record, default=str) + "\n")
        self._handle.flush()

    def close(self) -> None:
        """Close the log file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
