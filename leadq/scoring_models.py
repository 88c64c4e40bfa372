"""Several scoring models in one run: one pass over the activities, one MQL decision per model.

A config with `[[models]]` matches the activities once against the union of every model's
rules: the shared `[[engagement.rules]]` first, then each model's own rules in turn, each at
its own position. Each model then takes the count and points columns of its rules, renamed
to their positions among its own rules (shared first, then its own), and decides its MQLs
with the same code as a config without models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from leadq.config import Config, EngagementSection
from leadq.engagement import LEAD_ID, count_column, points_column

MODEL = "model"
"""The output column that names the model of a row, right after `lead_id`."""
MODEL_INDEX = "_model_index"
"""The position of the row's model in the config, from 0, for sorting in config order."""
_ROW = "_row"


@dataclass(frozen=True)
class ModelPlan:
    """One model's config and where its activity rules sit in the shared pass."""

    name: str
    index: int
    config: Config
    """The config that scores this model alone: shared rules, then its own, and its mql."""
    union_positions: dict[int, int]
    """Each activity rule's position among the model's rules, mapped to its position among
    the rules of the shared pass."""


@dataclass
class ModelRun:
    """One model's decision for every lead."""

    plan: ModelPlan
    leads: pl.DataFrame
    """One row per lead, sorted by lead id, with the columns a run without models has."""
    rule_stats: pl.DataFrame

    @property
    def name(self) -> str:
        """The model's name as the config gives it."""
        return self.plan.name

    @property
    def config(self) -> Config:
        """The config that scores this model alone."""
        return self.plan.config


def model_plans(config: Config) -> tuple[EngagementSection, list[ModelPlan]]:
    """Return the engagement section of the shared pass, and each model's plan.

    The shared pass has the shared rules and then every model's own rules, so that each
    activity is matched against each rule once, however many models use the rule.
    """
    shared = config.engagement.rules
    union_rules = list(shared)
    plans = []
    for index, model in enumerate(config.models):
        offset = len(union_rules) - len(shared)
        union_rules += model.rules
        model_config = config.model_config_for(model)
        positions = {
            position: position if position < len(shared) else position + offset
            for position, rule in enumerate(model_config.engagement.rules)
            if rule.source == "activity"
        }
        plans.append(ModelPlan(model.name, index, model_config, positions))
    union = config.engagement.model_copy(update={"rules": union_rules})
    return union, plans


def model_totals(totals: pl.DataFrame, plan: ModelPlan) -> pl.DataFrame:
    """Select one model's count and points columns from the shared pass's totals."""
    return totals.select(
        LEAD_ID,
        *(
            pl.col(name(union)).alias(name(local))
            for local, union in plan.union_positions.items()
            for name in (count_column, points_column)
        ),
    )


def model_matches(matches: pl.DataFrame, plan: ModelPlan) -> pl.DataFrame:
    """Select one model's rule columns from the matched activities kept by the shared pass."""
    if matches.is_empty():
        return matches
    is_rule_column = "^_(match|raw)_\\d+$"
    renamed = [
        pl.col(f"{prefix}{union}").alias(f"{prefix}{local}")
        for local, union in plan.union_positions.items()
        for prefix in ("_match_", "_raw_")
        if f"{prefix}{union}" in matches.columns
    ]
    return matches.select(pl.exclude(is_rule_column), *renamed)


def combine_runs(runs: list[ModelRun], columns: list[str]) -> pl.DataFrame:
    """Stack the models' `columns` into one row per lead and model, by lead id, then model.

    Every model's leads are the same leads in the same order (sorted by lead id), so the
    rows interleave by their position and then the model's position.
    """
    frames = [
        run.leads.select(
            pl.col(columns),
            MODEL_INDEX,
            pl.int_range(pl.len(), dtype=pl.Int64).alias(_ROW),
        )
        for run in runs
    ]
    return pl.concat(frames).sort(_ROW, MODEL_INDEX).drop(_ROW)


def with_model_name(leads: pl.DataFrame, plan: ModelPlan) -> pl.DataFrame:
    """Add the `model` column, for the outputs, and its position, for sorting."""
    return leads.with_columns(
        pl.lit(plan.name, dtype=pl.String).alias(MODEL),
        pl.lit(plan.index, dtype=pl.Int64).alias(MODEL_INDEX),
    )


def lead_counts(runs: list[ModelRun]) -> dict[str, Any]:
    """Count leads, not rows: total, fit, engaged in any model and MQL in any model."""
    first = runs[0].leads
    engaged = pl.DataFrame(
        [(run.leads.get_column("engagement_score") > 0).alias(run.name) for run in runs]
    )
    mql = pl.DataFrame([run.leads.get_column("mql").alias(run.name) for run in runs])
    return {
        "total": first.height,
        "fit": int(first.get_column("fit").sum()),
        "engaged": int(engaged.select(pl.any_horizontal(pl.all())).to_series().sum()),
        "mql": int(mql.select(pl.any_horizontal(pl.all())).to_series().sum()),
    }
