"""The scoring model as one SQL query: cleaned tables, fit, activity points, score and MQL.

`ScoringQuery` builds dialect-neutral sqlglot trees from a config. Its common table
expressions mirror the Polars engine step by step: clean the leads and keep one row per lead
id, read the activity timestamps in the configured zone, credit in-window activities to their
leads, rank each lead's matches for `max_count`, sum the decayed points, then decide fit,
score and MQL with the same words that `leadq score` writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlglot import exp

from leadq.config import Condition, Config, EngagementRule
from leadq.sql import expressions as sql
from leadq.sql.support import check_supported

LEAD_ID = "lead_id"
_KEY = "_key"
_TYPE = "_type"
_TIMESTAMP = "_ts"
_LOCAL_TIME = "_local_time"
_DAY = "_day"
_DECAY = "_decay"
_UPDATED = "_updated"


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=name != name.lower() or " " in name)


def _user_col(name: str) -> exp.Column:
    """A column of the user's own tables, always quoted: names like `Record ID` have spaces."""
    return exp.column(name, quoted=True)


def _count(position: int) -> str:
    return f"_count_{position}"


def _points(position: int) -> str:
    return f"_points_{position}"


def _match(position: int) -> str:
    return f"_match_{position}"


def _rank(position: int) -> str:
    return f"_rank_{position}"


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
    `crm.leads`). `row_order` names a column of both tables that holds the row's position in
    the export; with it, ties between duplicate leads and between activities at the same
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
        """Every lead with the columns of `scored_leads`, sorted by lead id.

        `internal` adds the per-criterion and per-rule columns that the run summary counts.
        """
        query = self._final(internal=internal).order_by(_col(LEAD_ID))
        return self._with_ctes(
            query, self._lead_ctes() + self._activity_ctes() + self._score_ctes()
        )

    def activity_counts(self) -> exp.Select:
        """One row counting activities: total, rejected, unmatched, future, before, in window."""
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
        """The activity rows whose timestamp is missing or cannot be read, as they are stored."""
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
            # only the order matters here, so naive times are read as UTC, as leadq does
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
            *([_col("_order")] if self.row_order else []),
            exp.alias_(self._decay(), _DECAY),
            *(
                exp.alias_(_label_regexes(self._rule_match(rule), _rule_label(p, rule)), _match(p))
                for p, rule in self.activity_rules
            ),
        ).from_("credits")
        ranked = exp.select("*", *self._ranks()).from_("matched")
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
                                    [(self._counted(p, rule), exp.Literal.number(1))],
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
                                            self._counted(p, rule),
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
            .from_("ranked")
            .group_by(_col(LEAD_ID))
        )
        return [
            *self._activity_time_ctes(),
            ("credits", credits),
            ("matched", matched),
            ("ranked", ranked),
            ("activity_totals", totals),
        ]

    def _decay(self) -> exp.Expr:
        half_life = self.config.engagement.half_life_days
        if not half_life:
            return sql.number(1.0)
        age = exp.DateDiff(this=self._date(self.as_of), expression=_col(_DAY), unit=exp.var("DAY"))
        age_days = exp.cast(age, exp.DataType.Type.DOUBLE)
        return exp.Pow(this=sql.number(0.5), expression=exp.paren(age_days / sql.number(half_life)))

    def _rule_match(self, rule: EngagementRule) -> exp.Expr:
        checks: list[exp.Expr] = []
        if rule.type:
            names = sorted({name.strip().lower() for name in rule.type})
            checks.append(_col(_TYPE).isin(*names))
        checks.extend(self._condition(c, self.activity_columns, role="filter") for c in rule.where)
        return sql.is_true(sql.all_of(checks))

    def _ranks(self) -> list[exp.Expr]:
        ranks: list[exp.Expr] = []
        for position, rule in self.activity_rules:
            if rule.max_count is None:
                continue
            order = [exp.Ordered(this=_col(_LOCAL_TIME), desc=True, nulls_first=False)]
            if self.row_order:
                order.append(exp.Ordered(this=_col("_order"), desc=True, nulls_first=False))
            window = exp.Window(
                this=exp.RowNumber(),
                partition_by=[_col(LEAD_ID), _col(_match(position))],
                order=exp.Order(expressions=order),
            )
            ranks.append(exp.alias_(window, _rank(position)))
        return ranks

    def _counted(self, position: int, rule: EngagementRule) -> exp.Expr:
        if rule.max_count is None:
            return _col(_match(position))
        within_cap = _col(_rank(position)) <= exp.Literal.number(rule.max_count)
        return exp.and_(_col(_match(position)), within_cap)

    def _score_ctes(self) -> list[tuple[str, exp.Select]]:
        fit = self.config.fit
        columns: list[exp.Expr] = [exp.Column(this=exp.Star(), table=exp.to_identifier("l"))]
        for position, condition in enumerate(fit.filters):
            check = self._condition(condition, self.lead_columns, role="filter", table="l")
            label = f"fit.filters[{position + 1}] ({condition.name!r})"
            columns.append(exp.alias_(_label_regexes(check, label), f"_filter_{position}"))
        for position, exclusion in enumerate(fit.exclude):
            check = self._condition(exclusion, self.lead_columns, role="exclusion", table="l")
            label = f"fit.exclude[{position + 1}] ({exclusion.name!r})"
            columns.append(exp.alias_(_label_regexes(check, label), f"_exclusion_{position}"))
        for position, rule in enumerate(self.rules):
            columns.extend(self._rule_totals(position, rule))

        judged = exp.select(*columns).from_(exp.alias_(exp.to_table("leads_kept"), "l", table=True))
        if self.scores_activities:
            judged = judged.join(
                exp.alias_(exp.to_table("activity_totals"), "t", table=True),
                on=_col(LEAD_ID, "l").eq(_col(LEAD_ID, "t")),
                join_type="left",
            )

        total = sql.number(0)
        for position in range(len(self.rules)):
            total = total + _col(_points(position))
        failed: list[tuple[exp.Expr, exp.Expr]] = [
            (exp.not_(_col(f"_filter_{p}")), sql.text(c.name)) for p, c in enumerate(fit.filters)
        ]
        failed += [(_col(f"_exclusion_{p}"), sql.text(c.name)) for p, c in enumerate(fit.exclude)]
        by_name = sorted(range(len(self.rules)), key=lambda position: self.rules[position].name)
        reasons = [
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
        decided = exp.select(
            "*",
            exp.alias_(sql.joined_names(failed), "fit_failed"),
            exp.alias_(sql.round_half_away(total), "engagement_score"),
            exp.alias_(sql.joined_names(reasons), "reasons"),
        ).from_("judged")
        return [("judged", judged), ("decided", decided)]

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

    def _final(self, *, internal: bool) -> exp.Select:
        mql = self.config.mql
        score = _col("engagement_score")
        is_fit = _col("fit_failed").eq(sql.text(""))
        hits = sql.joined_names(
            [
                (_col(_count(p)) > exp.Literal.number(0), sql.text(rule.name))
                for p, rule in enumerate(self.rules)
                if rule.name in mql.qualifying_rules
            ]
        )
        has_hits = exp.paren(hits).neq(sql.text(""))
        if mql.threshold is None:
            over: exp.Expr = exp.false()
            score_text: exp.Expr = sql.text("")
            below: exp.Expr = sql.text("no qualifying activity")
        else:
            threshold = sql.number(mql.threshold)
            over = score >= threshold
            score_text = sql.concat(
                sql.text("score "),
                sql.number_text(score),
                sql.text(" >= "),
                sql.number_text(threshold),
            )
            below = sql.concat(
                sql.text("score "),
                sql.number_text(score),
                sql.text(" < "),
                sql.number_text(threshold),
            )
        is_mql = exp.and_(is_fit, exp.paren(exp.or_(over, has_hits)))
        qualified = sql.case(
            [
                (
                    exp.and_(over.copy(), has_hits.copy()),
                    sql.concat(score_text, sql.text("; "), hits.copy()),
                ),
                (over.copy(), score_text.copy()),
            ],
            hits.copy(),
        )
        reason = sql.case(
            [(exp.not_(is_fit.copy()), sql.text("not fit")), (is_mql.copy(), qualified)], below
        )

        outputs: list[exp.Expr] = [_col(LEAD_ID)]
        if self.config.leads.email:
            outputs.append(exp.alias_(_col(self.lead_columns[self.config.leads.email]), "email"))
        named = {LEAD_ID, "email"}
        for column in self.config.output.columns:
            if column not in named:
                named.add(column)
                outputs.append(exp.alias_(_col(self.lead_columns[column]), column, quoted=True))
        outputs += [
            exp.alias_(is_fit.copy(), "fit"),
            _col("fit_failed"),
            score,
            _col("reasons"),
            exp.alias_(is_mql, "mql"),
            exp.alias_(reason, "mql_reason"),
        ]
        if internal:
            outputs += [_col(f"_filter_{p}") for p in range(len(self.config.fit.filters))]
            outputs += [_col(f"_exclusion_{p}") for p in range(len(self.config.fit.exclude))]
            for position in range(len(self.rules)):
                outputs += [_col(_count(position)), _col(_points(position))]
        return exp.select(*outputs).from_("decided")

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
