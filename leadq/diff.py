"""Config comparison: the same leads scored under two configs, compared lead by lead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from leadq.config import Config, EngagementRule, NamedCondition
from leadq.engagement import (
    LEAD_ID,
    count_column,
    points_column,
    round_score,
    signed_number_text,
)
from leadq.fit import exclusion_column, filter_column
from leadq.scoring import ScoringResult, score_leads, today_in

MOVERS = 20
"""How many of the biggest score movers a diff lists."""

Status = Literal["same", "changed", "added", "removed"]

IN_OLD = "_in_old"
IN_NEW = "_in_new"
COMPARED_COLUMNS = [
    LEAD_ID,
    "fit_old",
    "fit_new",
    "score_old",
    "score_new",
    "delta",
    "mql_old",
    "mql_new",
    "causes",
]
"""The public columns of a comparison, in the order `changed_leads.csv` has them."""


@dataclass(frozen=True)
class _Criterion:
    """A fit filter or exclusion as one config has it, with the lead column that judges it."""

    condition: NamedCondition
    column: str
    is_exclusion: bool

    def passes(self) -> pl.Expr:
        """Return true where a lead passes: the filter holds, or the exclusion does not match."""
        # a null counts as passing, as in the fit decision, where it names no failed criterion
        if self.is_exclusion:
            return ~pl.col(self.column).fill_null(False)
        return pl.col(self.column).fill_null(True)


@dataclass(frozen=True)
class _CriterionPair:
    """A fit criterion matched across the configs by name; a side is None where it is absent."""

    name: str
    old: _Criterion | None
    new: _Criterion | None

    @property
    def status(self) -> Status:
        return _status(self.old and self.old.condition, self.new and self.new.condition)

    @property
    def kind(self) -> str:
        side = self.new or self.old
        assert side is not None
        return "exclusion" if side.is_exclusion else "filter"


@dataclass(frozen=True)
class _RulePair:
    """An engagement rule matched across the configs by name, with its position in each."""

    name: str
    old: tuple[int, EngagementRule] | None
    new: tuple[int, EngagementRule] | None

    @property
    def status(self) -> Status:
        return _status(self.old and self.old[1], self.new and self.new[1])


@dataclass
class LeadComparison:
    """Two scorings of the same leads compared: per lead, in counts, and by cause."""

    leads: pl.DataFrame
    """Every lead of either result, sorted by lead id, with the COMPARED_COLUMNS and whether
    each result has it (`_in_old`, `_in_new`)."""
    counts: dict[str, Any]
    fit_causes: list[dict[str, Any]]
    rule_causes: list[dict[str, Any]]
    mql_causes: list[dict[str, Any]]

    @property
    def changed_leads(self) -> pl.DataFrame:
        """The leads whose fit, score or MQL status changed, and those only one result has."""
        in_both = pl.col(IN_OLD) & pl.col(IN_NEW)
        changed = (
            (pl.col("fit_old") != pl.col("fit_new"))
            | (pl.col("score_old") != pl.col("score_new"))
            | (pl.col("mql_old") != pl.col("mql_new"))
        )
        return self.leads.filter(~in_both | changed).select(COMPARED_COLUMNS)

    @property
    def movers(self) -> pl.DataFrame:
        """The MOVERS leads whose score moved most either way, ties by lead id."""
        moved = self.leads.filter(pl.col(IN_OLD) & pl.col(IN_NEW) & (pl.col("delta") != 0))
        by_size = moved.sort([pl.col("delta").abs(), pl.col(LEAD_ID)], descending=[True, False])
        return by_size.head(MOVERS).select(
            LEAD_ID, "score_old", "score_new", "delta", "mql_old", "mql_new"
        )


@dataclass
class ConfigDiff:
    """The two scoring runs of a diff and their comparison."""

    old: ScoringResult
    new: ScoringResult
    comparison: LeadComparison


def diff_configs(
    old_config: Config,
    new_config: Config,
    *,
    leads_path: str | None = None,
    activity_patterns: Sequence[str] | None = None,
    as_of: dt.date | None = None,
    on_step: Callable[[str], None] | None = None,
) -> ConfigDiff:
    """Score the same inputs with both configs as of the same day and compare the results.

    The inputs are `leads_path` and `activity_patterns` when given, else those in the old
    config's `[inputs]`; each config reads them with its own reading options. `as_of`
    defaults to today in the old config's activity time zone. Raises what `score_leads` raises.
    """
    # NOTE: the comparison joins the two runs on lead id alone
    old_config.reject_models("leadq diff")
    new_config.reject_models("leadq diff")
    step = on_step or (lambda _name: None)
    timezone = old_config.activities.timezone if old_config.activities else "UTC"
    as_of = as_of or today_in(timezone)

    old = score_leads(
        old_config,
        leads_path=leads_path,
        activity_patterns=activity_patterns,
        as_of=as_of,
        on_step=lambda name: step(f"Old config: {name}"),
    )
    # the old config's input paths are already resolved against its own folder
    new = score_leads(
        new_config,
        leads_path=leads_path or old_config.inputs.leads,
        activity_patterns=activity_patterns or old_config.inputs.activities,
        as_of=as_of,
        on_step=lambda name: step(f"New config: {name}"),
    )
    step("Comparing")
    comparison = compare_leads(old.leads, old_config, new.leads, new_config)
    return ConfigDiff(old=old, new=new, comparison=comparison)


def compare_leads(
    old_leads: pl.DataFrame, old_config: Config, new_leads: pl.DataFrame, new_config: Config
) -> LeadComparison:
    """Compare two scorings of leads, matching leads by `lead_id`.

    Each frame needs `lead_id`, `fit`, `engagement_score` (rounded), `mql`, and the per
    criterion and per rule columns of its config, as `ScoringResult.leads` has them. Fit
    criteria and rules are matched across the configs by name. A lead that only one frame
    has is listed with the other side empty and kept out of the counts of leads that moved.
    """
    criteria = _criterion_pairs(old_config, new_config)
    rules = _rule_pairs(old_config, new_config)
    old_side = _side_columns(old_leads, "old", old_config, new_config, criteria, rules)
    new_side = _side_columns(new_leads, "new", new_config, new_config, criteria, rules)
    joined = old_side.join(new_side, on=LEAD_ID, how="full", coalesce=True)
    joined = joined.with_columns(pl.col(IN_OLD).fill_null(False), pl.col(IN_NEW).fill_null(False))

    settings = _mql_settings(old_config, new_config)
    joined = joined.with_columns(
        round_score(pl.col("score_new") - pl.col("score_old")).alias("delta"),
        *(setting.flips.alias(setting.column) for setting in settings),
    )
    joined = joined.with_columns(_causes_expr(criteria, rules, settings).alias("causes"))
    joined = joined.sort(LEAD_ID)

    public = [*COMPARED_COLUMNS, IN_OLD, IN_NEW]
    return LeadComparison(
        leads=joined.select(public),
        counts=_counts(joined),
        fit_causes=[_criterion_stats(joined, i, pair) for i, pair in enumerate(criteria)],
        rule_causes=[_rule_stats(joined, i, pair) for i, pair in enumerate(rules)],
        mql_causes=[_setting_stats(joined, setting) for setting in settings],
    )


def _status(old: Any, new: Any) -> Status:
    """Compare two config items of the same name, whatever their kind."""
    if old is None:
        return "added"
    if new is None:
        return "removed"
    same = type(old) is type(new) and old.model_dump(exclude={"name"}) == new.model_dump(
        exclude={"name"}
    )
    return "same" if same else "changed"


def _criteria_of(config: Config) -> dict[str, _Criterion]:
    filters = {
        rule.name: _Criterion(rule, filter_column(position), is_exclusion=False)
        for position, rule in enumerate(config.fit.filters)
    }
    exclusions = {
        rule.name: _Criterion(rule, exclusion_column(position), is_exclusion=True)
        for position, rule in enumerate(config.fit.exclude)
    }
    return {**filters, **exclusions}


def _criterion_pairs(old_config: Config, new_config: Config) -> list[_CriterionPair]:
    """Pair fit criteria by name: the old config's order, then those only the new one has."""
    old, new = _criteria_of(old_config), _criteria_of(new_config)
    names = dict.fromkeys([*old, *new])
    return [_CriterionPair(name, old.get(name), new.get(name)) for name in names]


def _rule_pairs(old_config: Config, new_config: Config) -> list[_RulePair]:
    """Pair engagement rules by name: the old config's order, then those only the new one has."""
    old = {rule.name: (p, rule) for p, rule in enumerate(old_config.engagement.rules)}
    new = {rule.name: (p, rule) for p, rule in enumerate(new_config.engagement.rules)}
    names = dict.fromkeys([*old, *new])
    return [_RulePair(name, old.get(name), new.get(name)) for name in names]


def _side_columns(
    leads: pl.DataFrame,
    side: Literal["old", "new"],
    config: Config,
    new_config: Config,
    criteria: list[_CriterionPair],
    rules: list[_RulePair],
) -> pl.DataFrame:
    """Select one result's columns, renamed with the side they come from.

    Adds `_qualifies_<side>` (a qualifying rule of `config` matched) and, for the old side,
    `_qualifies_old_new_list` (a qualifying rule of `new_config` matched in the old result).
    """
    columns = [
        pl.col(LEAD_ID),
        pl.col("fit").alias(f"fit_{side}"),
        pl.col("engagement_score").alias(f"score_{side}"),
        pl.col("mql").alias(f"mql_{side}"),
        pl.lit(True).alias(f"_in_{side}"),
    ]
    for index, pair in enumerate(criteria):
        criterion = pair.old if side == "old" else pair.new
        # a criterion that a config does not have passes every lead there
        passes = criterion.passes() if criterion else pl.lit(True)
        columns.append(passes.alias(f"_pass_{side}_{index}"))
    for index, rule_pair in enumerate(rules):
        found = rule_pair.old if side == "old" else rule_pair.new
        points = pl.col(points_column(found[0])).fill_null(0.0) if found else pl.lit(0.0)
        count = pl.col(count_column(found[0])).fill_null(0) if found else pl.lit(0)
        columns.append(points.alias(f"_points_{side}_{index}"))
        columns.append(count.cast(pl.Int64).alias(f"_count_{side}_{index}"))
    columns.append(_qualifies_expr(config, config).alias(f"_qualifies_{side}"))
    if side == "old":
        columns.append(_qualifies_expr(new_config, config).alias("_qualifies_old_new_list"))
    return leads.select(columns)


def _qualifies_expr(listing: Config, scored: Config) -> pl.Expr:
    """Return true where a rule that `listing` names as qualifying matched under `scored`.

    A listed rule that `scored` does not have matched nothing there.
    """
    positions = {rule.name: p for p, rule in enumerate(scored.engagement.rules)}
    hits = [
        pl.col(count_column(positions[name])).fill_null(0) > 0
        for name in listing.mql.qualifying_rules
        if name in positions
    ]
    return pl.any_horizontal(hits) if hits else pl.lit(False)


def _mql_expr(fit: pl.Expr, score: pl.Expr, qualifies: pl.Expr, threshold: float | None) -> pl.Expr:
    """Return the MQL decision, as `with_mql` makes it, from its parts."""
    over_threshold = score >= threshold if threshold is not None else pl.lit(False)
    return fit & (over_threshold | qualifies)


@dataclass(frozen=True)
class _MqlSetting:
    """A changed MQL setting, and which leads it flips on its own."""

    key: str
    old_text: str
    new_text: str
    column: str
    flips: pl.Expr
    """True where the setting's new value, applied to the old result, gives the new status."""

    @property
    def label(self) -> str:
        return f"{self.key} {self.old_text} -> {self.new_text}"


def _mql_settings(old_config: Config, new_config: Config) -> list[_MqlSetting]:
    """List the changed MQL settings, each with the leads it alone flips.

    A setting alone flips a lead when its new MQL status differs from the old one and the
    old run's fit, score and rule matches already give that new status. They are judged
    with the new value of this setting and the old values of the other settings.
    """
    old, new = old_config.mql, new_config.mql
    fit, score = pl.col("fit_old"), pl.col("score_old")
    settings = []
    if old.threshold != new.threshold:
        by_threshold = _mql_expr(fit, score, pl.col("_qualifies_old"), new.threshold)
        settings.append(
            _MqlSetting(
                key="threshold",
                old_text=_threshold_text(old.threshold),
                new_text=_threshold_text(new.threshold),
                column="_flipped_by_threshold",
                flips=_flips(by_threshold),
            )
        )
    if set(old.qualifying_rules) != set(new.qualifying_rules):
        by_list = _mql_expr(fit, score, pl.col("_qualifies_old_new_list"), old.threshold)
        settings.append(
            _MqlSetting(
                key="qualifying_rules",
                old_text=_names_text(old.qualifying_rules),
                new_text=_names_text(new.qualifying_rules),
                column="_flipped_by_qualifying_rules",
                flips=_flips(by_list),
            )
        )
    return settings


def _flips(decision: pl.Expr) -> pl.Expr:
    in_both = pl.col(IN_OLD) & pl.col(IN_NEW)
    return (in_both & (decision != pl.col("mql_old")) & (decision == pl.col("mql_new"))).fill_null(
        False
    )


def _threshold_text(threshold: float | None) -> str:
    return "none" if threshold is None else f"{threshold:g}"


def _names_text(names: list[str]) -> str:
    return ", ".join(f'"{name}"' for name in names) if names else "none"


def _causes_expr(
    criteria: list[_CriterionPair], rules: list[_RulePair], settings: list[_MqlSetting]
) -> pl.Expr:
    """Build the `; `-joined causes of each lead's change, in config order."""
    in_both = pl.col(IN_OLD) & pl.col(IN_NEW)
    parts = [
        pl.when(~pl.col(IN_NEW)).then(pl.lit("scored only under the old config")),
        pl.when(~pl.col(IN_OLD)).then(pl.lit("scored only under the new config")),
    ]
    for index, pair in enumerate(criteria):
        was, now = pl.col(f"_pass_old_{index}"), pl.col(f"_pass_new_{index}")
        fails = "now fails"
        if pair.new and pair.new.is_exclusion:
            fails = "now matches exclusion"
        passes = "now passes"
        if pair.old and pair.old.is_exclusion:
            passes = "no longer matches exclusion"
        parts.append(pl.when(in_both & was & ~now).then(pl.lit(f"{fails} {pair.name}")))
        parts.append(pl.when(in_both & ~was & now).then(pl.lit(f"{passes} {pair.name}")))
    for index, rule_pair in enumerate(rules):
        parts.append(
            pl.when(in_both & _rule_changed(index)).then(_rule_change_text(index, rule_pair))
        )
    parts += [pl.when(pl.col(setting.column)).then(pl.lit(setting.label)) for setting in settings]
    return pl.concat_str(parts, separator="; ", ignore_nulls=True).fill_null("")


def _rule_changed(index: int) -> pl.Expr:
    """Return true where rule `index` gave a lead other points, or counted other matches."""
    points_moved = round_score(pl.col(f"_points_old_{index}")) != round_score(
        pl.col(f"_points_new_{index}")
    )
    return points_moved | (pl.col(f"_count_old_{index}") != pl.col(f"_count_new_{index}"))


def _rule_change_text(index: int, pair: _RulePair) -> pl.Expr:
    """Write a rule's part of a lead's change: `Demo request x1 +25 -> x1 +30`."""

    def earned(side: str) -> pl.Expr:
        return pl.format(
            "x{} {}",
            pl.col(f"_count_{side}_{index}"),
            signed_number_text(pl.col(f"_points_{side}_{index}")),
        )

    if pair.old is None:
        return pl.format("{} (added) {}", pl.lit(pair.name), earned("new"))
    if pair.new is None:
        return pl.format("{} (removed) {}", pl.lit(pair.name), earned("old"))
    return pl.format("{} {} -> {}", pl.lit(pair.name), earned("old"), earned("new"))


def _counts(joined: pl.DataFrame) -> dict[str, Any]:
    """Count the leads of each result and the leads that both have, by how they moved."""
    in_old, in_new = pl.col(IN_OLD), pl.col(IN_NEW)
    in_both = in_old & in_new
    fit_old, fit_new = pl.col("fit_old"), pl.col("fit_new")
    mql_old, mql_new = pl.col("mql_old"), pl.col("mql_new")
    row = joined.select(
        in_old.sum().alias("old_total"),
        (in_old & fit_old).sum().alias("old_fit"),
        (in_old & mql_old).sum().alias("old_mql"),
        in_new.sum().alias("new_total"),
        (in_new & fit_new).sum().alias("new_fit"),
        (in_new & mql_new).sum().alias("new_mql"),
        in_both.sum().alias("in_both"),
        (in_old & ~in_new).sum().alias("only_old"),
        (in_new & ~in_old).sum().alias("only_new"),
        (in_both & ~fit_old & fit_new).sum().alias("gain_fit"),
        (in_both & fit_old & ~fit_new).sum().alias("lose_fit"),
        (in_both & ~mql_old & mql_new).sum().alias("become_mql"),
        (in_both & mql_old & ~mql_new).sum().alias("stop_mql"),
        (in_both & mql_old & mql_new).sum().alias("keep_mql"),
        (in_both & (pl.col("delta") != 0)).sum().alias("score_changed"),
    ).row(0, named=True)
    counts = {key: int(value or 0) for key, value in row.items()}
    return {
        "old": {key: counts.pop(f"old_{key}") for key in ("total", "fit", "mql")},
        "new": {key: counts.pop(f"new_{key}") for key in ("total", "fit", "mql")},
        **counts,
    }


def _criterion_stats(joined: pl.DataFrame, index: int, pair: _CriterionPair) -> dict[str, Any]:
    in_both = pl.col(IN_OLD) & pl.col(IN_NEW)
    was, now = pl.col(f"_pass_old_{index}"), pl.col(f"_pass_new_{index}")
    fit_moved = pl.col("fit_old") != pl.col("fit_new")
    row = joined.select(
        (in_both & (was != now)).sum().alias("leads_changed"),
        (in_both & ~was & now).sum().alias("now_pass"),
        (in_both & was & ~now).sum().alias("now_fail"),
        (in_both & (was != now) & fit_moved).sum().alias("fit_changed"),
    ).row(0)
    changed, now_pass, now_fail, fit_changed = (int(value or 0) for value in row)
    return {
        "name": pair.name,
        "kind": pair.kind,
        "status": pair.status,
        "leads_changed": changed,
        "now_pass": now_pass,
        "now_fail": now_fail,
        "fit_changed": fit_changed,
    }


def _rule_stats(joined: pl.DataFrame, index: int, pair: _RulePair) -> dict[str, Any]:
    in_both = pl.col(IN_OLD) & pl.col(IN_NEW)
    delta = pl.col(f"_points_new_{index}") - pl.col(f"_points_old_{index}")
    row = joined.select(
        (in_both & _rule_changed(index)).sum().alias("leads_changed"),
        round_score(delta.filter(in_both).sum()).alias("points_delta"),
    ).row(0)
    return {
        "name": pair.name,
        "status": pair.status,
        "leads_changed": int(row[0] or 0),
        "points_delta": float(row[1] or 0.0) + 0.0,
    }


def _setting_stats(joined: pl.DataFrame, setting: _MqlSetting) -> dict[str, Any]:
    flipped = pl.col(setting.column)
    row = joined.select(
        (flipped & pl.col("mql_new")).sum().alias("become_mql"),
        (flipped & ~pl.col("mql_new")).sum().alias("stop_mql"),
    ).row(0)
    become, stop = (int(value or 0) for value in row)
    return {
        "setting": setting.key,
        "old": setting.old_text,
        "new": setting.new_text,
        "become_mql": become,
        "stop_mql": stop,
        "text": f"{setting.label}: {_flip_text(become, stop)}",
    }


def _flip_text(become: int, stop: int) -> str:
    parts = []
    if stop:
        parts.append("1 lead stops being MQL" if stop == 1 else f"{stop} leads stop being MQL")
    if become:
        parts.append("1 lead becomes MQL" if become == 1 else f"{become} leads become MQL")
    return ", ".join(parts) or "no lead changes MQL status from this change alone"


__all__ = [
    "MOVERS",
    "ConfigDiff",
    "LeadComparison",
    "compare_leads",
    "diff_configs",
]
