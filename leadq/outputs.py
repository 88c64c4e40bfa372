"""Writing a run's files: all of them appear together, or the previous set stays as it was."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import polars as pl

from leadq.diff_report import diff_markdown
from leadq.errors import ConfigError
from leadq.handoff import HANDOFF_FILES
from leadq.spreadsheets import neutralize_formulas, write_xlsx
from leadq.summary import summary_markdown

OutputFormat = Literal["csv", "parquet", "jsonl", "xlsx"]
FORMATS: tuple[OutputFormat, ...] = ("csv", "parquet", "jsonl", "xlsx")
_TABLE_NAMES = ("scored_leads", "mqls", "accounts", "ledger", "new_mqls", "lost_mqls")
# text, because spreadsheets and JSON lines have no time type: the local wall-clock time
_LEDGER_TIME_FORMAT = "%Y-%m-%d %H:%M:%S%.f"
_OTHER_FILES = ("summary.json", "summary.md", "rejects.csv", *HANDOFF_FILES)
DIFF_FILES = ("changed_leads.csv", "diff.json", "diff.md")


def output_file_names() -> set[str]:
    """Return every file name that a run may write into its output folder."""
    tables = {f"{name}.{fmt}" for name in _TABLE_NAMES for fmt in FORMATS}
    return tables | set(_OTHER_FILES)


def write_table(
    frame: pl.DataFrame, path: Path, fmt: OutputFormat, *, escape_formulas: bool = True
) -> None:
    """Write one table in `fmt`.

    With `escape_formulas`, text that a spreadsheet would run as a formula gets a leading `'`
    in CSV and XLSX. Parquet and JSON lines are not opened by spreadsheets and stay exact.
    """
    if escape_formulas and fmt in ("csv", "xlsx"):
        frame = neutralize_formulas(frame)
    if fmt == "csv":
        frame.write_csv(path)
    elif fmt == "parquet":
        frame.write_parquet(path)
    elif fmt == "xlsx":
        write_xlsx(frame, path, sheet_name=path.stem)
    else:
        frame.write_ndjson(path)


def write_outputs(
    out_dir: Path,
    *,
    scored_leads: pl.DataFrame,
    mqls: pl.DataFrame,
    rejects: pl.DataFrame,
    summary: dict[str, Any],
    fmt: OutputFormat,
    escape_formulas: bool = True,
    accounts: pl.DataFrame | None = None,
    ledger: pl.DataFrame | None = None,
    extra_files: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Write every output into `out_dir` at once and return the paths written.

    The files are written to a new folder beside `out_dir`, which then takes the old one's
    place, so readers never see a half-written or mixed set. `accounts`, when given, is
    written as `accounts.<fmt>` in the same set, and `ledger` as `ledger.<fmt>` with its
    times as text. `extra_files`, when given, writes more files into that new folder, such
    as the new and lost MQLs of a nightly run.
    """

    def write(staging: Path) -> None:
        escape = escape_formulas
        write_table(scored_leads, staging / f"scored_leads.{fmt}", fmt, escape_formulas=escape)
        write_table(mqls, staging / f"mqls.{fmt}", fmt, escape_formulas=escape)
        if accounts is not None:
            write_table(accounts, staging / f"accounts.{fmt}", fmt, escape_formulas=escape)
        if ledger is not None:
            times_as_text = ledger.with_columns(
                pl.col(pl.Datetime).dt.strftime(_LEDGER_TIME_FORMAT)
            )
            write_table(times_as_text, staging / f"ledger.{fmt}", fmt, escape_formulas=escape)
        write_table(rejects, staging / "rejects.csv", "csv", escape_formulas=escape)
        _write_json(summary, staging / "summary.json")
        (staging / "summary.md").write_text(summary_markdown(summary), encoding="utf-8")
        if extra_files is not None:
            extra_files(staging)

    return write_folder(out_dir, output_file_names(), write)


def write_diff_outputs(
    out_dir: Path, *, report: dict[str, Any], changed_leads: pl.DataFrame
) -> list[Path]:
    """Write `leadq diff`'s files into `out_dir` at once, as `write_outputs` does."""

    def write(staging: Path) -> None:
        write_table(changed_leads, staging / "changed_leads.csv", "csv")
        _write_json(report, staging / "diff.json")
        (staging / "diff.md").write_text(diff_markdown(report), encoding="utf-8")

    return write_folder(out_dir, set(DIFF_FILES), write)


def write_folder(out_dir: Path, names: set[str], write: Callable[[Path], None]) -> list[Path]:
    """Fill a new folder with `write` and put it in place of `out_dir`; return its files.

    `out_dir` may only hold files named in `names`, so a user's own files are never replaced.
    """
    out_dir = out_dir.resolve()
    check_output_folder(out_dir, names)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=out_dir.parent))
    except OSError as error:
        msg = (
            f"--out {out_dir}: the output folder cannot be written: {error.strerror or error}; "
            "give a folder that you can write to"
        )
        raise ConfigError("command line", [msg]) from None
    # mkdtemp makes the folder private, so give it the permissions a plain mkdir would
    staging.chmod(0o777 & ~_current_umask())
    try:
        write(staging)
        _replace_folder(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(out_dir.iterdir())


def check_output_folder(out_dir: Path, names: set[str]) -> None:
    """Raise ConfigError when `out_dir` cannot take a set of the files in `names`.

    Commands call it before they read any data, so that a long run does not fail at its end.
    """
    _check_owned(out_dir.resolve(), names)
    existing = out_dir.resolve().parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        msg = (
            f"--out {out_dir}: {existing} is a file, so the folder cannot be created there; "
            "give another folder"
        )
        raise ConfigError("command line", [msg])


def _write_json(data: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_owned(out_dir: Path, names: set[str]) -> None:
    """Refuse to replace a folder holding files other than those in `names`."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        msg = f"--out {out_dir} is a file; give a folder for the outputs"
        raise ConfigError("command line", [msg])
    foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in names)
    if foreign:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        msg = (
            f"the output folder {out_dir} holds files that this command does not write "
            f"({shown}); "
            "leadq replaces the whole folder, so give a new or empty folder with --out"
        )
        raise ConfigError("command line", [msg])


def _replace_folder(staging: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        staging.replace(out_dir)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    retired.rmdir()
    out_dir.replace(retired)
    try:
        staging.replace(out_dir)
    except OSError:
        retired.replace(out_dir)
        raise
    with contextlib.suppress(OSError):
        shutil.rmtree(retired)
