"""The TOML config: its schema, validation with every problem reported at once, and loading."""

from __future__ import annotations

import codecs
import difflib
import hashlib
import re
import tomllib
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from leadq.errors import ConfigError

DEFAULT_NULL_VALUES = ["N/A", "n/a", "#N/A", "null", "NULL", "None", "-"]
OPERATORS = (
    "equals",
    "in",
    "not_in",
    "min",
    "max",
    "between",
    "contains",
    "contains_any",
    "matches",
    "missing",
)


def _check_scalar(value: object) -> str | bool | int | float:
    if isinstance(value, str | bool | int | float):
        return value
    msg = f"expected text, a number or true/false, got {value!r}"
    raise ValueError(msg)


def _wrap_text(value: object) -> object:
    return [value] if isinstance(value, str) else value


ScalarValue = Annotated[str | bool | int | float, PlainValidator(_check_scalar)]
TextList = Annotated[list[str], BeforeValidator(_wrap_text)]


class _Section(BaseModel):
    # strict: a TOML string must not pass as a number, and unknown keys are typos
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class Condition(_Section):
    """One field tested by one or more operators, all of which must hold."""

    field: str = Field(min_length=1)
    equals: ScalarValue | None = None
    in_: list[ScalarValue] | None = Field(default=None, alias="in")
    not_in: list[ScalarValue] | None = None
    min: float | None = None
    max: float | None = None
    between: list[float] | None = Field(default=None, min_length=2, max_length=2)
    contains: str | None = None
    contains_any: list[str] | None = None
    matches: str | None = None
    missing: bool | None = None
    case_sensitive: bool = False
    if_missing: Literal["fail", "pass"] = "fail"

    @field_validator("between")
    @classmethod
    def _check_between(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and value[0] > value[1]:
            msg = f"the lower bound {value[0]:g} is above the upper bound {value[1]:g}"
            raise ValueError(msg)
        return value

    @field_validator("matches")
    @classmethod
    def _check_pattern(cls, value: str | None) -> str | None:
        if value is not None:
            check_pattern(value)
        return value

    @model_validator(mode="after")
    def _check_has_operator(self) -> Condition:
        if not self.operators():
            msg = f"no operator for field {self.field!r}; use one of: {', '.join(OPERATORS)}"
            raise ValueError(msg)
        return self

    def operators(self) -> dict[str, Any]:
        """Map each operator set on this condition to its config value."""
        values = {name: getattr(self, "in_" if name == "in" else name) for name in OPERATORS}
        return {name: value for name, value in values.items() if value is not None}


class NamedCondition(Condition):
    """A condition with a name, shown where a lead fails it."""

    name: str = Field(min_length=1)


class FitFilter(NamedCondition):
    """A fit criterion: a lead that fails it is not fit."""


class Exclusion(NamedCondition):
    """A disqualifier: a lead that matches it is not fit."""

    @model_validator(mode="after")
    def _check_no_if_missing(self) -> Exclusion:
        if "if_missing" in self.model_fields_set:
            msg = (
                "`if_missing` has no effect on an exclusion, because a missing value never excludes"
            )
            raise ValueError(msg)
        return self


class EngagementRule(_Section):
    """Points for each matching activity, or once for a lead whose own columns match."""

    name: str = Field(min_length=1)
    source: Literal["activity", "lead"] = "activity"
    type: TextList | None = None
    where: list[Condition] = Field(default_factory=list)
    points: float
    max_count: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _check_lead_source(self) -> EngagementRule:
        if self.source == "lead":
            if not self.where:
                msg = 'a rule with source = "lead" needs `where` conditions on lead columns'
                raise ValueError(msg)
            if self.type is not None or self.max_count is not None:
                msg = 'a rule with source = "lead" takes no `type` or `max_count`'
                raise ValueError(msg)
        return self


class InputsSection(_Section):
    """Input files; command-line flags override them."""

    leads: str | None = None
    activities: TextList | None = None
    null_values: list[str] = Field(default_factory=lambda: list(DEFAULT_NULL_VALUES))
    encoding: str = "utf-8"
    delimiter: Literal[",", ";", "\t", "|"] | None = None
    sheet: str | None = None
    decimal_comma: bool = False

    @field_validator("encoding")
    @classmethod
    def _check_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            msg = f"unknown encoding {value!r}; use e.g. 'utf-8', 'windows-1252' or 'latin-1'"
            raise ValueError(msg) from None
        return value


class LeadsSection(_Section):
    """Columns of the leads table."""

    id: str = Field(min_length=1)
    email: str | None = None
    updated_at: str | None = None
    updated_at_format: str | None = None


class ActivitiesSection(_Section):
    """Columns of the activity tables and how to read their timestamps."""

    lead_id: str | None = None
    email: str | None = None
    type: str = Field(min_length=1)
    timestamp: str = Field(min_length=1)
    timezone: str = "UTC"
    timestamp_format: str | None = None

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            msg = f"unknown time zone {value!r}; use an IANA name such as 'UTC' or 'Europe/Berlin'"
            raise ValueError(msg) from None
        return value

    @model_validator(mode="after")
    def _check_join_key(self) -> ActivitiesSection:
        if (self.lead_id is None) == (self.email is None):
            msg = "set exactly one of `lead_id` or `email` to say how activities find their lead"
            raise ValueError(msg)
        return self


class FitSection(_Section):
    """The ideal customer profile: every filter must pass and no exclusion may match."""

    filters: list[FitFilter] = Field(default_factory=list)
    exclude: list[Exclusion] = Field(default_factory=list)


class EngagementSection(_Section):
    """The engagement rules and the window and decay that apply to them."""

    # 100 years: a longer window means nothing for leads and overflows date arithmetic
    lookback_days: int = Field(default=90, ge=1, le=36500)
    half_life_days: float | None = Field(default=None, gt=0)
    rules: list[EngagementRule] = Field(default_factory=list)


class MqlSection(_Section):
    """When a fit lead becomes a marketing-qualified lead."""

    threshold: float | None = None
    qualifying_rules: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_some_way_to_qualify(self) -> MqlSection:
        if self.threshold is None and not self.qualifying_rules:
            msg = "set `threshold`, `qualifying_rules` or both, or no lead can become an MQL"
            raise ValueError(msg)
        return self


class OutputSection(_Section):
    """Lead columns carried into the outputs."""

    columns: list[str] = Field(default_factory=list)


class ReportSection(_Section):
    """Settings of the HTML report that `--report` writes."""

    group_by: str | None = Field(default=None, min_length=1)


class Config(_Section):
    """A whole leadq config file."""

    inputs: InputsSection = Field(default_factory=InputsSection)
    leads: LeadsSection
    activities: ActivitiesSection | None = None
    fit: FitSection = Field(default_factory=FitSection)
    engagement: EngagementSection = Field(default_factory=EngagementSection)
    mql: MqlSection
    output: OutputSection = Field(default_factory=OutputSection)
    report: ReportSection = Field(default_factory=ReportSection)

    _path: Path | None = PrivateAttr(default=None)
    _sha256: str = PrivateAttr(default="")

    @property
    def path(self) -> Path | None:
        """The file this config was read from, as the user named it."""
        return self._path

    @property
    def folder(self) -> Path | None:
        """The folder of the config file, against which its relative paths resolve."""
        return self._path.resolve().parent if self._path else None

    @property
    def sha256(self) -> str:
        """The SHA-256 of the config file's bytes, empty for a config built in code."""
        return self._sha256

    @property
    def activity_rules(self) -> list[EngagementRule]:
        """Rules that score activities."""
        return [rule for rule in self.engagement.rules if rule.source == "activity"]

    @property
    def lead_rules(self) -> list[EngagementRule]:
        """Rules judged once on the lead's own columns."""
        return [rule for rule in self.engagement.rules if rule.source == "lead"]

    def lead_column_uses(self) -> dict[str, str]:
        """Map each leads column the config reads to the first key that names it."""
        uses = {self.leads.id: "leads.id"}
        if self.leads.email:
            uses.setdefault(self.leads.email, "leads.email")
        if self.leads.updated_at:
            uses.setdefault(self.leads.updated_at, "leads.updated_at")
        sections: list[tuple[str, list[NamedCondition]]] = [
            ("filters", list(self.fit.filters)),
            ("exclude", list(self.fit.exclude)),
        ]
        for kind, conditions in sections:
            for position, condition in enumerate(conditions, start=1):
                uses.setdefault(condition.field, f"fit.{kind}[{position}] ({condition.name!r})")
        uses.update(self._where_uses("lead", uses))
        for column in self.output.columns:
            uses.setdefault(column, "output.columns")
        if self.report.group_by:
            uses.setdefault(self.report.group_by, "report.group_by")
        return uses

    def activity_column_uses(self) -> dict[str, str]:
        """Map each activity column the config reads to the first key that names it."""
        section = self.activities
        assert section is not None
        uses: dict[str, str] = {}
        for key in ("lead_id", "email", "type", "timestamp"):
            column = getattr(section, key)
            if column:
                uses.setdefault(column, f"activities.{key}")
        uses.update(self._where_uses("activity", uses))
        return uses

    def _where_uses(self, source: str, known: dict[str, str]) -> dict[str, str]:
        uses: dict[str, str] = {}
        for position, rule in enumerate(self.engagement.rules, start=1):
            if rule.source != source:
                continue
            for index, condition in enumerate(rule.where, start=1):
                key = f"engagement.rules[{position}] ({rule.name!r}).where[{index}]"
                if condition.field not in known:
                    uses.setdefault(condition.field, key)
        return uses


def check_pattern(pattern: str) -> None:
    """Raise ValueError unless `pattern` compiles in both Python's `re` and Polars' engine."""
    try:
        re.compile(pattern)
        pl.Series([""], dtype=pl.String).str.contains(pattern)
    except (re.error, pl.exceptions.PolarsError) as error:
        # Polars' message ends with the reason, e.g. "error: look-around ... is not supported"
        lines = [line.strip() for line in str(error).splitlines()]
        reasons = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
        reason = reasons[0] if reasons else lines[0]
        msg = f"invalid regular expression {pattern!r}: {reason}"
        raise ValueError(msg) from None


def load_config(path: str | Path) -> Config:
    """Read, validate and return the config at `path`, resolving its relative input paths.

    Raises ConfigError listing every problem found, each with its key path.
    """
    config_path = Path(path)
    try:
        raw_bytes = config_path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(str(config_path), ["the config file was not found"]) from None
    except OSError as error:
        raise ConfigError(str(config_path), [f"the config file cannot be read: {error}"]) from None

    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(str(config_path), ["the config file is not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(config_path), [f"invalid TOML: {error}"]) from None

    config = parse_config(raw, source=str(config_path))
    config._path = config_path
    config._sha256 = hashlib.sha256(raw_bytes).hexdigest()
    _resolve_input_paths(config, config_path.resolve().parent)
    return config


def parse_config(raw: dict[str, Any], *, source: str = "config") -> Config:
    """Validate a config given as a dict (as TOML parses it) and return it."""
    problems: list[str] = []
    config: Config | None = None
    try:
        config = Config.model_validate(raw)
    except ValidationError as error:
        problems.extend(_describe_error(detail, raw) for detail in error.errors())
    problems.extend(_cross_check(raw))
    if problems or config is None:
        raise ConfigError(source, problems)
    return config


def _resolve_input_paths(config: Config, base: Path) -> None:
    inputs = config.inputs
    if inputs.leads is not None:
        inputs.leads = str(base / inputs.leads)
    if inputs.activities is not None:
        inputs.activities = [str(base / pattern) for pattern in inputs.activities]


def _cross_check(raw: dict[str, Any]) -> list[str]:
    """Find problems that span sections; runs even when the schema check failed."""
    problems: list[str] = []
    engagement = raw.get("engagement")
    rules = engagement.get("rules") if isinstance(engagement, dict) else None
    rules = rules if isinstance(rules, list) else []
    rule_names = [rule.get("name") for rule in rules if isinstance(rule, dict)]
    problems.extend(_duplicate_names("engagement.rules", rule_names))

    mql = raw.get("mql")
    qualifying = mql.get("qualifying_rules") if isinstance(mql, dict) else None
    if isinstance(qualifying, list):
        for position, name in enumerate(qualifying, start=1):
            if isinstance(name, str) and name not in rule_names:
                defined = dict.fromkeys(n for n in rule_names if isinstance(n, str))
                known = ", ".join(repr(n) for n in defined) or "none"
                problems.append(
                    f"mql.qualifying_rules[{position}]: no engagement rule is named {name!r} "
                    f"(rules defined: {known})"
                )

    fit = raw.get("fit")
    if isinstance(fit, dict):
        fit_items = [fit.get("filters"), fit.get("exclude")]
        fit_names = [
            item.get("name")
            for items in fit_items
            if isinstance(items, list)
            for item in items
            if isinstance(item, dict)
        ]
        problems.extend(_duplicate_names("fit", fit_names))

    has_activity_rules = any(
        isinstance(rule, dict) and rule.get("source", "activity") == "activity" for rule in rules
    )
    activities = raw.get("activities")
    if has_activity_rules and not isinstance(activities, dict):
        problems.append(
            "activities: the engagement rules score activities, but there is no [activities] "
            'section; add one, or mark rules on lead columns with source = "lead"'
        )
    leads = raw.get("leads")
    joins_by_email = isinstance(activities, dict) and "email" in activities
    if joins_by_email and not (isinstance(leads, dict) and "email" in leads):
        problems.append(
            "leads.email: activities are joined by e-mail, so the leads table needs "
            "its e-mail column here"
        )
    return problems


def _duplicate_names(section: str, names: list[object]) -> list[str]:
    seen: set[object] = set()
    problems = []
    for name in names:
        if isinstance(name, str) and name in seen:
            problems.append(f"{section}: the name {name!r} is used twice; names must be unique")
        seen.add(name)
    return problems


def _describe_error(detail: Any, raw: dict[str, Any]) -> str:
    """Turn one pydantic error into `key.path: message` in the user's own terms."""
    location = _key_path(detail["loc"], raw)
    kind = detail["type"]
    if kind == "extra_forbidden":
        key = str(detail["loc"][-1])
        known = [name for name in _known_keys() if name != key]
        hint = difflib.get_close_matches(key, known, n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else "; check the spelling"
        return f"{location}: unknown key{suggestion}"
    if kind == "missing":
        return f"{location}: required key is missing"
    message = str(detail["msg"]).removeprefix("Value error, ")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        message = f"{message[0].lower()}{message[1:]}, got {detail['input']!r}"
        if kind in ("float_type", "int_type", "bool_type") and isinstance(detail["input"], str):
            message += "; write numbers and true/false without quotes"
    return f"{location}: {message[0].lower()}{message[1:]}"


def _key_path(loc: tuple[Any, ...], raw: dict[str, Any]) -> str:
    """Write a pydantic location as `engagement.rules[2].points`, counting items from 1."""
    text = ""
    node: Any = raw
    for part in loc:
        if isinstance(part, int):
            text += f"[{part + 1}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                text += f" ({node['name']!r})"
        else:
            text += f".{part}" if text else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return text or "config"


def _known_keys() -> list[str]:
    models: list[type[BaseModel]] = [
        Config,
        InputsSection,
        LeadsSection,
        ActivitiesSection,
        FitSection,
        FitFilter,
        EngagementSection,
        EngagementRule,
        MqlSection,
        OutputSection,
        ReportSection,
    ]
    keys = {field.alias or name for model in models for name, field in model.model_fields.items()}
    return sorted(keys)
