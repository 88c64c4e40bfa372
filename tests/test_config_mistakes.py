"""Config mistakes that analysts make when they edit a copy of a sample config.

Each test pins the message, which names the wrong key and what to write instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from leadq.config import load_config, parse_config
from leadq.errors import ConfigError, ExitCode

SAMPLE_CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert caught.value.exit_code == ExitCode.BAD_CONFIG
    return caught.value.problems


def with_filter(**condition: object) -> dict[str, Any]:
    """A minimal config whose one fit filter is `condition` on the column Industry."""
    return {
        "leads": {"id": "id"},
        "fit": {"filters": [{"name": "Industry", "field": "Industry", **condition}]},
        "mql": {"threshold": 1},
    }


def with_rule(**rule: object) -> dict[str, Any]:
    """A minimal config whose one engagement rule is `rule`, named Visit, worth 5 points."""
    return {
        "leads": {"id": "id"},
        "activities": {"lead_id": "lead", "type": "type", "timestamp": "at"},
        "engagement": {"rules": [{"name": "Visit", "points": 5, **rule}]},
        "mql": {"threshold": 1},
    }


@pytest.mark.parametrize("operator", ["in", "not_in", "contains_any"])
def test_empty_operator_list_rejected(operator: str):
    # An empty list used to reach Polars, which stopped with an "unexpected" error.
    assert problems(with_filter(**{operator: []})) == [
        f"fit.filters[1] ('Industry').{operator}: the list is empty; list at least one "
        f"value, or remove `{operator}`"
    ]


def test_empty_operator_list_in_where_rejected():
    rule = with_rule(where=[{"field": "Form", "in": []}])
    assert problems(rule) == [
        "engagement.rules[1] ('Visit').where[1].in: the list is empty; list at least one "
        "value, or remove `in`"
    ]


def test_empty_type_list_rejected():
    # `type = []` used to pass as "no type", so the rule scored every activity.
    assert problems(with_rule(type=[])) == [
        "engagement.rules[1] ('Visit').type: the list is empty; list at least one activity "
        "type, or remove `type` so that the rule matches every type"
    ]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_threshold_must_be_finite(value: float):
    assert problems({"leads": {"id": "id"}, "mql": {"threshold": value}}) == [
        f"mql.threshold: input should be a finite number, got {value!r}"
    ]


def test_points_must_be_finite():
    assert problems(with_rule(points=float("inf"))) == [
        "engagement.rules[1] ('Visit').points: input should be a finite number, got inf"
    ]


def test_negative_lookback_shows_the_value():
    raw = {"leads": {"id": "id"}, "engagement": {"lookback_days": -90}, "mql": {"threshold": 1}}
    assert problems(raw) == [
        "engagement.lookback_days: input should be greater than or equal to 1, got -90"
    ]


def test_text_for_a_list_gets_brackets_hint():
    assert problems(with_filter(**{"in": "Software"})) == [
        "fit.filters[1] ('Industry').in: input should be a valid list, got 'Software'; "
        'write a list in square brackets, such as ["Software"]'
    ]


def test_number_for_between_gets_brackets_hint():
    assert problems(with_filter(between=50)) == [
        "fit.filters[1] ('Industry').between: input should be a valid list, got 50; "
        "write a list in square brackets, such as [50]"
    ]


def test_table_for_where_gets_brackets_hint():
    found = problems(with_rule(where={"field": "Form", "contains": "Demo"}))
    assert found == [
        "engagement.rules[1] ('Visit').where: input should be a valid list, got "
        "{'field': 'Form', 'contains': 'Demo'}; put the { ... } table inside square "
        "brackets, as in where = [{ field = ... }]"
    ]


def test_missing_sections_named_as_sections():
    assert problems({}) == [
        "leads: required section is missing; add a [leads] section",
        "mql: required section is missing; add a [mql] section",
    ]


def test_missing_key_inside_a_section_stays_a_key():
    found = problems({"leads": {"email": "Email"}, "mql": {"threshold": 1}})
    assert found == ["leads.id: required key is missing"]


def test_qualifying_rule_in_other_case_suggested():
    raw = with_rule()
    raw["mql"]["qualifying_rules"] = ["visit"]
    assert problems(raw) == [
        "mql.qualifying_rules[1]: no engagement rule is named 'visit' (rules defined: "
        "'Visit'); did you mean 'Visit'? Rule names are case-sensitive"
    ]


def test_qualifying_rule_misspelt_suggested():
    raw = with_rule(name="Demo request")
    raw["mql"]["qualifying_rules"] = ["Demo requests"]
    assert problems(raw) == [
        "mql.qualifying_rules[1]: no engagement rule is named 'Demo requests' (rules "
        "defined: 'Demo request'); did you mean 'Demo request'?"
    ]


@pytest.mark.parametrize("name", ["b2b.toml", "b2c.toml"])
def test_sample_configs_still_load(name: str):
    assert load_config(SAMPLE_CONFIGS / name).mql is not None


# The TOML text of a small valid config, which the tests below break in one place each.
VALID_TOML = """\
[leads]
id = "Record ID"

[[fit.filters]]
name = "Target industry"
field = "Industry"
in = ["Software"]

[mql]
threshold = 40
"""


def toml_problem(tmp_path: Path, text: str) -> str:
    """Return the one problem that loading `text` as a config file reports."""
    path = tmp_path / "leadq.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.exit_code == ExitCode.BAD_CONFIG
    assert len(caught.value.problems) == 1
    return caught.value.problems[0]


def broken(old: str, new: str) -> str:
    assert old in VALID_TOML
    return VALID_TOML.replace(old, new, 1)


def test_toml_missing_quote_named_with_line(tmp_path: Path):
    problem = toml_problem(tmp_path, broken('id = "Record ID"', 'id = "Record ID'))
    assert problem == (
        "invalid TOML at line 2, column 16: Illegal character '\\n'. A closing quote is "
        "missing: text in quotes must end on the same line.\n"
        '    2 | id = "Record ID'
    )


def test_toml_missing_single_quote_at_end(tmp_path: Path):
    # tomllib places this error at the end of the document, without a line.
    problem = toml_problem(tmp_path, broken("threshold = 40", "threshold = 40\nname = 'x"))
    assert problem == (
        'invalid TOML at the end of the file: Expected "\'". A closing quote is missing: '
        "text in quotes must end on the same line."
    )


def test_toml_missing_bracket(tmp_path: Path):
    problem = toml_problem(tmp_path, broken("[[fit.filters]]", "[[fit.filters]"))
    assert problem.startswith("invalid TOML at line 4, column 14: Expected ']]' at the end")
    assert "A closing square bracket is missing." in problem
    assert problem.endswith("    4 | [[fit.filters]")


def test_toml_duplicate_key(tmp_path: Path):
    problem = toml_problem(tmp_path, broken("threshold = 40", "threshold = 40\nthreshold = 50"))
    assert problem == (
        "invalid TOML at line 11, column 15: Cannot overwrite a value. This key is set "
        "twice; keep one of the two lines.\n"
        "   11 | threshold = 50"
    )


def test_toml_duplicate_section(tmp_path: Path):
    problem = toml_problem(tmp_path, VALID_TOML + '\n[leads]\nemail = "Email"\n')
    assert problem.startswith("invalid TOML at line 12, column 7: Cannot declare ('leads',) twice.")
    assert (
        "The section [leads] appears twice; merge the two. A list of items, such as rules, "
        "takes double brackets on every item: [[engagement.rules]]." in problem
    )


def test_toml_smart_quotes(tmp_path: Path):
    problem = toml_problem(tmp_path, broken('id = "Record ID"', "id = \u201cRecord ID\u201d"))
    assert problem == (
        "invalid TOML at line 2, column 6: Invalid value. The line has the character "
        "'\u201c' (U+201C) at column 6, which word processors put in; type it again as a "
        "straight quote (\" or ').\n"
        "    2 | id = \u201cRecord ID\u201d"
    )


def test_toml_non_breaking_space(tmp_path: Path):
    problem = toml_problem(tmp_path, broken("threshold = 40", "threshold =\u00a040"))
    assert "The line has a non-breaking space (U+00A0) at column 12" in problem
    assert "type it again as a plain space" in problem


def test_toml_windows_path_in_double_quotes(tmp_path: Path):
    text = broken("[leads]", '[inputs]\nleads = "C:\\Users\\ana\\leads.csv"\n\n[leads]')
    problem = toml_problem(tmp_path, text)
    assert problem.startswith("invalid TOML at line 2, column ")
    assert (
        "In double quotes a backslash starts an escape such as \\n. Write a Windows path "
        "in single quotes ('C:\\exports\\leads.csv') or with forward slashes "
        '("C:/exports/leads.csv"), and a regular expression in single quotes' in problem
    )


def test_toml_yaml_style_colon(tmp_path: Path):
    problem = toml_problem(tmp_path, broken('id = "Record ID"', 'id: "Record ID"'))
    assert problem == (
        "invalid TOML at line 2, column 3: Expected '=' after a key in a key/value pair. "
        'Write each setting as key = value, such as id = "Record ID".\n'
        '    2 | id: "Record ID"'
    )


def test_toml_text_without_quotes(tmp_path: Path):
    problem = toml_problem(tmp_path, broken('in = ["Software"]', "in = [Software]"))
    assert (
        'Put text in double quotes, such as "Software", and write true and false in lower case.'
        in problem
    )


def test_toml_number_with_thousands_comma(tmp_path: Path):
    problem = toml_problem(tmp_path, broken("threshold = 40", "threshold = 1,200"))
    assert problem.startswith("invalid TOML at line 10, column 14: Expected newline")
    assert "Write numbers without thousands separators, such as 1200" in problem


def test_config_not_utf8_names_the_line(tmp_path: Path):
    path = tmp_path / "leadq.toml"
    path.write_bytes(broken("Target industry", "Zielbranche \u00e4").encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [
        "the config file is not UTF-8 text: line 5 has the byte 0xe4; save the file with "
        "the encoding UTF-8"
    ]


def test_config_in_utf16_named(tmp_path: Path):
    path = tmp_path / "leadq.toml"
    path.write_bytes(VALID_TOML.encode("utf-16"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [
        "the config file is UTF-16 text; save the file with the encoding UTF-8"
    ]


def test_config_file_name_misspelt(tmp_path: Path):
    (tmp_path / "b2b.toml").write_text(VALID_TOML, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "b2b.tml")
    assert caught.value.problems == [
        f"the config file was not found; did you mean {str(tmp_path / 'b2b.toml')!r}?"
    ]


def test_config_folder_missing(tmp_path: Path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "confgs" / "b2b.toml")
    assert caught.value.problems == [
        f"the config file was not found, because the folder {str(tmp_path / 'confgs')!r} "
        "does not exist"
    ]


def test_config_path_is_a_folder(tmp_path: Path):
    (tmp_path / "b2b.toml").write_text(VALID_TOML, encoding="utf-8")
    (tmp_path / "b2c.toml").write_text(VALID_TOML, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert caught.value.problems == [
        "this is a folder; give the config file in it, such as "
        f"{str(tmp_path / 'b2b.toml')!r} (TOML files there: b2b.toml, b2c.toml)"
    ]


def test_choice_shows_what_was_written():
    raw = {"leads": {"id": "id"}, "engagement": {"decay": "half-life"}, "mql": {"threshold": 1}}
    assert problems(raw) == [
        "engagement.decay: input should be 'half_life' or 'linear', got 'half-life'"
    ]


def test_time_zone_in_other_case_suggested():
    raw = with_rule()
    raw["activities"]["timezone"] = "europe/berlin"
    assert problems(raw) == [
        "activities.timezone: unknown time zone 'europe/berlin'; did you mean 'Europe/Berlin'?"
    ]
