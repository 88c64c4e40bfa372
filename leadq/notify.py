"""The webhook: new MQLs posted as JSON in batches, kept on disk until the endpoint accepts them.

Each batch is first written to the pending notifications file beside the state file. A batch
leaves that file only after the endpoint responded to it with a 2xx status, so a batch that
failed, or a run that was killed, leaves it there for the next run, which sends it before
its own. A run killed between the endpoint's response and the file update sends that batch
once more. Its `batch_id`, also sent as the `Idempotency-Key` header, lets the receiver
recognise the repeat.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from leadq.config import NotifySection
from leadq.errors import StateError
from leadq.state import sync_file, sync_folder

Batch = dict[str, Any]
LogEvent = Callable[..., None]


def pending_path_for(state_path: Path) -> Path:
    """Return the pending notifications file of a state file."""
    return state_path.with_name(f"{state_path.stem}.pending_notifications.jsonl")


def make_batches(
    new_mqls: pl.DataFrame, *, as_of: str, run_id: str, batch_size: int
) -> list[Batch]:
    """Split the new MQLs into batches of at most `batch_size` leads, in table order."""
    batches = []
    for number, start in enumerate(range(0, new_mqls.height, batch_size), start=1):
        rows = json.loads(new_mqls.slice(start, batch_size).write_json())
        batches.append(
            {
                "batch_id": f"{as_of}-{run_id}-{number}",
                "run_id": run_id,
                "as_of": as_of,
                "leads": rows,
            }
        )
    return batches


def read_pending(path: Path) -> list[Batch]:
    """Read the batches waiting in the pending notifications file, oldest first."""
    if not path.exists():
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    except (OSError, ValueError) as error:
        msg = (
            f"reading the pending notifications file {path} failed ({error}); move it away "
            "to go on, and send its batches by hand if the endpoint still needs them"
        )
        raise StateError(msg) from None


def write_pending(path: Path, batches: list[Batch]) -> None:
    """Replace the pending notifications file in one step, or remove it when nothing waits."""
    if not batches:
        path.unlink(missing_ok=True)
        return
    temporary = path.with_name(f".{path.name}.tmp")
    text = "".join(json.dumps(batch, ensure_ascii=False) + "\n" for batch in batches)
    temporary.write_text(text, encoding="utf-8")
    sync_file(temporary)
    temporary.replace(path)
    sync_folder(path.parent)


def queue_batches(path: Path, batches: list[Batch], committed_runs: Collection[str]) -> None:
    """Add `batches` after the waiting ones that came from committed runs.

    Batches of runs missing from `committed_runs` were queued by a run that was killed
    before it saved the state. They are dropped, because the run that repeats that day
    queues them again.
    """
    waiting = [batch for batch in read_pending(path) if batch["run_id"] in committed_runs]
    write_pending(path, waiting + batches)


@dataclass
class Delivery:
    """The outcome of one round of sending: batches and leads sent, batches left waiting."""

    sent_batches: int = 0
    sent_leads: int = 0
    pending_batches: int = 0
    problem: str | None = None


def send_pending(
    path: Path,
    section: NotifySection,
    *,
    log: LogEvent,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Post the waiting batches in order, and stop at the first that fails.

    Each batch is tried up to `max_attempts` times, waiting `backoff_seconds` and then
    twice as long each time, after a timeout, a failed connection or a 5xx status. A 4xx
    or 3xx status is not retried, because sending the same request again would not change
    the response. Batches that were not delivered stay in the file.
    """
    batches = read_pending(path)
    delivery = Delivery()
    while batches:
        batch = batches[0]
        problem = _post_with_retries(batch, section, log=log, sleep=sleep)
        if problem is not None:
            delivery.problem = problem
            break
        batches = batches[1:]
        write_pending(path, batches)
        delivery.sent_batches += 1
        delivery.sent_leads += len(batch["leads"])
    delivery.pending_batches = len(batches)
    return delivery


def _post_with_retries(
    batch: Batch, section: NotifySection, *, log: LogEvent, sleep: Callable[[float], None]
) -> str | None:
    """Post one batch, and return None once it is delivered or the reason why it was not."""
    body = json.dumps(
        {"batch_id": batch["batch_id"], "as_of": batch["as_of"], "leads": batch["leads"]},
        ensure_ascii=False,
    ).encode("utf-8")
    host = urllib.parse.urlsplit(section.url).hostname
    problem = ""
    for attempt in range(1, section.max_attempts + 1):
        status, problem = _post(section.url, body, batch["batch_id"], section.timeout_seconds)
        log(
            "notify attempt",
            batch_id=batch["batch_id"],
            leads=len(batch["leads"]),
            host=host,
            attempt=attempt,
            http_status=status,
            problem=problem or None,
        )
        if not problem:
            return None
        is_retryable = status is None or status >= 500
        if not is_retryable or attempt == section.max_attempts:
            break
        sleep(section.backoff_seconds * 2 ** (attempt - 1))
    return f"batch {batch['batch_id']} was not delivered after {attempt} attempt(s): {problem}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Report a redirect as an error, because urllib would follow it with a GET without the body."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _post(url: str, body: bytes, batch_id: str, timeout: float) -> tuple[int | None, str]:
    """Post `body` once, and return the HTTP status (None without one) and a problem or ''."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": batch_id},
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return error.code, f"the endpoint returned status {error.code} {error.reason}"
    except TimeoutError:
        return None, f"the request timed out after {timeout:g} seconds"
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            return None, f"the request timed out after {timeout:g} seconds"
        return None, f"the connection failed: {error.reason}"
    except OSError as error:
        return None, f"the connection failed: {error}"
    if status >= 300:
        return status, f"the endpoint returned status {status}"
    return status, ""
