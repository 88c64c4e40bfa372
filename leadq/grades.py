"""Fit grades and engagement bands: weighted fit criteria, grades, bands and their matrix.

A lead's `fit_score` is the sum of the points of the `[[fit.points]]` criteria it meets, and
`fit_grade` is the best grade whose minimum that score reaches. `engagement_band` does the
same with the rounded engagement score, and `grade_band` joins the two, such as `A1`. None of
this changes `fit`: the filters and exclusions alone decide it.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from leadq.conditions import condition_expr
from leadq.config import Config, EngagementSection, FitSection
from leadq.engagement import round_score

FIT_SCORE = "fit_score"
FIT_GRADE = "fit_grade"
ENGAGEMENT_BAND = "engagement_band"
GRADE_BAND = "grade_band"


def criterion_column(position: int) -> str:
    """Name of the internal column that is true where fit points criterion `position` holds."""
    return f"_fit_points_{position}"


def scale_expr(score: pl.Expr, minimums: dict[str, float], fallback: str) -> pl.Expr:
    """Build the name of the best step whose minimum `score` reaches (>=), else `fallback`.

    `minimums` lists the best step first, and each minimum is below the one before, so the
    first step whose minimum the score reaches is the best one.
    """
    named = pl.lit(fallback, dtype=pl.String)
    for name, minimum in reversed(minimums.items()):
        named = pl.when(score >= minimum).then(pl.lit(name, dtype=pl.String)).otherwise(named)
    return named


def with_fit_score(leads: pl.DataFrame, fit: FitSection, *, decimal_comma: bool) -> pl.DataFrame:
    """Add `fit_score`, `fit_grade` when grades are set, and one column per points criterion.

    A criterion on a missing value earns nothing unless it sets `if_missing = "pass"`, just as
    a fit filter fails on it. Adds nothing without `[[fit.points]]`.
    """
    if not fit.points:
        return leads
    met = [
        condition_expr(criterion, role="filter", decimal_comma=decimal_comma).alias(
            criterion_column(position)
        )
        for position, criterion in enumerate(fit.points)
    ]
    earned = [
        pl.when(pl.col(criterion_column(position))).then(criterion.points).otherwise(0.0)
        for position, criterion in enumerate(fit.points)
    ]
    # The rounded score is the one written, so it is also the one the grades compare.
    scored = (
        leads.lazy()
        .with_columns(met)
        .with_columns(round_score(pl.sum_horizontal(earned)).alias(FIT_SCORE))
    )
    if fit.grades is not None and fit.fallback_grade is not None:
        grade = scale_expr(pl.col(FIT_SCORE), fit.grades, fit.fallback_grade)
        scored = scored.with_columns(grade.alias(FIT_GRADE))
    return scored.collect()


def with_engagement_band(
    scored: pl.DataFrame, engagement: EngagementSection, fit: FitSection
) -> pl.DataFrame:
    """Add `engagement_band` from the rounded `engagement_score`, and `grade_band` with grades.

    Adds nothing without `engagement.bands`.
    """
    if engagement.bands is None or engagement.fallback_band is None:
        return scored
    band = scale_expr(pl.col("engagement_score"), engagement.bands, engagement.fallback_band)
    with_band = scored.with_columns(band.alias(ENGAGEMENT_BAND))
    if fit.grade_names():
        return with_band.with_columns(
            pl.concat_str(pl.col(FIT_GRADE), pl.col(ENGAGEMENT_BAND)).alias(GRADE_BAND)
        )
    return with_band


def fit_columns(config: Config) -> list[str]:
    """Return the output columns that follow `fit_failed`: fit_score and fit_grade, if set."""
    columns = [FIT_SCORE] if config.fit.points else []
    return columns + ([FIT_GRADE] if config.fit.grade_names() else [])


def engagement_columns(config: Config) -> list[str]:
    """Return the output columns that follow `engagement_score`: the band and the cell, if set."""
    if not config.engagement.band_names():
        return []
    return [ENGAGEMENT_BAND] + ([GRADE_BAND] if config.fit.grade_names() else [])


def grading_summary(leads: pl.DataFrame, config: Config) -> dict[str, Any]:
    """Count leads, fit leads and MQLs per grade, per band and per cell, as configured.

    Every grade, band and cell is listed, best first, even when no lead has it.
    """
    summary: dict[str, Any] = {}
    grades = config.fit.grade_names()
    bands = config.engagement.band_names()
    if grades:
        by_grade = _counts_by(leads, FIT_GRADE)
        minimums = config.fit.grades or {}
        summary["fit_grades"] = [
            {"grade": grade, "min_fit_score": minimums.get(grade), **by_grade.get(grade, _NONE)}
            for grade in grades
        ]
    if bands:
        by_band = _counts_by(leads, ENGAGEMENT_BAND)
        minimums = config.engagement.bands or {}
        summary["engagement_bands"] = [
            {"band": band, "min_engagement_score": minimums.get(band), **by_band.get(band, _NONE)}
            for band in bands
        ]
    if grades and bands:
        by_cell = _counts_by(leads, GRADE_BAND)
        summary["grade_band_cells"] = [
            {"cell": grade + band, "grade": grade, "band": band, **by_cell.get(grade + band, _NONE)}
            for grade in grades
            for band in bands
        ]
    return summary


_NONE = {"leads": 0, "fit": 0, "mql": 0}


def _counts_by(leads: pl.DataFrame, column: str) -> dict[str, dict[str, int]]:
    """Count leads, fit leads and MQLs for each value of `column`."""
    grouped = leads.group_by(column).agg(
        pl.len().alias("leads"),
        pl.col("fit").sum().alias("fit"),
        pl.col("mql").sum().alias("mql"),
    )
    return {
        row[column]: {"leads": int(row["leads"]), "fit": int(row["fit"]), "mql": int(row["mql"])}
        for row in grouped.iter_rows(named=True)
    }
