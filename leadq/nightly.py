"""A scoring run that remembers the previous one: new and lost MQLs, handoff files, the webhook.

`NightlyRun` wraps one `leadq score` run. On entry it takes the state's lock and reads the
state. `with_changes` adds `mql_since` and `status` to the scored leads. `file_writer`
returns what adds `new_mqls`, `lost_mqls` and the handoff file to the output folder. Once
every output is in place, `commit` queues the webhook batches, saves the state and sends
the batches.
A run killed at any point before the state is saved leaves the previous state, so the next
run compares with the same snapshot and reports the same changes.

Without a state file the run only writes the run log, and the outputs stay as they are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import polars as pl

from leadq.config import Config
from leadq.engagement import LEAD_ID
from leadq.errors import ConfigError, ExitCode, LeadqError
from leadq.handoff import check_handoff, handoff_file_name, handoff_table
from leadq.lock import StateLock
from leadq.notify import make_batches, pending_path_for, queue_batches, read_pending, send_pending
from leadq.outputs import OutputFormat, write_table
from leadq.runlog import RunLog, new_run_id
from leadq.scoring import ScoringResult, summary_counts, today_in
from leadq.state import (
    LOST,
    NEW,
    STILL,
    Baseline,
    Snapshot,
    State,
    choose_baseline,
    dropped_mqls,
    load_state,
    mql_changes,
    remove_leftovers,
    save_state,
    snapshot_of,
)

# The steps that `commit` passes, in order. Fault-injection tests set `step_hook` to stop
# the process at one of them. `leadq.state.STATE_WRITTEN` comes between the last two.
OUTPUTS_WRITTEN = "outputs written"
NOTIFICATIONS_QUEUED = "notifications queued"
STATE_SAVED = "state saved"

step_hook: Callable[[str], None] | None = None

CHANGE_COLUMNS = ["mql_since", "status"]


@dataclass
class Note:
    """A line for the person or cron job running leadq. Warnings show even with --quiet."""

    text: str
    is_warning: bool = False


class NightlyRun:
    """One scoring run with its state, lock, run log, handoff file and webhook.

    Use it as a context manager around scoring and writing the outputs. Raises ConfigError
    on entry for settings that need a state file when none is given, and LockedError when
    another run holds the state's lock.
    """

    def __init__(
        self,
        config: Config,
        *,
        state_path: Path | None = None,
        rewind: bool = False,
        log_path: Path | None = None,
        as_of: dt.date | None = None,
    ) -> None:
        self.config = config
        configured = Path(config.state.path) if config.state else None
        self.state_path = state_path or configured
        self._state_from_config = state_path is None
        self.rewind = rewind
        self.run_id = new_run_id()
        self.log = RunLog(log_path, self.run_id)
        timezone = config.activities.timezone if config.activities else "UTC"
        self.as_of = as_of or today_in(timezone)
        self.notes: list[Note] = []

        self._lock: StateLock | None = None
        self._state: State | None = None
        self._baseline = Baseline(snapshot=None, is_advancing=True)
        self._snapshot: Snapshot | None = None
        self._new_mqls = pl.DataFrame()
        self._lost_mqls = pl.DataFrame()
        self._step_started = time.perf_counter()

    @property
    def has_state(self) -> bool:
        """True when this run keeps a state file, and so reports new and lost MQLs."""
        return self.state_path is not None

    def __enter__(self) -> NightlyRun:
        self._log_step(
            "run started",
            as_of=self.as_of.isoformat(),
            config=str(self.config.path) if self.config.path else None,
            config_sha256=self.config.sha256,
            state=str(self.state_path) if self.state_path else None,
        )
        try:
            self._check_settings()
            if self.state_path is not None:
                self._open_state(self.state_path)
        except BaseException as error:
            self._finish(error)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._finish(exc)

    def with_changes(self, result: ScoringResult) -> ScoringResult:
        """Add `mql_since` and `status` to the scored leads, or change nothing without a state."""
        counts = summary_counts(result)
        self._log_step("scored", leads=counts["total"], mqls=counts["mql"])
        if self.state_path is None:
            return result
        if result.as_of != self.as_of:
            self.as_of = result.as_of
            self._baseline = choose_baseline(self._state, self.as_of, rewind=self.rewind)

        baseline = self._baseline.snapshot
        changes = mql_changes(result.leads, baseline, self.as_of)
        self._snapshot = snapshot_of(result.leads, changes, self.as_of)
        shown = changes.with_columns(pl.col("mql_since").cast(pl.String))
        leads = result.leads.join(shown, on=LEAD_ID, how="left", maintain_order="left")
        columns = [*result.output_columns, *CHANGE_COLUMNS]
        result = dataclasses.replace(result, leads=leads, output_columns=columns)

        self._new_mqls = (
            leads.filter(pl.col("status") == NEW)
            .sort(["engagement_score", LEAD_ID], descending=[True, False])
            .select(columns)
        )
        self._lost_mqls = self._lost_table(leads, dropped_mqls(result.leads, baseline), columns)
        self._describe_changes(changes)
        return result

    def file_writer(
        self, fmt: OutputFormat, *, escape_formulas: bool
    ) -> Callable[[Path], None] | None:
        """Return what writes new_mqls, lost_mqls and the handoff file into the output folder."""
        if self.state_path is None:
            return None

        def write(folder: Path) -> None:
            escape = escape_formulas
            write_table(self._new_mqls, folder / f"new_mqls.{fmt}", fmt, escape_formulas=escape)
            write_table(self._lost_mqls, folder / f"lost_mqls.{fmt}", fmt, escape_formulas=escape)
            handoff = self.config.handoff
            if handoff is not None:
                table = handoff_table(self._new_mqls, handoff, has_email=self._has_email)
                path = folder / handoff_file_name(handoff)
                write_table(table, path, "csv", escape_formulas=escape)

        return write

    def commit(self) -> list[Note]:
        """Queue the webhook batches, save the state, send the batches and return the notes.

        Call it once every output is in place. Nothing here fails the run when the webhook
        is down. The batches stay queued for the next run, and a warning note reports it.
        """
        self._step(OUTPUTS_WRITTEN, new_mqls=self._new_mqls.height)
        if self.state_path is None or self._snapshot is None:
            return self.notes
        notify = self.config.notify
        pending = pending_path_for(self.state_path)
        committed = self._state.queued_runs if self._state else ()
        is_queueing = notify is not None and self._baseline.is_advancing
        if notify is not None:
            batches = []
            if is_queueing:
                batches = make_batches(
                    self._new_mqls,
                    as_of=self.as_of.isoformat(),
                    run_id=self.run_id,
                    batch_size=notify.batch_size,
                )
            queue_batches(pending, batches, committed)
            self._step(NOTIFICATIONS_QUEUED, batches=len(batches))

        waiting_runs = {batch["run_id"] for batch in read_pending(pending)}
        queued_runs = tuple(run for run in (*committed, self.run_id) if run in waiting_runs)
        state = State(self._snapshot, self._baseline.snapshot, queued_runs)
        save_state(self.state_path, state, on_step=self._step)
        self._step(STATE_SAVED, as_of=self.as_of.isoformat())

        if notify is not None and waiting_runs:
            delivery = send_pending(pending, notify, log=self.log.write)
            self._log_step(
                "notifications sent",
                sent_batches=delivery.sent_batches,
                sent_leads=delivery.sent_leads,
                pending_batches=delivery.pending_batches,
                problem=delivery.problem,
            )
            if delivery.sent_batches:
                self.notes.append(
                    Note(
                        f"Sent {_count(delivery.sent_leads, 'new MQL')} in "
                        f"{_count(delivery.sent_batches, 'batch')} to the webhook."
                    )
                )
            if delivery.problem:
                text = (
                    f"The webhook did not take every batch: {delivery.problem}. "
                    f"The next run sends first what waits in {pending}: "
                    f"{_count(delivery.pending_batches, 'batch')}. The outputs and the state "
                    "are saved."
                )
                self.notes.append(Note(text, is_warning=True))
        return self.notes

    @property
    def _has_email(self) -> bool:
        return self.config.leads.email is not None

    def _check_settings(self) -> None:
        problems = []
        if self.state_path is None:
            needs_state = {
                "handoff": "handoff files list the new MQLs",
                "notify": "the webhook receives the new MQLs",
            }
            for key, why in needs_state.items():
                if getattr(self.config, key) is not None:
                    problems.append(
                        f"{key}: {why}, which needs the previous run's state; set "
                        '[state] path = "leadq-state.parquet" or pass --state'
                    )
            if self.rewind:
                problems.append("--rewind moves a state file back; give --state or [state] path")
        elif self.config.models:
            # NOTE: the state keeps one MQL status per lead. So [state], [handoff] and
            # [notify] are rejected with models when the config is validated.
            problems.append(
                "--state: new and lost MQLs are not available with [[models]] yet; "
                "leave out --state"
            )
        elif self.state_path.is_dir():
            setting = "state.path" if self._state_from_config else "--state"
            problems.append(
                f"{setting} {self.state_path} is a folder; give a file name such as "
                f"{self.state_path / 'leadq-state.parquet'}"
            )
        if problems:
            raise ConfigError("config", problems)
        if self.config.handoff is not None:
            check_handoff(self.config.handoff, self._output_columns(), has_email=self._has_email)

    def _output_columns(self) -> list[str]:
        columns = [LEAD_ID, "email"] if self._has_email else [LEAD_ID]
        columns += [column for column in self.config.output.columns if column not in columns]
        fixed = ["fit", "fit_failed", "engagement_score", "reasons", "mql", "mql_reason"]
        return columns + fixed + CHANGE_COLUMNS

    def _open_state(self, state_path: Path) -> None:
        self._lock = StateLock(state_path)
        self._lock.acquire()
        stale = self._lock.stale
        if stale is not None:
            self._log_step("stale lock cleared", pid=stale.pid, host=stale.host)
            self.notes.append(
                Note(
                    f"Cleared the lock that a killed run (process {stale.pid} on {stale.host}) "
                    f"left in {self._lock.path}."
                )
            )
        remove_leftovers(state_path)
        self._state = load_state(state_path)
        self._baseline = choose_baseline(self._state, self.as_of, rewind=self.rewind)
        if self._baseline.note:
            self.notes.append(Note(self._baseline.note[0].upper() + self._baseline.note[1:] + "."))
        baseline = self._baseline.snapshot
        self._log_step(
            "state read",
            state_as_of=self._state.current.as_of.isoformat() if self._state else None,
            compared_with=baseline.as_of.isoformat() if baseline else None,
            advancing=self._baseline.is_advancing,
        )

    def _lost_table(
        self, leads: pl.DataFrame, dropped: pl.DataFrame, columns: list[str]
    ) -> pl.DataFrame:
        """List lost MQLs by lead id, with MQLs gone from the leads file as near-empty rows."""
        lost = leads.filter(pl.col("status") == LOST).select(columns)
        gone = dropped.select(
            LEAD_ID,
            pl.col("mql_since").cast(pl.String),
            pl.lit(LOST).alias("status"),
            pl.lit(False).alias("mql"),
            pl.lit("no longer in the leads file").alias("mql_reason"),
        )
        combined = pl.concat([lost, gone], how="diagonal_relaxed")
        return combined.select(columns).sort(LEAD_ID)

    def _describe_changes(self, changes: pl.DataFrame) -> None:
        counts = dict(changes.group_by("status").len().iter_rows())
        new, still = counts.get(NEW, 0), counts.get(STILL, 0)
        lost = self._lost_mqls.height
        baseline = self._baseline.snapshot
        self._log_step("changes", new=new, still=still, lost=lost)
        if baseline is None:
            text = f"No earlier run to compare with: all {new} MQLs are new."
        else:
            text = (
                f"Compared with the run as of {baseline.as_of}: {new} new MQLs, {lost} lost, "
                f"{still} still MQL."
            )
        self.notes.append(Note(text))

    def _step(self, name: str, **fields: object) -> None:
        self._log_step(name, **fields)
        if step_hook is not None:
            step_hook(name)

    def _log_step(self, name: str, **fields: object) -> None:
        now = time.perf_counter()
        self.log.write(name, seconds=round(now - self._step_started, 3), **fields)
        self._step_started = now

    def _finish(self, error: BaseException | None) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        code = _exit_code(error)
        kind = type(error).__name__ if code != ExitCode.SUCCESS and error else None
        self._log_step("run finished", exit_code=int(code), error=kind)
        self.log.close()


def _exit_code(error: BaseException | None) -> int:
    """Return the exit code that `error` leads to, as the CLI sets it."""
    if error is None:
        return ExitCode.SUCCESS
    if isinstance(error, LeadqError):
        return error.exit_code
    # typer.Exit and SystemExit carry their code, read by attribute because the library
    # does not import Typer.
    code = getattr(error, "exit_code", getattr(error, "code", None))
    return code if isinstance(code, int) else ExitCode.BAD_DATA


def _count(number: int, noun: str) -> str:
    """Write a count with its noun in the singular or the plural: 1 batch, 2 batches."""
    if number == 1:
        return f"1 {noun}"
    plural = noun + "es" if noun.endswith(("ch", "s", "x")) else noun + "s"
    return f"{number:,} {plural}"
