"""Measure what leadq's checks on CSV input cost on a clean file, as a share of a whole run.

The checks are the pass over the raw lines that finds each record's line number and rows
with a wrong number of fields. `leadq score` runs as a whole process, once as it is and once
with a stand-in that assumes one record per line and no wrong rows, which is what a clean
file has. Runs alternate, and both must write the same scored leads.

    python benchmarks/reading_overhead.py --data /tmp/bench-1m --runs 5
"""

from __future__ import annotations

import argparse
import filecmp
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from leadq import csv_files, readers

CONFIG = Path(__file__).with_name("bench.toml")


def _trusting_layout(
    source: csv_files.CsvSource, *, separator: str, width: int, batch_rows: int | None
) -> csv_files.Layout:
    del source, separator, width, batch_rows
    record = csv_files.RECORD_COLUMN
    return csv_files.Layout(
        breaks=pl.DataFrame(
            {record: [0], "_offset": [0]}, schema={record: pl.Int64, "_offset": pl.Int64}
        ),
        ragged=pl.DataFrame(schema={record: pl.Int64, csv_files.FIELDS_COLUMN: pl.Int64}),
        blank=pl.DataFrame(schema={record: pl.Int64}),
    )


def _score(data: Path, out: Path, *, trusting: bool) -> None:
    """Run `leadq score` in this process, with the stand-in when `trusting`."""
    from leadq.cli import app

    if trusting:
        readers.scan_layout = _trusting_layout
    args = ["score", "--config", str(CONFIG), "--leads", str(data / "leads.csv")]
    args += ["--activities", str(data / "activities" / "*.csv"), "--as-of", "2026-11-30"]
    app([*args, "--out", str(out), "-q"], standalone_mode=False)


def _time_process(data: Path, out: Path, *, trusting: bool) -> float:
    command = [sys.executable, __file__, "--data", str(data), "--child-out", str(out)]
    if trusting:
        command.append("--trusting")
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a folder made by generate.py")
    parser.add_argument("--runs", type=int, default=5, help="runs of each variant, alternated")
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--trusting", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_out:
        _score(args.data, args.child_out, trusting=args.trusting)
        return

    with tempfile.TemporaryDirectory() as folder:
        checked_out, trusting_out = Path(folder) / "checked", Path(folder) / "trusting"
        checked, trusting = [], []
        for _ in range(args.runs):
            checked.append(_time_process(args.data, checked_out, trusting=False))
            trusting.append(_time_process(args.data, trusting_out, trusting=True))
        same = filecmp.cmp(checked_out / "scored_leads.csv", trusting_out / "scored_leads.csv")

    with_checks = statistics.median(checked)
    without = statistics.median(trusting)
    print(f"with checks: {with_checks:.2f} s, without: {without:.2f} s (medians of {args.runs})")
    print(f"the checks add {with_checks / without - 1:.1%} to a whole run")
    print(f"scored leads identical: {same}")


if __name__ == "__main__":
    main()
