"""Config validation: every problem at once, with key paths, and paths relative to the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadq.config import load_config, parse_config
from leadq.errors import ConfigError, ExitCode

VALID = """
[inputs]
leads = "data/leads.csv"
activities = ["data/activities/*.csv"]

[leads]
id = "Record ID"

[activities]
lead_id = "Contact ID"
type = "Activity Type"
timestamp = "Occurred At"

[[engagement.rules]]
name = "Demo request"
type = "form_submit"
points = 25

[mql]
threshold = 40
qualifying_rules = ["Demo request"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "leadq.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert caught.value.exit_code == ExitCode.BAD_CONFIG
    return caught.value.problems


def test_valid_config_loads(tmp_path: Path):
    config = load_config(write(tmp_path, VALID))
    assert config.engagement.rules[0].type == ["form_submit"]
    assert config.engagement.lookback_days == 90
    assert len(config.sha256) == 64


def test_relative_paths_resolve_against_config_folder(tmp_path: Path):
    config = load_config(write(tmp_path, VALID))
    assert config.inputs.leads == str(tmp_path / "data" / "leads.csv")
    assert config.inputs.activities == [str(tmp_path / "data" / "activities" / "*.csv")]


def test_three_mistakes_reported_together(tmp_path: Path):
    text = VALID.replace('type = "form_submit"', 'type = "form_submit"\npionts = 3')
    text = text.replace("points = 25", 'points = "25"')
    text = text.replace('qualifying_rules = ["Demo request"]', 'qualifying_rules = ["Demo"]')
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    message = str(caught.value)
    assert "3 problems" in message
    assert "engagement.rules[1] ('Demo request').pionts: unknown key; did you mean 'points'?" in (
        message
    )
    assert "engagement.rules[1] ('Demo request').points: input should be a valid number" in message
    assert "mql.qualifying_rules[1]: no engagement rule is named 'Demo'" in message


def test_toml_syntax_error_names_line(tmp_path: Path):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "[leads]\nid = \n"))
    assert "invalid TOML" in str(caught.value)
    assert "line 2" in str(caught.value)


def test_missing_config_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="was not found"):
        load_config(tmp_path / "nope.toml")


def test_required_sections_missing():
    found = problems({})
    assert "leads: required section is missing; add a [leads] section" in found
    assert "mql: required section is missing; add a [mql] section" in found


def test_condition_needs_an_operator():
    raw = {
        "leads": {"id": "id"},
        "mql": {"threshold": 1},
        "fit": {"filters": [{"name": "Industry", "field": "Industry"}]},
    }
    assert any("no operator for field 'Industry'" in p for p in problems(raw))


def test_bad_values_each_get_a_problem():
    raw = {
        "leads": {"id": "id", "email": "Email"},
        "activities": {"email": "Email", "type": "t", "timestamp": "ts", "timezone": "Mars/Base"},
        "fit": {
            "filters": [
                {"name": "Size", "field": "Employees", "between": [5000, 50]},
                {"name": "Regex", "field": "Email", "matches": "(?<=x)y"},
            ],
            "exclude": [{"name": "Size", "field": "Email", "missing": True, "if_missing": "pass"}],
        },
        "engagement": {
            "lookback_days": 0,
            "rules": [
                {"name": "A", "points": 1},
                {"name": "A", "points": 2},
                {"name": "L", "source": "lead", "points": 1},
            ],
        },
        "mql": {},
    }
    found = problems(raw)
    expected_fragments = [
        "activities.timezone: unknown time zone 'Mars/Base'",
        "fit.filters[1] ('Size').between: the lower bound 5000 is above the upper bound 50",
        "fit.filters[2] ('Regex').matches: invalid regular expression",
        "fit.exclude[1] ('Size'): `if_missing` has no effect on an exclusion",
        "engagement.lookback_days: input should be greater than or equal to 1",
        "engagement.rules[3] ('L'): a rule with source = \"lead\" needs `where` conditions",
        "mql: set `threshold`, `qualifying_rules` or both",
        "engagement.rules: the name 'A' is used twice",
        "fit: the name 'Size' is used twice",
    ]
    for fragment in expected_fragments:
        assert any(fragment in problem for problem in found), fragment


def test_activities_need_exactly_one_join_key():
    raw = {
        "leads": {"id": "id"},
        "activities": {"type": "t", "timestamp": "ts"},
        "mql": {"threshold": 1},
    }
    assert any("set exactly one of `lead_id` or `email`" in p for p in problems(raw))


def test_email_join_needs_lead_email_column():
    raw = {
        "leads": {"id": "id"},
        "activities": {"email": "Email", "type": "t", "timestamp": "ts"},
        "mql": {"threshold": 1},
    }
    assert any(p.startswith("leads.email: activities are joined by e-mail") for p in problems(raw))


def test_activity_rules_need_activities_section():
    raw = {
        "leads": {"id": "id"},
        "engagement": {"rules": [{"name": "Visit", "type": "page_view", "points": 1}]},
        "mql": {"threshold": 1},
    }
    assert any("there is no [activities] section" in p for p in problems(raw))


def test_number_given_as_text_is_rejected():
    raw = {"leads": {"id": "id"}, "mql": {"threshold": "40"}}
    assert problems(raw) == [
        "mql.threshold: input should be a valid number, got '40'; "
        "write numbers and true/false without quotes"
    ]


def test_unknown_key_has_no_self_suggestion():
    raw = {
        "leads": {"id": "id"},
        "activities": {"lead_id": "l", "type": "t", "timestamp": "ts"},
        "engagement": {
            "rules": [{"name": "R", "points": 1, "where": [{"name": "x", "field": "f", "min": 1}]}]
        },
        "mql": {"threshold": 1},
    }
    found = problems(raw)
    assert found == [
        "engagement.rules[1] ('R').where[1] ('x').name: unknown key; check the spelling"
    ]


def test_lookback_days_has_an_upper_bound():
    raw = {"leads": {"id": "id"}, "engagement": {"lookback_days": 10**6}, "mql": {"threshold": 1}}
    assert problems(raw) == [
        "engagement.lookback_days: input should be less than or equal to 36500, got 1000000"
    ]


def engagement_config(**engagement: object) -> dict:
    return {
        "leads": {"id": "id"},
        "activities": {"lead_id": "l", "type": "t", "timestamp": "ts"},
        "engagement": engagement,
        "mql": {"threshold": 1},
        "output": {"columns": ["group_email"]},
    }


def test_group_and_cap_problems_with_key_paths():
    raw = engagement_config(
        max_points=0,
        groups=[
            {"name": "web", "max_points": 40},
            {"name": "web", "max_points": -5},
            {"name": "email"},
        ],
        rules=[
            {"name": "Visit", "points": 1, "group": "wbe"},
            {"name": "Click", "points": 1, "group": "web", "once_per_days": 0, "max_per_day": 0},
        ],
    )
    assert sorted(problems(raw)) == sorted(
        [
            "engagement.max_points: input should be greater than 0, got 0",
            "engagement.groups[2] ('web').max_points: input should be greater than 0, got -5",
            "engagement.rules[2] ('Click').max_per_day: input should be greater than or equal "
            "to 1, got 0",
            "engagement.rules[2] ('Click').once_per_days: input should be greater than or equal "
            "to 1, got 0",
            "engagement.groups: the name 'web' is used twice; names must be unique",
            "engagement.rules[1] ('Visit').group: no group is named 'wbe' (groups declared: "
            "'web', 'email'); declare it with [[engagement.groups]]",
            "engagement.groups[3] ('email').name: the subtotal column 'group_email' has the name "
            "of a column in output.columns; rename the group or that column",
        ]
    )


def test_decay_choices():
    assert problems(engagement_config(decay="exponential")) == [
        "engagement.decay: input should be 'half_life' or 'linear', got 'exponential'"
    ]
    assert problems(engagement_config(decay="linear", half_life_days=30)) == [
        'engagement: `half_life_days` has no effect with decay = "linear"; remove it, or use '
        'decay = "half_life"'
    ]
    assert parse_config(engagement_config(decay="linear")).engagement.decay == "linear"
    assert parse_config(engagement_config()).engagement.decay == "half_life"


def test_lead_rule_takes_no_frequency_limit():
    rule = {
        "name": "Frequent",
        "source": "lead",
        "where": [{"field": "Views", "min": 10}],
        "points": 5,
        "once_per_days": 7,
    }
    assert problems(engagement_config(rules=[rule])) == [
        "engagement.rules[1] ('Frequent'): a rule with source = \"lead\" takes no `type`, "
        "`max_count`, `max_per_day` or `once_per_days`"
    ]


def test_unknown_group_key_suggests_spelling():
    raw = engagement_config(groups=[{"name": "web", "max_point": 40}])
    assert problems(raw) == [
        "engagement.groups[1] ('web').max_point: unknown key; did you mean 'max_points'?"
    ]
