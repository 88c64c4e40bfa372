"""Why one lead is or is not an MQL: each fit criterion with its value, each scoring activity.

With `[[fit.points]]`, it also lists each weighted criterion with the points the lead earned.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from leadq.accounts import ACCOUNT_KEY, attribute_column
from leadq.config import AccountsSection, Condition
from leadq.engagement import ENGAGEMENT_TOTAL, LEAD_ID, TOTAL_CUT, group_cut_column
from leadq.errors import InputDataError
from leadq.fit import exclusion_column, filter_column
from leadq.grades import criterion_column
from leadq.scoring import ScoringResult


@dataclass(frozen=True)
class CriterionCheck:
    """One fit filter or exclusion, the lead's value, and whether the lead passed it."""

    kind: str
    name: str
    field: str
    value: str | None
    test: str
    passed: bool


@dataclass(frozen=True)
class PointsCheck:
    """One weighted fit criterion, the lead's value, and whether the lead earned its points."""

    name: str
    field: str
    value: str | None
    test: str
    points: float
    met: bool

    @property
    def earned(self) -> float:
        """The points this criterion added to the lead's fit_score."""
        return self.points if self.met else 0.0


@dataclass(frozen=True)
class AccountState:
    """The lead's account as the accounts table has it, and each account criterion."""

    row: dict[str, Any] | None
    """The account's row of the accounts table, or None for a lead without an account."""
    criteria: list[CriterionCheck]
    key_source: str
    """The source of the account key, such as `'Company'` or `the e-mail domain`."""
    counted_leads: str
    """The leads whose scores make the account score: `all` or `fit`."""
    engagement: str
    """The way the counted scores combine: `sum` or `max`."""


@dataclass(frozen=True)
class GroupSubtotal:
    """One score group of a lead: its points before the cap, the cap, and what it kept."""

    name: str
    points: float
    max_points: float | None
    subtotal: float


@dataclass(frozen=True)
class LeadExplanation:
    """The facts behind one lead's fit, score and MQL status."""

    lead: dict[str, Any]
    criteria: list[CriterionCheck]
    activities: pl.DataFrame
    """The lead's ledger: lead rules that hold, then each activity and matching rule, latest
    first, with the points it earned and what cut them."""
    groups: list[GroupSubtotal]
    total_before_cap: float
    """The score before `engagement.max_points`, unrounded."""
    total_max_points: float | None
    as_of: str
    timezone: str
    first_day: str
    """The first day of the lookback window."""
    fit_points: list[PointsCheck] = field(default_factory=list)
    """Each `[[fit.points]]` criterion, in config order."""
    account: AccountState | None = None
    """The lead's account, when the config has `[accounts]`."""


def explain_lead(result: ScoringResult, lead_id: str) -> LeadExplanation:
    """Gather why `lead_id` is or is not an MQL in `result`.

    The activities are listed only when `result` was scored with `ledger_leads` naming the
    lead, or with `full_ledger`.
    """
    rows = result.leads.filter(pl.col(LEAD_ID) == lead_id.strip())
    if rows.is_empty():
        raise InputDataError(_unknown_lead_message(result, lead_id.strip()))
    lead = rows.row(0, named=True)
    config = result.config

    criteria = [
        CriterionCheck(
            kind="filter",
            name=rule.name,
            field=rule.field,
            value=lead.get(rule.field),
            test=describe_condition(rule),
            passed=bool(lead[filter_column(position)]),
        )
        for position, rule in enumerate(config.fit.filters)
    ] + [
        CriterionCheck(
            kind="exclusion",
            name=rule.name,
            field=rule.field,
            value=lead.get(rule.field),
            test=describe_condition(rule),
            passed=not lead[exclusion_column(position)],
        )
        for position, rule in enumerate(config.fit.exclude)
    ]

    fit_points = [
        PointsCheck(
            name=criterion.name,
            field=criterion.field,
            value=lead.get(criterion.field),
            test=describe_condition(criterion),
            points=criterion.points,
            met=bool(lead[criterion_column(position)]),
        )
        for position, criterion in enumerate(config.fit.points)
    ]
    engagement = config.engagement
    groups = [
        GroupSubtotal(
            name=group.name,
            points=lead[group.column] + lead[group_cut_column(index)],
            max_points=group.max_points,
            subtotal=lead[group.column],
        )
        for index, group in enumerate(engagement.groups)
    ]
    return LeadExplanation(
        lead=lead,
        criteria=criteria,
        activities=result.ledger_for(lead[LEAD_ID]),
        groups=groups,
        total_before_cap=lead[ENGAGEMENT_TOTAL] + lead[TOTAL_CUT],
        total_max_points=engagement.max_points,
        as_of=result.as_of.isoformat(),
        timezone=config.activities.timezone if config.activities else "UTC",
        first_day=result.window.first_day.isoformat(),
        fit_points=fit_points,
        account=_account_state(result, lead),
    )


def _unknown_lead_message(result: ScoringResult, lead_id: str) -> str:
    """Say that no lead has `lead_id`, and name the id the user probably meant."""
    message = f"no lead has the id {lead_id!r}. Lead ids are case-sensitive"
    ids = result.leads.get_column(LEAD_ID).unique()
    same_but_case = ids.filter(ids.str.to_lowercase() == lead_id.lower()).sort().to_list()
    # comparing every id by spelling takes seconds on a million leads, so only case is tried
    spelling = ids.len() <= 100_000
    close = same_but_case or (
        difflib.get_close_matches(lead_id, ids.to_list(), n=1) if spelling else []
    )
    if close:
        return f"{message}; did you mean {close[0]!r}?"
    return f"{message}; check the id in scored_leads or in the leads file"


def _account_state(result: ScoringResult, lead: dict[str, Any]) -> AccountState | None:
    section = result.config.accounts
    if section is None or result.accounts is None:
        return None
    row = None
    if lead[ACCOUNT_KEY] is not None:
        rows = result.accounts.filter(pl.col(ACCOUNT_KEY) == lead[ACCOUNT_KEY])
        row = rows.row(0, named=True)
    return AccountState(
        row=row,
        criteria=account_criteria(section, row) if row else [],
        key_source="the e-mail domain" if section.key_from_email else repr(section.key),
        counted_leads=section.leads,
        engagement=section.engagement,
    )


def account_criteria(section: AccountsSection, account: dict[str, Any]) -> list[CriterionCheck]:
    """Check each account filter and exclusion against one row of the accounts frame."""
    return [
        CriterionCheck(
            kind="filter",
            name=rule.name,
            field=rule.field,
            value=account[attribute_column(rule.field)],
            test=describe_condition(rule),
            passed=bool(account[filter_column(position)]),
        )
        for position, rule in enumerate(section.filters)
    ] + [
        CriterionCheck(
            kind="exclusion",
            name=rule.name,
            field=rule.field,
            value=account[attribute_column(rule.field)],
            test=describe_condition(rule),
            passed=not account[exclusion_column(position)],
        )
        for position, rule in enumerate(section.exclude)
    ]


def describe_condition(condition: Condition) -> str:
    """Write a condition's operators as a short phrase, e.g. `between 50 and 5000`."""
    phrases = []
    for name, setting in condition.operators().items():
        if name == "between":
            phrases.append(f"between {setting[0]:g} and {setting[1]:g}")
        elif name in ("min", "max"):
            phrases.append(f"{'at least' if name == 'min' else 'at most'} {setting:g}")
        elif name == "missing":
            phrases.append("is missing" if setting else "is present")
        elif name in ("in", "not_in", "contains_any"):
            listed = ", ".join(str(item) for item in setting)
            phrases.append(f"{name.replace('_', ' ')} [{listed}]")
        else:
            phrases.append(f"{name.replace('_', ' ')} '{setting}'")
    text = " and ".join(phrases)
    if condition.if_missing == "pass":
        text += ", or missing"
    return text
