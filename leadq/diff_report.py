"""The diff report: a machine-readable dict for diff.json and a Markdown page for people."""

from __future__ import annotations

from typing import Any

from leadq import __version__
from leadq.config import Config
from leadq.diff import ConfigDiff

YES_NO = {True: "yes", False: "no"}
"""The words that a table shows for a lead's MQL flag."""


def build_diff_report(diff: ConfigDiff) -> dict[str, Any]:
    """Collect what a diff found: configs, inputs, lead counts, movers and causes.

    It contains no run times, so the same inputs and configs give the same report.
    """
    comparison = diff.comparison
    return {
        "leadq_version": __version__,
        "as_of": diff.old.as_of.isoformat(),
        "configs": {"old": _config_entry(diff.old.config), "new": _config_entry(diff.new.config)},
        "inputs": {
            "leads": [{"path": f.path, "rows": f.rows} for f in diff.old.lead_files],
            "activities": [{"path": f.path, "rows": f.rows} for f in diff.old.activity_files],
        },
        "leads": comparison.counts,
        "movers": comparison.movers.to_dicts(),
        "causes": {
            "fit": comparison.fit_causes,
            "rules": comparison.rule_causes,
            "mql": comparison.mql_causes,
        },
    }


def _config_entry(config: Config) -> dict[str, str | None]:
    return {"path": str(config.path.resolve()) if config.path else None, "sha256": config.sha256}


def diff_markdown(report: dict[str, Any]) -> str:
    """Render the diff report as a Markdown page for people."""
    configs = report["configs"]
    lines = [
        f"# leadq diff as of {report['as_of']}",
        "",
        f"- Old config: `{configs['old']['path']}` (SHA-256 `{configs['old']['sha256']}`)",
        f"- New config: `{configs['new']['path']}` (SHA-256 `{configs['new']['sha256']}`)",
        f"- leadq {report['leadq_version']}",
        "",
        *_leads_section(report["leads"]),
        *_movers_section(report["movers"]),
        *_causes_section(report["causes"]),
        "`changed_leads.csv` lists every lead whose fit, score or MQL status changed, "
        "with its causes.",
        "",
    ]
    return "\n".join(lines)


def _leads_section(leads: dict[str, Any]) -> list[str]:
    old, new = leads["old"], leads["new"]
    lines = ["## Leads", "", "| | old | new | change |", "|---|---:|---:|---:|"]
    for label, key in (("leads", "total"), ("fit", "fit"), ("MQL", "mql")):
        lines.append(f"| {label} | {old[key]} | {new[key]} | {new[key] - old[key]:+d} |")
    lines += [
        "",
        "| gain fit | lose fit | become MQL | stop being MQL | keep MQL | score changed |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {leads['gain_fit']} | {leads['lose_fit']} | {leads['become_mql']} "
        f"| {leads['stop_mql']} | {leads['keep_mql']} | {leads['score_changed']} |",
        "",
    ]
    if leads["only_old"] or leads["only_new"]:
        lines += [only_one_side_text(leads), ""]
    return lines


def only_one_side_text(leads: dict[str, Any]) -> str:
    """Say how many leads only one config scored, and how the counts treat them."""
    return (
        f"{leads['only_old']} leads were scored only under the old config and "
        f"{leads['only_new']} only under the new one. They count in their own config's "
        "totals, not in the moves between configs."
    )


def _movers_section(movers: list[dict[str, Any]]) -> list[str]:
    lines = ["## Biggest score movers", ""]
    if not movers:
        return [*lines, "No score changed.", ""]
    lines += [
        "| lead | old score | new score | change | MQL old | MQL new |",
        "|---|---:|---:|---:|---|---|",
    ]
    lines += [
        f"| {m['lead_id']} | {m['score_old']:.2f} | {m['score_new']:.2f} | {m['delta']:+.2f} "
        f"| {YES_NO[m['mql_old']]} | {YES_NO[m['mql_new']]} |"
        for m in movers
    ]
    return [*lines, ""]


def _causes_section(causes: dict[str, Any]) -> list[str]:
    lines = ["## Causes", ""]
    if causes["fit"]:
        lines += [
            "| fit criterion | kind | config change | pass/fail changed | now pass | now fail "
            "| fit changed |",
            "|---|---|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {c['name']} | {c['kind']} | {c['status']} | {c['leads_changed']} "
            f"| {c['now_pass']} | {c['now_fail']} | {c['fit_changed']} |"
            for c in causes["fit"]
        ]
        lines.append("")
    if causes["rules"]:
        lines += [
            "| engagement rule | config change | leads changed | points change before caps |",
            "|---|---|---:|---:|",
        ]
        lines += [
            f"| {r['name']} | {r['status']} | {r['leads_changed']} | {r['points_delta']:+.2f} |"
            for r in causes["rules"]
        ]
        lines.append("")
    if causes["mql"]:
        lines += [f"- {setting['text']}" for setting in causes["mql"]]
    else:
        lines.append("The MQL threshold and qualifying rules are the same in both configs.")
    return [*lines, ""]
