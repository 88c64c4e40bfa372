"""Shared helpers: small lead and activity tables written to CSV, scored through the library."""

from __future__ import annotations

import copy
import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from leadq.config import parse_config
from leadq.scoring import ScoringResult, score_leads

AS_OF = dt.date(2026, 11, 30)
# The public datasets live beside the repository, outside it, because of their licences.
REAL_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"

BASE_CONFIG: dict[str, Any] = {
    "leads": {"id": "id", "email": "email"},
    "activities": {"lead_id": "lead", "type": "type", "timestamp": "at"},
    "mql": {"threshold": 10},
}


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> Path:
    """Write `rows` as CSV with the union of their keys as the header."""
    columns = header or list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


Scorer = Callable[..., ScoringResult]


@pytest.fixture
def score(tmp_path: Path) -> Scorer:
    """Score leads and activities given as lists of dicts under a config given as a dict.

    The `leads` and `activities` sections are merged over BASE_CONFIG; others replace it.
    """

    def run(
        config: dict[str, Any],
        leads: list[dict[str, str]],
        activities: list[dict[str, str]] | None = None,
        *,
        as_of: dt.date = AS_OF,
    ) -> ScoringResult:
        raw = copy.deepcopy(BASE_CONFIG)
        for section, values in config.items():
            merges = section in ("leads", "activities") and isinstance(values, dict)
            if merges and isinstance(raw.get(section), dict):
                raw[section] = {**raw[section], **values}
            else:
                raw[section] = values
        inputs = raw.setdefault("inputs", {})
        inputs["leads"] = str(write_csv(tmp_path / "leads.csv", leads))
        if activities is not None:
            header = ["lead", "type", "at"] if not activities else None
            inputs["activities"] = str(write_csv(tmp_path / "activities.csv", activities, header))
        lead_ids = [row["id"].strip() for row in leads if row.get("id", "").strip()]
        return score_leads(parse_config(raw), as_of=as_of, ledger_leads=lead_ids)

    return run


def lead(result: ScoringResult, lead_id: str) -> dict[str, Any]:
    """Return one lead's row of `scored_leads` as a dict."""
    rows = result.scored_leads.filter(result.scored_leads["lead_id"] == lead_id)
    assert rows.height == 1, f"expected one row for lead {lead_id!r}, got {rows.height}"
    return rows.row(0, named=True)


@pytest.fixture
def data_dir() -> Path:
    """Return the folder of the public datasets, or skip the test when it is absent."""
    if not REAL_DATA_DIR.is_dir():
        pytest.skip(f"the real datasets are not at {REAL_DATA_DIR}")
    return REAL_DATA_DIR


def read_rows(path: Path) -> list[dict[str, str]]:
    """Read a CSV file with the standard library, as an independent check of leadq's reader."""
    # The utf-8-sig codec drops the byte order mark that the Salesforce workshop files start with.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))
