"""The MQL decision: fit first, then the score threshold or a qualifying rule."""

from __future__ import annotations

import polars as pl

from leadq.config import EngagementRule, MqlSection
from leadq.engagement import count_column, number_text


def with_mql(scored: pl.DataFrame, mql: MqlSection, rules: list[EngagementRule]) -> pl.DataFrame:
    """Add `mql` and `mql_reason` to leads that already carry fit and a rounded score.

    `scored` needs `fit`, `engagement_score` (rounded) and each rule's count column.
    """
    score = pl.col("engagement_score")
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
    if mql.threshold is None:
        over_threshold = pl.lit(False)
        score_text = pl.lit(None, dtype=pl.String)
        below_text = pl.lit("no qualifying activity")
    else:
        threshold = pl.lit(mql.threshold, dtype=pl.Float64)
        over_threshold = score >= threshold
        score_text = pl.when(over_threshold).then(
            pl.format("score {} >= {}", number_text(score), number_text(threshold))
        )
        below_text = pl.format("score {} < {}", number_text(score), number_text(threshold))

    with_hits = scored.with_columns(qualifying_hits.alias("_qualifying_hits"))
    is_mql = pl.col("fit") & (over_threshold | (pl.col("_qualifying_hits") != ""))
    qualified_reason = pl.concat_str(
        [score_text, pl.when(pl.col("_qualifying_hits") != "").then(pl.col("_qualifying_hits"))],
        separator="; ",
        ignore_nulls=True,
    )
    reason = (
        pl.when(~pl.col("fit"))
        .then(pl.lit("not fit"))
        .when(is_mql)
        .then(qualified_reason)
        .otherwise(below_text)
    )
    return with_hits.with_columns(mql=is_mql, mql_reason=reason).drop("_qualifying_hits")
