"""Helpers for the nightly-run tests: the B2B sample config, CLI runs and a local webhook."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import polars as pl
from typer.testing import CliRunner

from leadq.cli import app
from leadq.config import load_config
from leadq.scoring import score_leads

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def b2b_config(folder: Path, extra: str = "") -> Path:
    """Write the shipped B2B config into `folder`, reading the shipped sample data."""
    text = (REPO / "configs" / "b2b.toml").read_text(encoding="utf-8")
    text = text.replace("../sample_data", str(REPO / "sample_data"))
    path = folder / "b2b.toml"
    path.write_text(text + "\n" + extra, encoding="utf-8")
    return path


def score_day(config: Path, day: dt.date, out: Path, *extra: str) -> Any:
    """Run `leadq score` in this process as of `day`."""
    args = ["score", "--config", str(config), "--as-of", day.isoformat(), "--out", str(out)]
    return runner.invoke(app, [*args, *extra])


def plain_mqls(config: Path, day: dt.date) -> set[str]:
    """Score through the library with no state and return the MQL ids."""
    result = score_leads(load_config(config), as_of=day)
    return set(result.mqls["lead_id"].to_list())


def lead_ids(path: Path) -> set[str]:
    """Read the lead ids of an output table."""
    return set(pl.read_csv(path, infer_schema=False)["lead_id"].to_list())


def days(first: dt.date, count: int) -> list[dt.date]:
    """Return `count` consecutive days from `first`."""
    return [first + dt.timedelta(days=offset) for offset in range(count)]


@dataclass
class Webhook:
    """A local endpoint that answers each POST as its plan says, then with 200.

    Plan entries: "ok" (200), "fail" (503), "reject" (400) or "slow" (answers after
    `slow_seconds`, later than the client waits). Only batches answered with 200 count as
    received.
    """

    plan: list[str] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    slow_seconds: float = 0.6
    url: str = ""

    def received_leads(self) -> list[str]:
        """Return the lead ids of every delivered batch, repeats included."""
        return [lead["lead_id"] for batch in self.received for lead in batch["leads"]]


def _handler(hook: Webhook) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.requests += 1
            mode = hook.plan.pop(0) if hook.plan else "ok"
            if mode == "slow":
                time.sleep(hook.slow_seconds)
                status = 504
            else:
                status = {"ok": 200, "fail": 503, "reject": 400}[mode]
            if status == 200:
                hook.received.append(json.loads(body))
            # after a "slow" answer the client has gone, so writing to it may fail
            with contextlib.suppress(OSError):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    return Handler


@contextlib.contextmanager
def webhook_server(plan: list[str] | None = None) -> Iterator[Webhook]:
    """Serve a `Webhook` on 127.0.0.1 in a thread for the duration of the block."""
    hook = Webhook(plan=list(plan or []))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hook))
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/leads"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def notify_section(url: str, **options: object) -> str:
    """Return a [notify] section for `url` with fast retries, for tests."""
    settings = {"batch_size": 20, "timeout_seconds": 0.3, "backoff_seconds": 0.01, **options}
    lines = [f'url = "{url}"', *(f"{key} = {value}" for key, value in settings.items())]
    return "[notify]\n" + "\n".join(lines) + "\n"
