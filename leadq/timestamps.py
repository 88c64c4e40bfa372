"""Parsing activity timestamps into local wall-clock time in the configured time zone."""

from __future__ import annotations

import polars as pl

_WITH_OFFSET = ["%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M%z"]
_WALL_CLOCK = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
# Epoch values below this are seconds, above it milliseconds: 1e11 seconds is the year 5138,
# while 1e11 milliseconds is March 1973.
_EPOCH_MILLISECONDS_FROM = 100_000_000_000


def local_time_expr(value: pl.Expr, *, timezone: str, timestamp_format: str | None) -> pl.Expr:
    """Parse cleaned timestamp text to a naive Datetime on the wall clock of `timezone`.

    Values with `Z` or an offset are converted to the zone; values without one already are
    wall-clock time there, so their calendar day is kept even on the nights the clocks change.
    Epoch seconds and milliseconds are told apart by magnitude. Unreadable values become null.
    """
    if timestamp_format is not None:
        return _parse_with_format(value, timestamp_format, timezone)

    iso = (
        value.str.replace(r"^(\d{4}-\d{2}-\d{2})[Tt ]", "$1 ")
        .str.replace(r"[Zz]$", "+00:00")
        .str.replace(r"(\d)\s+([+-]\d{2}:?\d{2})$", "$1$2")
    )
    with_offset = [_to_local(iso.str.to_datetime(f, strict=False), timezone) for f in _WITH_OFFSET]
    wall_clock = [iso.str.to_datetime(f, strict=False, time_unit="us") for f in _WALL_CLOCK]
    return pl.coalesce([*with_offset, *wall_clock, _parse_epoch(value, timezone)])


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
