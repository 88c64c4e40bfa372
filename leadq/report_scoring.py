"""The report sections of a scoring run: funnel, fit drop-out, scores, rules, groups, MQLs, facts.

Counts that summary.json contains are taken from the summary dict, never counted again, so the
report and summary.json cannot disagree. The other numbers (score bins, MQLs per group,
leads failing only one criterion) are aggregated here with Polars before anything is drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from leadq import report_charts as charts
from leadq.config import MqlSection
from leadq.engagement import LEAD_ID
from leadq.fit import exclusion_column, filter_column
from leadq.report import (
    Cell,
    Section,
    count,
    facts_list,
    figure,
    paragraph,
    percent,
    points,
    render_report,
    table,
    write_report,
)
from leadq.scoring import ScoringResult

TOP_MQLS = 25
"""Rows in the report's table of top MQLs; mqls.csv has them all."""
MAX_GROUPS = 15
"""Groups shown one by one in "MQLs by group"; the rest are added up as one row."""
_TARGET_BINS = 30


@dataclass(frozen=True)
class ScoreBins:
    """Leads with a non-zero score counted per score bin, fit and not fit apart."""

    edges: list[float]
    """Bin boundaries: bin i counts scores from edges[i] up to, not including, edges[i + 1]."""
    fit: list[int]
    not_fit: list[int]
    zero_scores: int
    """Leads whose score is exactly 0, left out of the bins because they would dwarf them."""


def write_scoring_report(path: Path, result: ScoringResult, summary: dict[str, Any]) -> None:
    """Render the report of a scoring run and write it to `path`."""
    title = f"leadq run as of {summary['as_of']}"
    write_report(path, render_report(title, scoring_sections(result, summary)))


def scoring_sections(result: ScoringResult, summary: dict[str, Any]) -> list[Section]:
    """Build every section of a scoring run's report from the run and its summary dict."""
    return [
        funnel_section(summary, result.config.mql),
        fit_section(result, summary),
        score_section(result),
        rules_section(summary),
        groups_section(result),
        top_mqls_section(result),
        facts_section(summary),
    ]


def funnel_section(summary: dict[str, Any], mql: MqlSection) -> Section:
    """Show all leads, fit, engaged and MQL leads, each as a share of all leads."""
    leads = summary["leads"]
    total = leads["total"]
    steps = [
        ("All leads", "total"),
        ("Fit", "fit"),
        ("Engaged (score > 0)", "engaged"),
        ("MQL", "mql"),
    ]
    values = [leads[key] for _label, key in steps]
    svg = charts.bar_chart(
        "funnel-chart",
        [label for label, _key in steps],
        values,
        value_labels=[f"{count(v)} ({percent(v, total)})" for v in values],
        highlight=[key == "mql" for _label, key in steps],
        x_label="leads",
    )

    rows: list[list[Cell | str]] = [
        [label, Cell(count(leads[key]), f"leads.{key}"), Cell(percent(leads[key], total))]
        for label, key in steps
    ]

    ways = [f"a score of at least {mql.threshold:g}"] if mql.threshold is not None else []
    ways += ["a qualifying activity"] if mql.qualifying_rules else []
    ways += ["a listed grade and band cell"] if mql.cells else []
    ways += ["a marketing-qualified account"] if mql.account_rule == "mqa" else []
    means = ", ".join(ways[:-1]) + f" or {ways[-1]}" if len(ways) > 1 else "".join(ways)
    note = (
        f"Engaged counts every lead with a score above 0, fit or not. An MQL is a fit lead with "
        f"{means}. {percent(leads['mql'], leads['fit'])} of fit leads are MQLs."
    )

    body = (
        figure("funnel-chart", svg, "Leads at each step of the funnel")
        + table(["step", "leads", "share of all leads"], rows)
        + paragraph(note)
    )
    return Section("funnel", "Lead funnel", body)


def fit_section(result: ScoringResult, summary: dict[str, Any]) -> Section:
    """Show how many leads each fit filter and exclusion removes."""
    total = summary["leads"]["total"]
    if not summary["fit_filters"] and not summary["exclusions"]:
        return Section("fit", "Fit criteria", paragraph("No fit criteria: every lead is fit."))

    only = _only_failure_counts(result)
    labels: list[str] = []
    failing: list[int] = []
    rows: list[list[Cell | str]] = []
    for position, item in enumerate(summary["fit_filters"]):
        labels.append(item["name"])
        failing.append(item["failed"])
        rows.append(
            [
                item["name"],
                item["field"],
                Cell(count(item["failed"]), f"fit_filters[{position}].failed"),
                Cell(percent(item["failed"], total)),
                Cell(count(only[len(labels) - 1])),
            ]
        )
    for position, item in enumerate(summary["exclusions"]):
        labels.append(f"{item['name']} (exclusion)")
        failing.append(item["matched"])
        rows.append(
            [
                labels[-1],
                item["field"],
                Cell(count(item["matched"]), f"exclusions[{position}].matched"),
                Cell(percent(item["matched"], total)),
                Cell(count(only[len(labels) - 1])),
            ]
        )
    svg = charts.bar_chart(
        "fit-chart",
        labels,
        failing,
        value_labels=[count(value) for value in failing],
        x_label="leads removed",
    )
    headers = ["criterion", "field", "leads removed", "share of all leads", "removed by it alone"]
    note = (
        "A lead that fails several criteria counts once for each. 'Removed by it alone' counts "
        "the leads that fail only this criterion, so they would be fit without it."
    )
    body = (
        figure("fit-chart", svg, "Leads each fit criterion removes")
        + table(headers, rows)
        + paragraph(note)
    )
    return Section("fit", "Where leads drop out of fit", body)


def _only_failure_counts(result: ScoringResult) -> list[int]:
    """Count, per criterion in config order (filters, then exclusions), its sole failures."""
    fit = result.config.fit
    failures = [~pl.col(filter_column(p)) for p in range(len(fit.filters))] + [
        pl.col(exclusion_column(p)) for p in range(len(fit.exclude))
    ]
    if not failures:
        return []
    failed_count = pl.sum_horizontal(failures)
    row = result.leads.select(
        (failure & (failed_count == 1)).sum().alias(str(position))
        for position, failure in enumerate(failures)
    ).row(0)
    return [int(value) for value in row]


def score_bins(leads: pl.DataFrame, threshold: float | None) -> ScoreBins:
    """Count the non-zero scores of `leads` in about 30 bins of a round width.

    The bins start at the threshold (or at 0 without one), so that no bin contains scores on
    both sides of it.
    """
    scored = leads.filter(pl.col("engagement_score") != 0)
    zero_scores = leads.height - scored.height
    if scored.is_empty():
        return ScoreBins(edges=[], fit=[], not_fit=[], zero_scores=zero_scores)

    origin = threshold if threshold is not None else 0.0
    low, high = scored.select(
        pl.min("engagement_score").alias("low"), pl.max("engagement_score").alias("high")
    ).row(0)
    low, high = min(low, origin), max(high, origin)
    width = _round_width((high - low) / _TARGET_BINS)
    first = math.floor((low - origin) / width + 1e-9)
    last = math.floor((high - origin) / width + 1e-9)

    # The small epsilon keeps a score on a bin edge in the upper bin despite float division.
    index = ((pl.col("engagement_score") - origin) / width + 1e-9).floor().cast(pl.Int64)
    counts = (
        scored.group_by(index.alias("bin"))
        .agg(pl.col("fit").sum().alias("fit"), (~pl.col("fit")).sum().alias("not_fit"))
        .sort("bin")
    )
    fit_by_bin = dict(zip(counts["bin"], counts["fit"], strict=True))
    other_by_bin = dict(zip(counts["bin"], counts["not_fit"], strict=True))
    bins = range(first, last + 1)
    return ScoreBins(
        edges=[origin + width * b for b in range(first, last + 2)],
        fit=[int(fit_by_bin.get(b, 0)) for b in bins],
        not_fit=[int(other_by_bin.get(b, 0)) for b in bins],
        zero_scores=zero_scores,
    )


def _round_width(raw: float) -> float:
    """Return the smallest of 1, 2, 2.5 or 5 times a power of ten that is at least `raw`."""
    if raw <= 0.01:
        return 0.01
    power = 10.0 ** math.floor(math.log10(raw))
    return next(power * step for step in (1, 2, 2.5, 5, 10) if power * step >= raw * (1 - 1e-12))


def score_section(result: ScoringResult) -> Section:
    """Show the distribution of engagement scores with the MQL threshold marked."""
    threshold = result.config.mql.threshold
    bins = score_bins(result.leads, threshold)
    zero_note = f"{count(bins.zero_scores)} leads score exactly 0 and are not shown. "
    threshold_note = (
        f"The dashed line is the MQL threshold, {threshold:g}; fit leads at or right of it "
        "are MQLs."
        if threshold is not None
        else "There is no score threshold: only qualifying rules make MQLs."
    )
    if not bins.edges:
        body = paragraph("Every lead scores 0, so there is no distribution to show.")
        return Section("scores", "Engagement scores", body)

    svg = charts.histogram(
        "score-chart",
        bins.edges,
        [("fit", bins.fit, charts.MAIN), ("not fit", bins.not_fit, charts.MUTED)],
        marker=threshold,
        marker_label=f"MQL threshold {threshold:g}" if threshold is not None else "",
        x_label="engagement score",
    )
    width = bins.edges[1] - bins.edges[0]
    caption = f"Leads per score bin of width {width:g}, fit and not fit"
    body = figure("score-chart", svg, caption) + paragraph(zero_note + threshold_note)
    return Section("scores", "Engagement scores", body)


def rules_section(summary: dict[str, Any]) -> Section:
    """Show the points each engagement rule contributed over all leads."""
    rules = summary["rules"]
    if not rules:
        return Section("rules", "Engagement rules", paragraph("No engagement rules."))

    svg = charts.bar_chart(
        "rules-chart",
        [rule["name"] for rule in rules],
        [rule["points"] for rule in rules],
        value_labels=[points(rule["points"]) for rule in rules],
        x_label="points, after decay, before group and total caps",
    )
    rows = [
        [
            rule["name"],
            Cell(count(rule["hits"]), f"rules[{position}].hits"),
            Cell(count(rule["leads"]), f"rules[{position}].leads"),
            Cell(points(rule["points"]), f"rules[{position}].points"),
        ]
        for position, rule in enumerate(rules)
    ]
    body = figure("rules-chart", svg, "Points each rule gave, summed over all leads") + table(
        ["rule", "hits", "leads", "points"], rows
    )
    return Section("rules", "Points by engagement rule", body)


def mqls_by_group(leads: pl.DataFrame, column: str) -> pl.DataFrame:
    """Count leads, fit leads and MQLs per value of `column`, most MQLs first.

    Values that differ only in case or surrounding spaces form one group, as they do in
    conditions, named by their most frequent spelling. Missing values form the group
    "(missing)". After MAX_GROUPS groups, the rest are added up in one row named like
    "Other (12 values)".
    """
    key = pl.col(column).str.strip_chars().str.to_lowercase().alias("_key")
    spellings = (
        leads.group_by(key, pl.col(column).alias("group"))
        .len()
        .sort(["len", "group"], descending=[True, False])
        .group_by("_key", maintain_order=True)
        .first()
        .select("_key", pl.col("group").fill_null("(missing)"))
    )
    groups = (
        leads.group_by(key)
        .agg(
            pl.len().alias("leads"),
            pl.col("fit").sum().alias("fit"),
            pl.col("mql").sum().alias("mql"),
        )
        .join(spellings, on="_key", how="left", nulls_equal=True)
        .select("group", pl.col("leads", "fit", "mql").cast(pl.Int64))
        .sort(["mql", "leads", "group"], descending=[True, True, False])
    )
    if groups.height <= MAX_GROUPS + 1:
        return groups
    rest = groups.slice(MAX_GROUPS)
    other = rest.select(
        pl.lit(f"Other ({rest.height} values)").alias("group"),
        pl.sum("leads"),
        pl.sum("fit"),
        pl.sum("mql"),
    )
    return pl.concat([groups.head(MAX_GROUPS), other])


def groups_section(result: ScoringResult) -> Section:
    """Show MQLs per value of the column named by `[report] group_by`."""
    column = result.config.report.group_by
    if column is None:
        note = (
            'Set group_by in the config\'s [report] section, such as group_by = "Industry", '
            "to see MQLs per value of a lead column here."
        )
        return Section("groups", "MQLs by group", paragraph(note))

    groups = mqls_by_group(result.leads, column)
    labels = groups.get_column("group").to_list()
    mqls = groups.get_column("mql").to_list()
    svg = charts.bar_chart(
        "groups-chart",
        labels,
        mqls,
        value_labels=[count(value) for value in mqls],
        x_label="MQLs",
    )
    rows: list[list[Cell | str]] = [
        [
            row["group"],
            Cell(count(row["leads"])),
            Cell(count(row["fit"])),
            Cell(count(row["mql"])),
            Cell(percent(row["mql"], row["leads"])),
        ]
        for row in groups.iter_rows(named=True)
    ]
    body = figure("groups-chart", svg, f"MQLs per {column}") + table(
        [column, "leads", "fit", "MQLs", "MQL rate"], rows
    )
    return Section("groups", f"MQLs by {column}", body)


def top_mqls_section(result: ScoringResult) -> Section:
    """List the highest-scoring MQLs with the reasons for their score and their MQL status."""
    mqls = result.mqls
    if mqls.is_empty():
        return Section("top-mqls", "Top MQLs", paragraph("No lead is an MQL in this run."))

    columns = [LEAD_ID, *result.config.output.columns]
    top = mqls.head(TOP_MQLS)
    rows: list[list[Cell | str]] = [
        [
            *(_text(row[column]) for column in columns),
            Cell(points(row["engagement_score"])),
            _text(row["reasons"]),
            _text(row["mql_reason"]),
        ]
        for row in top.iter_rows(named=True)
    ]
    headers = [*columns, "score", "reasons", "why MQL"]
    caption = (
        f"The {count(top.height)} highest-scoring of {count(mqls.height)} MQLs; "
        "the mqls file lists them all."
    )
    return Section("top-mqls", "Top MQLs", table(headers, rows, caption=caption, css_class="leads"))


def _text(value: object) -> str:
    return "" if value is None else str(value)


def facts_section(summary: dict[str, Any]) -> Section:
    """List what the run read and how: as-of date, window, config, inputs and rejected rows."""
    window = summary["window"]
    config = summary["config"]
    leads = summary["leads"]
    activities = summary["activities"]
    half_life = window["half_life_days"]
    facts = [
        ("As of", f"{summary['as_of']} (end of day, {window['timezone']})"),
        (
            "Window",
            f"{window['first_day']} to {window['last_day']} ({window['lookback_days']} days), "
            f"half-life: {f'{half_life:g} days' if half_life else 'none'}",
        ),
        ("Config", config["path"] or "(built in code)"),
        ("Config SHA-256", config["sha256"] or "n/a"),
        ("leadq version", summary["leadq_version"]),
    ]
    files: list[list[Cell | str]] = [
        [table_name, item["path"], Cell(count(item["rows"]), f"inputs.{table_name}[{i}].rows")]
        for table_name in ("leads", "activities")
        for i, item in enumerate(summary["inputs"][table_name])
    ]
    counts: list[list[Cell | str]] = [
        ["lead rows read", Cell(count(leads["rows_read"]), "leads.rows_read")],
        ["lead rows rejected", Cell(count(leads["rejected"]), "leads.rejected")],
        ["activity rows read", Cell(count(activities["rows_read"]), "activities.rows_read")],
        ["activities in the window", Cell(count(activities["in_window"]), "activities.in_window")],
        [
            "activities before the window",
            Cell(count(activities["before_window"]), "activities.before_window"),
        ],
        [
            "future-dated activities",
            Cell(count(activities["future_dated"]), "activities.future_dated"),
        ],
        [
            "activities matching no lead",
            Cell(count(activities["unmatched"]), "activities.unmatched"),
        ],
        ["activity rows rejected", Cell(count(activities["rejected"]), "activities.rejected")],
        ["rejected rows in all", Cell(count(summary["rejected_rows"]), "rejected_rows")],
    ]
    body = (
        facts_list(facts)
        + table(["table", "input file", "rows"], files)
        + table(["rows", "count"], counts)
        + paragraph("rejects.csv in the output folder lists each rejected row with its reason.")
    )
    return Section("facts", "Run facts", body)
