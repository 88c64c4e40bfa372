"""The state that nightly runs keep between them: each lead's MQL status, score and MQL date.

A state file is Parquet. It contains two snapshots, the latest run's and the one that run was
compared with, so that running the latest as-of date again compares with the same snapshot
and gives the same new and lost MQLs. The file is replaced in one step, so a crash leaves
either the old or the new state, never a mix.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from leadq.engagement import LEAD_ID
from leadq.errors import ConfigError, StateError

FORMAT_VERSION = 1
_METADATA_KEY = "leadq_state"

NEW = "new"
STILL = "still"
LOST = "lost"
NONE = "none"
MQL_STATUSES = (NEW, STILL)

SNAPSHOT_SCHEMA = {
    LEAD_ID: pl.String,
    "status": pl.String,
    "mql_since": pl.Date,
    "score": pl.Float64,
}

# Test hooks may stop the process here, between writing the new file and putting it in place.
STATE_WRITTEN = "state written"


@dataclass(frozen=True)
class Snapshot:
    """Every lead of one run: its status, the day it became an MQL (if it is one) and score."""

    as_of: dt.date
    leads: pl.DataFrame


@dataclass(frozen=True)
class State:
    """The latest snapshot, the snapshot it was compared with, and the committed run ids.

    `queued_runs` lists the runs whose webhook batches may still wait in the pending
    notifications file. A batch from a run missing here was queued by a run that crashed
    before saving the state, and is dropped.
    """

    current: Snapshot
    previous: Snapshot | None
    queued_runs: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Baseline:
    """The snapshot a run compares with, and whether the run moves the state forward."""

    snapshot: Snapshot | None
    is_advancing: bool
    note: str | None = None


def load_state(path: Path) -> State | None:
    """Read the state file at `path`; return None when there is none yet.

    Raises StateError when the file exists but is not a state file leadq can read.
    """
    if not path.exists():
        return None
    try:
        metadata = json.loads(pl.read_parquet_metadata(path)[_METADATA_KEY])
        frame = pl.read_parquet(path)
        version = metadata["version"]
        current_as_of = dt.date.fromisoformat(metadata["as_of"])
        previous_text = metadata["previous_as_of"]
        queued_runs = tuple(str(run) for run in metadata["queued_runs"])
    except (OSError, KeyError, ValueError, TypeError, pl.exceptions.PolarsError) as error:
        msg = (
            f"the state file {path} cannot be read ({type(error).__name__}: {error}); restore "
            "it from a backup, or move it away to start over, in which case every MQL counts "
            "as new"
        )
        raise StateError(msg) from None
    if version != FORMAT_VERSION:
        msg = f"the state file {path} has format {version}; this leadq reads {FORMAT_VERSION}"
        raise StateError(msg)

    def snapshot(name: str, as_of: dt.date) -> Snapshot:
        rows = frame.filter(pl.col("snapshot") == name).select(list(SNAPSHOT_SCHEMA))
        return Snapshot(as_of=as_of, leads=rows)

    previous = None
    if previous_text is not None:
        previous = snapshot("previous", dt.date.fromisoformat(previous_text))
    return State(snapshot("current", current_as_of), previous, queued_runs)


def save_state(
    path: Path, state: State, *, on_step: Callable[[str], None] = lambda _step: None
) -> None:
    """Write `state` to `path` in one step: a new file is written, synced, then renamed."""
    parts = [state.current.leads.with_columns(snapshot=pl.lit("current"))]
    if state.previous is not None:
        parts.append(state.previous.leads.with_columns(snapshot=pl.lit("previous")))
    frame = pl.concat(parts)
    metadata = {
        "version": FORMAT_VERSION,
        "as_of": state.current.as_of.isoformat(),
        "previous_as_of": state.previous.as_of.isoformat() if state.previous else None,
        "queued_runs": list(state.queued_runs),
    }

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary_name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    os.close(handle)
    temporary = Path(temporary_name)
    try:
        frame.write_parquet(temporary, metadata={_METADATA_KEY: json.dumps(metadata)})
        sync_file(temporary)
        on_step(STATE_WRITTEN)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


def remove_leftovers(path: Path) -> None:
    """Delete temporary state files that killed runs left beside `path`."""
    for leftover in path.parent.glob(f".{path.name}.tmp-*"):
        leftover.unlink(missing_ok=True)


def sync_file(path: Path) -> None:
    """Flush a file's bytes to disk, so a power cut after the rename cannot empty it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries to disk, so a rename in it survives a power cut."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def choose_baseline(state: State | None, as_of: dt.date, *, rewind: bool) -> Baseline:
    """Pick the snapshot that a run as of `as_of` compares with.

    A later day compares with the latest snapshot. The latest day again compares with the
    snapshot that day was compared with, so the result repeats. An earlier day raises
    ConfigError unless `rewind`. A rewound day compares with the older snapshot if that is
    before `as_of`, and otherwise with nothing, so every MQL is new.
    """
    if state is None:
        return Baseline(snapshot=None, is_advancing=True)
    latest = state.current.as_of
    if as_of > latest:
        return Baseline(snapshot=state.current, is_advancing=True)
    if as_of == latest:
        return Baseline(snapshot=state.previous, is_advancing=False)
    if not rewind:
        problem = (
            f"--as-of {as_of} is before {latest}, the latest day in the state file; "
            "pass --rewind to score the earlier day and make it the latest, or give a "
            f"day from {latest} on"
        )
        raise ConfigError("command line", [problem])
    previous = state.previous
    if previous is not None and previous.as_of < as_of:
        return Baseline(snapshot=previous, is_advancing=False)
    note = (
        f"the state keeps no run before {as_of}, so every MQL of {as_of} counts as new; "
        "the new MQLs are not sent to the webhook again"
    )
    return Baseline(snapshot=None, is_advancing=False, note=note)


def mql_changes(scored: pl.DataFrame, baseline: Snapshot | None, as_of: dt.date) -> pl.DataFrame:
    """Return `lead_id`, `mql_since` and `status` of each scored lead against `baseline`.

    `scored` needs `lead_id` and `mql`. `status` is new, still, lost or none. `mql_since` is
    the as-of date of the run that first saw the current MQL spell: `as_of` for a new MQL,
    the baseline's date for one that is still an MQL, and for a lost MQL the date its spell
    began. It is empty for the rest.
    """
    before = _previous_mqls(baseline)
    was_mql = pl.col("_was_mql").fill_null(False)
    status = (
        pl.when(pl.col("mql") & was_mql)
        .then(pl.lit(STILL))
        .when(pl.col("mql"))
        .then(pl.lit(NEW))
        .when(was_mql)
        .then(pl.lit(LOST))
        .otherwise(pl.lit(NONE))
    )
    since = pl.when(pl.col("mql") & ~was_mql).then(pl.lit(as_of)).otherwise(pl.col("_since"))
    return (
        scored.select(LEAD_ID, "mql")
        .join(before, on=LEAD_ID, how="left")
        .select(LEAD_ID, since.alias("mql_since"), status.alias("status"))
    )


def dropped_mqls(scored: pl.DataFrame, baseline: Snapshot | None) -> pl.DataFrame:
    """Return `lead_id` and `mql_since` of baseline MQLs that are no longer in the leads."""
    before = _previous_mqls(baseline)
    return before.join(scored.select(LEAD_ID), on=LEAD_ID, how="anti").select(
        LEAD_ID, pl.col("_since").alias("mql_since")
    )


def snapshot_of(scored: pl.DataFrame, changes: pl.DataFrame, as_of: dt.date) -> Snapshot:
    """Build the snapshot to save: each lead's status, MQL date (MQLs only) and score."""
    leads = scored.select(LEAD_ID, "engagement_score").join(changes, on=LEAD_ID, how="left")
    is_mql = pl.col("status").is_in(MQL_STATUSES)
    leads = leads.select(
        LEAD_ID,
        "status",
        pl.when(is_mql).then(pl.col("mql_since")).alias("mql_since"),
        pl.col("engagement_score").alias("score"),
    )
    return Snapshot(as_of=as_of, leads=leads.cast(SNAPSHOT_SCHEMA))  # type: ignore[arg-type]


def _previous_mqls(baseline: Snapshot | None) -> pl.DataFrame:
    schema = {LEAD_ID: pl.String, "_was_mql": pl.Boolean, "_since": pl.Date}
    if baseline is None:
        return pl.DataFrame(schema=schema)
    return baseline.leads.filter(pl.col("status").is_in(MQL_STATUSES)).select(
        LEAD_ID, pl.lit(True).alias("_was_mql"), pl.col("mql_since").alias("_since")
    )
