"""The config settings that the SQL scoring path understands, checked before any SQL is written.

The check is generic. It walks every section, rule and condition of a config and rejects any
setting that is not in the lists below and differs from its default. A setting added to the
config later is then rejected by the SQL path, naming where it is set, until the generator
supports it. So it is never silently ignored, giving other scores than `leadq score`.
"""

from __future__ import annotations

from pydantic import BaseModel

from leadq.config import (
    AccountsSection,
    ActivitiesSection,
    Config,
    EngagementGroup,
    EngagementRule,
    EngagementSection,
    Exclusion,
    FitFilter,
    FitPoints,
    FitSection,
    InputsSection,
    LeadsSection,
    MqlSection,
    OutputSection,
)
from leadq.config import Condition as WhereCondition
from leadq.errors import ConfigError

_CONDITION_KEYS = {
    "field",
    "equals",
    "in_",
    "not_in",
    "min",
    "max",
    "between",
    "contains",
    "contains_any",
    "matches",
    "missing",
    "case_sensitive",
    "if_missing",
}

# The settings of each config model that the SQL generator reproduces exactly. A model that
# is not listed at all is rejected wherever it is set.
SUPPORTED_KEYS: dict[type[BaseModel], set[str]] = {
    Config: {
        "inputs",
        "leads",
        "activities",
        "fit",
        "engagement",
        "mql",
        "accounts",
        "output",
        "report",
        "outcomes",
        "state",
        "handoff",
        "notify",
    },
    # The SQL reads tables, so the file-reading settings only matter to --engine runs, which
    # read the files with leadq's own readers.
    InputsSection: {
        "leads",
        "activities",
        "null_values",
        "encoding",
        "delimiter",
        "sheet",
        "decimal_comma",
    },
    LeadsSection: {"id", "email", "updated_at"},
    ActivitiesSection: {"lead_id", "email", "type", "timestamp", "timezone"},
    FitSection: {"filters", "exclude", "points", "grades", "fallback_grade"},
    FitFilter: _CONDITION_KEYS | {"name"},
    Exclusion: _CONDITION_KEYS | {"name"},
    FitPoints: _CONDITION_KEYS | {"name", "points"},
    WhereCondition: _CONDITION_KEYS,
    EngagementSection: {
        "lookback_days",
        "decay",
        "half_life_days",
        "max_points",
        "groups",
        "rules",
        "bands",
        "fallback_band",
    },
    EngagementGroup: {"name", "max_points"},
    EngagementRule: {
        "name",
        "source",
        "type",
        "where",
        "points",
        "max_count",
        "max_per_day",
        "once_per_days",
        "group",
    },
    MqlSection: {"threshold", "qualifying_rules", "min_grade", "cells", "account_rule"},
    AccountsSection: {
        "key",
        "key_from_email",
        "key_case_sensitive",
        "engagement",
        "leads",
        "filters",
        "exclude",
        "threshold",
        "min_engaged_leads",
    },
    OutputSection: {"columns"},
}
# Sections that change no score. The run reads them after scoring, from the ScoringResult
# that --engine runs return as well, so their contents need no check here.
UNSCORED_SECTIONS = {"report", "outcomes", "state", "handoff", "notify"}


class NotSupportedError(ConfigError):
    """A config setting that the SQL scoring path cannot reproduce yet."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("config", problems)


def check_supported(config: Config) -> None:
    """Raise NotSupportedError listing every setting that the SQL path does not support."""
    problems = list(_unsupported(config, ""))
    if problems:
        raise NotSupportedError(problems)


def not_supported(feature: str, where: str) -> str:
    """Format the message for one unsupported setting, worded the same way everywhere."""
    return f"not supported by --engine/sql yet: {feature} in {where}"


def _unsupported(model: BaseModel, location: str) -> list[str]:
    known = SUPPORTED_KEYS.get(type(model))
    where = location or "the config"
    if known is None:
        return [not_supported(type(model).__name__, where)]
    problems: list[str] = []
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        key = field.alias or name
        path = f"{location}.{key}" if location else key
        if name not in known:
            if value != field.get_default(call_default_factory=True):
                problems.append(not_supported(key, where))
            continue
        if type(model) is Config and name in UNSCORED_SECTIONS:
            continue
        problems.extend(_unsupported_in_value(value, path))
    return problems


def _unsupported_in_value(value: object, path: str) -> list[str]:
    if isinstance(value, BaseModel):
        return _unsupported(value, path)
    if not isinstance(value, list):
        return []
    problems: list[str] = []
    for position, item in enumerate(value, start=1):
        if isinstance(item, BaseModel):
            name = getattr(item, "name", None)
            label = f" ({name!r})" if isinstance(name, str) else ""
            problems.extend(_unsupported(item, f"{path}[{position}]{label}"))
    return problems
