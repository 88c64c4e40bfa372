"""The run summary: a machine-readable dict for summary.json and a Markdown page for people."""

from __future__ import annotations

from typing import Any

import polars as pl

from leadq import __version__
from leadq.fit import exclusion_column, filter_column
from leadq.scoring import ScoringResult, summary_counts


def build_summary(result: ScoringResult) -> dict[str, Any]:
    """Collect the counts that describe one run; timings are added by the caller."""
    config = result.config
    leads = result.leads
    total = leads.height
    counts = result.activity_counts
    rejects_by_table = (
        dict(result.rejects.group_by("table").len().iter_rows())
        if not result.rejects.is_empty()
        else {}
    )

    return {
        "leadq_version": __version__,
        "as_of": result.as_of.isoformat(),
        "window": {
            "first_day": result.window.first_day.isoformat(),
            "last_day": result.as_of.isoformat(),
            "lookback_days": config.engagement.lookback_days,
            "decay": config.engagement.decay,
            "half_life_days": config.engagement.half_life_days,
            "timezone": config.activities.timezone if config.activities else "UTC",
        },
        "config": {
            "path": str(config.path.resolve()) if config.path else None,
            "sha256": config.sha256,
        },
        "inputs": {
            "leads": [{"path": f.path, "rows": f.rows} for f in result.lead_files],
            "activities": [{"path": f.path, "rows": f.rows} for f in result.activity_files],
        },
        "leads": {
            "rows_read": result.lead_rows_read,
            "rejected": rejects_by_table.get("leads", 0),
            **summary_counts(result),
        },
        "fit_filters": [
            _filter_stats(leads, filter_column(position), rule.name, rule.field, total)
            for position, rule in enumerate(config.fit.filters)
        ],
        "exclusions": [
            {
                "name": rule.name,
                "field": rule.field,
                "matched": int(leads.get_column(exclusion_column(position)).sum()),
            }
            for position, rule in enumerate(config.fit.exclude)
        ],
        "rules": [
            {
                "name": row["rule"],
                "source": config.engagement.rules[row["rule_position"]].source,
                "hits": row["hits"],
                "leads": row["leads"],
                "points": row["points"],
            }
            for row in result.rule_stats.iter_rows(named=True)
        ],
        "activities": {
            "rows_read": counts.total,
            "in_window": counts.in_window,
            "before_window": counts.before_window,
            "future_dated": counts.future_dated,
            "unmatched": counts.unmatched,
            "rejected": counts.rejected,
        },
        "rejected_rows": result.rejects.height,
    }


def _filter_stats(
    leads: pl.DataFrame, column: str, name: str, field: str, total: int
) -> dict[str, Any]:
    passed = int(leads.get_column(column).sum())
    return {
        "name": name,
        "field": field,
        "passed": passed,
        "failed": total - passed,
        "pass_rate": round(passed / total, 4) if total else None,
    }


def summary_markdown(summary: dict[str, Any]) -> str:
    """Render the summary as a Markdown page for people."""
    leads = summary["leads"]
    activities = summary["activities"]
    window = summary["window"]
    lines = [
        f"# leadq run as of {summary['as_of']}",
        "",
        f"- Config: `{summary['config']['path']}` (SHA-256 `{summary['config']['sha256']}`)",
        f"- Window: {window['first_day']} to {window['last_day']} ({window['timezone']}), "
        + (
            "linear decay"
            if window["decay"] == "linear"
            else f"half-life: {window['half_life_days'] or 'none'}"
        ),
        f"- leadq {summary['leadq_version']}",
        "",
        "## Leads",
        "",
        "| leads | fit | engaged | MQL | rejected rows |",
        "|---:|---:|---:|---:|---:|",
        f"| {leads['total']} | {leads['fit']} | {leads['engaged']} | {leads['mql']} "
        f"| {leads['rejected']} |",
        "",
        "## Input files",
        "",
        "| table | file | rows |",
        "|---|---|---:|",
    ]
    for table in ("leads", "activities"):
        lines += [f"| {table} | `{f['path']}` | {f['rows']} |" for f in summary["inputs"][table]]

    lines += [
        "",
        "## Fit filters",
        "",
        "| filter | field | passed | pass rate |",
        "|---|---|---:|---:|",
    ]
    for item in summary["fit_filters"]:
        rate = "n/a" if item["pass_rate"] is None else f"{item['pass_rate']:.1%}"
        lines.append(f"| {item['name']} | {item['field']} | {item['passed']} | {rate} |")
    lines += ["", "| exclusion | field | matched |", "|---|---|---:|"]
    lines += [f"| {e['name']} | {e['field']} | {e['matched']} |" for e in summary["exclusions"]]

    lines += [
        "",
        "## Engagement rules",
        "",
        "| rule | hits | leads | points |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {r['name']} | {r['hits']} | {r['leads']} | {r['points']:g} |" for r in summary["rules"]
    ]
    lines += [
        "",
        "## Activities",
        "",
        "| read | in window | before window | future-dated | unmatched | rejected |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {activities['rows_read']} | {activities['in_window']} | {activities['before_window']} "
        f"| {activities['future_dated']} | {activities['unmatched']} | {activities['rejected']} |",
        "",
        f"Rejected rows in all: {summary['rejected_rows']} (see `rejects.csv`).",
        "",
    ]
    return "\n".join(lines)
