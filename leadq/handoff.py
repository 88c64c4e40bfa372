"""CRM import files of the new MQLs, in HubSpot's, Salesforce's or the user's own layout.

docs/outputs.md describes each built-in layout and the import documentation it follows.
"""

from __future__ import annotations

import polars as pl

from leadq.config import HandoffSection, HandoffValue
from leadq.engagement import LEAD_ID
from leadq.errors import ConfigError

# A template maps each column of the import file to a leadq column, or to a fixed value.
# The `leadq ...` columns go to custom properties or fields that the CRM admin creates once.
TEMPLATES: dict[str, dict[str, str | HandoffValue]] = {
    "hubspot": {
        "Record ID": LEAD_ID,
        "Email": "email",
        "Lifecycle Stage": HandoffValue(value="Marketing Qualified Lead"),
        "leadq Score": "engagement_score",
        "leadq MQL Date": "mql_since",
        "leadq Reasons": "reasons",
    },
    "salesforce": {
        "Lead ID": LEAD_ID,
        "Email": "email",
        "Lead Status": HandoffValue(value="Open - Not Contacted"),
        "leadq Score": "engagement_score",
        "leadq MQL Date": "mql_since",
        "leadq Reasons": "reasons",
    },
}

HANDOFF_FILES = ("handoff_hubspot.csv", "handoff_salesforce.csv", "handoff.csv")


def handoff_file_name(section: HandoffSection) -> str:
    """Name the handoff file after its template, or `handoff.csv` for a layout of its own."""
    return f"handoff_{section.template}.csv" if section.template else "handoff.csv"


def handoff_layout(section: HandoffSection, *, has_email: bool) -> dict[str, str | HandoffValue]:
    """Return the import columns in order: the template's, then `columns` over and after them.

    The template's `Email` column is left out when the leads have no e-mail column.
    """
    layout = dict(TEMPLATES[section.template]) if section.template else {}
    if not has_email:
        layout = {name: source for name, source in layout.items() if source != "email"}
    layout.update(section.columns)
    return layout


def check_handoff(section: HandoffSection, available: list[str], *, has_email: bool) -> None:
    """Raise ConfigError for each handoff column whose source column no run writes."""
    layout = handoff_layout(section, has_email=has_email)
    problems = [
        f"handoff.columns.{name}: no output column is named {source!r} "
        f"(output columns: {', '.join(available)}); to write fixed text, use "
        f'{{ value = "{source}" }}'
        for name, source in layout.items()
        if isinstance(source, str) and source not in available
    ]
    if problems:
        raise ConfigError("config", problems)


def handoff_table(
    new_mqls: pl.DataFrame, section: HandoffSection, *, has_email: bool
) -> pl.DataFrame:
    """Lay the new MQLs out as the import file wants them, one row each."""
    layout = handoff_layout(section, has_email=has_email)
    columns = [
        pl.lit(source.value, dtype=pl.String).alias(name)
        if isinstance(source, HandoffValue)
        else pl.col(source).alias(name)
        for name, source in layout.items()
    ]
    return new_mqls.select(columns)
