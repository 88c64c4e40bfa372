"""Fit: whether a lead matches the ideal customer profile, and which criteria it failed."""

from __future__ import annotations

import polars as pl

from leadq.conditions import condition_expr
from leadq.config import FitSection


def filter_column(position: int) -> str:
    """Name of the internal column that is true where fit filter `position` passes."""
    return f"_filter_{position}"


def exclusion_column(position: int) -> str:
    """Name of the internal column that is true where exclusion `position` matches."""
    return f"_exclusion_{position}"


def with_fit(leads: pl.DataFrame, fit: FitSection, *, decimal_comma: bool) -> pl.DataFrame:
    """Add `fit`, `fit_failed` and one internal column per filter and exclusion."""
    criteria = [
        condition_expr(rule, role="filter", decimal_comma=decimal_comma).alias(
            filter_column(position)
        )
        for position, rule in enumerate(fit.filters)
    ] + [
        condition_expr(rule, role="exclusion", decimal_comma=decimal_comma).alias(
            exclusion_column(position)
        )
        for position, rule in enumerate(fit.exclude)
    ]
    failed_names = [
        pl.when(~pl.col(filter_column(position))).then(pl.lit(rule.name))
        for position, rule in enumerate(fit.filters)
    ] + [
        pl.when(pl.col(exclusion_column(position))).then(pl.lit(rule.name))
        for position, rule in enumerate(fit.exclude)
    ]
    # lazily, so that Polars computes a sub-expression shared by several criteria only once
    with_criteria = leads.lazy().with_columns(criteria).collect()
    if not failed_names:
        return with_criteria.with_columns(fit=pl.lit(True), fit_failed=pl.lit(""))

    fit_failed = pl.concat_str(failed_names, separator="; ", ignore_nulls=True).fill_null("")
    return with_criteria.with_columns(fit_failed=fit_failed).with_columns(
        fit=pl.col("fit_failed") == ""
    )
