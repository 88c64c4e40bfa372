"""Tables of a calibration report, shown in the terminal and written as calibration.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from leadq.calibration import RuleSuggestion, suggested_score_expr
from leadq.engagement import LEAD_ID, points_column

if TYPE_CHECKING:
    from leadq.scoring import ScoringResult


@dataclass(frozen=True)
class ReportTable:
    """One titled table of the report, with a note that explains how to read it."""

    title: str
    note: str
    columns: list[str]
    rows: list[list[str]]


def percent(value: Any) -> str:
    """Write a share as a percentage, or pass a text such as 'not enough data' through."""
    return f"{value:.1%}" if isinstance(value, float | int) else str(value)


def interval(value: Any) -> str:
    """Write a Wilson interval as `10.1% to 14.2%`."""
    if isinstance(value, list):
        return f"{value[0]:.1%} to {value[1]:.1%}"
    return str(value)


def ratio(value: Any) -> str:
    """Write a lift or an AUC with two decimals, or pass a text through."""
    return f"{value:.2f}" if isinstance(value, float | int) else str(value)


def _group_cells(stats: dict[str, Any]) -> list[str]:
    return [
        f"{stats['leads']:,}",
        f"{stats['converted']:,}",
        percent(stats["rate"]),
        interval(stats["interval"]),
        ratio(stats["lift"]),
    ]


_GROUP_COLUMNS = ["leads", "converted", "rate", "95% interval", "lift"]


def report_tables(report: dict[str, Any]) -> list[ReportTable]:
    """Return the report's tables in reading order."""
    mql = report["mql"]
    tables = [
        ReportTable(
            title="MQL conversion",
            note="Do MQLs convert more often than the other leads?",
            columns=["group", *_GROUP_COLUMNS],
            rows=[
                ["MQLs", *_group_cells(mql["mql"])],
                ["not MQLs", *_group_cells(mql["not_mql"])],
            ],
        ),
        ReportTable(
            title="Stages reached",
            note="Leads that reached each stage or a later one.",
            columns=["stage", "MQLs", "not MQLs"],
            rows=[
                [row["stage"], f"{row['mql']:,}", f"{row['not_mql']:,}"] for row in report["stages"]
            ],
        ),
        ReportTable(
            title="Conversion by score band",
            note="Bands split the scores at their deciles; tied scores merge bands.",
            columns=["score", *_GROUP_COLUMNS],
            rows=[
                [band["band"], *_group_cells(band)]
                for band in report["score_bands"] + report["threshold_bands"]
            ],
        ),
    ]
    fit = report["fit"]
    criteria_rows = [
        ["fit", "", *_group_cells(fit["fit"]), ratio(fit["auc"])],
        ["not fit", "", *_group_cells(fit["not_fit"]), ""],
    ]
    for item in fit["criteria"]:
        removed = item["removed"]
        alone = item["removed_only_by_this"]
        criteria_rows.append(
            [
                f"{item['name']} ({item['kind']})",
                f"{alone['leads']:,} ({alone['converted']:,} converted)",
                *_group_cells(removed),
                ratio(item["auc"]),
            ]
        )
    tables.append(
        ReportTable(
            title="Fit criteria",
            note=(
                "The leads each criterion removes and how they convert; 'removed only by it' "
                "counts leads that pass every other criterion."
            ),
            columns=["criterion", "removed only by it", *_GROUP_COLUMNS, "AUC"],
            rows=criteria_rows,
        )
    )
    tables.append(
        ReportTable(
            title="Engagement rules",
            note=f"Suggested points: {report['suggestion_method']}.",
            columns=[
                "rule",
                "leads hit",
                "hit rate",
                "rate with hit",
                "rate without",
                "lift",
                "points",
                "suggested",
            ],
            rows=[
                [
                    rule["name"],
                    f"{rule['hit_leads']:,}",
                    percent(rule["hit_rate"] if rule["hit_rate"] is not None else "n/a"),
                    percent(rule["with_hit"]["rate"]),
                    percent(rule["without_hit"]["rate"]),
                    ratio(rule["lift"]),
                    f"{rule['current_points']:g}",
                    _points(rule["suggested_points"]),
                ]
                for rule in report["rules"]
            ],
        )
    )
    sweep = report["threshold_sweep"]
    tables.append(
        ReportTable(
            title="Threshold sweep",
            note="MQLs, precision and recall if the threshold were each value.",
            columns=["threshold", "MQLs", "converted", "precision", "recall"],
            rows=[
                [
                    f"{row['threshold']:g}",
                    f"{row['mqls']:,}",
                    f"{row['converted']:,}",
                    percent(row["precision"]),
                    percent(row["recall"]),
                ]
                for row in sweep["rows"]
            ],
        )
    )
    return tables


def _points(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float | int) else str(value)


def summary_lines(report: dict[str, Any]) -> list[str]:
    """Return the report's headline facts as sentences."""
    outcomes = report["outcomes"]
    overall = report["overall"]
    lines = [
        f"Scored as of {report['as_of']}; outcomes from {outcomes['file']}.",
        f"{outcomes['leads_evaluated']:,} leads evaluated, {overall['converted']:,} converted "
        f"(reached {outcomes['converted_stage']} or later): {percent(overall['rate'])}.",
    ]
    if outcomes["dated"]:
        until = f" up to {outcomes['counted_until']}" if outcomes["counted_until"] else ""
        lines.append(
            f"Only outcomes dated after {outcomes['counted_after']}{until} count; "
            f"{outcomes['leads_converted_before_cut_off']:,} leads that had converted by then "
            "are left out."
        )
    else:
        lines.append(
            "The outcomes have no dates, so conversions before the scoring day count too; "
            "set outcomes.date to rule that out."
        )

    skipped = outcomes["rows_matching_no_lead"] + outcomes["rows_missing_key"]
    if skipped or outcomes["rows_undated"] or outcomes["rows_rejected"]:
        lines.append(
            f"Outcome rows not used: {outcomes['rows_matching_no_lead']:,} match no lead, "
            f"{outcomes['rows_missing_key']:,} have no key, {outcomes['rows_undated']:,} have "
            f"no readable date, {outcomes['rows_rejected']:,} have a broken line."
        )
    if not report["enough_data"]:
        lines.append(
            f"Not enough data: rates, lifts and suggestions need at least "
            f"{report['minimum_outcomes']} converted and {report['minimum_outcomes']} "
            "not-converted leads."
        )
    lines.append(
        f"ROC AUC of the score: {ratio(report['score_auc'])} over all leads, "
        f"{ratio(report['fit_score_auc'])} over fit leads."
    )

    sweep = report["threshold_sweep"]
    if sweep["target_precision"] is not None:
        found = sweep["threshold_for_precision"]
        text = "no threshold reaches it" if found is None else _points(found)
        lines.append(
            f"Smallest threshold with precision {percent(sweep['target_precision'])}: {text}."
        )
    if sweep["target_mqls"] is not None:
        found = sweep["threshold_for_mqls"]
        text = (
            "no threshold, as the qualifying rules alone make more"
            if found is None
            else _points(found)
        )
        lines.append(f"Smallest threshold with at most {sweep['target_mqls']:,} MQLs: {text}.")

    lines += _holdout_lines(report.get("holdout"))
    return lines


def _holdout_lines(holdout: dict[str, Any] | None) -> list[str]:
    if holdout is None:
        return []
    lines = [
        f"Holdout: leads scored as of {holdout['scored_as_of']}, outcomes up to "
        f"{holdout['outcomes_until']}: {holdout['leads']:,} leads, {holdout['converted']:,} "
        "converted.",
        f"Holdout ROC AUC: current points {ratio(holdout['current']['auc'])}, suggested points "
        f"{ratio(holdout['suggested']['auc'])}.",
    ]
    if "mqls" in holdout["current"]:
        for name in ("current", "suggested"):
            mqls = holdout[name]["mqls"]
            lines.append(
                f"Holdout MQLs with the {name} points: {mqls['leads']:,}, of which "
                f"{mqls['converted']:,} converted ({percent(mqls['rate'])})."
            )
    return lines


def calibration_markdown(report: dict[str, Any]) -> str:
    """Write the report as Markdown."""
    lines = [f"# leadq calibration as of {report['as_of']}", ""]
    lines += [f"- {line}" for line in summary_lines(report)]
    for table in report_tables(report):
        lines += ["", f"## {table.title}", "", table.note, ""]
        lines.append("| " + " | ".join(table.columns) + " |")
        lines.append("|" + "|".join("---" for _ in table.columns) + "|")
        lines += [
            "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table.rows
        ]
    return "\n".join(lines) + "\n"


def render_calibration(report: dict[str, Any], console: Console) -> None:
    """Show the report's sentences and tables in the terminal."""
    for line in summary_lines(report):
        console.print(escape(line), highlight=False, soft_wrap=True)
    for table in report_tables(report):
        shown = Table(
            title=table.title, caption=table.note, title_justify="left", caption_justify="left"
        )
        for position, column in enumerate(table.columns):
            shown.add_column(column, justify="left" if position == 0 else "right", overflow="fold")
        for row in table.rows:
            shown.add_row(*(escape(cell) for cell in row))
        console.print(shown)


def render_suggestions(
    result: ScoringResult, lead_id: str, suggestions: list[RuleSuggestion], console: Console
) -> None:
    """Show one lead's points per rule with the current and the suggested rule points."""
    lead = result.leads.filter(pl.col(LEAD_ID) == lead_id)
    rules = result.config.engagement.rules
    suggested_score = lead.select(suggested_score_expr(rules, suggestions)).item()
    table = Table(
        title=f"Suggested points (score {suggested_score:g} with them)", title_justify="left"
    )
    for column in ("rule", "lead's points", "points", "suggested"):
        table.add_column(column, justify="left" if column == "rule" else "right")
    for position, suggestion in enumerate(suggestions):
        earned = lead.get_column(points_column(position)).item()
        table.add_row(
            escape(suggestion.name),
            f"{earned:+.2f}",
            f"{suggestion.current_points:g}",
            _points(suggestion.suggested_points),
        )
    console.print(table)
