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

from leadq.config import EngagementRule
from leadq.diff_report import YES_NO, only_one_side_text
from leadq.explain import AccountState, CriterionCheck, LeadExplanation
from leadq.scoring import ScoringResult
from leadq.value_checks import NumberProblem


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
    if "accounts" in summary:
        _render_account_counts(summary["accounts"], console)
    models = summary.get("models", [])
    if models:
        console.print(_models_table(models))

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
        console.print(_rules_table(summary["rules"], "Engagement rules"))
    if "grade_band_cells" in summary:
        console.print(_matrix_table(summary, "Grade x band: leads (MQLs)"))
    for model in models:
        name = escape(model["name"])
        if model["rules"]:
            console.print(_rules_table(model["rules"], f"Engagement rules of model {name}"))
        if "grade_band_cells" in model:
            console.print(_matrix_table(model, f"Grade x band of model {name}: leads (MQLs)"))

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


def _models_table(models: list[dict[str, Any]]) -> Table:
    """Show each model's MQL settings and funnel."""
    table = Table(title="Models", title_justify="left")
    for column in ("model", "threshold", "qualifying rules", "fit", "engaged", "MQL"):
        justify = "left" if column in ("model", "qualifying rules") else "right"
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for model in models:
        threshold = "none" if model["threshold"] is None else f"{model['threshold']:g}"
        table.add_row(
            escape(model["name"]),
            threshold,
            escape(", ".join(model["qualifying_rules"])) or "none",
            f"{model['fit']:,}",
            f"{model['engaged']:,}",
            f"{model['mql']:,}",
        )
    return table


def _rules_table(rules: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("rule")
    table.add_column("hits", justify="right")
    table.add_column("leads", justify="right")
    table.add_column("points", justify="right")
    for rule in rules:
        table.add_row(
            rule["name"], f"{rule['hits']:,}", f"{rule['leads']:,}", f"{rule['points']:,.2f}"
        )
    return table


def _matrix_table(summary: dict[str, Any], title: str) -> Table:
    """Show leads per grade (rows) and band (columns), with the MQLs of each cell."""
    bands = [band["band"] for band in summary["engagement_bands"]]
    cells = {cell["cell"]: cell for cell in summary["grade_band_cells"]}
    table = Table(title=title, title_justify="left")
    table.add_column("grade")
    for band in bands:
        table.add_column(f"band {band}", justify="right")
    for grade in summary["fit_grades"]:
        counts = [cells[grade["grade"] + band] for band in bands]
        table.add_row(grade["grade"], *(f"{cell['leads']:,} ({cell['mql']:,})" for cell in counts))
    return table


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


def render_number_problems(problems: list[NumberProblem], console: Console) -> None:
    """Warn about values that numeric fit criteria read as no number, or as another number."""
    for problem in problems:
        column = escape(repr(problem.column))
        used_by = escape(_joined([repr(name) for name in problem.criteria]))
        if problem.not_numbers:
            count = problem.not_numbers
            examples = escape(_joined([repr(value) for value in problem.not_number_examples]))
            values = "1 value" if count == 1 else f"{count:,} values"
            console.print(
                f"[yellow]Warning:[/] {values} of {column} {'is' if count == 1 else 'are'} not "
                f"a number ({examples}), but {used_by} compares it as a number. Such leads "
                "fail a filter and match no exclusion on it.",
                soft_wrap=True,
            )
        if problem.point_thousands:
            count = problem.point_thousands
            examples = escape(_joined([repr(value) for value in problem.point_thousands_examples]))
            values = "1 value" if count == 1 else f"{count:,} values"
            console.print(
                f"[yellow]Warning:[/] {values} of {column} ({examples}) "
                f"{'reads' if count == 1 else 'read'} as a decimal, such as 1.200 as 1.2. If "
                "the export separates thousands with points, set inputs.decimal_comma = true.",
                soft_wrap=True,
            )


def render_idle_rules(result: ScoringResult, console: Console) -> None:
    """Warn about each activity rule that matched no activity in the window.

    A misspelt type or condition value scores nothing and stops nothing, so it shows only as
    0 hits in the summary. A rule can also be idle for a good reason, such as a season without
    webinars, so this is a warning.
    """
    rules_by_model: dict[str | None, list[EngagementRule]] = {None: result.config.engagement.rules}
    rules_by_model.update({run.name: run.plan.config.engagement.rules for run in result.models})
    window = f"{result.window.first_day} to {result.window.as_of}"
    for stats in result.rule_stats.iter_rows(named=True):
        model_name = stats.get("model")
        rule = rules_by_model[model_name][stats["rule_position"]]
        if rule.source != "activity" or stats["hits"]:
            continue
        in_model = f" in model {model_name!r}" if model_name is not None else ""
        types = f" its type ({_joined([repr(t) for t in rule.type])})," if rule.type else ""
        warning = (
            f"rule {rule.name!r}{in_model} matched no activity in the window ({window}). "
            f"Check{types} its conditions and the activity files."
        )
        console.print(f"[yellow]Warning:[/] {escape(warning)}", soft_wrap=True)


def _joined(items: list[str]) -> str:
    """Join items as a reader would: `a`, `a and b`, `a, b and c`."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


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

    if explanation.fit_points:
        console.print(_fit_points_table(explanation))

    band = f", band {lead['engagement_band']}" if "engagement_band" in lead else ""
    activities = Table(
        title=f"Engagement score: {lead['engagement_score']:g}{band}", title_justify="left"
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
    if "grade_band" in lead:
        console.print(f"Grade and band cell: {lead['grade_band']}")
    if explanation.account is not None:
        _render_account(explanation.account, console)


def _render_account_counts(accounts: dict[str, Any], console: Console) -> None:
    console.print(
        f"Accounts: {accounts['total']:,}, of which {accounts['fit']:,} fit, "
        f"{accounts['engaged']:,} engaged and {accounts['mqa']:,} MQA. "
        f"{accounts['leads_without_account']:,} leads have no account, and "
        f"{accounts['leads_qualified_by_account']:,} MQLs qualified through their account."
    )


def _render_account(state: AccountState, console: Console) -> None:
    """Show the lead's account: each account criterion, the account score and MQA status."""
    account = state.row
    if account is None:
        console.print(f"Account: none, because the lead has no value for {state.key_source}.")
        return
    status = "[green]MQA[/]" if account["mqa"] else "[red]not an MQA[/]"
    fit_state = "fit" if account["fit"] else f"not fit: {account['fit_failed']}"
    criteria = Table(
        title=f"Account {escape(account['account'])}: {status} ({escape(account['mqa_reason'])})",
        title_justify="left",
    )
    for column in ("", "criterion", "field", "account's value", "test"):
        criteria.add_column(column, overflow="fold")
    for check in state.criteria:
        name = check.name if check.kind == "filter" else f"{check.name} (exclusion)"
        value = "(missing)" if check.value is None else repr(check.value)
        criteria.add_row(_check_mark(check), name, check.field, value, check.test)
    if not state.criteria:
        criteria.add_row("", "(no account criteria configured)", "", "", "")
    console.print(criteria)

    counted = "all its leads" if state.counted_leads == "all" else "its fit leads"
    console.print(
        f"The account is {escape(fit_state)}. It has {account['leads']} leads, "
        f"{account['fit_leads']} of them fit. Its score {account['engagement_score']:g} is the "
        f"{state.engagement} of the scores of {counted}, of which "
        f"{account['engaged_leads']} scored above 0."
    )
    if account["engaged_lead_ids"]:
        console.print(f"Engaged leads, highest score first: {escape(account['engaged_lead_ids'])}")


def _check_mark(check: CriterionCheck) -> str:
    if check.kind == "filter":
        return "[green]pass[/]" if check.passed else "[red]FAIL[/]"
    return "[green]no match[/]" if check.passed else "[red]MATCH[/]"


def render_diff(report: dict[str, Any], console: Console) -> None:
    """Show what a config change does: lead counts, moves, score movers and their causes."""
    leads = report["leads"]
    old, new = leads["old"], leads["new"]
    counts = Table(title=f"Leads as of {report['as_of']}", title_justify="left")
    for column, justify in (("", "left"), ("old", "right"), ("new", "right"), ("change", "right")):
        counts.add_column(column, justify=justify)  # type: ignore[arg-type]
    for label, key in (("leads", "total"), ("fit", "fit"), ("MQL", "mql")):
        counts.add_row(label, f"{old[key]:,}", f"{new[key]:,}", f"{new[key] - old[key]:+,}")
    console.print(counts)

    moves = Table(title="Leads that moved", title_justify="left")
    moves.add_column("move")
    moves.add_column("leads", justify="right")
    for label, key in (
        ("gain fit", "gain_fit"),
        ("lose fit", "lose_fit"),
        ("become MQL", "become_mql"),
        ("stop being MQL", "stop_mql"),
        ("keep MQL", "keep_mql"),
        ("score changed", "score_changed"),
    ):
        moves.add_row(label, f"{leads[key]:,}")
    console.print(moves)
    if leads["only_old"] or leads["only_new"]:
        console.print(f"[yellow]{escape(only_one_side_text(leads))}[/]")

    if report["movers"]:
        movers = Table(title="Biggest score movers", title_justify="left")
        for column, justify in (
            ("lead", "left"),
            ("old score", "right"),
            ("new score", "right"),
            ("change", "right"),
            ("MQL old → new", "left"),
        ):
            movers.add_column(column, justify=justify)  # type: ignore[arg-type]
        for mover in report["movers"]:
            movers.add_row(
                escape(mover["lead_id"]),
                f"{mover['score_old']:,.2f}",
                f"{mover['score_new']:,.2f}",
                f"{mover['delta']:+,.2f}",
                f"{YES_NO[mover['mql_old']]} → {YES_NO[mover['mql_new']]}",
            )
        console.print(movers)
    _render_causes(report["causes"], console)


def _render_causes(causes: dict[str, Any], console: Console) -> None:
    """Show the fit criteria and rules that changed in the config or for some lead.

    The files list every criterion and rule; here the unchanged ones would only hide the rest.
    """
    fit_moved = [c for c in causes["fit"] if c["status"] != "same" or c["leads_changed"]]
    if fit_moved:
        fit = Table(title="Causes: fit criteria", title_justify="left")
        fit.add_column("criterion")
        fit.add_column("config change")
        for column in ("pass/fail changed", "now pass", "now fail", "fit changed"):
            fit.add_column(column, justify="right")
        for item in fit_moved:
            name = item["name"] if item["kind"] == "filter" else f"{item['name']} (exclusion)"
            fit.add_row(
                escape(name),
                item["status"],
                f"{item['leads_changed']:,}",
                f"{item['now_pass']:,}",
                f"{item['now_fail']:,}",
                f"{item['fit_changed']:,}",
            )
        console.print(fit)
    elif causes["fit"]:
        console.print("Fit criteria: unchanged, and each judges every lead as before.")

    rules_moved = [r for r in causes["rules"] if r["status"] != "same" or r["leads_changed"]]
    if rules_moved:
        rules = Table(title="Causes: engagement rules", title_justify="left")
        rules.add_column("rule")
        rules.add_column("config change")
        rules.add_column("leads changed", justify="right")
        rules.add_column("points change before caps", justify="right")
        for item in rules_moved:
            rules.add_row(
                escape(item["name"]),
                item["status"],
                f"{item['leads_changed']:,}",
                f"{item['points_delta']:+,.2f}",
            )
        console.print(rules)
    elif causes["rules"]:
        console.print("Engagement rules: unchanged, and each gives every lead the same points.")
    for setting in causes["mql"]:
        console.print(f"Cause: {escape(setting['text'])}")


def _fit_points_table(explanation: LeadExplanation) -> Table:
    """List each weighted fit criterion with the lead's value and the points it earned."""
    lead = explanation.lead
    grade = f", grade {lead['fit_grade']}" if "fit_grade" in lead else ""
    table = Table(title=f"Fit score: {lead['fit_score']:g}{grade}", title_justify="left")
    for column in ("", "criterion", "field", "lead's value", "test", "points"):
        table.add_column(column, overflow="fold")
    for check in explanation.fit_points:
        mark = "[green]met[/]" if check.met else "not met"
        value = "(missing)" if check.value is None else repr(check.value)
        cells = (check.name, check.field, value, check.test)
        earned = f"{check.earned:+g}" if check.met else "0"
        table.add_row(mark, *(escape(text) for text in cells), earned)
    return table


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
