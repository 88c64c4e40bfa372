"""Writing the files of `leadq calibrate` and `leadq backtest`, all at once as for `leadq score`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from leadq.calibration_report import calibration_markdown, percent
from leadq.outputs import write_folder

CALIBRATION_FILES = ("calibration.json", "calibration.md")
BACKTEST_FILES = ("backtest.csv", "backtest.md")


def write_calibration_outputs(out_dir: Path, report: dict[str, Any]) -> list[Path]:
    """Write calibration.json and calibration.md into `out_dir` and return their paths."""

    def write(staging: Path) -> None:
        text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
        (staging / "calibration.json").write_text(text, encoding="utf-8")
        (staging / "calibration.md").write_text(calibration_markdown(report), encoding="utf-8")

    return write_folder(out_dir, set(CALIBRATION_FILES), write)


def write_backtest_outputs(out_dir: Path, periods: pl.DataFrame) -> list[Path]:
    """Write backtest.csv and backtest.md into `out_dir` and return their paths."""

    def write(staging: Path) -> None:
        periods.write_csv(staging / "backtest.csv")
        (staging / "backtest.md").write_text(backtest_markdown(periods), encoding="utf-8")

    return write_folder(out_dir, set(BACKTEST_FILES), write)


def backtest_rows(periods: pl.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Return the column titles and the text cells of the per-date table."""
    columns = ["as of", "leads", "fit", "MQLs", "new MQLs"]
    has_outcomes = "new_mqls_converted" in periods.columns
    if has_outcomes:
        columns += ["new MQLs converted", "conversion", "95% interval"]
    rows = []
    for row in periods.iter_rows(named=True):
        cells = [
            row["as_of"].isoformat(),
            f"{row['leads']:,}",
            f"{row['fit']:,}",
            f"{row['mqls']:,}",
            "" if row["new_mqls"] is None else f"{row['new_mqls']:,}",
        ]
        if has_outcomes:
            converted = row["new_mqls_converted"]
            low, high = row["conversion_low"], row["conversion_high"]
            cells += [
                "" if converted is None else f"{converted:,}",
                "" if row["new_mql_conversion"] is None else percent(row["new_mql_conversion"]),
                "" if low is None else f"{percent(low)} to {percent(high)}",
            ]
        rows.append(cells)
    return columns, rows


def backtest_markdown(periods: pl.DataFrame) -> str:
    """Write the per-date counts as a Markdown table."""
    columns, rows = backtest_rows(periods)
    lines = [
        "# leadq backtest",
        "",
        "New MQLs are MQLs that were not MQLs on the previous date; the first date has none to "
        "compare with.",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
