"""Finding the activities whose key is a lead's key, with the hashed lookup of LeadKeys."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from leadq.activity_scoring import LeadKeys

# few letters, so that probes often hit a lead key and often miss one by a single character
_KEY = st.text(alphabet="Ll-01", min_size=0, max_size=4)


def test_contains_marks_only_lead_keys():
    lead_keys = LeadKeys(pl.Series(["L-1", "L-2", None, "L-2"]))
    probes = pl.Series(["L-2", "l-2", "L-3", None, "", "L-1"])
    assert lead_keys.contains(probes).to_list() == [True, False, False, False, False, True]


def test_contains_without_leads():
    lead_keys = LeadKeys(pl.Series([], dtype=pl.String))
    assert lead_keys.contains(pl.Series(["L-1", None])).to_list() == [False, False]


@given(st.lists(st.none() | _KEY), st.lists(st.none() | _KEY))
def test_contains_agrees_with_is_in(keys: list[str | None], probes: list[str | None]):
    lead_keys = pl.Series(keys, dtype=pl.String)
    probe_keys = pl.Series(probes, dtype=pl.String)
    expected = probe_keys.is_in(lead_keys.drop_nulls().implode()).fill_null(False)
    assert LeadKeys(lead_keys).contains(probe_keys).to_list() == expected.to_list()
