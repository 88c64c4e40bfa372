"""The scoring model as one SQL query: cleaned tables, fit, activity points, score and MQL.

`ScoringQuery` builds dialect-neutral sqlglot trees from a config. Its common table
expressions mirror the Polars engine step by step. They clean the leads and keep one row
per lead id, read the activity timestamps in the configured zone, and credit in-window
activities to their leads. They rank each lead's matches for the frequency limits, sum the
decayed points into groups, caps and the score, then decide fit, grade, band and MQL (and
accounts, with `[accounts]`) with the same words that `leadq score` writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlglot import exp

from leadq.accounts import ACCOUNT, ACCOUNT_KEY, ACCOUNT_MQA, QUALIFIED_BY_ACCOUNT
from leadq.config import Condition, Config, EngagementRule
from leadq.engagement import ENGAGEMENT_TOTAL, cap_label
from leadq.grades import (
    ENGAGEMENT_BAND,
    FIT_GRADE,
    FIT_SCORE,
    GRADE_BAND,
    engagement_columns,
    fit_columns,
)
from leadq.sql import expressions as sql
from leadq.sql.accounts import (
    ACCOUNTED_MQL,
    ACCOUNTED_REASON,
    account_ctes,
    accounts_table,
)
from leadq.sql.support import check_supported

LEAD_ID = "lead_id"
_KEY = "_key"
_TYPE = "_type"
_TIMESTAMP = "_ts"
_LOCAL_TIME = "_local_time"
_DAY = "_day"
_DECAY = "_decay"
_UPDATED = "_updated"
_FIT = "_fit"
_TOTAL = "_total"
_SCORE = "_score"


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=name != name.lower() or " " in name)


def _user_col(name: str) -> exp.Column:
    """Build a quoted column of the user's tables, because names like `Record ID` have spaces."""
    return exp.column(name, quoted=True)


def _count(position: int) -> str:
    return f"_count_{position}"


def _points(position: int) -> str:
    return f"_points_{position}"


def _match(position: int) -> str:
    return f"_match_{position}"


def _rank(stage: str, position: int) -> str:
    return f"_rank_{stage}_{position}"


# The frequency limits of a rule apply in this order, each to the matches that the limits
# before it kept, as in leadq.engagement.with_frequency_cuts.
_STAGES = ("day", "period", "count")


def _frequency_stages(rule: EngagementRule) -> list[tuple[str, int]]:
    """List the frequency limits of `rule` in the order they apply, with the matches each keeps."""
    stages: list[tuple[str, int]] = []
    if rule.max_per_day is not None:
        stages.append(("day", rule.max_per_day))
    if rule.once_per_days is not None:
        stages.append(("period", 1))
    if rule.max_count is not None:
        stages.append(("count", rule.max_count))
    return stages


def _group_sum(index: int) -> str:
    return f"_group_sum_{index}"


def _group(index: int) -> str:
    return f"_group_{index}"


def _sum(values: Sequence[exp.Expr]) -> exp.Expr:
    """Add values left to right, in the order leadq.engagement adds them, or return 0 for none."""
    if not values:
        return sql.number(0)
    total = values[0]
    for value in values[1:]:
        total = total + value
    return total


def _capped(total: exp.Expr, cap: float | None) -> exp.Expr:
    if cap is None:
        return total
    return exp.Least(this=total, expressions=[sql.number(cap)])


def _scale(score: exp.Expr, minimums: dict[str, float], fallback: str) -> exp.Expr:
    """Build the name of the best grade or band whose minimum `score` reaches, else `fallback`."""
    steps = [
        (score.copy() >= sql.number(minimum), sql.text(name)) for name, minimum in minimums.items()
    ]
    return sql.case(steps, sql.text(fallback))


def _cap_note(cut: exp.Expr, label: str) -> tuple[exp.Expr, exp.Expr]:
    """Build the `reasons` note `label (-5.33)` for rows where a cap cut points."""
    amount = sql.number_text(sql.round_half_away(cut.copy()))
    return cut > sql.number(0), sql.concat(sql.text(f"{label} (-"), amount, sql.text(")"))


def _comparison_text(name: str, value: exp.Expr, operator: str, bar: exp.Expr) -> exp.Expr:
    """Build a text such as `score 55 >= 40` from a rounded value, the operator and the bar."""
    return sql.concat(
        sql.text(f"{name} "),
        sql.number_text(value.copy()),
        sql.text(f" {operator} "),
        sql.number_text(bar.copy()),
    )


def _rule_label(position: int, rule: EngagementRule) -> str:
    return f"engagement.rules[{position + 1}] ({rule.name!r})"


def _label_regexes(tree: exp.Expr, label: str) -> exp.Expr:
    """Remember which rule a regular expression comes from, for errors about its dialect."""
    for node in tree.find_all(exp.RegexpLike):
        node.meta.setdefault("rule", label)
    return tree


class ScoringQuery:
    """The SQL form of one config, scored as of the end of `as_of`.

    `leads_table` and `activities_table` name the tables (optionally qualified, such as
    `crm.leads`). `row_order` names a column of both tables that contains the row's position
    in the export. With it, ties between duplicate leads and between activities at the same
    time go to the later row, as in `leadq score`. Without it, duplicate lead ids keep an
    arbitrary row among those with the latest `leads.updated_at`.
    """

    def __init__(
        self,
        config: Config,
        *,
        as_of: dt.date,
        leads_table: str = "leads",
        activities_table: str = "activities",
        row_order: str | None = None,
    ) -> None:
        check_supported(config)
        self.config = config
        self.as_of = as_of
        self.first_day = as_of - dt.timedelta(days=config.engagement.lookback_days - 1)
        self.leads_table = exp.to_table(leads_table)
        self.activities_table = exp.to_table(activities_table)
        self.row_order = row_order
        self.timezone = config.activities.timezone if config.activities else "UTC"
        self.decimal_comma = config.inputs.decimal_comma
        self.rules = config.engagement.rules
        self.activity_rules = [(p, r) for p, r in enumerate(self.rules) if r.source == "activity"]
        self.lead_columns = {column: f"_l{i}" for i, column in enumerate(config.lead_column_uses())}
        self.scores_activities = bool(self.activity_rules) and config.activities is not None
        self.activity_columns = (
            {column: f"_a{i}" for i, column in enumerate(config.activity_column_uses())}
            if config.activities is not None
            else {}
        )

    def scored_leads(self, *, internal: bool = False) -> exp.Select:
        """Select every lead with the columns of `scored_leads`, sorted by lead id.

        `internal` adds the per-criterion and per-rule columns that the run summary counts.
        """
        query = self._final(internal=internal).order_by(_col(LEAD_ID))
        return self._with_ctes(query, self._lead_level_ctes())

    def accounts(self, *, internal: bool = False) -> exp.Select:
        """Select every account with the columns of the `accounts` output, highest score first.

        Needs `[accounts]` in the config. `internal` adds the account key, each filter's and
        exclusion's outcome and every attribute the filters read.
        """
        section = self.config.accounts
        assert section is not None
        query = accounts_table(section, internal=internal)
        # NOTE: this statement repeats every lead-level step of `scored_leads`, so a script
        # with [accounts] scores the leads twice. A shared temporary table would need each
        # dialect's own syntax for it.
        return self._with_ctes(query, self._lead_level_ctes())

    def _lead_level_ctes(self) -> list[tuple[str, exp.Select]]:
        ctes = self._lead_ctes() + self._activity_ctes() + self._score_ctes()
        ctes.append(("qualified", self._qualified()))
        section = self.config.accounts
        if section is not None:
            ctes += account_ctes(
                section,
                self.config.mql,
                self.lead_columns,
                email=self.lead_columns.get(self.config.leads.email or ""),
                decimal_comma=self.decimal_comma,
            )
        return ctes

    def activity_counts(self) -> exp.Select:
        """Count activities in one row: total, rejected, unmatched, future, before, in window."""
        usable = exp.and_(
            _col(_TIMESTAMP).is_(exp.not_(exp.null())),
            _col(_LOCAL_TIME).is_(exp.not_(exp.null())),
        )
        matched = exp.and_(usable, _col(_KEY, "k").is_(exp.not_(exp.null())))
        day = exp.cast(_col(_LOCAL_TIME), exp.DataType.Type.DATE)
        outcomes = {
            "rejected": exp.not_(usable),
            "unmatched": exp.and_(usable, _col(_KEY, "k").is_(exp.null())),
            "future_dated": exp.and_(matched, day > self._date(self.as_of)),
            "before_window": exp.and_(matched, day < self._date(self.first_day)),
            "in_window": exp.and_(
                matched,
                exp.Between(this=day, low=self._date(self.first_day), high=self._date(self.as_of)),
            ),
        }
        keys = exp.select(_col(_KEY)).distinct().from_("lead_keys")
        query = (
            exp.select(
                exp.alias_(exp.Count(this=exp.Star()), "total"),
                *(
                    exp.alias_(
                        exp.Sum(
                            this=sql.case([(check, exp.Literal.number(1))], exp.Literal.number(0))
                        ),
                        name,
                    )
                    for name, check in outcomes.items()
                ),
            )
            .from_(exp.alias_(exp.to_table("activity_times"), "a", table=True))
            .join(
                exp.alias_(keys.subquery(), "k", table=True),
                on=_col(_KEY, "a").eq(_col(_KEY, "k")),
                join_type="left",
            )
        )
        return self._with_ctes(query, self._lead_ctes() + self._activity_time_ctes())

    def unreadable_activities(self) -> exp.Select:
        """Select the activity rows whose timestamp is missing or unreadable, as they are stored."""
        section = self.config.activities
        assert section is not None
        cleaned = sql.clean_text(_user_col(section.timestamp), self.config.inputs.null_values)
        readable = sql.local_time(cleaned, self.timezone).is_(exp.not_(exp.null()))
        query = exp.select("*").from_(self.activities_table.copy())
        return query.where(
            exp.not_(exp.paren(exp.and_(cleaned.is_(exp.not_(exp.null())), readable)))
        )

    def slashed_timestamps(self) -> exp.Select:
        """Count activities with a slashed date such as 03/04/2026, which the SQL cannot read."""
        section = self.config.activities
        assert section is not None
        cleaned = sql.clean_text(_user_col(section.timestamp), self.config.inputs.null_values)
        query = exp.select(exp.alias_(exp.Count(this=exp.Star()), "slashed"))
        query = query.from_(self.activities_table.copy())
        return query.where(sql.search(cleaned, sql.SLASHED_PATTERN))

    def _lead_ctes(self) -> list[tuple[str, exp.Select]]:
        nulls = self.config.inputs.null_values
        cleaned = [
            exp.alias_(sql.clean_text(_user_col(column), nulls), alias)
            for column, alias in self.lead_columns.items()
        ]
        if self.row_order:
            cleaned.append(exp.alias_(_user_col(self.row_order), "_order"))
        rows = exp.select(*cleaned).from_(self.leads_table.copy())

        id_column = _col(self.lead_columns[self.config.leads.id])
        columns: list[exp.Expr] = [exp.Star(), exp.alias_(id_column, LEAD_ID)]
        order: list[exp.Ordered] = []
        updated_at = self.config.leads.updated_at
        if updated_at:
            # Only the order matters here, so naive times are read as UTC, as leadq does.
            updated = sql.local_time(_col(self.lead_columns[updated_at]), "UTC")
            columns.append(exp.alias_(updated, _UPDATED))
            order.append(exp.Ordered(this=_col(_UPDATED), desc=True, nulls_first=False))
        if self.row_order:
            order.append(exp.Ordered(this=_col("_order"), desc=True, nulls_first=False))
        with_id = exp.select(*columns).from_("lead_rows").where(id_column.is_(exp.not_(exp.null())))

        ranking = exp.Window(
            this=exp.RowNumber(),
            partition_by=[_col(LEAD_ID)],
            order=exp.Order(expressions=order) if order else None,
        )
        ranked = exp.select("*", exp.alias_(ranking, "_row")).from_("lead_ids")
        kept = exp.select("*").from_(exp.alias_(ranked.subquery(), "r", table=True))
        kept = kept.where(_col("_row").eq(exp.Literal.number(1)))

        ctes = [("lead_rows", rows), ("lead_ids", with_id), ("leads_kept", kept)]
        if self.config.activities is not None:
            ctes.append(("lead_keys", self._lead_keys()))
        return ctes

    def _lead_keys(self) -> exp.Select:
        section = self.config.activities
        assert section is not None
        if section.lead_id:
            key: exp.Expr = _col(LEAD_ID)
        else:
            assert self.config.leads.email is not None
            key = exp.Lower(this=_col(self.lead_columns[self.config.leads.email]))
        query = exp.select(_col(LEAD_ID), exp.alias_(key, _KEY)).from_("leads_kept")
        return query.where(key.copy().is_(exp.not_(exp.null())))

    def _activity_time_ctes(self) -> list[tuple[str, exp.Select]]:
        section = self.config.activities
        assert section is not None
        nulls = self.config.inputs.null_values

        def cleaned(column: str) -> exp.Expr:
            return sql.clean_text(_user_col(column), nulls)

        key_column = section.lead_id or section.email
        assert key_column is not None
        key = cleaned(key_column) if section.lead_id else exp.Lower(this=cleaned(key_column))
        columns = [
            exp.alias_(key, _KEY),
            exp.alias_(exp.Lower(this=cleaned(section.type)), _TYPE),
            exp.alias_(cleaned(section.timestamp), _TIMESTAMP),
            *(
                exp.alias_(cleaned(column), alias)
                for column, alias in self.activity_columns.items()
            ),
        ]
        if self.row_order:
            columns.append(exp.alias_(_user_col(self.row_order), "_order"))
        rows = exp.select(*columns).from_(self.activities_table.copy())
        times = exp.select(
            "*", exp.alias_(sql.local_time(_col(_TIMESTAMP), self.timezone), _LOCAL_TIME)
        )
        times = times.from_("activity_rows")
        return [("activity_rows", rows), ("activity_times", times)]

    def _activity_ctes(self) -> list[tuple[str, exp.Select]]:
        if not self.scores_activities:
            return []

        day = exp.cast(_col(_LOCAL_TIME, "a"), exp.DataType.Type.DATE)
        credits = (
            exp.select(
                _col(LEAD_ID, "k"),
                exp.Column(this=exp.Star(), table=exp.to_identifier("a")),
                exp.alias_(day, _DAY),
            )
            .from_(exp.alias_(exp.to_table("activity_times"), "a", table=True))
            .join(
                exp.alias_(exp.to_table("lead_keys"), "k", table=True),
                on=_col(_KEY, "a").eq(_col(_KEY, "k")),
            )
            .where(
                exp.Between(
                    this=day.copy(), low=self._date(self.first_day), high=self._date(self.as_of)
                )
            )
        )
        matched = exp.select(
            _col(LEAD_ID),
            _col(_LOCAL_TIME),
            _col(_DAY),
            *([_col("_order")] if self.row_order else []),
            exp.alias_(self._decay(), _DECAY),
            *(
                exp.alias_(_label_regexes(self._rule_match(rule), _rule_label(p, rule)), _match(p))
                for p, rule in self.activity_rules
            ),
        ).from_("credits")
        ranking = self._frequency_ctes()
        counted_from = ranking[-1][0] if ranking else "matched"
        totals = (
            exp.select(
                _col(LEAD_ID),
                *(
                    expr
                    for p, rule in self.activity_rules
                    for expr in (
                        exp.alias_(
                            exp.Sum(
                                this=sql.case(
                                    [(self._kept(p, rule), exp.Literal.number(1))],
                                    exp.Literal.number(0),
                                )
                            ),
                            _count(p),
                        ),
                        exp.alias_(
                            exp.Sum(
                                this=sql.case(
                                    [
                                        (
                                            self._kept(p, rule),
                                            _col(_DECAY) * sql.number(rule.points),
                                        )
                                    ],
                                    sql.number(0),
                                )
                            ),
                            _points(p),
                        ),
                    )
                ),
            )
            .from_(counted_from)
            .group_by(_col(LEAD_ID))
        )
        return [
            *self._activity_time_ctes(),
            ("credits", credits),
            ("matched", matched),
            *ranking,
            ("activity_totals", totals),
        ]

    def _age_days(self) -> exp.Expr:
        """Return the whole days from an activity's day to the as-of day, as a double."""
        age = exp.DateDiff(this=self._date(self.as_of), expression=_col(_DAY), unit=exp.var("DAY"))
        return exp.cast(age, exp.DataType.Type.DOUBLE)

    def _decay(self) -> exp.Expr:
        engagement = self.config.engagement
        if engagement.decay == "linear":
            lookback = sql.number(engagement.lookback_days)
            return sql.number(1.0) - self._age_days() / lookback
        half_life = engagement.half_life_days
        if not half_life:
            return sql.number(1.0)
        exponent = exp.paren(self._age_days() / sql.number(half_life))
        return exp.Pow(this=sql.number(0.5), expression=exponent)

    def _rule_match(self, rule: EngagementRule) -> exp.Expr:
        checks: list[exp.Expr] = []
        if rule.type:
            names = sorted({name.strip().lower() for name in rule.type})
            checks.append(_col(_TYPE).isin(*names))
        checks.extend(self._condition(c, self.activity_columns, role="filter") for c in rule.where)
        return sql.is_true(sql.all_of(checks))

    def _frequency_ctes(self) -> list[tuple[str, exp.Select]]:
        """Rank each lead's matches once per frequency limit, latest first, in one CTE per limit.

        A limit ranks only the matches that the limits before it kept, by putting whether a
        match is still kept into the window's partition.
        """
        ctes: list[tuple[str, exp.Select]] = []
        previous = "matched"
        for stage in _STAGES:
            ranks = [
                exp.alias_(self._stage_rank(stage, position, rule), _rank(stage, position))
                for position, rule in self.activity_rules
                if stage in dict(_frequency_stages(rule))
            ]
            if ranks:
                name = f"ranked_by_{stage}"
                ctes.append((name, exp.select("*", *ranks).from_(previous)))
                previous = name
        return ctes

    def _stage_rank(self, stage: str, position: int, rule: EngagementRule) -> exp.Window:
        partition: list[exp.Expr] = [_col(LEAD_ID), exp.paren(self._kept(position, rule, stage))]
        if stage == "day":
            partition.append(_col(_DAY))
        elif stage == "period":
            assert rule.once_per_days is not None
            # Period k contains the ages k*N to k*N+N-1, counted back from the as-of day.
            period = exp.Floor(this=self._age_days() / sql.number(rule.once_per_days))
            partition.append(period)
        order = [exp.Ordered(this=_col(_LOCAL_TIME), desc=True, nulls_first=False)]
        if self.row_order:
            order.append(exp.Ordered(this=_col("_order"), desc=True, nulls_first=False))
        return exp.Window(
            this=exp.RowNumber(), partition_by=partition, order=exp.Order(expressions=order)
        )

    def _kept(self, position: int, rule: EngagementRule, before: str | None = None) -> exp.Expr:
        """Build the condition that a match of `rule` counts after its frequency limits.

        With `before`, only the limits that apply before that stage are applied.
        """
        kept: exp.Expr = _col(_match(position))
        for stage, limit in _frequency_stages(rule):
            if stage == before:
                break
            kept = exp.and_(kept, _col(_rank(stage, position)) <= exp.Literal.number(limit))
        return kept

    def _score_ctes(self) -> list[tuple[str, exp.Select]]:
        """Judge fit, sum the points into groups, caps and the score, then grade and band."""
        fit = self.config.fit
        engagement = self.config.engagement
        columns: list[exp.Expr] = [exp.Column(this=exp.Star(), table=exp.to_identifier("l"))]
        for position, condition in enumerate(fit.filters):
            check = self._condition(condition, self.lead_columns, role="filter", table="l")
            label = f"fit.filters[{position + 1}] ({condition.name!r})"
            columns.append(exp.alias_(_label_regexes(check, label), f"_filter_{position}"))
        for position, exclusion in enumerate(fit.exclude):
            check = self._condition(exclusion, self.lead_columns, role="exclusion", table="l")
            label = f"fit.exclude[{position + 1}] ({exclusion.name!r})"
            columns.append(exp.alias_(_label_regexes(check, label), f"_exclusion_{position}"))
        for position, criterion in enumerate(fit.points):
            check = self._condition(criterion, self.lead_columns, role="filter", table="l")
            label = f"fit.points[{position + 1}] ({criterion.name!r})"
            columns.append(exp.alias_(_label_regexes(check, label), f"_fit_points_{position}"))
        for position, rule in enumerate(self.rules):
            columns.extend(self._rule_totals(position, rule))

        judged = exp.select(*columns).from_(exp.alias_(exp.to_table("leads_kept"), "l", table=True))
        if self.scores_activities:
            judged = judged.join(
                exp.alias_(exp.to_table("activity_totals"), "t", table=True),
                on=_col(LEAD_ID, "l").eq(_col(LEAD_ID, "t")),
                join_type="left",
            )

        failed: list[tuple[exp.Expr, exp.Expr]] = [
            (exp.not_(_col(f"_filter_{p}")), sql.text(c.name)) for p, c in enumerate(fit.filters)
        ]
        failed += [(_col(f"_exclusion_{p}"), sql.text(c.name)) for p, c in enumerate(fit.exclude)]
        totaled_columns: list[exp.Expr] = [
            exp.Star(),
            exp.alias_(sql.joined_names(failed), "fit_failed"),
        ]
        if fit.points:
            earned = [
                sql.case([(_col(f"_fit_points_{p}"), sql.number(c.points))], sql.number(0))
                for p, c in enumerate(fit.points)
            ]
            # The rounded score is the one written, so it is also the one the grades compare.
            totaled_columns.append(exp.alias_(sql.round_half_away(_sum(earned)), FIT_SCORE))
        for index, group in enumerate(engagement.groups):
            members = [_col(_points(p)) for p, r in enumerate(self.rules) if r.group == group.name]
            totaled_columns.append(exp.alias_(_sum(members), _group_sum(index)))
        totaled = exp.select(*totaled_columns).from_("judged")

        # A cap limits from above only, so negative points are never cut.
        subtotals = [
            exp.alias_(_capped(_col(_group_sum(index)), group.max_points), _group(index))
            for index, group in enumerate(engagement.groups)
        ]
        ungrouped = [_col(_points(p)) for p, rule in enumerate(self.rules) if rule.group is None]
        # Groups come first, then the other rules in config order, as leadq.engagement adds them.
        total = _sum([*(_col(_group(i)) for i in range(len(engagement.groups))), *ungrouped])
        capped = exp.select("*", *subtotals).from_("totaled")
        capped = exp.select("*", exp.alias_(total, _TOTAL)).from_(
            exp.alias_(capped.subquery(), "s", table=True)
        )

        score = _capped(_col(_TOTAL), engagement.max_points)
        decided_columns: list[exp.Expr] = [
            exp.Star(),
            exp.alias_(score, _SCORE),
            exp.alias_(sql.round_half_away(score.copy()), "engagement_score"),
            *(
                exp.alias_(sql.round_half_away(_col(_group(index))), group.column, quoted=True)
                for index, group in enumerate(engagement.groups)
            ),
            exp.alias_(self._reasons(), "reasons"),
        ]
        if fit.grades is not None and fit.fallback_grade is not None:
            grade = _scale(_col(FIT_SCORE), fit.grades, fit.fallback_grade)
            decided_columns.append(exp.alias_(grade, FIT_GRADE))
        decided = exp.select(*decided_columns).from_("capped")

        graded_columns: list[exp.Expr] = [exp.Star()]
        if engagement.bands is not None and engagement.fallback_band is not None:
            band = _scale(_col("engagement_score"), engagement.bands, engagement.fallback_band)
            graded_columns.append(exp.alias_(band, ENGAGEMENT_BAND))
            if fit.grade_names():
                cell = sql.concat(_col(FIT_GRADE), band.copy())
                graded_columns.append(exp.alias_(cell, GRADE_BAND))
        graded = exp.select(*graded_columns).from_("decided")
        return [
            ("judged", judged),
            ("totaled", totaled),
            ("capped", capped),
            ("decided", decided),
            ("graded", graded),
        ]

    def _reasons(self) -> exp.Expr:
        """Build `reasons`: each rule that counted, by name, then the notes of the caps that cut."""
        engagement = self.config.engagement
        by_name = sorted(range(len(self.rules)), key=lambda position: self.rules[position].name)
        parts: list[tuple[exp.Expr, exp.Expr]] = [
            (
                _col(_count(p)) > exp.Literal.number(0),
                sql.concat(
                    sql.text(f"{self.rules[p].name} x"),
                    exp.cast(_col(_count(p)), "text"),
                    sql.text(" "),
                    sql.signed_number_text(sql.round_half_away(_col(_points(p)))),
                ),
            )
            for p in by_name
        ]
        for index, group in enumerate(engagement.groups):
            if group.max_points is not None:
                cut = _col(_group_sum(index)) - _col(_group(index))
                parts.append(_cap_note(cut, cap_label(group.max_points, group.name)))
        if engagement.max_points is not None:
            cut = _col(_TOTAL) - _capped(_col(_TOTAL), engagement.max_points)
            parts.append(_cap_note(cut, cap_label(engagement.max_points)))
        return sql.joined_names(parts)

    def _rule_totals(self, position: int, rule: EngagementRule) -> list[exp.Expr]:
        if rule.source == "lead":
            checks = [
                self._condition(c, self.lead_columns, role="filter", table="l") for c in rule.where
            ]
            hit = _label_regexes(sql.is_true(sql.all_of(checks)), _rule_label(position, rule))
            return [
                exp.alias_(
                    sql.case([(hit, exp.Literal.number(1))], exp.Literal.number(0)),
                    _count(position),
                ),
                exp.alias_(
                    sql.case([(hit.copy(), sql.number(rule.points))], sql.number(0)),
                    _points(position),
                ),
            ]
        if not self.scores_activities:
            return [
                exp.alias_(exp.Literal.number(0), _count(position)),
                exp.alias_(sql.number(0), _points(position)),
            ]
        return [
            exp.alias_(
                exp.Coalesce(this=_col(_count(position), "t"), expressions=[exp.Literal.number(0)]),
                _count(position),
            ),
            exp.alias_(
                exp.Coalesce(this=_col(_points(position), "t"), expressions=[sql.number(0)]),
                _points(position),
            ),
        ]

    def _qualified(self) -> exp.Select:
        """Select every lead with `_fit`, `mql` and `mql_reason`, before any account rule."""
        mql = self.config.mql
        is_fit = _col("fit_failed").eq(sql.text(""))
        hits = sql.joined_names(
            [
                (_col(_count(p)) > exp.Literal.number(0), sql.text(rule.name))
                for p, rule in enumerate(self.rules)
                if rule.name in mql.qualifying_rules
            ]
        )
        has_hits = exp.paren(hits).neq(sql.text(""))
        reached: list[tuple[exp.Expr, exp.Expr]] = []
        below_texts: list[exp.Expr] = []
        if mql.threshold is not None:
            score = _col("engagement_score")
            threshold = sql.number(mql.threshold)
            reached.append((score >= threshold, _comparison_text("score", score, ">=", threshold)))
            below_texts.append(_comparison_text("score", score, "<", threshold))
        if mql.cells:
            in_cell = _col(GRADE_BAND).isin(*(sql.text(cell) for cell in mql.cells))
            reached.append((in_cell, sql.concat(sql.text("cell "), _col(GRADE_BAND))))
            below_texts.append(
                sql.concat(sql.text("cell "), _col(GRADE_BAND), sql.text(" not listed"))
            )
        if mql.threshold is None and mql.qualifying_rules:
            below_texts.append(sql.text("no qualifying activity"))
        reached.append((has_hits, hits.copy()))

        grade_ok: exp.Expr = exp.true()
        if mql.min_grade is not None:
            names = self.config.fit.grade_names()
            good_enough = names[: names.index(mql.min_grade) + 1]
            grade_ok = _col(FIT_GRADE).isin(*(sql.text(grade) for grade in good_enough))
        qualifies = exp.or_(*(check.copy() for check, _ in reached))
        is_mql = exp.and_(is_fit, grade_ok, exp.paren(qualifies))

        below: exp.Expr = sql.text("")
        for position, text in enumerate(below_texts):
            below = text if position == 0 else sql.concat(below, sql.text("; "), text)
        branches: list[tuple[exp.Expr, exp.Expr]] = [(exp.not_(is_fit.copy()), sql.text("not fit"))]
        if mql.min_grade is not None:
            below_grade = sql.concat(
                sql.text("grade "), _col(FIT_GRADE), sql.text(f" below {mql.min_grade}")
            )
            branches.append((exp.not_(grade_ok.copy()), below_grade))
        branches.append((is_mql.copy(), sql.joined_names(reached)))
        return exp.select(
            "*",
            exp.alias_(is_fit.copy(), _FIT),
            exp.alias_(is_mql, "mql"),
            exp.alias_(sql.case(branches, below), "mql_reason"),
        ).from_("graded")

    def _final(self, *, internal: bool) -> exp.Select:
        outputs: list[exp.Expr] = [_col(LEAD_ID)]
        if self.config.leads.email:
            outputs.append(exp.alias_(_col(self.lead_columns[self.config.leads.email]), "email"))
        named = {LEAD_ID, "email"}
        for column in self.config.output.columns:
            if column not in named:
                named.add(column)
                outputs.append(exp.alias_(_col(self.lead_columns[column]), column, quoted=True))
        outputs += [exp.alias_(_col(_FIT), "fit"), _col("fit_failed")]
        outputs += [_col(column) for column in fit_columns(self.config)]
        outputs.append(_col("engagement_score"))
        outputs += [_col(group.column) for group in self.config.engagement.groups]
        outputs += [_col(column) for column in engagement_columns(self.config)]
        outputs.append(_col("reasons"))
        if self.config.accounts is None:
            outputs += [_col("mql"), _col("mql_reason")]
        else:
            outputs += [
                exp.alias_(_col(ACCOUNTED_MQL), "mql"),
                exp.alias_(_col(ACCOUNTED_REASON), "mql_reason"),
                _col(ACCOUNT),
                _col(ACCOUNT_MQA),
            ]
        if internal:
            outputs += self._internal_columns(named)
        source = "qualified" if self.config.accounts is None else "accounted"
        return exp.select(*outputs).from_(source)

    def _internal_columns(self, named: set[str]) -> list[exp.Expr]:
        """List the non-output columns that the run summary, the report and `leadq explain` read."""
        config = self.config
        columns: list[exp.Expr] = [_col(f"_filter_{p}") for p in range(len(config.fit.filters))]
        columns += [_col(f"_exclusion_{p}") for p in range(len(config.fit.exclude))]
        columns += [_col(f"_fit_points_{p}") for p in range(len(config.fit.points))]
        for position in range(len(self.rules)):
            columns += [_col(_count(position)), _col(_points(position))]
        columns.append(exp.alias_(_col(_SCORE), ENGAGEMENT_TOTAL))
        group_by = config.report.group_by
        if group_by and group_by not in named:
            columns.append(exp.alias_(_col(self.lead_columns[group_by]), group_by, quoted=True))
        if config.accounts is not None:
            columns += [_col(ACCOUNT_KEY), _col(QUALIFIED_BY_ACCOUNT)]
        return columns

    def _condition(
        self, condition: Condition, columns: dict[str, str], *, role: str, table: str | None = None
    ) -> exp.Expr:
        value = _col(columns[condition.field], table)
        return sql.condition_sql(condition, value, role=role, decimal_comma=self.decimal_comma)

    @staticmethod
    def _date(day: dt.date) -> exp.Expr:
        return exp.cast(sql.text(day.isoformat()), exp.DataType.Type.DATE)

    @staticmethod
    def _with_ctes(query: exp.Select, ctes: Sequence[tuple[str, exp.Select]]) -> exp.Select:
        for name, cte in ctes:
            query = query.with_(name, as_=cte)
        return query
