"""Lead values that fit criteria compare as numbers but that do not read as the export meant.

Such values never stop a run: a value that is not a number fails a fit filter and matches no
exclusion, by the scoring contract. `leadq check` lists them, because they can quietly change
who is fit, and an analyst can often fix them with one setting.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from leadq.conditions import number_expr
from leadq.config import Condition, Config, NamedCondition

# `1.200` or `12.500.000`: thousands written with points, as European exports write them.
_POINT_THOUSANDS = r"^[+-]?\d{1,3}(?:\.\d{3})+$"
_EXAMPLES = 3


@dataclass(frozen=True)
class NumberProblem:
    """Values of one lead column that numeric criteria read as no number, or as another one."""

    column: str
    criteria: list[str]
    """The names of the fit criteria that compare this column as a number."""
    not_numbers: int
    not_number_examples: list[str]
    point_thousands: int
    """Values such as `1.200`, read as 1.2 without `inputs.decimal_comma`."""
    point_thousands_examples: list[str]


def number_problems(leads: pl.DataFrame, config: Config) -> list[NumberProblem]:
    """Return the problems of each lead column that fit criteria read as a number."""
    criteria: dict[str, list[str]] = {}
    named: list[NamedCondition] = [*config.fit.filters, *config.fit.exclude, *config.fit.points]
    for condition in named:
        if _compares_numbers(condition) and condition.field in leads.columns:
            criteria.setdefault(condition.field, []).append(condition.name)

    decimal_comma = config.inputs.decimal_comma
    problems = []
    for column, names in criteria.items():
        values = leads.get_column(column).drop_nulls()
        parsed = values.to_frame().select(number_expr(pl.col(column), decimal_comma=decimal_comma))
        not_numbers = values.filter(parsed.to_series().is_null())
        point_thousands = (
            values.filter(values.str.contains(_POINT_THOUSANDS))
            if not decimal_comma
            else values.clear()
        )
        if not_numbers.is_empty() and point_thousands.is_empty():
            continue
        problems.append(
            NumberProblem(
                column=column,
                criteria=names,
                not_numbers=not_numbers.len(),
                not_number_examples=_examples(not_numbers),
                point_thousands=point_thousands.len(),
                point_thousands_examples=_examples(point_thousands),
            )
        )
    return problems


def _compares_numbers(condition: Condition) -> bool:
    """Return whether a condition reads its field as a number: a bound, or a number to match."""
    if condition.min is not None or condition.max is not None or condition.between is not None:
        return True
    listed = [condition.equals, *(condition.in_ or []), *(condition.not_in or [])]
    return any(isinstance(value, int | float) and not isinstance(value, bool) for value in listed)


def _examples(values: pl.Series) -> list[str]:
    """Return a few distinct values, most frequent first, ties in sorted order."""
    counted = values.value_counts(name="count").sort(
        ["count", values.name], descending=[True, False]
    )
    return counted.get_column(values.name).head(_EXAMPLES).to_list()
