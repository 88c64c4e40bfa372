"""The run summary: a machine-readable dict for summary.json and a Markdown page for people."""

from __future__ import annotations

from typing import Any

import polars as pl

from leadq import __version__
from leadq.accounts import account_counts
from leadq.fit import exclusion_column, filter_column
from leadq.grades import grading_summary
from leadq.scoring import ScoringResult, summary_counts


def build_summary(result: ScoringResult) -> dict[str, Any]:
    """Collect the counts that describe one run; timings are added by the caller."""
    config = result.config
    # fit is the same in every model, so the first model's rows give one row per lead
    leads = result.model_results()[0].leads
    total = leads.height
    counts = result.activity_counts
    rejects_by_table = (
        dict(result.rejects.group_by("table").len().iter_rows())
        if not result.rejects.is_empty()
        else {}
    )

    summary = {
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
        # with models, each model lists its own rules under `models`
        "rules": [] if result.models else _rule_entries(result),
        "activities": {
            "rows_read": counts.total,
            "in_window": counts.in_window,
            "before_window": counts.before_window,
            "future_dated": counts.future_dated,
            "unmatched": counts.unmatched,
            "rejected": counts.rejected,
        },
        "rejected_rows": result.rejects.height,
        **({} if result.models else grading_summary(leads, config)),
    }
    if result.accounts is not None:
        summary["accounts"] = account_counts(result.leads, result.accounts)
    if result.models:
        summary["models"] = [
            _model_entry(name, model) for name, model in result.named_model_results()
        ]
    return summary


def _rule_entries(result: ScoringResult) -> list[dict[str, Any]]:
    """List each rule's hits, leads and points, for a run of one model."""
    rules = result.config.engagement.rules
    return [
        {
            "name": row["rule"],
            "source": rules[row["rule_position"]].source,
            "hits": row["hits"],
            "leads": row["leads"],
            "points": row["points"],
        }
        for row in result.rule_stats.iter_rows(named=True)
    ]


def _model_entry(name: str, result: ScoringResult) -> dict[str, Any]:
    """Describe one model of a run with models: its MQL settings, funnel, rules and grading."""
    config = result.config
    return {
        "name": name,
        "threshold": config.mql.threshold,
        "qualifying_rules": config.mql.qualifying_rules,
        **summary_counts(result),
        "rules": _rule_entries(result),
        **grading_summary(result.leads, config),
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
    ]
    if "accounts" in summary:
        lines += _accounts_markdown(summary["accounts"])
    if "models" in summary:
        lines += _models_markdown(summary["models"])
    lines += [
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

    if "models" in summary:
        for model in summary["models"]:
            lines += _rules_markdown(model["rules"], f" of model {model['name']}")
            lines += _grading_markdown(model, f" of model {model['name']}")
    else:
        lines += _rules_markdown(summary["rules"])
        lines += _grading_markdown(summary)
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


def _models_markdown(models: list[dict[str, Any]]) -> list[str]:
    """Render each model's funnel; the table above counts leads that are an MQL in any model."""
    lines = [
        "",
        "## Models",
        "",
        "The leads table counts a lead as engaged or MQL when it is in at least one model.",
        "",
        "| model | threshold | qualifying rules | leads | fit | engaged | MQL |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for model in models:
        threshold = "none" if model["threshold"] is None else f"{model['threshold']:g}"
        qualifying = ", ".join(model["qualifying_rules"]) or "none"
        lines.append(
            f"| {model['name']} | {threshold} | {qualifying} | {model['total']} | {model['fit']} "
            f"| {model['engaged']} | {model['mql']} |"
        )
    return lines


def _rules_markdown(rules: list[dict[str, Any]], title_suffix: str = "") -> list[str]:
    lines = [
        "",
        f"## Engagement rules{title_suffix}",
        "",
        "| rule | hits | leads | points |",
        "|---|---:|---:|---:|",
    ]
    return lines + [
        f"| {r['name']} | {r['hits']} | {r['leads']} | {r['points']:g} |" for r in rules
    ]


def _grading_markdown(summary: dict[str, Any], title_suffix: str = "") -> list[str]:
    """Render the counts per grade and per band, and the grade x band matrix, when set."""
    grades = summary.get("fit_grades", [])
    bands = summary.get("engagement_bands", [])
    lines: list[str] = []
    if grades:
        lines += [
            "",
            f"## Fit grades{title_suffix}",
            "",
            "| grade | min fit_score | leads | fit | MQL |",
        ]
        lines.append("|---|---:|---:|---:|---:|")
        lines += [
            f"| {grade['grade']} | {_minimum(grade, 'min_fit_score', grades)} | {grade['leads']} "
            f"| {grade['fit']} | {grade['mql']} |"
            for grade in grades
        ]
    if bands:
        lines += [
            "",
            f"## Engagement bands{title_suffix}",
            "",
            "| band | min score | leads | fit | MQL |",
        ]
        lines.append("|---|---:|---:|---:|---:|")
        lines += [
            f"| {band['band']} | {_minimum(band, 'min_engagement_score', bands)} | {band['leads']} "
            f"| {band['fit']} | {band['mql']} |"
            for band in bands
        ]
    if grades and bands:
        cells = {cell["cell"]: cell for cell in summary["grade_band_cells"]}
        names = [band["band"] for band in bands]
        lines += [
            "",
            f"## Grade x band matrix{title_suffix}",
            "",
            "Each cell shows its leads, then how many of them are MQLs in brackets.",
            "",
            "| grade | " + " | ".join(f"band {name}" for name in names) + " |",
            "|---|" + "---:|" * len(names),
        ]
        for grade in grades:
            counts = [cells[grade["grade"] + name] for name in names]
            row = " | ".join(f"{cell['leads']} ({cell['mql']})" for cell in counts)
            lines.append(f"| {grade['grade']} | {row} |")
    return lines


def _minimum(step: dict[str, Any], key: str, steps: list[dict[str, Any]]) -> str:
    """Write a step's minimum, or `below N` for the fallback step, which has none."""
    if step[key] is not None:
        return f"{step[key]:g}"
    lowest = min(other[key] for other in steps if other[key] is not None)
    return f"below {lowest:g}"


def _accounts_markdown(accounts: dict[str, Any]) -> list[str]:
    return [
        "",
        "## Accounts",
        "",
        "| accounts | fit | engaged | MQA | leads without account | MQLs through their account |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {accounts['total']} | {accounts['fit']} | {accounts['engaged']} | {accounts['mqa']} "
        f"| {accounts['leads_without_account']} | {accounts['leads_qualified_by_account']} |",
    ]
