"""Parsing activity timestamps into local wall-clock time in the configured time zone."""

from __future__ import annotations

import polars as pl

from leadq.errors import InputDataError

_WITH_OFFSET = ["%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M%z"]
_WALL_CLOCK = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
# Times written after a day, month and year in the order a column settles.
_TIMES = ["%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p"]
_DOTTED = r"^\d{1,2}\.\d{1,2}\.\d{2,4}\b"
_SLASHED = r"^(\d{1,2})/(\d{1,2})/(?:\d{2}|\d{4})\b"
# Epoch values below this are seconds, above it milliseconds: 1e11 seconds is the year 5138,
# while 1e11 milliseconds is March 1973.
_EPOCH_MILLISECONDS_FROM = 100_000_000_000


def local_time_expr(
    values: pl.Series,
    *,
    column: str,
    timezone: str,
    timestamp_format: str | None,
    format_setting: str = "activities.timestamp_format",
) -> pl.Expr:
    """Build an expression that parses `column` to a naive Datetime on the wall clock of `timezone`.

    `values` is the cleaned column, looked at once to pick the formats. ISO 8601 values with
    `Z` or an offset are converted to the zone. Values without one already are wall-clock time
    there, so they keep their calendar day even on the nights the clocks change. Epoch seconds
    and milliseconds are told apart by magnitude. `31.12.2025` is read day first. Slashed dates
    take the order that the whole column allows. Unreadable values become null.

    Raises InputDataError when slashed dates fit both day-first and month-first order; its
    message points to `format_setting`, the config key that settles the order.
    """
    value = pl.col(column)
    if timestamp_format is not None:
        return _parse_with_format(value, timestamp_format, timezone)

    iso = (
        value.str.replace(r"^(\d{4}-\d{2}-\d{2})[Tt ]", "$1 ")
        .str.replace(r"[Zz]$", "+00:00")
        .str.replace(r"(\d)\s+([+-]\d{2}:?\d{2})$", "$1$2")
    )
    with_offset = [_to_local(iso.str.to_datetime(f, strict=False), timezone) for f in _WITH_OFFSET]
    wall_clock = [_parse_naive(iso, f) for f in _WALL_CLOCK]
    candidates = [*with_offset, *wall_clock, _parse_epoch(value, timezone)]

    if values.str.contains(_DOTTED).any():
        candidates += _day_month_year(value, "%d.%m.%Y") + _day_month_year(value, "%d.%m.%y")
    order = _slash_order(values, column, format_setting)
    if order is not None:
        candidates += _day_month_year(value, f"{order}/%Y") + _day_month_year(value, f"{order}/%y")
    return pl.coalesce(candidates)


def _slash_order(values: pl.Series, column: str, format_setting: str) -> str | None:
    """Return `%d/%m` or `%m/%d` for the slashed dates in `values`, or None if there are none."""
    parts = values.str.extract_groups(_SLASHED).struct.unnest().drop_nulls()
    if parts.is_empty():
        return None
    first = parts.get_column("1").cast(pl.Int32)
    second = parts.get_column("2").cast(pl.Int32)
    day_first = bool((first > 12).any())
    month_first = bool((second > 12).any())
    if day_first and not month_first:
        return "%d/%m"
    if month_first and not day_first:
        return "%m/%d"

    example = values.filter(values.str.contains(_SLASHED)).head(1).item()
    problem = (
        "mixes day-first and month-first dates"
        if day_first
        else "has dates that fit both day-first and month-first order"
    )
    msg = (
        f"column {column!r} {problem} (for example {example!r}). Set {format_setting} to the "
        'order the export uses, e.g. "%d/%m/%Y %H:%M" or "%m/%d/%Y %H:%M"'
    )
    raise InputDataError(msg, column=column)


def _day_month_year(value: pl.Expr, date_format: str) -> list[pl.Expr]:
    formats = [f"{date_format} {time}" for time in _TIMES] + [date_format]
    return [_parse_naive(value, f) for f in formats]


def _parse_naive(value: pl.Expr, timestamp_format: str) -> pl.Expr:
    return value.str.to_datetime(timestamp_format, strict=False, time_unit="us")


def _parse_with_format(value: pl.Expr, timestamp_format: str, timezone: str) -> pl.Expr:
    parsed = value.str.to_datetime(timestamp_format, strict=False, time_unit="us")
    if "%z" in timestamp_format or "%Z" in timestamp_format:
        return _to_local(parsed, timezone)
    return parsed


def _parse_epoch(value: pl.Expr, timezone: str) -> pl.Expr:
    digits = pl.when(value.str.contains(r"^\d{9,14}$")).then(value.cast(pl.Int64, strict=False))
    milliseconds = pl.when(digits >= _EPOCH_MILLISECONDS_FROM).then(digits).otherwise(digits * 1000)
    instant = pl.from_epoch(milliseconds, time_unit="ms").dt.replace_time_zone("UTC")
    return _to_local(instant, timezone)


def _to_local(instant: pl.Expr, timezone: str) -> pl.Expr:
    local = instant.dt.convert_time_zone(timezone).dt.replace_time_zone(None)
    return local.dt.cast_time_unit("us")
