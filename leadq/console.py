"""Terminal output: the two rich consoles and the tables shown to people."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from leadq.explain import LeadExplanation


class _Console(Console):
    """A rich console that treats a closed pipe (`leadq score | head`) as success.

    The outputs are complete on disk before anything is printed, so a reader that stops
    early does not make the run a failure, whereas rich's default exits with code 1.
    """

    def on_broken_pipe(self) -> None:
        self.quiet = True
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0)


# Data (an MQL list piped with `--mqls -`) is the only thing written to standard output
# when requested. Everything meant for people can then go to standard error.
stdout_console = _Console(highlight=False)
stderr_console = _Console(stderr=True, highlight=False)


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def render_summary(summary: dict[str, Any], console: Console) -> None:
    """Show the lead funnel, the fit filters and the engagement rules of one run."""
    leads = summary["leads"]
    total = leads["total"]
    funnel = Table(title=f"Leads as of {summary['as_of']}", title_justify="left")
    funnel.add_column("step")
    funnel.add_column("leads", justify="right")
    funnel.add_column("share", justify="right")
    funnel.add_column("")
    for label, count in (
        ("all leads", total),
        ("fit", leads["fit"]),
        ("engaged (score > 0)", leads["engaged"]),
        ("MQL", leads["mql"]),
    ):
        bar = "█" * round(30 * count / total) if total else ""
        funnel.add_row(label, f"{count:,}", _percent(count, total), f"[cyan]{bar}[/]")
    console.print(funnel)

    if summary["fit_filters"] or summary["exclusions"]:
        fit = Table(title="Fit criteria", title_justify="left")
        fit.add_column("criterion")
        fit.add_column("field")
        fit.add_column("leads passing", justify="right")
        for item in summary["fit_filters"]:
            fit.add_row(item["name"], item["field"], _percent(item["passed"], total))
        for item in summary["exclusions"]:
            passing = total - item["matched"]
            fit.add_row(f"{item['name']} (exclusion)", item["field"], _percent(passing, total))
        console.print(fit)

    if summary["rules"]:
        rules = Table(title="Engagement rules", title_justify="left")
        rules.add_column("rule")
        rules.add_column("hits", justify="right")
        rules.add_column("leads", justify="right")
        rules.add_column("points", justify="right")
        for rule in summary["rules"]:
            rules.add_row(
                rule["name"], f"{rule['hits']:,}", f"{rule['leads']:,}", f"{rule['points']:,.2f}"
            )
        console.print(rules)

    activities = summary["activities"]
    if activities["rows_read"]:
        console.print(
            f"Activities: {activities['rows_read']:,} read, {activities['in_window']:,} in the "
            f"window, {activities['before_window']:,} before it, "
            f"{activities['future_dated']:,} future-dated, {activities['unmatched']:,} "
            f"matching no lead, {activities['rejected']:,} rejected."
        )
    if summary["rejected_rows"]:
        console.print(
            f"[yellow]{summary['rejected_rows']:,} rows could not be used; "
            "rejects.csv lists each with its file, line and reason.[/]"
        )


def render_check(summary: dict[str, Any], rejects: pl.DataFrame, console: Console) -> None:
    """Show rows read, usable and rejected per table, with rejects counted by problem."""
    table = Table(title="Inputs", title_justify="left")
    for column, justify in (("table", "left"), ("file", "left"), ("rows", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for kind in ("leads", "activities"):
        for item in summary["inputs"][kind]:
            table.add_row(kind, item["path"], f"{item['rows']:,}")
    console.print(table)

    for kind, read in (
        ("leads", summary["leads"]["rows_read"]),
        ("activities", summary["activities"]["rows_read"]),
    ):
        rejected = rejects.filter(pl.col("table") == kind)
        console.print(
            f"{kind}: {read:,} rows read, {read - rejected.height:,} usable, "
            f"{rejected.height:,} rejected"
        )
        by_problem = (
            rejected.group_by("problem").len().sort("len", "problem", descending=[True, False])
        )
        for problem, count in by_problem.iter_rows():
            console.print(f"  {problem}: {count:,}")
    unmatched = summary["activities"]["unmatched"]
    if unmatched:
        console.print(f"activities matching no lead (not scored): {unmatched:,}")


def render_explanation(explanation: LeadExplanation, console: Console) -> None:
    """Show every fit criterion with the lead's value and every activity that matched a rule."""
    lead = explanation.lead
    status = "[green]MQL[/]" if lead["mql"] else "[red]not an MQL[/]"
    console.print(
        f"Lead [bold]{escape(lead['lead_id'])}[/]: {status} ({escape(lead['mql_reason'])})"
    )
    console.print(
        f"Scored as of {explanation.as_of} ({explanation.timezone}); activities count from "
        f"{explanation.first_day}."
    )

    fit_state = "[green]fit[/]" if lead["fit"] else f"[red]not fit[/]: {lead['fit_failed']}"
    criteria = Table(title=f"Fit: {fit_state}", title_justify="left")
    for column in ("", "criterion", "field", "lead's value", "test"):
        criteria.add_column(column, overflow="fold")
    for check in explanation.criteria:
        if check.kind == "filter":
            mark = "[green]pass[/]" if check.passed else "[red]FAIL[/]"
        else:
            mark = "[green]no match[/]" if check.passed else "[red]MATCH[/]"
        name = check.name if check.kind == "filter" else f"{check.name} (exclusion)"
        value = "(missing)" if check.value is None else repr(check.value)
        criteria.add_row(mark, name, check.field, value, check.test)
    if not explanation.criteria:
        criteria.add_row("", "(no fit criteria configured)", "", "", "")
    console.print(criteria)

    activities = Table(
        title=f"Engagement score: {lead['engagement_score']:g}", title_justify="left"
    )
    has_groups = bool(explanation.groups)
    columns = ["time", "rule", "group", "decay", "points", "counted", "source"]
    for column in columns if has_groups else [c for c in columns if c != "group"]:
        activities.add_column(column, overflow="fold")
    for row in explanation.activities.iter_rows(named=True):
        is_lead_rule = row["activity_time"] is None
        cells = [
            "(lead columns)" if is_lead_rule else str(row["activity_time"]),
            row["rule"],
            row["group"] or "",
            "" if is_lead_rule else f"{row['decay_factor']:.3f}",
            f"{row['points_earned']:+.2f}",
            _counted_text(counted=row["counted"], cut_reason=row["cut_reason"]),
            "lead record" if is_lead_rule else f"{Path(row['file']).name}:{row['line']}",
        ]
        activities.add_row(*(cells if has_groups else cells[:2] + cells[3:]))
    if explanation.activities.is_empty():
        empty = ["", "(no activity or lead rule matched)", "", "", "", "", ""]
        activities.add_row(*(empty if has_groups else empty[:-1]))
    console.print(activities)
    _print_caps(explanation, console)
    if lead["reasons"]:
        console.print(f"Reasons: {lead['reasons']}")


def _counted_text(*, counted: bool, cut_reason: str) -> str:
    if not counted:
        return f"no ({cut_reason})"
    return f"yes, part cut ({cut_reason})" if cut_reason else "yes"


def _print_caps(explanation: LeadExplanation, console: Console) -> None:
    """Show each group's points, cap and subtotal, and the total cap when one is set."""
    if explanation.groups:
        groups = Table(title="Score groups", title_justify="left")
        for column in ("group", "points", "cap", "subtotal"):
            groups.add_column(column, justify="left" if column == "group" else "right")
        for group in explanation.groups:
            cap = "none" if group.max_points is None else f"{group.max_points:g}"
            groups.add_row(group.name, f"{group.points:+.2f}", cap, f"{group.subtotal:+.2f}")
        console.print(groups)
    max_points = explanation.total_max_points
    if max_points is not None:
        before = explanation.total_before_cap
        state = "cut to" if before > max_points else "within"
        console.print(
            f"Total cap: {before:.2f} points before the cap, {state} max_points {max_points:g}."
        )
