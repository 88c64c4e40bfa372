"""Timestamp parsing: shapes decided per column, rare shapes, and slashed-date order."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from leadq.errors import InputDataError
from leadq.timestamps import parse_local_times


def parse(values: list[str | None], timezone: str = "UTC") -> list[dt.datetime | None]:
    series = pl.Series("at", values, dtype=pl.String)
    return parse_local_times(series, timezone=timezone, timestamp_format=None).to_list()


def test_rare_shape_of_common_length_still_parses():
    # 30 values sample one shape at length 20; the one with a space has the same length
    values = ["2026-11-30T10:00:00Z"] * 30 + ["2026-11-30 11:00:00Z"]
    parsed = parse(values)
    assert parsed[0] == dt.datetime(2026, 11, 30, 10, 0)
    assert parsed[-1] == dt.datetime(2026, 11, 30, 11, 0)


def test_fractions_of_every_length():
    values = [f"2026-11-30T10:00:00.{'5' * digits}" for digits in range(1, 7)]
    assert parse(values) == [
        dt.datetime(2026, 11, 30, 10, 0, 0, 555555 // 10 ** (6 - d) * 10 ** (6 - d))
        for d in range(1, 7)
    ]


def test_unreadable_values_are_null():
    assert parse(["2026-02-30", "soon", None, "123", "2026-11-30"]) == [
        None,
        None,
        None,
        None,
        dt.datetime(2026, 11, 30),
    ]


def test_two_digit_years_do_not_become_year_26():
    assert parse(["3/4/26", "03/14/2026"]) == [
        dt.datetime(2026, 3, 4),
        dt.datetime(2026, 3, 14),
    ]


def test_slashed_dates_that_fit_both_orders_raise():
    with pytest.raises(InputDataError, match="fit both day-first and month-first order"):
        parse(["03/04/2026", "01/02/2026"])


# Berlin is UTC+1 until 01:00 UTC on 2026-03-29 and UTC+2 from then until 2026-10-25.
@pytest.mark.parametrize(
    ("value", "berlin"),
    [
        ("2026-03-29T01:30:00+01:00", dt.datetime(2026, 3, 29, 1, 30)),  # 00:30 UTC, winter
        ("2026-03-29T03:30:00+0200", dt.datetime(2026, 3, 29, 3, 30)),  # 01:30 UTC, summer
        ("2026-11-30T23:30:00-08:00", dt.datetime(2026, 12, 1, 8, 30)),  # 07:30 UTC next day
        ("2026-11-30T10:00:00 +05:30", dt.datetime(2026, 11, 30, 5, 30)),  # 04:30 UTC
        ("2026-11-30T10:00:00.123456+05:30", dt.datetime(2026, 11, 30, 5, 30, 0, 123456)),
        ("2026-11-30T10:00:00.123-01:00", dt.datetime(2026, 11, 30, 12, 0, 0, 123000)),
        ("2026-11-30T10:00:00.123Z", dt.datetime(2026, 11, 30, 11, 0, 0, 123000)),
        ("2026-11-30T10:00:00,123Z", dt.datetime(2026, 11, 30, 11, 0, 0, 123000)),
        ("2026-11-30T10:00:00.123456789Z", dt.datetime(2026, 11, 30, 11, 0, 0, 123456)),
        ("2026-11-30T10:00:00+25:00", None),  # no such offset
        ("2026-11-30T10:00:00+05:61", None),
        (
            "2026-11-30T10:00:00+05",
            None,
        ),  # an offset of hours alone is not a shape that leadq reads
        ("2026-11-30T10:00:00+-5:00", None),
        ("2026-11-30T10:00:00+05-00", None),
        ("2026-13-30T10:00:00+05:00", None),
    ],
)
def test_offsets_and_fractions_convert(value: str, berlin: dt.datetime | None):
    # many copies, so that the column's sample has the shape and the common path reads it
    assert parse([value] * 40, timezone="Europe/Berlin") == [berlin] * 40
