"""The TOML config: its schema, validation with every problem reported at once, and loading."""

from __future__ import annotations

import codecs
import difflib
import hashlib
import itertools
import math
import re
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from leadq.config_file import read_config_file
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
# Account attributes that leadq computes. An account filter on one of these names reads it
# instead of a lead column. `account` is the account's key as shown in the outputs.
ACCOUNT_ATTRIBUTES = ("account", "lead_count", "fit_leads")


def _check_scalar(value: object) -> str | bool | int | float:
    if isinstance(value, str | bool | int | float):
        return value
    msg = f"expected text, a number or true/false, got {value!r}"
    raise ValueError(msg)


def _wrap_text(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _check_activity_types(value: list[str] | None) -> list[str] | None:
    # An empty list would read as "no type", which matches every activity type.
    if value == []:
        msg = (
            "the list is empty; list at least one activity type, or remove `type` so that the "
            "rule matches every type"
        )
        raise ValueError(msg)
    return value


def _check_scale(minimums: dict[str, float]) -> dict[str, float]:
    """Check a grade or band scale: named steps, best first, each minimum below the one before."""
    if not minimums:
        msg = "list at least one name with its minimum score, e.g. { A = 80, B = 60 }"
        raise ValueError(msg)
    for name in minimums:
        if not name.strip() or name != name.strip():
            msg = f"the name {name!r} is blank or has spaces around it"
            raise ValueError(msg)
    for name, minimum in minimums.items():
        if not math.isfinite(minimum):
            msg = f"the minimum of {name} must be a finite number, got {minimum}"
            raise ValueError(msg)
    for (higher, above), (lower, below) in itertools.pairwise(minimums.items()):
        if below >= above:
            msg = (
                "list the best first, with each minimum below the one before, but "
                f"{lower} = {below:g} is not below {higher} = {above:g}"
            )
            raise ValueError(msg)
    return minimums


ScalarValue = Annotated[str | bool | int | float, PlainValidator(_check_scalar)]
TextList = Annotated[list[str], BeforeValidator(_wrap_text)]
# Names (A, B, C or 1, 2) mapped to the minimum score of each step, best first.
Scale = Annotated[dict[str, float], AfterValidator(_check_scale)]


class _Section(BaseModel):
    # strict: a TOML string must not pass as a number, and unknown keys are typos.
    # TOML accepts nan and inf, but no threshold, points or bound means anything with them.
    model_config = ConfigDict(
        extra="forbid", strict=True, populate_by_name=True, allow_inf_nan=False
    )


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

    @field_validator("in_", "not_in", "contains_any")
    @classmethod
    def _check_not_empty(cls, value: list[Any] | None, info: ValidationInfo) -> list[Any] | None:
        # Polars cannot build a test from an empty list, and a test of nothing is a typo.
        if value == []:
            key = "in" if info.field_name == "in_" else info.field_name
            msg = f"the list is empty; list at least one value, or remove `{key}`"
            raise ValueError(msg)
        return value

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


class FitPoints(NamedCondition):
    """A weighted fit criterion: a lead that meets it earns `points` towards its fit_score."""

    points: float


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
    type: Annotated[TextList | None, AfterValidator(_check_activity_types)] = None
    where: list[Condition] = Field(default_factory=list)
    points: float
    max_count: int | None = Field(default=None, ge=1)
    max_per_day: int | None = Field(default=None, ge=1)
    once_per_days: int | None = Field(default=None, ge=1)
    group: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _check_lead_source(self) -> EngagementRule:
        if self.source == "lead":
            if not self.where:
                msg = 'a rule with source = "lead" needs `where` conditions on lead columns'
                raise ValueError(msg)
            activity_keys = ("type", "max_count", "max_per_day", "once_per_days")
            if any(getattr(self, key) is not None for key in activity_keys):
                msg = (
                    'a rule with source = "lead" takes no `type`, `max_count`, `max_per_day` '
                    "or `once_per_days`"
                )
                raise ValueError(msg)
        return self

    @property
    def has_frequency_limit(self) -> bool:
        """Return whether `max_count`, `max_per_day` or `once_per_days` limits the matches."""
        limits = (self.max_count, self.max_per_day, self.once_per_days)
        return any(limit is not None for limit in limits)


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
            # On Linux a zone name in the wrong case is not found, so show the right case.
            same_but_case = [
                name
                for name in sorted(zoneinfo.available_timezones())
                if name.casefold() == value.casefold()
            ]
            if same_but_case:
                msg = f"unknown time zone {value!r}; did you mean {same_but_case[0]!r}?"
            else:
                msg = (
                    f"unknown time zone {value!r}; use an IANA name such as 'UTC' or "
                    "'Europe/Berlin'"
                )
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
    points: list[FitPoints] = Field(default_factory=list)
    grades: Scale | None = None
    fallback_grade: str | None = Field(default=None, min_length=1)

    @field_validator("grades")
    @classmethod
    def _check_grades_have_points(
        cls, value: dict[str, float] | None, info: ValidationInfo
    ) -> dict[str, float] | None:
        # Points that failed their own checks are absent from info.data and already reported.
        if value is not None and info.data.get("points", True) == []:
            msg = "grades need [[fit.points]] criteria, because every fit_score would be 0"
            raise ValueError(msg)
        return value

    @field_validator("fallback_grade")
    @classmethod
    def _check_fallback_grade(cls, value: str, info: ValidationInfo) -> str:
        return check_fallback(value, info, kind="grade", scale_key="grades")

    def grade_names(self) -> list[str]:
        """Return the grades from best to worst with the fallback last, or none without grades."""
        if self.grades is None or self.fallback_grade is None:
            return []
        return [*self.grades, self.fallback_grade]


class EngagementGroup(_Section):
    """A named set of rules whose points add up to a subtotal per lead, optionally capped."""

    name: str = Field(min_length=1)
    max_points: float | None = Field(default=None, gt=0)

    @property
    def column(self) -> str:
        """The output column with this group's subtotal."""
        return group_column(self.name)


class EngagementSection(_Section):
    """The engagement rules, groups and caps, and the window and decay that apply to them."""

    # 100 years: a longer window means nothing for leads and overflows date arithmetic
    lookback_days: int = Field(default=90, ge=1, le=36500)
    decay: Literal["half_life", "linear"] = "half_life"
    half_life_days: float | None = Field(default=None, gt=0)
    max_points: float | None = Field(default=None, gt=0)
    groups: list[EngagementGroup] = Field(default_factory=list)
    rules: list[EngagementRule] = Field(default_factory=list)
    bands: Scale | None = None
    fallback_band: str | None = Field(default=None, min_length=1)

    @field_validator("fallback_band")
    @classmethod
    def _check_fallback_band(cls, value: str, info: ValidationInfo) -> str:
        return check_fallback(value, info, kind="band", scale_key="bands")

    def band_names(self) -> list[str]:
        """Return the bands from best to worst with the fallback last, or none without bands."""
        if self.bands is None or self.fallback_band is None:
            return []
        return [*self.bands, self.fallback_band]

    @model_validator(mode="after")
    def _check_decay(self) -> EngagementSection:
        if self.decay == "linear" and self.half_life_days is not None:
            msg = (
                '`half_life_days` has no effect with decay = "linear"; remove it, or use '
                'decay = "half_life"'
            )
            raise ValueError(msg)
        return self


def group_column(name: str) -> str:
    """Return the name of the output column that contains the subtotal of the group `name`."""
    return f"group_{name}"


class MqlSection(_Section):
    """When a fit lead becomes a marketing-qualified lead."""

    threshold: float | None = None
    qualifying_rules: list[str] = Field(default_factory=list)
    min_grade: str | None = None
    cells: list[str] = Field(default_factory=list)
    account_rule: Literal["none", "mqa"] = "none"

    @model_validator(mode="after")
    def _check_some_way_to_qualify(self) -> MqlSection:
        ways = self.threshold is not None or self.qualifying_rules or self.cells
        if not ways and self.account_rule == "none":
            msg = (
                "set `threshold`, `qualifying_rules` or both (or list grade and band `cells`, "
                'or set `account_rule = "mqa"`), or no lead can become an MQL'
            )
            raise ValueError(msg)
        return self


class AccountsSection(_Section):
    """The roll-up of leads into accounts, and the bars for a marketing-qualified account (MQA)."""

    key: str | None = Field(default=None, min_length=1)
    key_from_email: bool = False
    key_case_sensitive: bool = False
    engagement: Literal["sum", "max"] = "sum"
    leads: Literal["all", "fit"] = "all"
    filters: list[FitFilter] = Field(default_factory=list)
    exclude: list[Exclusion] = Field(default_factory=list)
    threshold: float | None = None
    min_engaged_leads: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _check_key(self) -> AccountsSection:
        if (self.key is None) == (not self.key_from_email):
            msg = (
                "set exactly one of `key` (the lead column that names the account) or "
                "`key_from_email = true` (the e-mail domain names it)"
            )
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _check_some_way_to_qualify(self) -> AccountsSection:
        if self.threshold is None and self.min_engaged_leads is None:
            msg = "set `threshold`, `min_engaged_leads` or both, or no account can become an MQA"
            raise ValueError(msg)
        return self


class OutputSection(_Section):
    """Lead columns carried into the outputs."""

    columns: list[str] = Field(default_factory=list)


# Outcomes: how `leadq calibrate` and `leadq backtest` read the CRM's record of what became
# of each lead. Only those two commands read this section, so scoring ignores it.
OutcomeStage = Literal["sql", "opportunity", "won"]
OUTCOME_STAGES: tuple[OutcomeStage, ...] = ("sql", "opportunity", "won")


def _outcome_text(value: object) -> object:
    # TOML may give `sql = [1]` for a 0/1 column, but the file's values are read as text, so
    # whole numbers are turned into text.
    if isinstance(value, list):
        return [
            str(item) if isinstance(item, int) and not isinstance(item, bool) else item
            for item in value
        ]
    return value


OutcomeValues = Annotated[list[str], BeforeValidator(_outcome_text)]


class OutcomesSection(_Section):
    """The CRM export of outcomes: the column that contains the stage, and what its values mean."""

    file: str | None = None
    lead_id: str | None = None
    email: str | None = None
    column: str | None = None
    each_row: OutcomeStage | None = None
    sql: OutcomeValues = Field(default_factory=list)
    opportunity: OutcomeValues = Field(default_factory=list)
    won: OutcomeValues = Field(default_factory=list)
    converted: OutcomeStage = "sql"
    date: str | None = None
    date_format: str | None = None

    @model_validator(mode="after")
    def _check_outcome_mapping(self) -> OutcomesSection:
        if (self.lead_id is None) == (self.email is None):
            msg = "set exactly one of `lead_id` or `email` to say how outcomes find their lead"
            raise ValueError(msg)
        if (self.column is None) == (self.each_row is None):
            msg = (
                "set `column` (with `sql`, `opportunity` or `won` values) to read each row's "
                'stage, or `each_row = "won"` (or "sql", "opportunity") when every row is one'
            )
            raise ValueError(msg)
        if self.column is not None and not (self.sql or self.opportunity or self.won):
            msg = f"list the values of {self.column!r} that mean `sql`, `opportunity` or `won`"
            raise ValueError(msg)
        return self


# Nightly runs: the state between runs, CRM handoff files and the webhook for new MQLs.


class StateSection(_Section):
    """The state file, which keeps what the previous runs found, to report new and lost MQLs."""

    path: str = Field(min_length=1)


class HandoffValue(_Section):
    """A fixed value written in every row of a handoff column."""

    value: str


class HandoffSection(_Section):
    """A CRM import file of the new MQLs: a built-in layout, columns of your own, or both."""

    template: Literal["hubspot", "salesforce"] | None = None
    columns: dict[str, str | HandoffValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_has_columns(self) -> HandoffSection:
        if self.template is None and not self.columns:
            msg = 'set `template` ("hubspot" or "salesforce"), `columns`, or both'
            raise ValueError(msg)
        return self


class NotifySection(_Section):
    """The webhook that receives the new MQLs of each run as JSON."""

    url: str
    batch_size: int = Field(default=100, ge=1, le=10000)
    timeout_seconds: float = Field(default=10, gt=0, le=300)
    max_attempts: int = Field(default=4, ge=1, le=10)
    backoff_seconds: float = Field(default=2, ge=0, le=300)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not re.match(r"https?://[^/\s]+", value):
            msg = f"{value!r} is not a web address; write it as https://host/path"
            raise ValueError(msg)
        return value


class ReportSection(_Section):
    """Settings of the HTML report that `--report` writes."""

    group_by: str | None = Field(default=None, min_length=1)


# Characters that some file system rejects in a file name, so a model name may not use them.
_FILE_NAME_UNSAFE = re.compile(r'[/\\:*?"<>|\x00-\x1f]')


class ScoringModel(_Section):
    """One MQL definition, such as one per product line, scored in the same pass as the others.

    A model scores with the shared `[[engagement.rules]]` followed by its own `rules`, and
    decides MQLs with its own `mql`, or with the top-level `[mql]` when it sets none.
    """

    name: str = Field(min_length=1)
    rules: list[EngagementRule] = Field(default_factory=list)
    mql: MqlSection | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if value != value.strip():
            msg = f"the name {value!r} has spaces around it"
            raise ValueError(msg)
        if _FILE_NAME_UNSAFE.search(value) or value in (".", ".."):
            msg = (
                f"the name {value!r} cannot be part of a file name; use letters, digits, "
                "spaces, '-' or '_'"
            )
            raise ValueError(msg)
        return value


class Config(_Section):
    """A whole leadq config file."""

    inputs: InputsSection = Field(default_factory=InputsSection)
    leads: LeadsSection
    activities: ActivitiesSection | None = None
    fit: FitSection = Field(default_factory=FitSection)
    engagement: EngagementSection = Field(default_factory=EngagementSection)
    mql: MqlSection
    accounts: AccountsSection | None = None
    output: OutputSection = Field(default_factory=OutputSection)
    outcomes: OutcomesSection | None = None
    state: StateSection | None = None
    handoff: HandoffSection | None = None
    notify: NotifySection | None = None
    report: ReportSection = Field(default_factory=ReportSection)
    models: list[ScoringModel] = Field(default_factory=list)

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
        """Rules that score activities, the models' own rules included."""
        return [rule for _, rule in self._all_rules() if rule.source == "activity"]

    @property
    def lead_rules(self) -> list[EngagementRule]:
        """Rules judged once on the lead's own columns, the models' own rules included."""
        return [rule for _, rule in self._all_rules() if rule.source == "lead"]

    def model_config_for(self, model: ScoringModel) -> Config:
        """Return the config that scores `model` alone: shared rules, then its own, and its mql.

        The copy has no `models`, so the scoring code treats it as a config of one model.
        """
        engagement = self.engagement.model_copy(
            update={"rules": [*self.engagement.rules, *model.rules]}
        )
        return self.model_copy(
            update={"engagement": engagement, "mql": model.mql or self.mql, "models": []}
        )

    def reject_models(self, feature: str) -> None:
        """Raise ConfigError when this config has `[[models]]`, which `feature` cannot handle."""
        if self.models:
            problem = (
                f"{feature} is not available with [[models]] yet; score with a config of "
                "one model (without [[models]]) for it"
            )
            raise ConfigError("config", [problem])

    def _all_rules(self) -> list[tuple[str, EngagementRule]]:
        """Return the shared rules and then each model's own, each with its key path."""
        labelled = [
            (f"engagement.rules[{position}] ({rule.name!r})", rule)
            for position, rule in enumerate(self.engagement.rules, start=1)
        ]
        for index, model in enumerate(self.models, start=1):
            labelled += [
                (f"models[{index}] ({model.name!r}).rules[{position}] ({rule.name!r})", rule)
                for position, rule in enumerate(model.rules, start=1)
            ]
        return labelled

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
            ("points", list(self.fit.points)),
        ]
        for kind, conditions in sections:
            for position, condition in enumerate(conditions, start=1):
                uses.setdefault(condition.field, f"fit.{kind}[{position}] ({condition.name!r})")
        uses.update(self._where_uses("lead", uses))
        uses.update(self._account_uses(uses))
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

    def _account_uses(self, known: dict[str, str]) -> dict[str, str]:
        accounts = self.accounts
        if accounts is None:
            return {}
        uses: dict[str, str] = {}
        if accounts.key and accounts.key not in known:
            uses[accounts.key] = "accounts.key"
        sections: list[tuple[str, list[NamedCondition]]] = [
            ("filters", list(accounts.filters)),
            ("exclude", list(accounts.exclude)),
        ]
        for kind, conditions in sections:
            for position, condition in enumerate(conditions, start=1):
                if condition.field not in ACCOUNT_ATTRIBUTES and condition.field not in known:
                    key = f"accounts.{kind}[{position}] ({condition.name!r})"
                    uses.setdefault(condition.field, key)
        return uses

    def _where_uses(self, source: str, known: dict[str, str]) -> dict[str, str]:
        uses: dict[str, str] = {}
        for rule_key, rule in self._all_rules():
            if rule.source != source:
                continue
            for index, condition in enumerate(rule.where, start=1):
                key = f"{rule_key}.where[{index}]"
                if condition.field not in known:
                    uses.setdefault(condition.field, key)
        return uses


def check_fallback(value: str, info: ValidationInfo, *, kind: str, scale_key: str) -> str:
    """Check the name given to leads below a scale's lowest minimum.

    Whether the fallback and its scale are both set is checked on the raw config, so that it
    is reported even when the scale itself is invalid.
    """
    if value != value.strip():
        msg = f"the name {value!r} has spaces around it"
        raise ValueError(msg)
    scale = info.data.get(scale_key)
    if isinstance(scale, dict) and value in scale:
        msg = f"{value!r} is already a {kind} in `{scale_key}`, so give the fallback its own name"
        raise ValueError(msg)
    return value


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
    raw_bytes, raw = read_config_file(config_path)
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
    if config.outcomes is not None and config.outcomes.file is not None:
        config.outcomes.file = str(base / config.outcomes.file)
    if config.state is not None:
        config.state.path = str(base / config.state.path)


def _cross_check(raw: dict[str, Any]) -> list[str]:
    """Find problems that span sections; runs even when the schema check failed."""
    problems: list[str] = []
    engagement = raw.get("engagement")
    rules = engagement.get("rules") if isinstance(engagement, dict) else None
    rules = rules if isinstance(rules, list) else []
    rule_names = [rule.get("name") for rule in rules if isinstance(rule, dict)]
    problems.extend(_duplicate_names("engagement.rules", rule_names))
    models = _raw_models(raw)
    if not models:
        # With models, each model that uses the top-level [mql] checks it against its rules.
        problems.extend(_qualifying_problems(raw.get("mql"), "mql", rule_names))

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
        points = fit.get("points")
        if isinstance(points, list):
            point_names = [item.get("name") for item in points if isinstance(item, dict)]
            problems.extend(_duplicate_names("fit.points", point_names))
    problems.extend(_grading_problems(raw))

    problems.extend(_check_groups(engagement, rules, raw.get("output")))

    all_rules = rules + [rule for model in models for rule in _raw_list(model, "rules")]
    has_activity_rules = any(
        isinstance(rule, dict) and rule.get("source", "activity") == "activity"
        for rule in all_rules
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
    problems.extend(_account_problems(raw))
    problems.extend(_model_problems(raw, models))
    return problems


def _raw_list(section: object, key: str) -> list[Any]:
    """Return `section[key]` when it is a list, else an empty list (the schema reports it)."""
    items = section.get(key) if isinstance(section, dict) else None
    return items if isinstance(items, list) else []


def _raw_models(raw: dict[str, Any]) -> list[dict[str, Any]]:
    return [model for model in _raw_list(raw, "models") if isinstance(model, dict)]


def _qualifying_problems(
    mql: object, mql_key: str, rule_names: list[object], *, model: str | None = None
) -> list[str]:
    """Check that each of `mql.qualifying_rules` names one of `rule_names`."""
    problems: list[str] = []
    qualifying = _raw_list(mql, "qualifying_rules")
    defined = dict.fromkeys(n for n in rule_names if isinstance(n, str))
    known = ", ".join(repr(n) for n in defined) or "none"
    for position, name in enumerate(qualifying, start=1):
        if isinstance(name, str) and name not in defined:
            owner = "" if model is None else f" of model {model!r}"
            problems.append(
                f"{mql_key}.qualifying_rules[{position}]: no engagement rule{owner} is named "
                f"{name!r} (rules defined: {known}){_rule_name_hint(name, list(defined))}"
            )
    return problems


def _rule_name_hint(name: str, defined: list[str]) -> str:
    """Suggest the defined rule name closest to `name`, or return an empty string."""
    same_but_case = [rule for rule in defined if rule.casefold() == name.casefold()]
    if same_but_case:
        return f"; did you mean {same_but_case[0]!r}? Rule names are case-sensitive"
    close = difflib.get_close_matches(name, defined, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


# Sections whose features handle one row per lead only. A config with models cannot use them
# until they learn to handle a row per lead and model.
_SINGLE_MODEL_SECTIONS = {
    "accounts": "accounts (MQAs and the account rule)",
    "state": "new and lost MQLs ([state])",
    "handoff": "handoff files ([handoff])",
    "notify": "the webhook ([notify])",
}


def _model_problems(raw: dict[str, Any], models: list[dict[str, Any]]) -> list[str]:
    """Check `[[models]]`: unique names, each model's rules and mql, and unsupported sections."""
    if not models:
        return []
    problems = [
        f"{section}: {feature} is not available with [[models]] yet; remove [{section}] "
        "or the models"
        for section, feature in _SINGLE_MODEL_SECTIONS.items()
        if section in raw
    ]
    seen: dict[str, str] = {}
    for index, model in enumerate(models):
        name = model.get("name")
        if not isinstance(name, str):
            continue
        # Names are case-folded, because macOS and Windows treat file names that differ in case
        # as one.
        earlier = seen.setdefault(name.casefold(), _key_path(("models", index), raw))
        if earlier != _key_path(("models", index), raw):
            problems.append(
                f"{_key_path(('models', index, 'name'), raw)}: {earlier} already has this name; "
                "model names must be unique, ignoring case"
            )
    for index, model in enumerate(models):
        problems += _one_model_problems(raw, index, model)
    return problems


def _one_model_problems(raw: dict[str, Any], index: int, model: dict[str, Any]) -> list[str]:
    """Check one model's own rules against the shared ones, and the mql it uses."""
    engagement = raw.get("engagement")
    shared_names = [r.get("name") for r in _raw_list(engagement, "rules") if isinstance(r, dict)]
    declared = [g.get("name") for g in _raw_list(engagement, "groups") if isinstance(g, dict)]
    model_key = _key_path(("models", index), raw)
    problems = []

    own = _raw_list(model, "rules")
    for position, rule in enumerate(own):
        name = rule.get("name") if isinstance(rule, dict) else None
        if isinstance(name, str) and name in shared_names:
            problems.append(
                f"{_key_path(('models', index, 'rules', position, 'name'), raw)}: a rule "
                f"in [[engagement.rules]] is already named {name!r}, and the shared rules "
                "apply to every model; rule names must be unique within a model"
            )
    own_names = [rule.get("name") for rule in own if isinstance(rule, dict)]
    problems += _duplicate_names(f"{model_key}.rules", own_names)
    problems += _group_reference_problems(own, f"{model_key}.rules", declared)

    has_own_mql = "mql" in model
    mql = model.get("mql") if has_own_mql else raw.get("mql")
    mql_key = f"{model_key}.mql" if has_own_mql else "mql"
    label = model.get("name") if isinstance(model.get("name"), str) else None
    problems += _qualifying_problems(mql, mql_key, shared_names + own_names, model=label)
    if not has_own_mql:
        return problems
    grades = _scale_names(raw.get("fit"), "grades", "fallback_grade")
    bands = _scale_names(engagement, "bands", "fallback_band")
    problems += _mql_grading_problems(mql, mql_key, grades, bands)
    if isinstance(mql, dict) and mql.get("account_rule") == "mqa":
        problems.append(
            f'{mql_key}.account_rule: "mqa" qualifies leads through their account, and '
            "accounts are not available with [[models]] yet; remove account_rule"
        )
    return problems


def _account_problems(raw: dict[str, Any]) -> list[str]:
    """Check `[accounts]` against the sections it depends on."""
    problems: list[str] = []
    accounts = raw.get("accounts")
    mql = raw.get("mql")
    if isinstance(mql, dict) and mql.get("account_rule") == "mqa" and accounts is None:
        problems.append(
            'mql.account_rule: "mqa" qualifies leads through their account, but there is no '
            "[accounts] section; add one, or remove account_rule"
        )
    if not isinstance(accounts, dict):
        return problems

    leads = raw.get("leads")
    has_email = isinstance(leads, dict) and "email" in leads
    if accounts.get("key_from_email") is True and not has_email:
        problems.append(
            "accounts.key_from_email: the account is the e-mail domain, so the leads table "
            "needs its e-mail column in leads.email"
        )
    names: list[object] = []
    for kind in ("filters", "exclude"):
        items = accounts.get(kind)
        items = items if isinstance(items, list) else []
        for position, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                continue
            names.append(item.get("name"))
            # Account fit, like lead fit, must not depend on activities.
            if item.get("field") in ("engaged_leads", "engagement_score"):
                problems.append(
                    f"{_key_path(('accounts', kind, position - 1, 'field'), raw)}: account "
                    f"filters cannot use {item['field']!r}, because account fit does not "
                    "depend on activities; use accounts.min_engaged_leads or "
                    "accounts.threshold instead"
                )
    problems.extend(_duplicate_names("accounts", names))
    return problems


def _scale_names(section: object, scale_key: str, fallback_key: str) -> list[str] | None:
    """Return a scale's names, best first with the fallback last.

    Returns an empty list when the section sets no scale, and None when the scale is invalid,
    because then its own problems are reported and checks that use it would only repeat them.
    """
    if not isinstance(section, dict) or scale_key not in section:
        return []
    scale = section[scale_key]
    fallback = section.get(fallback_key)
    if not isinstance(scale, dict) or not scale or not isinstance(fallback, str):
        return None
    return [*scale, fallback]


def _fallback_problems(raw: dict[str, Any]) -> list[str]:
    """Check that grades and bands come with a fallback, and a fallback with its scale."""
    problems = []
    scales = [("fit", "grades", "grade", "D"), ("engagement", "bands", "band", "3")]
    for section_name, scale_key, kind, example in scales:
        section = raw.get(section_name)
        if not isinstance(section, dict):
            continue
        fallback_key = f"fallback_{kind}"
        if scale_key in section and fallback_key not in section:
            problems.append(
                f"{section_name}.{fallback_key}: required key is missing, because `{scale_key}` "
                f"needs a {kind} for leads below its lowest minimum, "
                f'e.g. {fallback_key} = "{example}"'
            )
        if fallback_key in section and scale_key not in section:
            problems.append(
                f"{section_name}.{fallback_key}: set `{scale_key}` too, or remove `{fallback_key}`"
            )
    return problems


def _check_groups(engagement: object, rules: list[Any], output: object) -> list[str]:
    """Check that group names are unique, that rules name declared groups, and columns."""
    groups = engagement.get("groups") if isinstance(engagement, dict) else None
    groups = groups if isinstance(groups, list) else []
    group_names = [group.get("name") for group in groups if isinstance(group, dict)]
    problems = _duplicate_names("engagement.groups", group_names)

    problems += _group_reference_problems(rules, "engagement.rules", group_names)

    columns = output.get("columns") if isinstance(output, dict) else None
    columns = columns if isinstance(columns, list) else []
    for position, name in enumerate(group_names, start=1):
        if isinstance(name, str) and group_column(name) in columns:
            problems.append(
                f"engagement.groups[{position}] ({name!r}).name: the subtotal column "
                f"{group_column(name)!r} has the name of a column in output.columns; "
                "rename the group or that column"
            )
    return problems


def _group_reference_problems(
    rules: list[Any], rules_key: str, group_names: list[object]
) -> list[str]:
    """Check that each rule that names a group names a declared one."""
    problems = []
    declared = dict.fromkeys(name for name in group_names if isinstance(name, str))
    known = ", ".join(repr(name) for name in declared) or "none"
    for position, rule in enumerate(rules, start=1):
        name = rule.get("group") if isinstance(rule, dict) else None
        if isinstance(name, str) and name not in declared:
            label = f" ({rule['name']!r})" if isinstance(rule.get("name"), str) else ""
            problems.append(
                f"{rules_key}[{position}]{label}.group: no group is named {name!r} "
                f"(groups declared: {known}); declare it with [[engagement.groups]]"
            )
    return problems


def _grading_problems(raw: dict[str, Any]) -> list[str]:
    """Check fallbacks, and that `mql.min_grade` and `mql.cells` name grades and bands."""
    grades = _scale_names(raw.get("fit"), "grades", "fallback_grade")
    bands = _scale_names(raw.get("engagement"), "bands", "fallback_band")
    _, problems = _cells_of(grades or [], bands or [])
    problems = _fallback_problems(raw) + problems
    return problems + _mql_grading_problems(raw.get("mql"), "mql", grades, bands)


def _mql_grading_problems(
    mql: object, mql_key: str, grades: list[str] | None, bands: list[str] | None
) -> list[str]:
    """Check that an mql section's `min_grade` and `cells` name grades and bands."""
    mql = mql if isinstance(mql, dict) else {}
    cells, _ = _cells_of(grades or [], bands or [])
    problems = []
    min_grade = mql.get("min_grade")
    if isinstance(min_grade, str) and grades == []:
        problems.append(f"{mql_key}.min_grade: set fit.grades too, so that leads have a grade")
    elif isinstance(min_grade, str) and grades is not None and min_grade not in grades:
        known = ", ".join(repr(name) for name in grades)
        problems.append(f"{mql_key}.min_grade: no grade is named {min_grade!r} (grades: {known})")

    listed = mql.get("cells")
    listed = listed if isinstance(listed, list) else []
    if listed and (grades == [] or bands == []):
        problems.append(
            f"{mql_key}.cells: a cell is a grade followed by a band, such as 'A1', so set both "
            "fit.grades and engagement.bands"
        )
    elif grades and bands:
        for position, cell in enumerate(listed, start=1):
            if isinstance(cell, str):
                problem = _cell_problem(cell, cells, grades, bands, min_grade)
                problems += [f"{mql_key}.cells[{position}]: {problem}"] if problem else []
    return problems


def _cells_of(grades: list[str], bands: list[str]) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """Map each cell name to its grade and band, with a problem for each name made twice."""
    cells: dict[str, tuple[str, str]] = {}
    problems = []
    for grade in grades:
        for band in bands:
            cell = f"{grade}{band}"
            if cell in cells:
                other_grade, other_band = cells[cell]
                problems.append(
                    f"engagement.bands: grade {other_grade!r} with band {other_band!r} and "
                    f"grade {grade!r} with band {band!r} both make the cell {cell!r}; "
                    "rename a grade or a band so that each cell is unique"
                )
            cells.setdefault(cell, (grade, band))
    return cells, problems


def _cell_problem(
    cell: str,
    cells: dict[str, tuple[str, str]],
    grades: list[str],
    bands: list[str],
    min_grade: object,
) -> str | None:
    """Describe what is wrong with one entry of `mql.cells`, or return None."""
    if cell not in cells:
        return (
            f"no cell is named {cell!r}. Write a grade followed by a band, such as "
            f"{grades[0] + bands[0]!r} (grades: {', '.join(grades)}; bands: {', '.join(bands)})"
        )
    grade = cells[cell][0]
    if min_grade in grades and grades.index(grade) > grades.index(min_grade):
        return (
            f"{cell!r} can never qualify, because its grade {grade} is below "
            f"mql.min_grade {min_grade!r}"
        )
    return None


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
        # Every top-level key of a config is a section.
        if len(detail["loc"]) == 1:
            return f"{location}: required section is missing; add a [{location}] section"
        return f"{location}: required key is missing"
    message = str(detail["msg"]).removeprefix("Value error, ")
    if kind.endswith("_type") or kind.endswith("_parsing") or kind in _KINDS_WITHOUT_INPUT:
        message = f"{message[0].lower()}{message[1:]}, got {detail['input']!r}"
        if kind in ("float_type", "int_type", "bool_type") and isinstance(detail["input"], str):
            message += "; write numbers and true/false without quotes"
        is_number = isinstance(detail["input"], int | float) and not isinstance(
            detail["input"], bool
        )
        if kind == "string_type" and is_number:
            message += f'; write text in quotes, such as "{detail["input"]}"'
        if kind == "list_type":
            message += _list_hint(detail["input"], str(detail["loc"][-1]))
    return f"{location}: {message[0].lower()}{message[1:]}"


# Pydantic error types whose message states a limit or the choices, but not the value given.
_KINDS_WITHOUT_INPUT = (
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "finite_number",
    "literal_error",
)


def _list_hint(value: object, key: str) -> str:
    """Show how to write a single value that was given where TOML needs a list."""
    if isinstance(value, dict):
        return (
            f"; put the {{ ... }} table inside square brackets, as in {key} = [{{ field = ... }}]"
        )
    if isinstance(value, str):
        return f'; write a list in square brackets, such as ["{value}"]'
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"; write a list in square brackets, such as [{value}]"
    return ""


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
        FitPoints,
        EngagementSection,
        EngagementGroup,
        EngagementRule,
        MqlSection,
        AccountsSection,
        OutputSection,
        OutcomesSection,
        StateSection,
        HandoffSection,
        NotifySection,
        ReportSection,
        ScoringModel,
    ]
    keys = {field.alias or name for model in models for name, field in model.model_fields.items()}
    return sorted(keys)
