"""Show where leadq's time goes: the CPU time of each step of scoring a file of activities.

It repeats, step by step, what `leadq.activity_scoring.score_activity_files` does with each
batch, and adds up the CPU time of each step over all threads. Data from generate.py:

    python benchmarks/stages.py --data /tmp/bench-20m --format parquet
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections import defaultdict
from pathlib import Path

import polars as pl

from leadq.activity_scoring import LeadKeys, activity_columns
from leadq.config import load_config
from leadq.engagement import (
    DAY,
    KEY,
    LEAD_ID,
    LOCAL_TIME,
    EngagementTotals,
    Window,
    match_activities,
    parse_activities,
    with_activity_type,
)
from leadq.readers import TableScan, read_options
from leadq.timestamps import parse_local_times

CONFIG = Path(__file__).with_name("bench.toml")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a folder made by generate.py")
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    parser.add_argument("--batch-rows", type=int, default=2_000_000)
    args = parser.parse_args()

    config = load_config(CONFIG)
    section = config.activities
    assert section is not None
    required, optional = activity_columns(config)
    paths = sorted((args.data / "activities").glob(f"*.{args.format}"))
    scan = TableScan(
        paths,
        columns=required + optional,
        options=read_options(config.inputs),
        table="activity",
        uses=config.activity_column_uses(),
        optional=optional,
    )
    lead_ids = pl.read_parquet(args.data / "leads.parquet", columns=["Record ID"])
    known_keys = LeadKeys(lead_ids.get_column("Record ID"))
    window = Window(as_of=dt.date(2026, 11, 30), lookback_days=config.engagement.lookback_days)
    totals = EngagementTotals(config.engagement, window.as_of)
    seconds: dict[str, float] = defaultdict(float)
    rows = 0

    started = time.process_time()

    def lap(step: str) -> None:
        nonlocal started
        now = time.process_time()
        seconds[step] += now - started
        started = now

    for batch in scan.batches(batch_rows=args.batch_rows):
        rows += batch.rows.height
        lap("read and clean the text")
        # parsed once on its own to show its share, and again inside parse_activities
        parse_local_times(
            batch.rows.get_column(section.timestamp),
            timezone=section.timezone,
            timestamp_format=section.timestamp_format,
        )
        lap("parse timestamps")
        parsed = parse_activities(batch.rows, section)
        lap("parse activities (timestamps included)")
        parsed = parsed.with_columns(known_keys.contains(parsed.get_column(KEY)).alias("_m"))
        in_window = parsed.filter(
            pl.col(LOCAL_TIME).is_not_null()
            & pl.col("_m")
            & pl.col(DAY).is_between(window.first_day, window.as_of)
        ).with_columns(pl.col(KEY).alias(LEAD_ID))
        in_window = with_activity_type(in_window, section)
        lap("match lead ids and keep the window")
        matches = match_activities(in_window, config.engagement, window, decimal_comma=False)
        lap("match rules, decay")
        totals.add(matches)
        lap("per-lead totals and max_count")
    totals.finish()
    lap("per-lead totals and max_count")

    timestamps = seconds.pop("parse timestamps")
    seconds["parse activities (timestamps included)"] -= timestamps
    seconds["parse activities, without timestamps"] = seconds.pop(
        "parse activities (timestamps included)"
    )
    seconds["parse timestamps"] = timestamps
    total = sum(seconds.values())
    print(f"{rows:,} activities from {len(paths)} {args.format} files, CPU seconds per step:")
    for step, spent in sorted(seconds.items(), key=lambda item: -item[1]):
        print(f"  {step:40s} {spent:6.2f}  {spent / total:4.0%}")
    print(f"  {'all steps':40s} {total:6.2f}")


if __name__ == "__main__":
    main()
