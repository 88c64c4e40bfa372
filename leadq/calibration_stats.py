"""The statistics behind `leadq calibrate`: rates with intervals, ROC AUC, and rule weights."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

# 95% of a normal distribution lies within 1.96 standard deviations, so the intervals are 95%.
Z_95 = 1.96
# Strength of the L2 penalty on the standardised rule weights. It equals a normal prior with a
# standard deviation of 1 on each weight, which keeps a rule that few leads hit from getting
# an extreme weight, and which the data outweighs once hundreds of leads hit a rule.
RIDGE_PENALTY = 1.0
_MAX_NEWTON_STEPS = 100


def wilson_interval(successes: int, trials: int, *, z: float = Z_95) -> tuple[float, float]:
    """Return the Wilson score interval of the rate `successes / trials` (0 to 1 when empty).

    Unlike rate +- z * standard error, it stays inside 0 to 1 and is still sound for small
    groups and rates near 0 or 1.
    """
    if trials == 0:
        return 0.0, 1.0
    rate = successes / trials
    denominator = 1 + z * z / trials
    centre = (rate + z * z / (2 * trials)) / denominator
    spread = z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials))
    spread /= denominator
    return max(0.0, centre - spread), min(1.0, centre + spread)


def roc_auc(frame: pl.DataFrame, score: pl.Expr, label: str) -> float | None:
    """Return the ROC AUC of `score` for the boolean column `label`, or None without both classes.

    The AUC is the chance that a random converted lead scores higher than a random
    not-converted one, with ties counting half. It comes from the rank-sum (Mann-Whitney)
    formula.
    """
    ranked = frame.select(
        score.cast(pl.Float64).rank("average").alias("rank"), pl.col(label).cast(pl.Boolean)
    )
    positives = int(ranked.get_column(label).sum())
    negatives = ranked.height - positives
    if positives == 0 or negatives == 0:
        return None
    rank_sum = float(ranked.filter(pl.col(label)).get_column("rank").sum())
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


@dataclass(frozen=True)
class LogisticFit:
    """Coefficients of a logistic regression, on the scale of the unstandardised features."""

    intercept: float
    weights: list[float | None]
    """Weights, one per feature. A feature with a single value cannot be weighed and gets None."""


def fit_logistic(
    features: np.ndarray,
    trials: np.ndarray,
    successes: np.ndarray,
    *,
    penalty: float = RIDGE_PENALTY,
) -> LogisticFit:
    """Fit an L2-regularised logistic regression on grouped rows by Newton's method.

    Each row of `features` is one distinct combination of feature values, seen `trials`
    times with `successes` positive outcomes, so the cost grows with the number of
    combinations, not of leads. Features are standardised (mean 0, standard deviation 1 over
    all trials) before the penalty applies, so that it treats every feature alike, and the
    weights are scaled back afterwards. The intercept is not penalised.
    """
    total = trials.sum()
    means = (features * trials[:, None]).sum(axis=0) / total
    spreads = np.sqrt((((features - means) ** 2) * trials[:, None]).sum(axis=0) / total)
    usable = spreads > 1e-12
    standardised = (features[:, usable] - means[usable]) / spreads[usable]
    design = np.hstack([np.ones((features.shape[0], 1)), standardised])

    ridge = np.full(design.shape[1], penalty)
    ridge[0] = 0.0
    coefficients = np.zeros(design.shape[1])
    for _ in range(_MAX_NEWTON_STEPS):
        probabilities = 1 / (1 + np.exp(-(design @ coefficients)))
        gradient = design.T @ (successes - trials * probabilities) - ridge * coefficients
        curvature = trials * probabilities * (1 - probabilities)
        hessian = design.T @ (design * curvature[:, None]) + np.diag(ridge)
        # A tiny ridge keeps the solve defined when every lead shares a class. It matters for
        # the intercept only, because the weights already have the L2 penalty.
        step = np.linalg.solve(hessian + np.eye(design.shape[1]) * 1e-9, gradient)
        coefficients += step
        if np.max(np.abs(step)) < 1e-10:
            break

    raw_weights = coefficients[1:] / spreads[usable]
    weights: list[float | None] = [None] * features.shape[1]
    for position, weight in zip(np.flatnonzero(usable), raw_weights, strict=True):
        weights[int(position)] = float(weight)
    intercept = float(coefficients[0] - (raw_weights * means[usable]).sum())
    return LogisticFit(intercept=intercept, weights=weights)


def scale_to_points(weights: list[float | None], current_points: list[float]) -> list[float | None]:
    """Scale log-odds weights so the largest in size matches the largest current points.

    The other weights keep their ratio to it, so the score keeps its range and a threshold
    on it keeps its meaning. The result is rounded to whole points.
    """
    known = [abs(weight) for weight in weights if weight is not None]
    largest_weight = max(known, default=0.0)
    largest_points = max((abs(points) for points in current_points), default=0.0)
    if largest_weight == 0.0:
        return [None if weight is None else 0.0 for weight in weights]
    factor = largest_points / largest_weight
    return [None if weight is None else float(round(weight * factor)) + 0.0 for weight in weights]
