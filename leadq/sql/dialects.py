"""Rewriting of the dialect-neutral trees for one warehouse's regex flavour and function names.

The trees from leadq.sql.query contain regular expressions in the syntax that Python's `re` and
RE2 share, searched anywhere in the value, with an `i` flag to ignore case. Each warehouse
spells that differently, and some cannot express every pattern. Those patterns are rejected
here, naming the rule, rather than run with another meaning.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp

from leadq.errors import ConfigError

DIALECTS = ("duckdb", "spark", "bigquery", "snowflake", "postgres")

# Pattern pieces that a warehouse's regex flavour lacks or reads differently, with a reason.
_UNSUPPORTED_REGEX: dict[str, list[tuple[str, str]]] = {
    # Snowflake's POSIX flavour has no word boundaries, no `(?...)` groups and no `\A`.
    "snowflake": [
        (r"\\[bB]", "word boundaries (\\b, \\B)"),
        (r"\(\?", "groups written (?...)"),
        (r"\\A", "\\A"),
    ],
    # In PostgreSQL's flavour `\b` is a backspace and `\B` a backslash.
    "postgres": [
        (r"\\[bB]", "word boundaries (\\b, \\B), which PostgreSQL reads as other characters"),
        (r"\(\?[a-zA-Z]", "inline flags such as (?i)"),
    ],
}


class DialectError(ConfigError):
    """A rule that the chosen SQL dialect cannot express."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("config", problems)


def to_dialect(tree: exp.Expr, dialect: str) -> exp.Expr:
    """Return a copy of `tree` whose regular expressions use `dialect`'s flavour.

    Raises DialectError naming each rule whose pattern the dialect cannot express.
    """
    _check_patterns(tree, dialect)
    rewrite = _REWRITES.get(dialect)
    return tree.transform(rewrite) if rewrite else tree.copy()


def _check_patterns(tree: exp.Expr, dialect: str) -> None:
    problems = []
    for node in tree.find_all(exp.RegexpLike):
        pattern = node.expression.name
        for piece, reason in _UNSUPPORTED_REGEX.get(dialect, []):
            if re.search(piece, pattern):
                rule = node.meta.get("rule", "an internal pattern")
                problems.append(
                    f"{rule}: the pattern {pattern!r} uses {reason}, which --dialect {dialect} "
                    "cannot express; rewrite the pattern without it or score with leadq itself"
                )
    if problems:
        raise DialectError(list(dict.fromkeys(problems)))


def _pattern(node: exp.RegexpLike) -> tuple[str, bool]:
    return node.expression.name, node.args.get("flag") is not None


def _inline_flag(flag: str) -> Callable[[exp.Expr], exp.Expr]:
    """Build a rewrite for flavours that take the ignore-case flag inside the pattern.

    `flag` is the inline flag, such as (?i) or (?iu).
    """

    def rewrite(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.RegexpLike):
            return node
        pattern, ignore_case = _pattern(node)
        if ignore_case:
            pattern = flag + pattern
        return exp.RegexpLike(this=node.this, expression=exp.Literal.string(pattern))

    return rewrite


def _snowflake(node: exp.Expr) -> exp.Expr:
    # REGEXP_LIKE matches the whole value, so the pattern is wrapped to search in it.
    if not isinstance(node, exp.RegexpLike):
        return node
    pattern, ignore_case = _pattern(node)
    return exp.RegexpLike(
        this=node.this,
        expression=exp.Literal.string(f".*({pattern}).*"),
        flag=exp.Literal.string("is" if ignore_case else "s"),
    )


def _postgres(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.RegexpLike):
        pattern, ignore_case = _pattern(node)
        kind = exp.RegexpILike if ignore_case else exp.RegexpLike
        return kind(this=node.this, expression=exp.Literal.string(pattern))
    if isinstance(node, exp.RegexpExtract):
        # PostgreSQL 15 and later have REGEXP_SUBSTR(value, pattern, start, N, flags, group).
        return exp.Anonymous(
            this="REGEXP_SUBSTR",
            expressions=[
                node.this,
                node.expression,
                exp.Literal.number(1),
                exp.Literal.number(1),
                exp.Literal.string(""),
                exp.Literal.number(1),
            ],
        )
    return node


def _spark(node: exp.Expr) -> exp.Expr:
    node = _inline_flag("(?iu)")(node)
    if isinstance(node, exp.TimestampAdd):
        return exp.Anonymous(
            this="TIMESTAMPADD", expressions=[node.unit, node.expression, node.this]
        )
    return node


_REWRITES: dict[str, Callable[[exp.Expr], exp.Expr]] = {
    "spark": _spark,
    "bigquery": _inline_flag("(?i)"),
    "snowflake": _snowflake,
    "postgres": _postgres,
}
