"""Hypothesis strategies for random engagement configs and activities, and a scorer for them."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from leadq.config import parse_config
from leadq.scoring import ScoringResult, score_leads
from tests.conftest import AS_OF, write_csv

LEAD_IDS = ["L1", "L2", "L3"]

points = st.one_of(
    st.integers(min_value=-20, max_value=30).map(float),
    st.floats(min_value=-20, max_value=30, allow_nan=False).map(lambda value: round(value, 3)),
)
caps = st.none() | st.floats(min_value=0.5, max_value=60).map(lambda value: round(value, 2))


def limits(highest: int) -> st.SearchStrategy[int | None]:
    return st.none() | st.integers(min_value=1, max_value=highest)


@st.composite
def activity_rule(draw: st.DrawFn, name: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"name": name, "points": draw(points)}
    rule_type = draw(st.sampled_from([None, "a", "b", ["a", "b"]]))
    settings = {
        "type": rule_type,
        "max_count": draw(limits(3)),
        "max_per_day": draw(limits(2)),
        "once_per_days": draw(limits(5)),
        "group": draw(st.sampled_from([None, "g1", "g2"])),
    }
    rule.update({key: value for key, value in settings.items() if value is not None})
    return rule


@st.composite
def engagement_section(draw: st.DrawFn) -> dict[str, Any]:
    """An [engagement] section with 1 to 4 activity rules, maybe a lead rule, groups and caps."""
    count = draw(st.integers(min_value=1, max_value=4))
    rules = [draw(activity_rule(f"R{index}")) for index in range(count)]
    if draw(st.booleans()):
        lead_rule = {
            "name": "Lead",
            "source": "lead",
            "where": [{"field": "views", "min": 5}],
            "points": draw(points),
        }
        group = draw(st.sampled_from([None, "g1", "g2"]))
        rules.append(lead_rule if group is None else {**lead_rule, "group": group})

    section: dict[str, Any] = {
        "lookback_days": draw(st.integers(min_value=1, max_value=30)),
        "groups": [],
        "rules": rules,
    }
    for name in ("g1", "g2"):
        cap = draw(caps)
        section["groups"].append(
            {"name": name} if cap is None else {"name": name, "max_points": cap}
        )
    total_cap = draw(caps)
    if total_cap is not None:
        section["max_points"] = total_cap
    if draw(st.booleans()):
        section["decay"] = "linear"
    else:
        half_life = draw(st.none() | st.integers(min_value=1, max_value=20))
        if half_life is not None:
            section["half_life_days"] = half_life
    return section


@st.composite
def activity_rows(draw: st.DrawFn) -> list[dict[str, str]]:
    """Up to 30 activities of three leads and an unknown one, on few days and times, so that
    days, periods and times often repeat."""
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from([*LEAD_IDS, "X9"]),
                st.sampled_from(["a", "b"]),
                st.integers(min_value=0, max_value=35),
                st.sampled_from(["00:00", "09:30", "23:59"]),
            ),
            max_size=30,
        )
    )
    return [
        {"lead": lead, "type": kind, "at": f"{AS_OF - dt.timedelta(days=age)} {time}"}
        for lead, kind, age, time in rows
    ]


lead_views = st.lists(st.integers(min_value=0, max_value=10), min_size=3, max_size=3)


def score_random(
    engagement: dict[str, Any],
    activities: list[dict[str, str]],
    views: list[int],
    *,
    batch_rows: int | None = None,
) -> ScoringResult:
    """Score the three leads with `views` and `activities` under `engagement`, keeping the
    ledger of every lead."""
    with tempfile.TemporaryDirectory() as folder:
        leads = [
            {"id": lead_id, "views": str(count)}
            for lead_id, count in zip(LEAD_IDS, views, strict=True)
        ]
        header = ["lead", "type", "at"]
        raw = {
            "inputs": {
                "leads": str(write_csv(Path(folder) / "leads.csv", leads)),
                "activities": str(write_csv(Path(folder) / "activities.csv", activities, header)),
            },
            "leads": {"id": "id"},
            "activities": {"lead_id": "lead", "type": "type", "timestamp": "at"},
            "engagement": engagement,
            "mql": {"threshold": 10},
        }
        return score_leads(parse_config(raw), as_of=AS_OF, batch_rows=batch_rows, full_ledger=True)
