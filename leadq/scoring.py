"""The scoring run: read inputs, decide fit, score engagement, decide MQL, and count everything."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from leadq.accounts import LEAD_COLUMNS as ACCOUNT_LEAD_COLUMNS
from leadq.accounts import account_table, score_accounts
from leadq.activity_scoring import (
    DEFAULT_BATCH_ROWS,
    ActivityCounts,
    ActivityScores,
    BatchCallback,
    activity_columns,
    activity_scan,
    score_activity_files,
)
from leadq.config import Config, EngagementSection
from leadq.engagement import (
    KEY,
    LEAD_ID,
    LOCAL_TIME,
    Window,
    count_column,
    empty_activity_totals,
    points_column,
    round_score,
    with_engagement,
    with_lead_rules,
)
from leadq.errors import ConfigError, InputDataError
from leadq.fit import with_fit
from leadq.grades import engagement_columns, fit_columns, with_engagement_band, with_fit_score
from leadq.leads import lead_scan, read_leads
from leadq.ledger import build_ledger
from leadq.mql import with_mql
from leadq.readers import (
    SourceFile,
    expand_patterns,
    read_options,
)
from leadq.rejects import no_rejects, shape_rejects
from leadq.scoring_models import (
    MODEL,
    MODEL_INDEX,
    ModelRun,
    combine_runs,
    lead_counts,
    model_matches,
    model_plans,
    model_totals,
    with_model_name,
)


@dataclass
class ScoringResult:
    """Everything one run produced, before it is written anywhere."""

    config: Config
    as_of: dt.date
    window: Window
    leads: pl.DataFrame
    """Every lead with its output columns plus internal `_`-prefixed columns."""
    matches: pl.DataFrame
    """The matched in-window activities kept for the ledger, of every lead with
    `full_ledger`, else of the leads named in `ledger_leads`."""
    rejects: pl.DataFrame
    lead_files: list[SourceFile]
    activity_files: list[SourceFile]
    lead_rows_read: int
    activity_counts: ActivityCounts
    rule_stats: pl.DataFrame
    output_columns: list[str] = field(default_factory=list)
    accounts: pl.DataFrame | None = None
    """One row per account with internal `_`-prefixed columns, when `[accounts]` is set."""
    models: list[ModelRun] = field(default_factory=list)
    """Each model's decision, when the config has `[[models]]`. Then `leads` has one row per
    lead and model with the output columns only, and `rule_stats` a `model` column."""

    def named_model_results(self) -> list[tuple[str, ScoringResult]]:
        """Return each model's name with its result, or nothing without `[[models]]`."""
        if not self.models:
            return []
        return [
            (run.name, result)
            for run, result in zip(self.models, self.model_results(), strict=True)
        ]

    def model_results(self) -> list[ScoringResult]:
        """Return one result per model, each as a run of that model alone would give it.

        Without `[[models]]`, return this result alone.
        """
        if not self.models:
            return [self]
        return [
            dataclasses.replace(
                self,
                config=run.config,
                leads=run.leads,
                matches=model_matches(self.matches, run.plan),
                rule_stats=run.rule_stats,
                models=[],
            )
            for run in self.models
        ]

    @property
    def account_table(self) -> pl.DataFrame | None:
        """The `accounts` output, or None without `[accounts]` in the config."""
        if self.accounts is None or self.config.accounts is None:
            return None
        return account_table(self.accounts, self.config.accounts)

    @property
    def scored_leads(self) -> pl.DataFrame:
        """The `scored_leads` output: every lead, sorted by lead id."""
        return self.leads.select(self.output_columns)

    def ledger(self) -> pl.DataFrame:
        """Return the ledger of every lead whose activities were kept (see `matches`).

        Each lead's `points_earned` add up to its unrounded engagement score, when the run
        kept its activities.
        """
        if self.models:
            return self._stack_ledgers([result.ledger() for result in self.model_results()])
        return build_ledger(self.matches, self.leads, self.config.engagement, self.as_of)

    def ledger_for(self, lead_id: str) -> pl.DataFrame:
        """Return the ledger rows of one lead named in `ledger_leads` when scoring."""
        if self.models:
            ledgers = [result.ledger_for(lead_id) for result in self.model_results()]
            return self._stack_ledgers(ledgers)
        matches = self.matches
        if not matches.is_empty():
            matches = matches.filter(pl.col(LEAD_ID) == lead_id)
        leads = self.leads.filter(pl.col(LEAD_ID) == lead_id)
        return build_ledger(matches, leads, self.config.engagement, self.as_of)

    @property
    def mqls(self) -> pl.DataFrame:
        """The MQL list: highest score first, ties by lead id, then by model in config order."""
        keys = ["engagement_score", LEAD_ID] + ([MODEL_INDEX] if self.models else [])
        descending = [True] + [False] * (len(keys) - 1)
        mqls = self.leads.filter(pl.col("mql")).sort(keys, descending=descending)
        return mqls.select(self.output_columns)

    def _stack_ledgers(self, ledgers: list[pl.DataFrame]) -> pl.DataFrame:
        """Stack the models' ledgers with a `model` column, by lead, then model order."""
        named = [
            ledger.select(
                LEAD_ID,
                pl.lit(run.name, dtype=pl.String).alias(MODEL),
                pl.exclude(LEAD_ID),
                pl.lit(run.plan.index, dtype=pl.Int64).alias(MODEL_INDEX),
            )
            for run, ledger in zip(self.models, ledgers, strict=True)
        ]
        # The sort keeps each model's own order of rows within a lead.
        stacked = pl.concat(named, how="vertical_relaxed")
        return stacked.sort(LEAD_ID, MODEL_INDEX, maintain_order=True).drop(MODEL_INDEX)


def today_in(timezone: str) -> dt.date:
    """Return today's date in `timezone`."""
    return dt.datetime.now(zoneinfo.ZoneInfo(timezone)).date()


def score_leads(
    config: Config,
    *,
    leads_path: str | None = None,
    activity_patterns: Sequence[str] | None = None,
    as_of: dt.date | None = None,
    on_step: Callable[[str], None] | None = None,
    batch_rows: int | None = DEFAULT_BATCH_ROWS,
    ledger_leads: Collection[str] | None = (),
    full_ledger: bool = False,
    on_batch: BatchCallback | None = None,
) -> ScoringResult:
    """Score every lead of the configured inputs as of the end of `as_of`.

    Arguments override the config's `[inputs]`. `as_of` defaults to today in the activity
    time zone. `on_step` is called with the name of each step as it starts, for progress
    displays. Activities are read `batch_rows` at a time (None reads each file whole), and the
    matched activities of `ledger_leads` are kept for `ScoringResult.ledger_for`, or those
    of every lead with `full_ledger`, for `ScoringResult.ledger`. The latter takes memory
    in proportion to the matched activities in the window. With `ledger_leads = None`,
    `ScoringResult.matches` keeps every lead's matched activities whole, for scoring other
    dates from them. `on_batch` is called after each batch of activities. Raises ConfigError
    for missing inputs and InputDataError for unreadable ones.
    """
    step = on_step or (lambda _name: None)
    timezone = config.activities.timezone if config.activities else "UTC"
    as_of = as_of or today_in(timezone)
    window = Window(as_of=as_of, lookback_days=config.engagement.lookback_days)

    lead_paths, activity_paths = _input_paths(config, leads_path, activity_patterns)
    step("Reading leads")
    # files named in the config are shown relative to its folder, files from flags as given
    lead_base = None if leads_path else config.folder
    activity_base = None if activity_patterns else config.folder
    _check_columns_of_every_file(config, lead_paths, activity_paths)
    leads, lead_rejects, lead_files, lead_rows = read_leads(config, lead_paths, lead_base)
    decimal_comma = config.inputs.decimal_comma
    leads = with_fit(leads, config.fit, decimal_comma=decimal_comma)
    leads = with_fit_score(leads, config.fit, decimal_comma=decimal_comma)

    step("Reading and scoring activities")
    engagement, plans = model_plans(config) if config.models else (config.engagement, [])
    activities = _score_activities(
        config,
        engagement,
        activity_paths,
        leads,
        window,
        base=activity_base,
        batch_rows=batch_rows,
        ledger_leads=ledger_leads,
        full_ledger=full_ledger,
        on_batch=on_batch,
    )
    step("Deciding MQLs")
    runs: list[ModelRun] = []
    if plans:
        # NOTE: accounts are rejected with models when the config is validated, so each
        # model's _decide returns no accounts table.
        for plan in plans:
            model_scored, _ = _decide(leads, model_totals(activities.totals, plan), plan.config)
            model_scored = with_model_name(model_scored, plan)
            stats = _rule_stats(plan.config, model_scored)
            runs.append(ModelRun(plan=plan, leads=model_scored, rule_stats=stats))
        accounts = None
    else:
        scored, accounts = _decide(leads, activities.totals, config)

    output_columns = lead_output_columns(config)
    if plans:
        output_columns.insert(1, MODEL)
    if runs:
        scored = combine_runs(runs, output_columns)
        rule_stats = pl.concat(
            [run.rule_stats.select(pl.lit(run.name).alias(MODEL), pl.all()) for run in runs]
        )
    else:
        rule_stats = _rule_stats(config, scored)

    return ScoringResult(
        config=config,
        as_of=as_of,
        window=window,
        leads=scored,
        matches=activities.matches,
        rejects=pl.concat([lead_rejects, activities.rejects]),
        lead_files=lead_files,
        activity_files=activities.files,
        lead_rows_read=lead_rows,
        activity_counts=activities.counts,
        rule_stats=rule_stats,
        output_columns=output_columns,
        accounts=accounts,
        models=runs,
    )


def lead_output_columns(config: Config) -> list[str]:
    """List the columns of `scored_leads` and `mqls` for `config`, in order."""
    output_columns = [LEAD_ID]
    if config.leads.email:
        output_columns.append("email")
    output_columns += [column for column in config.output.columns if column not in output_columns]
    output_columns += ["fit", "fit_failed", *fit_columns(config), "engagement_score"]
    output_columns += [group.column for group in config.engagement.groups]
    output_columns += [*engagement_columns(config), "reasons", "mql", "mql_reason"]
    if config.accounts is not None:
        output_columns += [c for c in ACCOUNT_LEAD_COLUMNS if c not in output_columns]
    return output_columns


def decide_mqls(leads: pl.DataFrame, activity_totals: pl.DataFrame, config: Config) -> pl.DataFrame:
    """Add lead rules, the engagement score and the MQL decision to fit leads, by lead id.

    `activity_totals` contains each lead's count and points columns of the activity rules.
    """
    scored, _ = _decide(leads, activity_totals, config)
    return scored


def _decide(
    leads: pl.DataFrame, activity_totals: pl.DataFrame, config: Config
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Score and decide MQLs as `decide_mqls` does, and return the accounts table if any."""
    decimal_comma = config.inputs.decimal_comma
    scored = leads.join(activity_totals, on=LEAD_ID, how="left")
    scored = with_lead_rules(scored, config.engagement, decimal_comma=decimal_comma)
    scored = with_engagement(scored, config.engagement)
    scored = with_engagement_band(scored, config.engagement, config.fit)
    scored = with_mql(
        scored, config.mql, config.engagement.rules, grade_names=config.fit.grade_names()
    ).sort(LEAD_ID)
    if config.accounts is None:
        return scored, None
    return score_accounts(scored, config.accounts, config.mql, decimal_comma=decimal_comma)


def _check_columns_of_every_file(
    config: Config, lead_paths: list[Path], activity_paths: list[Path]
) -> None:
    """Raise one InputDataError for all files that lack columns, when more than one does.

    Reading stops at the first such file otherwise, and fixing one file at a time to find
    the next takes a run each. A single problem is left to the readers, which report it.
    """
    problems = lead_scan(config, lead_paths, None).column_problems()
    if config.activities is not None and activity_paths:
        scan = activity_scan(config, activity_paths, options=read_options(config.inputs), base=None)
        problems += scan.column_problems()
    if len(problems) > 1:
        listed = "\n".join(f"- {problem}" for problem in problems)
        msg = f"{len(problems)} input files cannot be read as configured:\n{listed}"
        raise InputDataError(msg)


def _input_paths(
    config: Config, leads_path: str | None, activity_patterns: Sequence[str] | None
) -> tuple[list[Path], list[Path]]:
    leads = leads_path or config.inputs.leads
    if leads is None:
        raise ConfigError(
            "inputs", ["no leads file: set inputs.leads in the config or pass --leads"]
        )
    lead_paths = expand_patterns([leads], table="leads")

    if config.activities is None:
        return lead_paths, []
    patterns = list(activity_patterns or config.inputs.activities or [])
    if not patterns and config.activity_rules:
        problem = "no activity files: set inputs.activities in the config or pass --activities"
        raise ConfigError("inputs", [problem])
    return lead_paths, expand_patterns(patterns, table="activity")


def _score_activities(
    config: Config,
    engagement: EngagementSection,
    paths: list[Path],
    leads: pl.DataFrame,
    window: Window,
    *,
    base: Path | None,
    batch_rows: int | None,
    ledger_leads: Collection[str] | None,
    full_ledger: bool,
    on_batch: BatchCallback | None = None,
) -> ActivityScores:
    section = config.activities
    if section is None or not paths:
        return ActivityScores(
            totals=empty_activity_totals(engagement),
            counts=ActivityCounts(),
            rejects=no_rejects(),
            files=[],
            matches=pl.DataFrame(),
        )
    lead_key = pl.col(LEAD_ID) if section.lead_id else pl.col("email").str.to_lowercase()
    lead_keys = leads.select(lead_key.alias(KEY), LEAD_ID).drop_nulls(KEY)
    scores = score_activity_files(
        config,
        paths,
        lead_keys,
        window,
        options=read_options(config.inputs),
        base=base,
        batch_rows=batch_rows,
        ledger_leads=ledger_leads,
        full_ledger=full_ledger,
        on_batch=on_batch,
        engagement=engagement,
    )
    required, optional = activity_columns(config)
    scores.rejects = shape_rejects("activities", scores.rejects, required + optional, scores.files)
    return scores


def _rule_stats(config: Config, scored: pl.DataFrame) -> pl.DataFrame:
    """Count each rule's hits, the leads it scored for and the points it gave, over all leads."""
    rules = config.engagement.rules
    totals = (
        scored.select(
            expr
            for position in range(len(rules))
            for expr in (
                pl.col(count_column(position)).sum().alias(f"hits_{position}"),
                (pl.col(count_column(position)) > 0).sum().alias(f"leads_{position}"),
                round_score(pl.col(points_column(position)).sum()).alias(f"points_{position}"),
            )
        ).row(0, named=True)
        if rules
        else {}
    )
    return pl.DataFrame(
        {
            "rule_position": list(range(len(rules))),
            "rule": [rule.name for rule in rules],
            "hits": [totals[f"hits_{p}"] for p in range(len(rules))],
            "leads": [totals[f"leads_{p}"] for p in range(len(rules))],
            "points": [totals[f"points_{p}"] for p in range(len(rules))],
        },
        schema={
            "rule_position": pl.Int64,
            "rule": pl.String,
            "hits": pl.Int64,
            "leads": pl.Int64,
            "points": pl.Float64,
        },
    )


def summary_counts(result: ScoringResult) -> dict[str, Any]:
    """Return the lead funnel: total, fit, engaged (positive score) and MQL.

    With models it counts leads, not rows, so a lead is engaged or an MQL if it is one in at
    least one model.
    """
    if result.models:
        return lead_counts(result.models)
    leads = result.leads
    return {
        "total": leads.height,
        "fit": int(leads.get_column("fit").sum()),
        "engaged": leads.filter(pl.col("engagement_score") > 0).height,
        "mql": int(leads.get_column("mql").sum()),
    }


__all__ = ["LOCAL_TIME", "ActivityCounts", "ScoringResult", "score_leads", "summary_counts"]
