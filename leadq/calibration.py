"""`leadq calibrate`: how MQLs, score bands, fit criteria and rules convert, and what to change.

Every number is computed over the evaluated leads: all scored leads, except those that had
already converted on or before the cut-off day when the outcomes have dates.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from leadq.calibration_stats import (
    RIDGE_PENALTY,
    fit_logistic,
    roc_auc,
    scale_to_points,
    wilson_interval,
)
from leadq.config import OUTCOME_STAGES, Config, EngagementRule
from leadq.engagement import LEAD_ID, count_column, points_column, round_score
from leadq.errors import ConfigError
from leadq.fit import exclusion_column, filter_column
from leadq.outcomes import (
    CONVERTED,
    STAGE,
    Labels,
    Outcomes,
    label_leads,
    last_outcome_day,
    outcomes_section,
    read_outcomes,
)
from leadq.scoring import ScoringResult, score_leads

NOT_ENOUGH_DATA = "not enough data"
# A rate, lift, AUC or suggestion needs at least this many converted leads and as many
# not-converted ones among the evaluated leads. Below 30 a single lead moves a rate by
# several points, so a suggestion would follow noise.
MIN_OUTCOMES = 30
# The lift of a group (score band, filtered-out leads, leads hitting a rule) needs this many
# leads in the group, for the same reason.
MIN_GROUP_LEADS = 30
# Suggested points need 10 converted leads per rule in the model, the usual rule of thumb for
# logistic regression, and a rule needs 10 leads that hit it before it can be weighed.
CONVERSIONS_PER_RULE = 10
MIN_RULE_HITS = 10
SUGGESTION_METHOD = (
    "L2-regularised logistic regression of conversion on each rule's decay-weighted hit "
    f"count (penalty {RIDGE_PENALTY:g} on standardised weights), with weights scaled so that "
    "the largest one matches the largest current points, rounded to whole points"
)
_QUALIFIES = "_qualifies"
_SUGGESTED_SCORE = "_suggested_score"


@dataclass(frozen=True)
class RuleSuggestion:
    """An engagement rule's current points and the points the outcomes suggest."""

    name: str
    current_points: float
    suggested_points: float | str
    """A number, or NOT_ENOUGH_DATA."""


@dataclass(frozen=True)
class Calibration:
    """The report of `leadq calibrate`, as written to calibration.json, and its suggestions."""

    report: dict[str, Any]
    suggestions: list[RuleSuggestion]


def calibrate(
    config: Config,
    *,
    outcomes_path: str | None = None,
    leads_path: str | None = None,
    activity_patterns: Sequence[str] | None = None,
    as_of: dt.date | None = None,
    holdout_days: int | None = None,
    target_precision: float | None = None,
    target_mqls: int | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Calibration:
    """Score the leads as of `as_of`, join their outcomes, and measure how they convert.

    With dated outcomes, `as_of` is required and only outcomes after it count. With
    `holdout_days`, the suggestions are fitted on outcomes up to that many days before the
    latest outcome, and tested on leads scored as of that day against the later outcomes.
    """
    # NOTE: conversion is measured for one set of rules and one MQL definition
    config.reject_models("leadq calibrate")
    section = outcomes_section(config)
    if section.date and as_of is None:
        problem = (
            "--as-of is required because the outcomes have dates (outcomes.date): leads are "
            "scored as of that day and only outcomes after it count"
        )
        raise ConfigError("command line", [problem])
    if holdout_days is not None and not section.date:
        problem = "--holdout-days needs dated outcomes; set outcomes.date in the config"
        raise ConfigError("command line", [problem])

    step = on_step or (lambda _name: None)
    result = score_leads(
        config, leads_path=leads_path, activity_patterns=activity_patterns, as_of=as_of
    )
    step("Reading outcomes")
    outcomes = read_outcomes(config, result.leads, outcomes_path)
    cut_off = result.as_of if section.date else None
    holdout_day = _holdout_day(outcomes, cut_off, holdout_days)
    labels = label_leads(result.leads, outcomes, after=cut_off, until=holdout_day)

    step("Measuring conversion")
    evaluated = evaluated_leads(result, labels)
    report = build_report(
        result, evaluated, target_precision=target_precision, target_mqls=target_mqls
    )
    report["outcomes"] = _outcome_summary(outcomes, labels, evaluated, cut_off, holdout_day)
    suggestions = _suggestions(report)

    report["holdout"] = None
    if holdout_day is not None:
        step("Testing the suggestions on the holdout period")
        later = score_leads(
            config, leads_path=leads_path, activity_patterns=activity_patterns, as_of=holdout_day
        )
        later_labels = label_leads(later.leads, outcomes, after=holdout_day)
        report["holdout"] = holdout_check(
            later, evaluated_leads(later, later_labels), suggestions, last_outcome_day(outcomes)
        )
    return Calibration(report=report, suggestions=suggestions)


def evaluated_leads(result: ScoringResult, labels: Labels) -> pl.DataFrame:
    """Join the scored leads with their labels, adding whether a qualifying rule makes them MQL."""
    config = result.config
    qualifying = [
        pl.col(count_column(position)) > 0
        for position, rule in enumerate(config.engagement.rules)
        if rule.name in config.mql.qualifying_rules
    ]
    qualifies = pl.col("fit") & pl.any_horizontal(qualifying) if qualifying else pl.lit(False)
    labelled = result.leads.join(labels.leads, on=LEAD_ID, how="inner", maintain_order="left")
    return labelled.with_columns(qualifies.alias(_QUALIFIES))


def build_report(
    result: ScoringResult,
    evaluated: pl.DataFrame,
    *,
    target_precision: float | None = None,
    target_mqls: int | None = None,
) -> dict[str, Any]:
    """Measure conversion by MQL status, score band, fit criterion and rule; sweep thresholds."""
    config = result.config
    converted = int(evaluated.get_column(CONVERTED).sum())
    enough = converted >= MIN_OUTCOMES and evaluated.height - converted >= MIN_OUTCOMES
    overall = _rate(evaluated, enough=enough)
    context = _Context(evaluated=evaluated, overall_rate=overall["rate"], enough=enough)

    return {
        "as_of": result.as_of.isoformat(),
        "config": {"path": str(config.path) if config.path else None, "sha256": config.sha256},
        "minimum_outcomes": MIN_OUTCOMES,
        "enough_data": enough,
        "overall": overall,
        "mql": {
            "mql": context.group(pl.col("mql")),
            "not_mql": context.group(~pl.col("mql")),
        },
        "stages": _stages(config, evaluated),
        "score_auc": context.auc(pl.col("engagement_score")),
        "fit_score_auc": _fit_score_auc(context),
        "score_bands": _score_bands(context),
        "threshold_bands": _threshold_bands(context, config.mql.threshold),
        "fit": _fit_report(context, config),
        "rules": _rule_report(context, config.engagement.rules),
        "suggestion_method": SUGGESTION_METHOD,
        "threshold_sweep": _threshold_sweep(
            context, config.mql.threshold, target_precision, target_mqls
        ),
    }


@dataclass(frozen=True)
class _Context:
    evaluated: pl.DataFrame
    overall_rate: Any
    enough: bool

    def group(self, mask: pl.Expr) -> dict[str, Any]:
        """Return the leads, conversions, rate, interval and lift of the leads in `mask`."""
        stats = _rate(self.evaluated.filter(mask), enough=self.enough)
        stats["lift"] = self.lift(stats)
        return stats

    def lift(self, stats: dict[str, Any]) -> float | str:
        if not self.enough or stats["leads"] < MIN_GROUP_LEADS or not self.overall_rate:
            return NOT_ENOUGH_DATA
        return float(stats["rate"]) / float(self.overall_rate)

    def auc(self, score: pl.Expr, frame: pl.DataFrame | None = None) -> float | str:
        value = roc_auc(self.evaluated if frame is None else frame, score, CONVERTED)
        return NOT_ENOUGH_DATA if value is None or not self.enough else value


def _rate(frame: pl.DataFrame, *, enough: bool) -> dict[str, Any]:
    leads = frame.height
    converted = int(frame.get_column(CONVERTED).sum()) if leads else 0
    low, high = wilson_interval(converted, leads)
    rate: float | str = converted / leads if leads and enough else NOT_ENOUGH_DATA
    interval: list[float] | str = [low, high] if leads and enough else NOT_ENOUGH_DATA
    return {"leads": leads, "converted": converted, "rate": rate, "interval": interval}


def _stages(config: Config, evaluated: pl.DataFrame) -> list[dict[str, Any]]:
    """Count the MQLs and the other leads that reached each mapped stage or a later one."""
    section = config.outcomes
    assert section is not None
    mapped = [
        stage for stage in OUTCOME_STAGES if getattr(section, stage) or section.each_row == stage
    ]
    rows = []
    for stage in mapped:
        reached = pl.col(STAGE) >= OUTCOME_STAGES.index(stage) + 1
        counts = evaluated.select(
            (reached & pl.col("mql")).sum().alias("mql"),
            (reached & ~pl.col("mql")).sum().alias("not_mql"),
        ).row(0, named=True)
        rows.append({"stage": stage, "mql": counts["mql"], "not_mql": counts["not_mql"]})
    return rows


def _fit_score_auc(context: _Context) -> float | str:
    fit_leads = context.evaluated.filter(pl.col("fit"))
    return context.auc(pl.col("engagement_score"), fit_leads)


def _score_bands(context: _Context) -> list[dict[str, Any]]:
    """Split the scores at their deciles; ties can merge deciles, so there may be fewer bands."""
    scores = context.evaluated.get_column("engagement_score")
    if scores.is_empty():
        return []
    quantiles = [scores.quantile(q / 10, "lower") for q in range(1, 10)]
    cuts = sorted({float(value) for value in quantiles if value is not None})
    highest = scores.max()
    assert isinstance(highest, float)
    cuts = [cut for cut in cuts if cut < highest]
    bounds: list[float | None] = [None, *cuts, None]
    bands = []
    score = pl.col("engagement_score")
    for low, high in itertools.pairwise(bounds):
        mask = pl.lit(True)
        if low is not None:
            mask = mask & (score > low)
        if high is not None:
            mask = mask & (score <= high)
        stats = context.group(mask)
        bands.append({"band": _band_label(low, high), "above": low, "up_to": high, **stats})
    return bands


def _band_label(low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return "all scores"
    if low is None:
        return f"up to {high:g}"
    if high is None:
        return f"above {low:g}"
    return f"above {low:g}, up to {high:g}"


def _threshold_bands(context: _Context, threshold: float | None) -> list[dict[str, Any]]:
    if threshold is None:
        return []
    score = pl.col("engagement_score")
    return [
        {"band": f"score {threshold:g} or more", **context.group(score >= threshold)},
        {"band": f"score below {threshold:g}", **context.group(score < threshold)},
    ]


def _fit_report(context: _Context, config: Config) -> dict[str, Any]:
    """Measure how fit and not-fit leads convert, and what each criterion keeps out."""
    criteria = [
        ("filter", rule.name, ~pl.col(filter_column(position)))
        for position, rule in enumerate(config.fit.filters)
    ] + [
        ("exclusion", rule.name, pl.col(exclusion_column(position)).fill_null(False))
        for position, rule in enumerate(config.fit.exclude)
    ]
    failures = pl.sum_horizontal([removed.cast(pl.Int64) for _, _, removed in criteria] or [0])
    rows = []
    for kind, name, removed in criteria:
        rows.append(
            {
                "kind": kind,
                "name": name,
                "removed": context.group(removed),
                "removed_only_by_this": context.group(removed & (failures == 1)),
                "kept": context.group(~removed),
                "auc": context.auc(~removed),
            }
        )
    return {
        "fit": context.group(pl.col("fit")),
        "not_fit": context.group(~pl.col("fit")),
        "auc": context.auc(pl.col("fit")),
        "criteria": rows,
    }


def rule_feature(position: int, rule: EngagementRule) -> pl.Expr:
    """Return a rule's decay-weighted hit count per lead: the points it earned over its points.

    A rule worth 0 points earns nothing to divide, so its plain hit count is used instead.
    """
    if rule.points == 0:
        return pl.col(count_column(position)).cast(pl.Float64).fill_null(0.0)
    return (pl.col(points_column(position)) / rule.points).fill_null(0.0)


def _rule_report(context: _Context, rules: list[EngagementRule]) -> list[dict[str, Any]]:
    evaluated = context.evaluated
    suggested = _suggested_points(context, rules)
    rows = []
    for position, rule in enumerate(rules):
        hit = pl.col(count_column(position)) > 0
        with_hit = context.group(hit)
        rows.append(
            {
                "name": rule.name,
                "current_points": rule.points,
                "hit_leads": with_hit["leads"],
                "hit_rate": with_hit["leads"] / evaluated.height if evaluated.height else None,
                "with_hit": with_hit,
                "without_hit": context.group(~hit),
                "lift": with_hit["lift"],
                "suggested_points": suggested[position],
            }
        )
    return rows


def _suggested_points(context: _Context, rules: list[EngagementRule]) -> list[float | str]:
    """Fit rule weights on the evaluated leads; NOT_ENOUGH_DATA where the data cannot tell."""
    evaluated = context.evaluated
    converted = int(evaluated.get_column(CONVERTED).sum())
    needed = max(MIN_OUTCOMES, CONVERSIONS_PER_RULE * len(rules))
    if not rules or not context.enough or converted < needed:
        return [NOT_ENOUGH_DATA] * len(rules)

    # one row per distinct combination of hit counts; rounding bounds the combinations that
    # decay would otherwise make unique per lead
    features = [rule_feature(p, rule).round(2).alias(f"x{p}") for p, rule in enumerate(rules)]
    grouped = (
        evaluated.select(*features, pl.col(CONVERTED).cast(pl.Int64))
        .group_by([f"x{p}" for p in range(len(rules))])
        .agg(pl.len().alias("trials"), pl.col(CONVERTED).sum().alias("successes"))
    )
    design = grouped.select([f"x{p}" for p in range(len(rules))]).to_numpy().astype(float)
    fitted = fit_logistic(
        design,
        grouped.get_column("trials").to_numpy().astype(float),
        grouped.get_column("successes").to_numpy().astype(float),
    )
    hits = evaluated.select(
        (pl.col(count_column(p)) > 0).sum().alias(str(p)) for p in range(len(rules))
    ).row(0)
    weights = [
        weight if hit_count >= MIN_RULE_HITS else None
        for weight, hit_count in zip(fitted.weights, hits, strict=True)
    ]
    points = scale_to_points(weights, [rule.points for rule in rules])
    return [NOT_ENOUGH_DATA if value is None else value for value in points]


def _suggestions(report: dict[str, Any]) -> list[RuleSuggestion]:
    return [
        RuleSuggestion(
            name=row["name"],
            current_points=row["current_points"],
            suggested_points=row["suggested_points"],
        )
        for row in report["rules"]
    ]


def _threshold_sweep(
    context: _Context,
    threshold: float | None,
    target_precision: float | None,
    target_mqls: int | None,
) -> dict[str, Any]:
    """Count MQLs, precision and recall per candidate threshold, and find the targets' thresholds.

    Precision is the share of MQLs that converted; recall is the share of all converted
    leads that were MQLs. Fit leads with a qualifying rule are MQLs at every threshold.
    """
    curve = threshold_curve(context.evaluated)
    fit_scores = context.evaluated.filter(pl.col("fit")).get_column("engagement_score")
    candidates = {float(threshold)} if threshold is not None else set()
    if not fit_scores.is_empty():
        candidates |= {
            float(value)
            for q in range(1, 10)
            if (value := fit_scores.quantile(q / 10, "higher")) is not None
        }
    sweep: dict[str, Any] = {"target_precision": target_precision, "target_mqls": target_mqls}
    sweep["threshold_for_precision"] = None
    sweep["threshold_for_mqls"] = None
    if target_precision is not None:
        sweep["threshold_for_precision"] = _threshold_for_precision(
            context, curve, target_precision
        )
    if target_mqls is not None:
        sweep["threshold_for_mqls"] = _threshold_for_mqls(curve, target_mqls)
    # the thresholds found for the targets get a row too, so the table shows what they give
    found = (sweep["threshold_for_precision"], sweep["threshold_for_mqls"])
    candidates |= {value for value in found if isinstance(value, float)}
    sweep["rows"] = [_sweep_row(context, candidate) for candidate in sorted(candidates)]
    return sweep


def threshold_curve(evaluated: pl.DataFrame) -> pl.DataFrame:
    """Return MQLs, converted MQLs, precision and recall at each distinct fit-lead score."""
    all_converted = int(evaluated.get_column(CONVERTED).sum())
    qualified = evaluated.filter(pl.col(_QUALIFIES))
    always = qualified.height
    always_converted = int(qualified.get_column(CONVERTED).sum())
    by_score = (
        evaluated.filter(pl.col("fit") & ~pl.col(_QUALIFIES))
        .group_by("engagement_score")
        .agg(pl.len().alias("leads"), pl.col(CONVERTED).sum().alias("converted"))
        .sort("engagement_score", descending=True)
    )
    mqls = pl.col("leads").cum_sum() + always
    converted = pl.col("converted").cum_sum() + always_converted
    return (
        by_score.select(
            pl.col("engagement_score").alias("threshold"),
            mqls.alias("mqls"),
            converted.alias("converted"),
        )
        .with_columns(
            (pl.col("converted") / pl.col("mqls")).alias("precision"),
            (pl.col("converted") / all_converted if all_converted else pl.lit(None)).alias(
                "recall"
            ),
        )
        .sort("threshold")
    )


def _sweep_row(context: _Context, threshold: float) -> dict[str, Any]:
    evaluated = context.evaluated
    is_mql = pl.col("fit") & ((pl.col("engagement_score") >= threshold) | pl.col(_QUALIFIES))
    mqls = evaluated.filter(is_mql)
    converted = int(mqls.get_column(CONVERTED).sum())
    all_converted = int(evaluated.get_column(CONVERTED).sum())
    precision: float | str = NOT_ENOUGH_DATA
    recall: float | str = NOT_ENOUGH_DATA
    if context.enough and mqls.height:
        precision = converted / mqls.height
    if context.enough and all_converted:
        recall = converted / all_converted
    return {
        "threshold": threshold,
        "mqls": mqls.height,
        "converted": converted,
        "precision": precision,
        "recall": recall,
    }


def _threshold_for_precision(
    context: _Context, curve: pl.DataFrame, target: float
) -> float | str | None:
    """Return the smallest threshold whose MQLs convert at `target` or better, if any.

    Only thresholds that leave MIN_GROUP_LEADS MQLs count, because a handful of MQLs can
    reach any precision by chance.
    """
    if not context.enough:
        return NOT_ENOUGH_DATA
    reaching = curve.filter((pl.col("precision") >= target) & (pl.col("mqls") >= MIN_GROUP_LEADS))
    return None if reaching.is_empty() else float(reaching.get_column("threshold")[0])


def _threshold_for_mqls(curve: pl.DataFrame, target: int) -> float | None:
    """Return the smallest threshold that makes at most `target` MQLs, if any does.

    It counts leads and needs no outcomes, so it is given with any amount of data.
    """
    within = curve.filter(pl.col("mqls") <= target)
    return None if within.is_empty() else float(within.get_column("threshold")[0])


def suggested_score_expr(rules: list[EngagementRule], suggestions: list[RuleSuggestion]) -> pl.Expr:
    """Return the score the leads would get with the suggested points, rounded like the score.

    Rules without a suggestion keep their current points.
    """
    parts = []
    for position, (rule, suggestion) in enumerate(zip(rules, suggestions, strict=True)):
        points = suggestion.suggested_points
        weight = points if isinstance(points, float) else rule.points
        parts.append(rule_feature(position, rule) * weight)
    return round_score(pl.sum_horizontal(parts or [pl.lit(0.0)]))


def holdout_check(
    later: ScoringResult,
    evaluated: pl.DataFrame,
    suggestions: list[RuleSuggestion],
    last_day: dt.date | None,
) -> dict[str, Any]:
    """Compare the current and the suggested points on leads scored later than the fit period."""
    config = later.config
    converted = int(evaluated.get_column(CONVERTED).sum())
    enough = converted >= MIN_OUTCOMES and evaluated.height - converted >= MIN_OUTCOMES
    frame = evaluated.with_columns(
        suggested_score_expr(config.engagement.rules, suggestions).alias(_SUGGESTED_SCORE)
    )
    context = _Context(evaluated=frame, overall_rate=None, enough=enough)
    result: dict[str, Any] = {
        "scored_as_of": later.as_of.isoformat(),
        "outcomes_until": last_day.isoformat() if last_day else None,
        "leads": frame.height,
        "converted": converted,
        "current": {"auc": context.auc(pl.col("engagement_score"))},
        "suggested": {"auc": context.auc(pl.col(_SUGGESTED_SCORE))},
    }
    threshold = config.mql.threshold
    if threshold is not None:
        for name, score in (("current", "engagement_score"), ("suggested", _SUGGESTED_SCORE)):
            is_mql = pl.col("fit") & ((pl.col(score) >= threshold) | pl.col(_QUALIFIES))
            result[name]["mqls"] = context.group(is_mql)
    return result


def _holdout_day(
    outcomes: Outcomes, cut_off: dt.date | None, holdout_days: int | None
) -> dt.date | None:
    """Return the last day of the fit period: `holdout_days` before the latest outcome."""
    if holdout_days is None:
        return None
    latest = last_outcome_day(outcomes)
    if latest is None or cut_off is None:
        problem = "--holdout-days needs dated outcomes after --as-of, and none were found"
        raise ConfigError("command line", [problem])
    holdout_day = latest - dt.timedelta(days=holdout_days)
    if holdout_day <= cut_off:
        problem = (
            f"--holdout-days {holdout_days} starts the holdout on {holdout_day}, not after "
            f"--as-of {cut_off}; the latest outcome is dated {latest}, so use fewer days or "
            "an earlier --as-of"
        )
        raise ConfigError("command line", [problem])
    return holdout_day


def _outcome_summary(
    outcomes: Outcomes,
    labels: Labels,
    evaluated: pl.DataFrame,
    cut_off: dt.date | None,
    holdout_day: dt.date | None,
) -> dict[str, Any]:
    counts = outcomes.counts
    return {
        "file": outcomes.path,
        "rows_read": counts.rows_read,
        "rows_rejected": counts.rejected,
        "rows_missing_key": counts.missing_key,
        "rows_matching_no_lead": counts.unmatched,
        "rows_undated": counts.undated,
        "converted_stage": OUTCOME_STAGES[outcomes.converted_stage - 1],
        "dated": outcomes.is_dated,
        "counted_after": cut_off.isoformat() if cut_off else None,
        "counted_until": holdout_day.isoformat() if holdout_day else None,
        "leads_converted_before_cut_off": labels.converted_before,
        "leads_evaluated": evaluated.height,
        "leads_converted": int(evaluated.get_column(CONVERTED).sum()),
    }


def rule_suggestions(
    config: Config, result: ScoringResult, outcomes_path: str | None
) -> list[RuleSuggestion]:
    """Return the suggested points for the rules, from the outcomes of the leads in `result`."""
    section = outcomes_section(config)
    outcomes = read_outcomes(config, result.leads, outcomes_path)
    labels = label_leads(result.leads, outcomes, after=result.as_of if section.date else None)
    evaluated = evaluated_leads(result, labels)
    converted = int(evaluated.get_column(CONVERTED).sum())
    enough = converted >= MIN_OUTCOMES and evaluated.height - converted >= MIN_OUTCOMES
    context = _Context(evaluated=evaluated, overall_rate=None, enough=enough)
    rules = config.engagement.rules
    points = _suggested_points(context, rules)
    return [
        RuleSuggestion(name=rule.name, current_points=rule.points, suggested_points=value)
        for rule, value in zip(rules, points, strict=True)
    ]
