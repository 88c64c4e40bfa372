"""sqlglot expression trees for the parts of a leadq model: text, numbers, conditions, times.

Every function here builds a dialect-neutral tree. Regular expressions are `RegexpLike` nodes
that contain the pattern in the syntax that Python's `re` and RE2 share, with search semantics
and an optional `i` flag. `leadq.sql.dialects` rewrites them for each warehouse's regex flavour.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlglot import exp

from leadq.conditions import setting_float, setting_list
from leadq.config import Condition

# A number written as text: `[+-]digits` with optional thousands commas in groups of three, an
# optional decimal part and exponent. The same as leadq.conditions, without non-capturing
# groups, which some warehouses' regex flavours lack.
NUMBER_PATTERN = r"^([+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d*)?([eE][+-]?\d+)?|[+-]?\.\d+)$"
DECIMAL_COMMA_PATTERN = r"^([+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d*)?|[+-]?,\d+)$"
TRUE_WORDS = ("true", "yes", "y", "1")
FALSE_WORDS = ("false", "no", "n", "0")

# Timestamp shapes that the SQL reads (leadq.timestamps reads these and a few more).
ISO_PATTERN = r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2})?([.,]\d+)?)? ?([Zz]|[+-]\d{2}:?\d{2})?$"
ISO_ZONE_PATTERN = r"([Zz]|[+-]\d{2}:?\d{2})$"
ISO_OFFSET_PATTERN = r"([+-]\d{2}:?\d{2})$"
DOTTED_PATTERN = r"^\d{1,2}\.\d{1,2}\.(\d{4}|\d{2})( \d{1,2}:\d{2}(:\d{2})?)?$"
EPOCH_PATTERN = r"^\d{9,14}$"
SLASHED_PATTERN = r"^\d{1,2}/\d{1,2}/"
# Epoch values from this on are milliseconds, below it seconds, as in leadq.timestamps.
EPOCH_MILLISECONDS_FROM = 100_000_000_000


def text(value: str) -> exp.Literal:
    """Build a text literal."""
    return exp.Literal.string(value)


def number(value: float) -> exp.Expr:
    """Build a number literal that stays a double, also for whole numbers such as 30."""
    return exp.cast(exp.Literal.number(repr(float(value))), exp.DataType.Type.DOUBLE)


def search(value: exp.Expr, pattern: str, *, ignore_case: bool = False) -> exp.RegexpLike:
    """Build a check that is true where `pattern` occurs in `value` (a search, not a full match)."""
    flag = text("i") if ignore_case else None
    return exp.RegexpLike(this=value, expression=text(pattern), flag=flag)


def extract(value: exp.Expr, pattern: str) -> exp.Expr:
    """Extract the text of the only group of `pattern` in `value`, or null where it is absent."""
    found = exp.RegexpExtract(this=value, expression=text(pattern), group=exp.Literal.number(1))
    # Some warehouses return '' where the pattern does not occur, and others return null.
    return exp.Nullif(this=found, expression=text(""))


def concat(*parts: exp.Expr) -> exp.Expr:
    """Join text values that are never null."""
    joined = parts[0]
    for part in parts[1:]:
        joined = exp.DPipe(this=joined, expression=part, safe=True)
    return joined


def case(
    branches: Sequence[tuple[exp.Expr, exp.Expr]],
    default: exp.Expr | None = None,
) -> exp.Case:
    """Build CASE WHEN ... THEN ... [ELSE ...] END."""
    built = exp.Case()
    for condition, result in branches:
        built = built.when(condition, result)
    return built.else_(default) if default is not None else built


def all_of(checks: Sequence[exp.Expr]) -> exp.Expr:
    """Build a check that is true where every check is true, and also for no checks."""
    return exp.and_(*checks) if checks else exp.true()


def is_true(check: exp.Expr) -> exp.Expr:
    """Turn an unknown (null) result into false."""
    return exp.Coalesce(this=exp.paren(check), expressions=[exp.false()])


def clean_text(column: exp.Expr, null_values: Iterable[str]) -> exp.Expr:
    """Trim a text column and turn blanks and null tokens into null, as leadq's readers do."""
    # NOTE: TRIM removes spaces only, while leadq's readers trim every kind of white space
    # (tabs, line breaks). Tables that leadq loads itself are already trimmed.
    trimmed = exp.Trim(this=exp.cast(column, exp.DataType.Type.TEXT))
    tokens = sorted({token.strip() for token in null_values} | {""})
    return case([(trimmed.isin(*tokens), exp.null())], trimmed)


def fold(value: exp.Expr, *, case_sensitive: bool) -> exp.Expr:
    """Lower-case text unless the comparison is case-sensitive."""
    return value if case_sensitive else exp.Lower(this=value)


def fold_literal(value: str, *, case_sensitive: bool) -> str:
    """Trim a config value and lower-case it unless the comparison is case-sensitive."""
    return value.strip() if case_sensitive else value.strip().lower()


def number_from_text(value: exp.Expr, *, decimal_comma: bool) -> exp.Expr:
    """Read text such as `1,200` or `-3.5` as a double, and anything else as null."""
    if decimal_comma:
        pattern = DECIMAL_COMMA_PATTERN
        plain = exp.Replace(
            this=exp.Replace(this=value, expression=text("."), replacement=text("")),
            expression=text(","),
            replacement=text("."),
        )
    else:
        pattern = NUMBER_PATTERN
        plain = exp.Replace(this=value, expression=text(","), replacement=text(""))
    parsed = exp.TryCast(this=plain, to=exp.DataType.build("double"), safe=True)
    return case([(search(value, pattern), parsed)])


def boolean_from_text(value: exp.Expr) -> exp.Expr:
    """Read yes/no, true/false and 1/0 (any case) as a Boolean, and anything else as null."""
    lowered = exp.Lower(this=value)
    return case(
        [(lowered.isin(*TRUE_WORDS), exp.true()), (lowered.isin(*FALSE_WORDS), exp.false())]
    )


def condition_sql(
    condition: Condition, value: exp.Expr, *, role: str, decimal_comma: bool
) -> exp.Expr:
    """Build a Boolean, never null, that is true where `condition` matches the cleaned `value`.

    As in leadq.conditions, no operator except `missing` can judge a missing value. So a
    filter then fails unless `if_missing = "pass"`, and an exclusion does not match.
    """
    operators = condition.operators()
    wants_missing = operators.pop("missing", None)
    is_missing = value.is_(exp.null())
    as_number = number_from_text(value, decimal_comma=decimal_comma)
    checks: list[exp.Expr] = [
        is_true(
            _operator_sql(name, setting, value, as_number, case_sensitive=condition.case_sensitive)
        )
        for name, setting in operators.items()
    ]
    if wants_missing is not None:
        checks.append(is_missing if wants_missing else exp.not_(is_missing))
    combined = all_of(checks)
    if not operators:
        return combined
    passes_when_missing = role == "filter" and condition.if_missing == "pass"
    return case([(is_missing, exp.Boolean(this=passes_when_missing))], combined)


def _operator_sql(
    name: str,
    setting: object,
    value: exp.Expr,
    as_number: exp.Expr,
    *,
    case_sensitive: bool,
) -> exp.Expr:
    match name:
        case "equals":
            return _is_in(value, as_number, [setting], case_sensitive=case_sensitive)
        case "in":
            return _is_in(value, as_number, setting_list(setting), case_sensitive=case_sensitive)
        case "not_in":
            return exp.not_(
                _is_in(value, as_number, setting_list(setting), case_sensitive=case_sensitive)
            )
        case "min":
            return as_number >= number(setting_float(setting))
        case "max":
            return as_number <= number(setting_float(setting))
        case "between":
            low, high = (number(setting_float(bound)) for bound in setting_list(setting))
            return exp.Between(this=as_number, low=low, high=high)
        case "contains":
            return _contains_any(value, [setting], case_sensitive=case_sensitive)
        case "contains_any":
            return _contains_any(value, setting_list(setting), case_sensitive=case_sensitive)
        case "matches":
            return search(value, str(setting), ignore_case=not case_sensitive)
    msg = f"unknown operator {name!r}"
    raise ValueError(msg)


def _is_in(
    value: exp.Expr, as_number: exp.Expr, options: list[object], *, case_sensitive: bool
) -> exp.Expr:
    """Compare each option by its TOML type: text as text, numbers as numbers, booleans as such."""
    booleans = [option for option in options if isinstance(option, bool)]
    numbers = [o for o in options if isinstance(o, int | float) and not isinstance(o, bool)]
    texts = [
        fold_literal(option, case_sensitive=case_sensitive)
        for option in options
        if isinstance(option, str)
    ]
    checks: list[exp.Expr] = []
    if texts:
        checks.append(fold(value, case_sensitive=case_sensitive).isin(*texts))
    if numbers:
        checks.append(as_number.isin(*(number(float(option)) for option in numbers)))
    if booleans:
        checks.append(
            boolean_from_text(value).isin(*(exp.Boolean(this=option) for option in booleans))
        )
    return exp.paren(exp.or_(*checks))


def _contains_any(value: exp.Expr, needles: list[object], *, case_sensitive: bool) -> exp.Expr:
    folded = fold(value, case_sensitive=case_sensitive)
    checks = [
        exp.StrPosition(
            this=folded, substr=text(fold_literal(str(needle), case_sensitive=case_sensitive))
        )
        > exp.Literal.number(0)
        for needle in needles
    ]
    return exp.paren(exp.or_(*checks))


def local_time(value: exp.Expr, timezone: str) -> exp.Expr:
    """Read a cleaned timestamp as wall-clock time in `timezone`, or null if it is unreadable.

    Values with `Z` or an offset are converted to the zone, values without one are already
    wall-clock time there, and epoch seconds or milliseconds are instants.
    """
    wall_type = exp.DataType.build("timestampntz")
    iso_wall = exp.TryCast(this=_iso_wall_text(value), to=wall_type, safe=True)
    offset = _offset_minutes(extract(value, ISO_OFFSET_PATTERN))
    iso_utc = exp.TimestampAdd(
        this=iso_wall, expression=exp.Neg(this=offset), unit=exp.var("MINUTE")
    )
    dotted = exp.TryCast(this=_dotted_wall_text(value), to=wall_type, safe=True)
    epoch = exp.TimestampAdd(
        this=exp.cast(text("1970-01-01 00:00:00"), wall_type),
        expression=_epoch_milliseconds(value),
        unit=exp.var("MILLISECOND"),
    )
    return case(
        [
            (
                search(value, ISO_PATTERN),
                case([(search(value, ISO_ZONE_PATTERN), _from_utc(iso_utc, timezone))], iso_wall),
            ),
            (search(value, DOTTED_PATTERN), dotted),
            (search(value, EPOCH_PATTERN), _from_utc(epoch, timezone)),
        ]
    )


def _from_utc(instant: exp.Expr, timezone: str) -> exp.Expr:
    if timezone == "UTC":
        return instant
    return exp.ConvertTimezone(source_tz=text("UTC"), target_tz=text(timezone), timestamp=instant)


def _iso_wall_text(value: exp.Expr) -> exp.Expr:
    """Build `YYYY-MM-DD HH:MM:SS` from an ISO 8601 value, with midnight for a date alone."""
    hours_minutes = extract(value, r"^.{10}[Tt ](\d{2}:\d{2})")
    seconds = extract(value, r"^.{10}[Tt ]\d{2}:\d{2}:(\d{2})")
    return concat(
        exp.Substring(this=value, start=exp.Literal.number(1), length=exp.Literal.number(10)),
        text(" "),
        exp.Coalesce(this=hours_minutes, expressions=[text("00:00")]),
        text(":"),
        exp.Coalesce(this=seconds, expressions=[text("00")]),
    )


def _offset_minutes(offset: exp.Expr) -> exp.Expr:
    """Convert an offset such as `+02:00` or `-0430` to minutes east of UTC (null for `Z`)."""
    digits = exp.Replace(this=offset, expression=text(":"), replacement=text(""))
    hours = exp.cast(
        exp.Substring(this=digits, start=exp.Literal.number(2), length=exp.Literal.number(2)),
        exp.DataType.Type.INT,
    )
    minutes = exp.cast(
        exp.Substring(this=digits, start=exp.Literal.number(4), length=exp.Literal.number(2)),
        exp.DataType.Type.INT,
    )
    east = exp.paren(hours * exp.Literal.number(60) + minutes)
    sign = case(
        [
            (
                exp.Substring(
                    this=digits, start=exp.Literal.number(1), length=exp.Literal.number(1)
                ).eq(text("-")),
                exp.Literal.number(-1),
            )
        ],
        exp.Literal.number(1),
    )
    return exp.Coalesce(this=exp.paren(sign * east), expressions=[exp.Literal.number(0)])


def _dotted_wall_text(value: exp.Expr) -> exp.Expr:
    """Build `YYYY-MM-DD HH:MM:SS` from `31.12.2025 14:05`. Two-digit years are 1969 to 2068."""
    day = extract(value, r"^(\d{1,2})\.")
    month = extract(value, r"^\d{1,2}\.(\d{1,2})\.")
    year = extract(value, r"^\d{1,2}\.\d{1,2}\.(\d{2,4})")
    hour = exp.Coalesce(this=extract(value, r" (\d{1,2}):"), expressions=[text("0")])
    minute = exp.Coalesce(this=extract(value, r" \d{1,2}:(\d{2})"), expressions=[text("00")])
    second = exp.Coalesce(this=extract(value, r" \d{1,2}:\d{2}:(\d{2})$"), expressions=[text("00")])
    century = case(
        [(exp.cast(year, exp.DataType.Type.INT) < exp.Literal.number(69), text("20"))], text("19")
    )
    full_year = case(
        [(exp.Length(this=year).eq(exp.Literal.number(2)), concat(century, year))], year
    )
    return concat(
        full_year,
        text("-"),
        _two_digits(month),
        text("-"),
        _two_digits(day),
        text(" "),
        _two_digits(hour),
        text(":"),
        minute,
        text(":"),
        second,
    )


def _two_digits(value: exp.Expr) -> exp.Expr:
    return exp.Pad(
        this=value, expression=exp.Literal.number(2), fill_pattern=text("0"), is_left=True
    )


def _epoch_milliseconds(value: exp.Expr) -> exp.Expr:
    digits = exp.TryCast(this=value, to=exp.DataType.build("bigint"), safe=True)
    return case(
        [(digits >= exp.Literal.number(EPOCH_MILLISECONDS_FROM), digits)],
        digits * exp.Literal.number(1000),
    )


def round_half_away(value: exp.Expr) -> exp.Expr:
    """Round to 2 decimals, half away from zero, as leadq.engagement.round_score does.

    Written with FLOOR instead of ROUND, because ROUND on doubles rounds half to even in
    some warehouses. The 1e-9 nudge matches leadq's, and `+ 0.0` turns -0.0 into 0.
    """
    magnitude = exp.Abs(this=value) + number(1e-9)
    cents = exp.Floor(this=magnitude * exp.Literal.number(100) + number(0.5))
    return exp.paren(exp.Sign(this=value) * cents / number(100.0) + number(0.0))


def number_text(rounded: exp.Expr) -> exp.Expr:
    """Write a number already rounded to 2 decimals without trailing zeros: 30, 12.5, -7.25."""
    cents = exp.cast(exp.Round(this=exp.Abs(this=rounded) * exp.Literal.number(100)), "bigint")
    fraction = exp.Mod(this=cents, expression=exp.Literal.number(100))
    whole = exp.cast(exp.paren(cents - fraction) / exp.Literal.number(100), "bigint")
    tenths = exp.cast(exp.paren(fraction / exp.Literal.number(10)), "bigint")
    decimals = case(
        [
            (fraction.eq(exp.Literal.number(0)), text("")),
            (
                exp.Mod(this=fraction, expression=exp.Literal.number(10)).eq(exp.Literal.number(0)),
                concat(text("."), exp.cast(tenths, "text")),
            ),
        ],
        concat(text("."), _two_digits(exp.cast(fraction, "text"))),
    )
    sign = case(
        [(exp.and_(rounded < number(0), cents > exp.Literal.number(0)), text("-"))], text("")
    )
    return concat(sign, exp.cast(whole, "text"), decimals)


def signed_number_text(rounded: exp.Expr) -> exp.Expr:
    """Write points with their sign: +25, -20, +7.5."""
    return concat(case([(rounded >= number(0), text("+"))], text("")), number_text(rounded))


def joined_names(parts: Sequence[tuple[exp.Expr, exp.Expr]]) -> exp.Expr:
    """Join with `; ` the text of each part whose condition is true, or return '' for none.

    Built from CASE and `||` instead of CONCAT_WS, whose handling of nulls differs between
    warehouses.
    """
    if not parts:
        return text("")
    pieces = [case([(condition, concat(text("; "), name))], text("")) for condition, name in parts]
    joined = concat(*pieces)
    return exp.Substring(this=joined, start=exp.Literal.number(3))
