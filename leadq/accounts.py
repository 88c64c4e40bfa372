"""Accounts: leads rolled up by company, account fit and engagement, and the MQA decision.

An account is every lead that shares an account key, such as a company name or an e-mail
domain. Its attributes come from its leads: for each lead column that an account filter
reads, the value most of the account's leads have, ties going to the value that sorts first.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from leadq.config import ACCOUNT_ATTRIBUTES, AccountsSection, FitSection, MqlSection
from leadq.engagement import LEAD_ID, number_text, round_score
from leadq.fit import with_fit

ACCOUNT = "account"
ACCOUNT_MQA = "account_mqa"
LEAD_COLUMNS = [ACCOUNT, ACCOUNT_MQA]
"""The columns that accounts add to the lead tables, after `mql_reason`."""
ACCOUNT_COLUMNS = [
    ACCOUNT,
    "leads",
    "fit_leads",
    "engaged_leads",
    "engagement_score",
    "fit",
    "fit_failed",
    "mqa",
    "mqa_reason",
    "engaged_lead_ids",
]
"""The columns of the accounts table, before the attributes that account filters read."""

ACCOUNT_KEY = "_account_key"
"""The key that groups leads: the account name, lower-cased unless `key_case_sensitive`."""
QUALIFIED_BY_ACCOUNT = "_qualified_by_account"
"""True for an MQL that only `mql.account_rule` made one."""
_NAME = "_account_name"
_VOTES = "_votes"


def score_accounts(
    leads: pl.DataFrame, section: AccountsSection, mql: MqlSection, *, decimal_comma: bool
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Roll scored leads up into accounts, decide account fit and MQA, and apply the account rule.

    `leads` needs `lead_id`, `fit`, `engagement_score` (rounded), `mql`, `mql_reason` and the
    columns that `section` reads. Returns the leads, still sorted by lead id, with `account`,
    `account_mqa` and the internal `_account_key` and `_qualified_by_account`, and the accounts
    sorted by score, highest first, then by account.
    """
    keyed = with_account_key(leads, section)
    accounts = _account_totals(keyed, section)
    accounts = _with_account_fit(accounts, keyed, section, decimal_comma=decimal_comma)
    accounts = _with_mqa(accounts, section).sort(
        ["engagement_score", ACCOUNT, ACCOUNT_KEY], descending=[True, False, False]
    )

    state = accounts.select(
        ACCOUNT_KEY, ACCOUNT, pl.col("mqa").alias(ACCOUNT_MQA), pl.col("mqa_reason").alias("_mqa")
    )
    # a lead column named `account` or `account_mqa` gives way to the account state
    with_state = keyed.drop(LEAD_COLUMNS, strict=False).join(state, on=ACCOUNT_KEY, how="left")
    with_state = with_state.with_columns(pl.col(ACCOUNT_MQA).fill_null(False))
    scored = _with_account_rule(with_state, mql).drop(_NAME, "_mqa").sort(LEAD_ID)
    return scored, accounts


def with_account_key(leads: pl.DataFrame, section: AccountsSection) -> pl.DataFrame:
    """Add the account name each lead gives (null for none) and the key that groups them."""
    if section.key_from_email:
        # the part after the last @, so "a@b@acme.com" still names acme.com
        domain = pl.col("email").str.to_lowercase().str.extract(r"@([^@]*)$").str.strip_chars()
        name: pl.Expr = pl.when(domain.str.len_bytes() > 0).then(domain)
    else:
        assert section.key is not None
        name = pl.col(section.key)
    key = pl.col(_NAME) if section.key_case_sensitive else pl.col(_NAME).str.to_lowercase()
    return leads.with_columns(name.alias(_NAME)).with_columns(key.alias(ACCOUNT_KEY))


def most_common_values(leads: pl.DataFrame, column: str) -> pl.DataFrame:
    """Return each account's most common non-missing value of `column`, ties to the first sorted.

    Values count as written (after trimming), so `Software` and `software` are two values.
    Accounts whose leads all miss the value are left out.
    """
    votes = (
        leads.filter(pl.col(ACCOUNT_KEY).is_not_null() & pl.col(column).is_not_null())
        .group_by(ACCOUNT_KEY, column)
        .agg(pl.len().alias(_VOTES))
    )
    ranked = votes.sort([ACCOUNT_KEY, _VOTES, column], descending=[False, True, False])
    return ranked.unique(ACCOUNT_KEY, keep="first", maintain_order=True).select(ACCOUNT_KEY, column)


def attribute_columns(section: AccountsSection) -> list[str]:
    """List the lead columns that account filters read, in config order, each once."""
    fields = [condition.field for condition in [*section.filters, *section.exclude]]
    return [field for field in dict.fromkeys(fields) if field not in ACCOUNT_ATTRIBUTES]


def attribute_column(field: str) -> str:
    """Name of the internal accounts column with the value that filters on `field` read."""
    return f"_attribute_{field}"


def account_table(accounts: pl.DataFrame, section: AccountsSection) -> pl.DataFrame:
    """Select the `accounts` output: the fixed columns, then the attributes filters read."""
    # an attribute named like a fixed column would clash with it, so only explain shows it
    extra = [
        pl.col(attribute_column(column)).alias(column)
        for column in attribute_columns(section)
        if column not in ACCOUNT_COLUMNS
    ]
    return accounts.select([*ACCOUNT_COLUMNS, *extra])


def _account_totals(keyed: pl.DataFrame, section: AccountsSection) -> pl.DataFrame:
    """Count each account's leads and add up the engagement of the leads that count."""
    counts = pl.col("fit") if section.leads == "fit" else pl.lit(True)
    score = pl.col("engagement_score")
    engaged = counts & (score > 0)
    counted_scores = score.filter(counts)
    total = counted_scores.sum() if section.engagement == "sum" else counted_scores.max()
    # group_by keeps the row order within each group, so the engaged ids come out sorted
    ordered = keyed.filter(pl.col(ACCOUNT_KEY).is_not_null()).sort(
        ["engagement_score", LEAD_ID], descending=[True, False]
    )
    totals = ordered.group_by(ACCOUNT_KEY).agg(
        pl.len().alias("leads"),
        pl.col("fit").sum().alias("fit_leads"),
        engaged.sum().alias("engaged_leads"),
        # the leads' rounded scores, so the account adds up what scored_leads shows
        round_score(total.fill_null(0.0)).alias("engagement_score"),
        pl.col(LEAD_ID).filter(engaged).str.join("; ").alias("engaged_lead_ids"),
    )
    names = most_common_values(keyed, _NAME).rename({_NAME: ACCOUNT})
    return totals.join(names, on=ACCOUNT_KEY, how="left").with_columns(
        pl.col("leads", "fit_leads", "engaged_leads").cast(pl.Int64)
    )


def _with_account_fit(
    accounts: pl.DataFrame, keyed: pl.DataFrame, section: AccountsSection, *, decimal_comma: bool
) -> pl.DataFrame:
    """Judge the account filters on the account attributes and add `fit` and `fit_failed`.

    The attributes live in a frame of their own because `fit_leads` is a number in the
    output but text for the conditions, which read text as every lead column is read.
    """
    attributes = accounts.select(
        ACCOUNT_KEY,
        pl.col(ACCOUNT).alias("account"),
        pl.col("leads").cast(pl.String).alias("lead_count"),
        pl.col("fit_leads").cast(pl.String).alias("fit_leads"),
    )
    lead_columns = attribute_columns(section)
    for column in lead_columns:
        attributes = attributes.join(most_common_values(keyed, column), on=ACCOUNT_KEY, how="left")
    criteria = FitSection.model_construct(filters=section.filters, exclude=section.exclude)
    judged = with_fit(attributes, criteria, decimal_comma=decimal_comma)
    outcomes = [c for c in judged.columns if c.startswith(("_filter_", "_exclusion_"))]
    values = [
        pl.col(field).alias(attribute_column(field))
        for field in [*ACCOUNT_ATTRIBUTES, *lead_columns]
    ]
    # the values come from `attributes`, because a lead column named `fit` is replaced in `judged`
    judgement = judged.select(ACCOUNT_KEY, "fit", "fit_failed", *outcomes).hstack(
        attributes.select(values)
    )
    return accounts.join(judgement, on=ACCOUNT_KEY, how="left")


def _with_mqa(accounts: pl.DataFrame, section: AccountsSection) -> pl.DataFrame:
    """Add `mqa` and `mqa_reason`: a fit account whose score and engaged leads reach the bars."""
    checks: list[tuple[pl.Expr, pl.Expr, pl.Expr]] = []
    if section.threshold is not None:
        score = pl.col("engagement_score")
        threshold = pl.lit(section.threshold, dtype=pl.Float64)
        checks.append(
            (
                score >= threshold,
                pl.format("score {} >= {}", number_text(score), number_text(threshold)),
                pl.format("score {} < {}", number_text(score), number_text(threshold)),
            )
        )
    if section.min_engaged_leads is not None:
        engaged = pl.col("engaged_leads")
        minimum = section.min_engaged_leads
        checks.append(
            (
                engaged >= minimum,
                pl.format("engaged leads {} >= {}", engaged, pl.lit(minimum)),
                pl.format("engaged leads {} < {}", engaged, pl.lit(minimum)),
            )
        )

    reaches = pl.all_horizontal([passed for passed, _, _ in checks])
    # an MQA lists every bar it reached, any other fit account the bars it missed
    reached = pl.concat_str([text for _, text, _ in checks], separator="; ")
    missed = pl.concat_str(
        [pl.when(~passed).then(text) for passed, _, text in checks],
        separator="; ",
        ignore_nulls=True,
    )
    is_mqa = pl.col("fit") & reaches
    reason = pl.when(~pl.col("fit")).then(pl.lit("not fit")).when(is_mqa).then(reached)
    return accounts.with_columns(mqa=is_mqa, mqa_reason=reason.otherwise(missed))


def _with_account_rule(leads: pl.DataFrame, mql: MqlSection) -> pl.DataFrame:
    """Make a fit lead of an MQA an MQL when `mql.account_rule = "mqa"`, saying so in its reason.

    Fit comes first: a lead that is not fit is never an MQL, whatever its account.
    """
    if mql.account_rule != "mqa":
        return leads.with_columns(pl.lit(False).alias(QUALIFIED_BY_ACCOUNT))
    through_account = pl.col("fit") & pl.col(ACCOUNT_MQA)
    account_text = pl.format("account {} is MQA ({})", pl.col(ACCOUNT), pl.col("_mqa"))
    reason = (
        pl.when(through_account & pl.col("mql"))
        .then(pl.concat_str([pl.col("mql_reason"), account_text], separator="; "))
        .when(through_account)
        .then(account_text)
        .otherwise(pl.col("mql_reason"))
    )
    return leads.with_columns(
        (through_account & ~pl.col("mql")).alias(QUALIFIED_BY_ACCOUNT),
        (pl.col("mql") | through_account).alias("mql"),
        reason.alias("mql_reason"),
    )


def account_counts(leads: pl.DataFrame, accounts: pl.DataFrame) -> dict[str, Any]:
    """Count accounts (total, fit, engaged, MQA) and the leads without or through one."""
    return {
        "total": accounts.height,
        "fit": int(accounts.get_column("fit").sum()),
        "engaged": accounts.filter(pl.col("engagement_score") > 0).height,
        "mqa": int(accounts.get_column("mqa").sum()),
        "leads_without_account": leads.filter(pl.col(ACCOUNT_KEY).is_null()).height,
        "leads_qualified_by_account": int(leads.get_column(QUALIFIED_BY_ACCOUNT).sum()),
    }
