"""The MQL decision: fit and grade first, then the threshold, a listed cell or a qualifying rule."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from leadq.config import EngagementRule, MqlSection
from leadq.engagement import count_column, number_text
from leadq.grades import FIT_GRADE, GRADE_BAND


def with_mql(
    scored: pl.DataFrame,
    mql: MqlSection,
    rules: list[EngagementRule],
    *,
    grade_names: Sequence[str] = (),
) -> pl.DataFrame:
    """Add `mql` and `mql_reason` to leads that already carry fit and a rounded score.

    `scored` needs `fit`, `engagement_score` (rounded) and each rule's count column, plus
    `fit_grade` with `mql.min_grade` and `grade_band` with `mql.cells`. `grade_names` lists
    the configured grades from best to worst.
    """
    qualifying_names = [
        pl.when(pl.col(count_column(position)) > 0).then(pl.lit(rule.name))
        for position, rule in enumerate(rules)
        if rule.name in mql.qualifying_rules
    ]
    qualifying_hits = (
        pl.concat_str(qualifying_names, separator="; ", ignore_nulls=True).fill_null("")
        if qualifying_names
        else pl.lit("")
    )
    has_qualifying_hit = pl.col("_qualifying_hits") != ""
    over_threshold, score_text, below_threshold_text = _threshold_exprs(mql)
    in_listed_cell, cell_text, unlisted_cell_text = _cell_exprs(mql)
    below_texts = [text for text in (below_threshold_text, unlisted_cell_text) if text is not None]
    if mql.threshold is None and mql.qualifying_rules:
        below_texts.append(pl.lit("no qualifying activity"))

    with_hits = scored.with_columns(qualifying_hits.alias("_qualifying_hits"))
    is_mql = (
        pl.col("fit")
        & _grade_gate(mql, grade_names)
        & (over_threshold | in_listed_cell | has_qualifying_hit)
    )
    qualified_reason = pl.concat_str(
        [score_text, cell_text, pl.when(has_qualifying_hit).then(pl.col("_qualifying_hits"))],
        separator="; ",
        ignore_nulls=True,
    )
    below_reason = pl.concat_str(below_texts, separator="; ")
    reason = pl.when(is_mql).then(qualified_reason).otherwise(below_reason)
    if mql.min_grade is not None:
        below_grade = pl.format("grade {} below {}", pl.col(FIT_GRADE), pl.lit(mql.min_grade))
        reason = pl.when(_grade_gate(mql, grade_names)).then(reason).otherwise(below_grade)
    reason = pl.when(pl.col("fit")).then(reason).otherwise(pl.lit("not fit"))
    return with_hits.with_columns(mql=is_mql, mql_reason=reason).drop("_qualifying_hits")


def _threshold_exprs(mql: MqlSection) -> tuple[pl.Expr, pl.Expr, pl.Expr | None]:
    """Build whether the score reaches the threshold, its reason, and the reason when not."""
    if mql.threshold is None:
        return pl.lit(False), pl.lit(None, dtype=pl.String), None
    score = pl.col("engagement_score")
    threshold = pl.lit(mql.threshold, dtype=pl.Float64)
    over_threshold = score >= threshold
    score_text = pl.when(over_threshold).then(
        pl.format("score {} >= {}", number_text(score), number_text(threshold))
    )
    below_text = pl.format("score {} < {}", number_text(score), number_text(threshold))
    return over_threshold, score_text, below_text


def _cell_exprs(mql: MqlSection) -> tuple[pl.Expr, pl.Expr, pl.Expr | None]:
    """Build whether the lead's cell is in `mql.cells`, its reason, and the reason when not."""
    if not mql.cells:
        return pl.lit(False), pl.lit(None, dtype=pl.String), None
    in_listed_cell = pl.col(GRADE_BAND).is_in(mql.cells)
    cell_text = pl.when(in_listed_cell).then(pl.format("cell {}", pl.col(GRADE_BAND)))
    return in_listed_cell, cell_text, pl.format("cell {} not listed", pl.col(GRADE_BAND))


def _grade_gate(mql: MqlSection, grade_names: Sequence[str]) -> pl.Expr:
    """Build the check that a lead's grade is `mql.min_grade` or better, true without it."""
    if mql.min_grade is None:
        return pl.lit(True)
    good_enough = list(grade_names[: list(grade_names).index(mql.min_grade) + 1])
    return pl.col(FIT_GRADE).is_in(good_enough)
