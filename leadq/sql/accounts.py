"""Accounts in SQL: leads rolled up by account, account fit, MQA and the account rule.

The common table expressions here follow leadq.accounts step by step. They start from the
CTE `qualified` of leadq.sql.query: one row per lead with its cleaned columns (named by
`lead_columns`), `lead_id`, `_fit`, the rounded `engagement_score`, `mql` and `mql_reason`.
They end in `accounted`, the leads with `account`, `account_mqa` and the MQL decision
after `mql.account_rule`.
"""

from __future__ import annotations

from sqlglot import exp

from leadq.accounts import (
    ACCOUNT,
    ACCOUNT_COLUMNS,
    ACCOUNT_KEY,
    ACCOUNT_MQA,
    QUALIFIED_BY_ACCOUNT,
    attribute_column,
    attribute_columns,
)
from leadq.config import ACCOUNT_ATTRIBUTES, AccountsSection, MqlSection
from leadq.engagement import LEAD_ID
from leadq.sql import expressions as sql

_NAME = "_account_name"
_VALUE = "_value"
_PICK = "_pick"
_MQA_REASON = "_mqa"
ACCOUNTED_MQL = "_accounted_mql"
"""`mql` after `mql.account_rule`, in the CTE `accounted`."""
ACCOUNTED_REASON = "_accounted_mql_reason"
"""`mql_reason` after `mql.account_rule`, in the CTE `accounted`."""
# The attributes that leadq computes, as text, because conditions read text.
_COMPUTED = {"account": ACCOUNT, "lead_count": "_lead_count", "fit_leads": "_fit_leads_text"}


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=name != name.lower() or " " in name)


def _attribute_alias(position: int) -> str:
    return f"_attribute_{position}"


def _attribute_aliases(section: AccountsSection) -> dict[str, str]:
    """Map each field that account filters read to its column in `account_attributes`."""
    aliases = dict(_COMPUTED)
    for position, column in enumerate(attribute_columns(section)):
        aliases[column] = _attribute_alias(position)
    return aliases


def account_ctes(
    section: AccountsSection,
    mql: MqlSection,
    lead_columns: dict[str, str],
    *,
    email: str | None,
    decimal_comma: bool,
) -> list[tuple[str, exp.Select]]:
    """Build the CTEs from `qualified` to `accounts_decided` and `accounted`."""
    if section.key_from_email:
        assert email is not None
        # The domain is the part after the last @, so "a@b@acme.com" still names acme.com.
        domain = sql.extract(exp.Lower(this=_col(email)), r"@([^@]*)$")
        name: exp.Expr = exp.Nullif(this=exp.Trim(this=domain), expression=sql.text(""))
    else:
        assert section.key is not None
        name = _col(lead_columns[section.key])
    key = name.copy() if section.key_case_sensitive else exp.Lower(this=name.copy())
    account_leads = exp.select("*", exp.alias_(name, _NAME), exp.alias_(key, ACCOUNT_KEY))
    account_leads = account_leads.from_("qualified")

    ctes: list[tuple[str, exp.Select]] = [
        ("account_leads", account_leads),
        ("account_totals", _totals(section)),
        ("account_values_0", _most_common(_col(_NAME))),
    ]
    fields = attribute_columns(section)
    for position, field in enumerate(fields, start=1):
        ctes.append((f"account_values_{position}", _most_common(_col(lead_columns[field]))))

    attributes = exp.select(
        exp.Column(this=exp.Star(), table=exp.to_identifier("t")),
        exp.alias_(_col(_VALUE, "v0"), ACCOUNT),
        exp.alias_(exp.cast(_col("leads", "t"), "text"), _COMPUTED["lead_count"]),
        exp.alias_(exp.cast(_col("fit_leads", "t"), "text"), _COMPUTED["fit_leads"]),
        *(
            exp.alias_(_col(_VALUE, f"v{position}"), _attribute_alias(position - 1))
            for position in range(1, len(fields) + 1)
        ),
    ).from_(exp.alias_(exp.to_table("account_totals"), "t", table=True))
    for position in range(len(fields) + 1):
        alias = f"v{position}"
        attributes = attributes.join(
            exp.alias_(exp.to_table(f"account_values_{position}"), alias, table=True),
            on=exp.and_(
                _col(ACCOUNT_KEY, "t").eq(_col(ACCOUNT_KEY, alias)),
                _col(_PICK, alias).eq(exp.Literal.number(1)),
            ),
            join_type="left",
        )
    ctes.append(("account_attributes", attributes))
    ctes.append(("accounts_judged", _judged(section, decimal_comma=decimal_comma)))
    ctes.append(("accounts_decided", _decided(section)))
    ctes.append(("accounted", _accounted(mql)))
    return ctes


def accounts_table(section: AccountsSection, *, internal: bool) -> exp.Select:
    """Select the `accounts` output from `accounts_decided`, highest score first, then by name."""
    aliases = _attribute_aliases(section)
    columns: list[exp.Expr] = [_col(column) for column in ACCOUNT_COLUMNS]
    columns += [
        exp.alias_(_col(aliases[field]), field, quoted=True)
        for field in attribute_columns(section)
        if field not in ACCOUNT_COLUMNS
    ]
    if internal:
        columns.append(_col(ACCOUNT_KEY))
        columns += [_col(f"_filter_{p}") for p in range(len(section.filters))]
        columns += [_col(f"_exclusion_{p}") for p in range(len(section.exclude))]
        columns += [
            exp.alias_(_col(aliases[field]), attribute_column(field), quoted=True)
            for field in [*ACCOUNT_ATTRIBUTES, *attribute_columns(section)]
        ]
    order = [
        exp.Ordered(this=_col("engagement_score"), desc=True, nulls_first=False),
        exp.Ordered(this=_col(ACCOUNT), nulls_first=True),
        exp.Ordered(this=_col(ACCOUNT_KEY), nulls_first=True),
    ]
    return exp.select(*columns).from_("accounts_decided").order_by(*order)


def _totals(section: AccountsSection) -> exp.Select:
    """Count each account's leads and add up the rounded scores of the leads that count."""
    counts: exp.Expr = _col("_fit") if section.leads == "fit" else exp.true()
    score = _col("engagement_score")
    engaged = exp.and_(counts, score > sql.number(0))
    counted = sql.case([(counts.copy(), score.copy())])
    total: exp.Expr = (
        exp.Sum(this=counted) if section.engagement == "sum" else exp.Max(this=counted)
    )
    total = exp.Coalesce(this=total, expressions=[sql.number(0)])
    engaged_ids = exp.GroupConcat(
        this=exp.Order(
            this=sql.case([(engaged.copy(), _col(LEAD_ID))]),
            expressions=[
                # Neither is ever null. These null orders are each warehouse's default,
                # which BigQuery needs because it cannot set one in an aggregate.
                exp.Ordered(this=score.copy(), desc=True, nulls_first=False),
                exp.Ordered(this=_col(LEAD_ID), nulls_first=True),
            ],
        ),
        separator=sql.text("; "),
    )
    return (
        exp.select(
            _col(ACCOUNT_KEY),
            exp.alias_(exp.Count(this=exp.Star()), "leads"),
            exp.alias_(_count_where(_col("_fit")), "fit_leads"),
            exp.alias_(_count_where(engaged), "engaged_leads"),
            # The sum uses the leads' rounded scores, so it adds up what scored_leads shows.
            exp.alias_(sql.round_half_away(total), "engagement_score"),
            exp.alias_(
                exp.Coalesce(this=engaged_ids, expressions=[sql.text("")]), "engaged_lead_ids"
            ),
        )
        .from_("account_leads")
        .where(_col(ACCOUNT_KEY).is_(exp.not_(exp.null())))
        .group_by(_col(ACCOUNT_KEY))
    )


def _count_where(check: exp.Expr) -> exp.Expr:
    return exp.Sum(this=sql.case([(check, exp.Literal.number(1))], exp.Literal.number(0)))


def _most_common(value: exp.Expr) -> exp.Select:
    """Rank each account's values of `value`, with `_pick` 1 on the most common.

    A tie goes to the value that sorts first, in the warehouse's order of text.
    """
    votes = exp.Count(this=exp.Star())
    ranking = exp.Window(
        this=exp.RowNumber(),
        partition_by=[_col(ACCOUNT_KEY)],
        order=exp.Order(
            expressions=[
                exp.Ordered(this=votes, desc=True, nulls_first=False),
                exp.Ordered(this=value.copy(), nulls_first=True),
            ]
        ),
    )
    present = exp.and_(
        _col(ACCOUNT_KEY).is_(exp.not_(exp.null())), value.copy().is_(exp.not_(exp.null()))
    )
    return (
        exp.select(_col(ACCOUNT_KEY), exp.alias_(value, _VALUE), exp.alias_(ranking, _PICK))
        .from_("account_leads")
        .where(present)
        .group_by(_col(ACCOUNT_KEY), value.copy())
    )


def _judged(section: AccountsSection, *, decimal_comma: bool) -> exp.Select:
    """Judge the account filters and exclusions on the attributes, and name those that failed."""
    aliases = _attribute_aliases(section)
    columns: list[exp.Expr] = [exp.Star()]
    failed: list[tuple[exp.Expr, exp.Expr]] = []
    for position, condition in enumerate(section.filters):
        check = sql.condition_sql(
            condition, _col(aliases[condition.field]), role="filter", decimal_comma=decimal_comma
        )
        _label_regexes(check, f"accounts.filters[{position + 1}] ({condition.name!r})")
        columns.append(exp.alias_(check, f"_filter_{position}"))
        failed.append((exp.not_(_col(f"_filter_{position}")), sql.text(condition.name)))
    for position, exclusion in enumerate(section.exclude):
        check = sql.condition_sql(
            exclusion, _col(aliases[exclusion.field]), role="exclusion", decimal_comma=decimal_comma
        )
        _label_regexes(check, f"accounts.exclude[{position + 1}] ({exclusion.name!r})")
        columns.append(exp.alias_(check, f"_exclusion_{position}"))
        failed.append((_col(f"_exclusion_{position}"), sql.text(exclusion.name)))
    judged = exp.select(*columns).from_("account_attributes")
    return exp.select("*", exp.alias_(sql.joined_names(failed), "fit_failed")).from_(
        exp.alias_(judged.subquery(), "j", table=True)
    )


def _label_regexes(tree: exp.Expr, label: str) -> None:
    """Remember which filter a regular expression comes from, for errors about its dialect."""
    for node in tree.find_all(exp.RegexpLike):
        node.meta.setdefault("rule", label)


def _decided(section: AccountsSection) -> exp.Select:
    """Add `fit`, `mqa` and `mqa_reason`. An MQA is an account that is fit and reaches every bar."""
    checks: list[tuple[exp.Expr, exp.Expr, exp.Expr]] = []
    if section.threshold is not None:
        score = _col("engagement_score")
        threshold = sql.number(section.threshold)
        checks.append(
            (
                score >= threshold,
                _worded("score", sql.number_text(score), ">=", sql.number_text(threshold)),
                _worded("score", sql.number_text(score), "<", sql.number_text(threshold)),
            )
        )
    if section.min_engaged_leads is not None:
        engaged = _col("engaged_leads")
        minimum = exp.Literal.number(section.min_engaged_leads)
        count_text = exp.cast(engaged, "text")
        bar = sql.text(str(section.min_engaged_leads))
        checks.append(
            (
                engaged >= minimum,
                _worded("engaged leads", count_text, ">=", bar),
                _worded("engaged leads", count_text.copy(), "<", bar.copy()),
            )
        )

    is_fit = _col("fit_failed").eq(sql.text(""))
    reaches = exp.and_(*(passed.copy() for passed, _, _ in checks))
    # An MQA lists every bar it reached, and any other fit account lists the bars it missed.
    reached = checks[0][1]
    for _, text, _ in checks[1:]:
        reached = sql.concat(reached, sql.text("; "), text)
    missed = sql.joined_names([(exp.not_(passed), text) for passed, _, text in checks])
    is_mqa = exp.and_(is_fit, exp.paren(reaches))
    reason = sql.case(
        [(exp.not_(is_fit.copy()), sql.text("not fit")), (is_mqa.copy(), reached)], missed
    )
    return exp.select(
        "*",
        exp.alias_(is_fit.copy(), "fit"),
        exp.alias_(is_mqa, "mqa"),
        exp.alias_(reason, "mqa_reason"),
    ).from_("accounts_judged")


def _worded(name: str, value: exp.Expr, operator: str, bar: exp.Expr) -> exp.Expr:
    return sql.concat(sql.text(f"{name} "), value, sql.text(f" {operator} "), bar)


def _accounted(mql: MqlSection) -> exp.Select:
    """Give each lead its account's name and MQA, and apply `mql.account_rule`.

    Fit comes first: a lead that is not fit is never an MQL, whatever its account.
    """
    state = exp.select(
        exp.Column(this=exp.Star(), table=exp.to_identifier("l")),
        exp.alias_(_col(ACCOUNT, "d"), ACCOUNT),
        exp.alias_(exp.Coalesce(this=_col("mqa", "d"), expressions=[exp.false()]), ACCOUNT_MQA),
        exp.alias_(_col("mqa_reason", "d"), _MQA_REASON),
    )
    state = state.from_(exp.alias_(exp.to_table("account_leads"), "l", table=True)).join(
        exp.alias_(exp.to_table("accounts_decided"), "d", table=True),
        on=_col(ACCOUNT_KEY, "l").eq(_col(ACCOUNT_KEY, "d")),
        join_type="left",
    )
    source = exp.alias_(state.subquery(), "s", table=True)
    if mql.account_rule != "mqa":
        return exp.select(
            exp.Star(),
            exp.alias_(exp.false(), QUALIFIED_BY_ACCOUNT),
            exp.alias_(_col("mql"), ACCOUNTED_MQL),
            exp.alias_(_col("mql_reason"), ACCOUNTED_REASON),
        ).from_(source)

    through = exp.and_(_col("_fit"), _col(ACCOUNT_MQA))
    account_text = sql.concat(
        sql.text("account "),
        _col(ACCOUNT),
        sql.text(" is MQA ("),
        _col(_MQA_REASON),
        sql.text(")"),
    )
    reason = sql.case(
        [
            (
                exp.and_(through.copy(), _col("mql")),
                sql.concat(_col("mql_reason"), sql.text("; "), account_text.copy()),
            ),
            (through.copy(), account_text),
        ],
        _col("mql_reason"),
    )
    return exp.select(
        exp.Star(),
        exp.alias_(exp.and_(through.copy(), exp.not_(_col("mql"))), QUALIFIED_BY_ACCOUNT),
        exp.alias_(exp.or_(_col("mql"), through.copy()), ACCOUNTED_MQL),
        exp.alias_(reason, ACCOUNTED_REASON),
    ).from_(source)
