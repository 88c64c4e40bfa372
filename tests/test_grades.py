"""Fit points, grades, engagement bands, the grade x band cell and the MQL rules built on them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from rich.console import Console
from typer.testing import CliRunner

from leadq.cli import app
from leadq.config import load_config, parse_config
from leadq.console import render_explanation, render_summary
from leadq.errors import ConfigError
from leadq.explain import explain_lead
from leadq.grades import scale_expr
from leadq.scoring import score_leads
from leadq.summary import build_summary, summary_markdown
from tests.conftest import AS_OF, Scorer, lead

POINTS = [
    {"name": "Software", "field": "industry", "in": ["Software"], "points": 30},
    {"name": "Large company", "field": "employees", "min": 200, "points": 25},
    {"name": "Student", "field": "title", "equals": "Student", "points": -40},
    {
        "name": "Uses Salesforce",
        "field": "stack",
        "contains": "Salesforce",
        "points": 10,
        "if_missing": "pass",
    },
]
GRADES = {"A": 60, "B": 30, "C": 0}
BANDS = {"1": 60, "2": 30}
VISIT = {"name": "Visit", "type": "page_view", "points": 10}
DEMO = {"name": "Demo request", "type": "demo", "points": 5}
OLD_COLUMNS = [
    "lead_id",
    "email",
    "fit",
    "fit_failed",
    "engagement_score",
    "reasons",
    "mql",
    "mql_reason",
]


def graded(
    mql: dict[str, Any] | None = None,
    *,
    fit_filters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A config with the four POINTS criteria, grades A/B/C/D and bands 1/2/3."""
    return {
        "fit": {
            "filters": fit_filters or [],
            "points": POINTS,
            "grades": GRADES,
            "fallback_grade": "D",
        },
        "engagement": {"rules": [VISIT, DEMO], "bands": BANDS, "fallback_band": "3"},
        "mql": mql or {"threshold": 10},
    }


def visits(lead_id: str, count: int, kind: str = "page_view") -> list[dict[str, str]]:
    return [{"lead": lead_id, "type": kind, "at": "2026-11-30"} for _ in range(count)]


def person(lead_id: str, **columns: str) -> dict[str, str]:
    """A lead row; the columns that POINTS reads are blank unless given."""
    row = {"id": lead_id, "email": f"{lead_id.lower()}@acme.com"}
    return {**row, "industry": "", "employees": "", "title": "", "stack": "", **columns}


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    return caught.value.problems


def raw_config(**sections: Any) -> dict[str, Any]:
    return {"leads": {"id": "id"}, "mql": {"threshold": 1}, **sections}


def test_fit_score_sums_met_criteria(score: Scorer):
    leads = [
        # 30 + 25 + 10 = 65
        person("A", industry="Software", employees="500", title="CTO", stack="Salesforce, Slack"),
        # "1,200" is a number and "software" matches without case: 30 + 25 - 40 = 15
        person("B", industry="software", employees="1,200", title="Student", stack="HubSpot"),
    ]
    result = score(graded(), leads, [])
    assert lead(result, "A")["fit_score"] == 65
    assert lead(result, "B")["fit_score"] == 15


def test_fit_score_negative_and_missing(score: Scorer):
    leads = [
        # industry Retail earns nothing, missing employees earns nothing, Student -40,
        # missing stack passes through if_missing: -40 + 10 = -30
        person("A", industry="Retail", title="Student"),
        # every value missing: only the if_missing = "pass" criterion earns, 10
        person("B"),
    ]
    result = score(graded(), leads, [])
    assert lead(result, "A")["fit_score"] == -30
    assert lead(result, "B")["fit_score"] == 10


def test_fit_score_rounds_decimal_points(score: Scorer):
    # three criteria of 0.1 each add up to 0.30000000000000004 before rounding
    criteria = [
        {"name": f"Tenth {n}", "field": "industry", "missing": False, "points": 0.1}
        for n in range(3)
    ]
    settings = {"fit": {"points": criteria}, "mql": {"threshold": 10}}
    result = score(settings, [person("A", industry="Software")], [])
    assert lead(result, "A")["fit_score"] == 0.3


def test_grade_edges_are_inclusive(score: Scorer):
    expected = {
        "L1": ("Software", "500", "Salesforce", 65, "A"),  # 30 + 25 + 10
        "L2": ("Software", "500", "HubSpot", 55, "B"),  # 30 + 25, below 60
        "L3": ("Software", "", "Salesforce", 40, "B"),  # 30 + 10
        "L4": ("Software", "", "HubSpot", 30, "B"),  # exactly the minimum of B
        "L5": ("Retail", "500", "HubSpot", 25, "C"),
        "L6": ("Retail", "", "HubSpot", 0, "C"),  # exactly the minimum of C, which is 0
    }
    leads = [
        person(key, industry=industry, employees=size, stack=stack)
        for key, (industry, size, stack, _, _) in expected.items()
    ]
    leads.append(person("L7", title="Student", stack="HubSpot"))  # -40, below every minimum
    result = score(graded(), leads, [])
    for key, (_, _, _, fit_score, grade) in expected.items():
        assert lead(result, key)["fit_score"] == fit_score, key
        assert lead(result, key)["fit_grade"] == grade, key
    assert lead(result, "L7")["fit_grade"] == "D"


def test_grade_at_exactly_sixty_is_a(score: Scorer):
    # 30 + 30: two criteria that together land on the minimum of A
    criteria = [
        {"name": "Software", "field": "industry", "equals": "Software", "points": 30},
        {"name": "Germany", "field": "country", "equals": "DE", "points": 30},
    ]
    settings = {
        "fit": {"points": criteria, "grades": GRADES, "fallback_grade": "D"},
        "mql": {"threshold": 10},
    }
    row = lead(score(settings, [person("A", industry="Software", country="DE")], []), "A")
    assert row["fit_score"] == 60
    assert row["fit_grade"] == "A"


def test_band_edges_are_inclusive(score: Scorer):
    expected = {"A": (6, "1"), "B": (5, "2"), "C": (3, "2"), "D": (2, "3"), "E": (0, "3")}
    leads = [person(key) for key in expected]
    activities = [row for key, (count, _) in expected.items() for row in visits(key, count)]
    result = score(graded(), leads, activities)
    for key, (count, band) in expected.items():
        assert lead(result, key)["engagement_score"] == 10 * count, key
        assert lead(result, key)["engagement_band"] == band, key


def test_band_uses_rounded_score(score: Scorer):
    # one visit of 29.995 points rounds half away from zero to 30, the minimum of band 2
    settings = graded()
    settings["engagement"]["rules"] = [{**VISIT, "points": 29.995}]
    row = lead(score(settings, [person("A")], visits("A", 1)), "A")
    assert row["engagement_score"] == 30
    assert row["engagement_band"] == "2"


def test_grade_band_joins_grade_and_band(score: Scorer):
    leads = [
        person("A", industry="Software", employees="500", stack="Salesforce"),  # 65: A
        person("B", industry="Retail", stack="HubSpot"),  # 0: C
    ]
    result = score(graded(), leads, visits("A", 7) + visits("B", 1))
    assert lead(result, "A")["grade_band"] == "A1"  # 70 points
    assert lead(result, "B")["grade_band"] == "C3"  # 10 points


def test_columns_follow_fit_failed_and_score(score: Scorer):
    result = score(graded(), [person("A")], [])
    assert result.scored_leads.columns == [
        "lead_id",
        "email",
        "fit",
        "fit_failed",
        "fit_score",
        "fit_grade",
        "engagement_score",
        "engagement_band",
        "grade_band",
        "reasons",
        "mql",
        "mql_reason",
    ]


def test_points_alone_add_only_fit_score(score: Scorer):
    settings = {"fit": {"points": POINTS}, "mql": {"threshold": 10}}
    result = score(settings, [person("A")], [])
    assert result.scored_leads.columns == [*OLD_COLUMNS[:4], "fit_score", *OLD_COLUMNS[4:]]


def test_bands_without_grades_have_no_cell(score: Scorer):
    settings = {
        "engagement": {"rules": [VISIT], "bands": BANDS, "fallback_band": "3"},
        "mql": {"threshold": 10},
    }
    result = score(settings, [person("A")], visits("A", 3))
    assert result.scored_leads.columns == [*OLD_COLUMNS[:5], "engagement_band", *OLD_COLUMNS[5:]]
    assert lead(result, "A")["engagement_band"] == "2"


def test_unfit_grade_a_is_not_mql(score: Scorer):
    only_acme = [{"name": "Company e-mail", "field": "email", "contains": "@acme.com"}]
    settings = graded({"threshold": 10, "cells": ["A1"]}, fit_filters=only_acme)
    leads = [person("A", industry="Software", employees="500", stack="Salesforce")]
    leads[0]["email"] = "a@gmail.com"
    row = lead(score(settings, leads, visits("A", 7)), "A")
    assert row["fit"] is False
    assert row["fit_grade"] == "A"
    assert row["grade_band"] == "A1"
    assert row["mql"] is False
    assert row["mql_reason"] == "not fit"


def test_min_grade_gates_threshold_and_rules(score: Scorer):
    settings = graded({"threshold": 40, "qualifying_rules": ["Demo request"], "min_grade": "B"})
    leads = [
        person("B", industry="Software", stack="Salesforce"),  # 40: B
        person("C", industry="Retail", employees="500", stack="HubSpot"),  # 25: C
        person("A", industry="Software", employees="500", stack="Salesforce"),  # 65: A
        person("K", industry="Retail", stack="HubSpot"),  # 0: C
    ]
    activities = visits("B", 6) + visits("C", 6) + visits("A", 1, "demo") + visits("K", 1, "demo")
    result = score(settings, leads, activities)
    assert lead(result, "B")["mql"] is True
    assert lead(result, "B")["mql_reason"] == "score 60 >= 40"
    assert lead(result, "C")["mql"] is False
    assert lead(result, "C")["mql_reason"] == "grade C below B"
    assert lead(result, "A")["mql"] is True
    assert lead(result, "A")["mql_reason"] == "Demo request"
    assert lead(result, "K")["mql"] is False
    assert lead(result, "K")["mql_reason"] == "grade C below B"


def test_listed_cell_makes_mql(score: Scorer):
    settings = graded({"threshold": 100, "cells": ["A2", "B1"]})
    leads = [
        person("A", industry="Software", employees="500", stack="Salesforce"),  # 65: A
        person("B", industry="Software", stack="Salesforce"),  # 40: B
        person("H", industry="Software", employees="500", stack="Salesforce"),  # 65: A
    ]
    activities = visits("A", 5) + visits("B", 5) + visits("H", 12)
    result = score(settings, leads, activities)
    assert lead(result, "A")["mql"] is True
    assert lead(result, "A")["mql_reason"] == "cell A2"
    assert lead(result, "B")["mql"] is False
    assert lead(result, "B")["mql_reason"] == "score 50 < 100; cell B2 not listed"
    assert lead(result, "H")["mql_reason"] == "score 120 >= 100"


def test_cells_without_threshold(score: Scorer):
    settings = graded({"cells": ["A1"]})
    leads = [person("A", industry="Software", employees="500", stack="Salesforce")]  # A
    row = lead(score(settings, leads, visits("A", 4)), "A")
    assert row["mql"] is False
    assert row["mql_reason"] == "cell A2 not listed"


def test_cell_threshold_and_rule_reasons_together(score: Scorer):
    settings = graded({"threshold": 40, "qualifying_rules": ["Demo request"], "cells": ["A1"]})
    leads = [person("A", industry="Software", employees="500", stack="Salesforce")]
    row = lead(score(settings, leads, visits("A", 6) + visits("A", 1, "demo")), "A")
    assert row["engagement_score"] == 65
    assert row["mql_reason"] == "score 65 >= 40; cell A1; Demo request"


def test_equal_grade_minimums_rejected():
    fit = {"points": POINTS, "grades": {"A": 60, "B": 60}, "fallback_grade": "C"}
    assert problems(raw_config(fit=fit)) == [
        "fit.grades: list the best first, with each minimum below the one before, but "
        "B = 60 is not below A = 60"
    ]


def test_rising_band_minimums_rejected():
    engagement = {"bands": {"1": 30, "2": 60}, "fallback_band": "3"}
    assert problems(raw_config(engagement=engagement)) == [
        "engagement.bands: list the best first, with each minimum below the one before, but "
        "2 = 60 is not below 1 = 30"
    ]


def test_missing_fallback_reported_with_bad_grades():
    fit = {"points": POINTS, "grades": {"A": 40, "B": 60}}
    assert problems(raw_config(fit=fit)) == [
        "fit.grades: list the best first, with each minimum below the one before, but "
        "B = 60 is not below A = 40",
        "fit.fallback_grade: required key is missing, because `grades` needs a grade for leads "
        'below its lowest minimum, e.g. fallback_grade = "D"',
    ]


def test_scale_shape_problems():
    fit = {"points": POINTS, "grades": {}, "fallback_grade": "D"}
    engagement = {"bands": {" 1": 60}}
    found = problems(raw_config(fit=fit, engagement=engagement))
    assert "fit.grades: list at least one name with its minimum score" in found[0]
    assert found[1] == "engagement.bands: the name ' 1' is blank or has spaces around it"
    assert found[2].startswith("engagement.fallback_band: required key is missing")
    assert len(found) == 3


def test_fallback_grade_problems():
    missing = {"points": POINTS, "grades": GRADES}
    assert problems(raw_config(fit=missing)) == [
        "fit.fallback_grade: required key is missing, because `grades` needs a grade for leads "
        'below its lowest minimum, e.g. fallback_grade = "D"'
    ]
    reused = {**missing, "fallback_grade": "A"}
    assert problems(raw_config(fit=reused)) == [
        "fit.fallback_grade: 'A' is already a grade in `grades`, so give the fallback its own name"
    ]
    alone = {"fallback_band": "3"}
    assert problems(raw_config(engagement=alone)) == [
        "engagement.fallback_band: set `bands` too, or remove `fallback_band`"
    ]


def test_grade_minimum_must_be_finite():
    fit = {"points": POINTS, "grades": {"A": float("nan")}, "fallback_grade": "B"}
    assert problems(raw_config(fit=fit)) == [
        "fit.grades.A: input should be a finite number, got nan"
    ]


def test_invalid_points_do_not_blame_grades():
    fit = {"points": [{"name": "Size", "points": 5}], "grades": GRADES, "fallback_grade": "D"}
    assert problems(raw_config(fit=fit)) == [
        "fit.points[1] ('Size').field: required key is missing",
    ]


def test_grades_need_points():
    fit = {"grades": GRADES, "fallback_grade": "D"}
    assert problems(raw_config(fit=fit)) == [
        "fit.grades: grades need [[fit.points]] criteria, because every fit_score would be 0"
    ]


def test_unknown_min_grade_and_cells():
    raw = graded({"threshold": 10, "min_grade": "E", "cells": ["A1", "a2", "D4"]})
    raw["activities"] = {"lead_id": "lead", "type": "type", "timestamp": "at"}
    raw["leads"] = {"id": "id"}
    assert problems(raw) == [
        "mql.min_grade: no grade is named 'E' (grades: 'A', 'B', 'C', 'D')",
        "mql.cells[2]: no cell is named 'a2'. Write a grade followed by a band, such as 'A1' "
        "(grades: A, B, C, D; bands: 1, 2, 3)",
        "mql.cells[3]: no cell is named 'D4'. Write a grade followed by a band, such as 'A1' "
        "(grades: A, B, C, D; bands: 1, 2, 3)",
    ]


def test_cell_below_min_grade_rejected():
    raw = graded({"threshold": 10, "min_grade": "B", "cells": ["A1", "C1"]})
    raw["activities"] = {"lead_id": "lead", "type": "type", "timestamp": "at"}
    raw["leads"] = {"id": "id"}
    assert problems(raw) == [
        "mql.cells[2]: 'C1' can never qualify, because its grade C is below mql.min_grade 'B'"
    ]


def test_min_grade_and_cells_need_scales():
    raw = raw_config(mql={"min_grade": "A", "cells": ["A1"]})
    assert problems(raw) == [
        "mql.min_grade: set fit.grades too, so that leads have a grade",
        "mql.cells: a cell is a grade followed by a band, such as 'A1', so set both "
        "fit.grades and engagement.bands",
    ]


def test_ambiguous_cells_rejected():
    fit = {"points": POINTS, "grades": {"A": 10, "A1": 5}, "fallback_grade": "D"}
    engagement = {"bands": {"11": 20, "1": 10}, "fallback_band": "3"}
    found = problems(raw_config(fit=fit, engagement=engagement))
    assert found == [
        "engagement.bands: grade 'A' with band '11' and grade 'A1' with band '1' both make "
        "the cell 'A11'; rename a grade or a band so that each cell is unique"
    ]


def test_duplicate_points_names_rejected():
    fit = {"points": [POINTS[0], POINTS[0]]}
    assert problems(raw_config(fit=fit)) == [
        "fit.points: the name 'Software' is used twice; names must be unique"
    ]


def test_points_criterion_key_paths():
    fit = {"points": [{"name": "Size", "field": "employees", "min": 50, "points": "20"}]}
    found = problems(raw_config(fit=fit))
    assert found == [
        "fit.points[1] ('Size').points: input should be a valid number, got '20'; "
        "write numbers and true/false without quotes"
    ]


def test_fallback_band_number_gets_quote_hint():
    engagement = {"bands": BANDS, "fallback_band": 3}
    assert problems(raw_config(engagement=engagement)) == [
        "engagement.fallback_band: input should be a valid string, got 3; write text in quotes, "
        'such as "3"'
    ]


def test_toml_bands_with_bare_digit_keys(tmp_path: Path):
    path = tmp_path / "leadq.toml"
    path.write_text(
        '[leads]\nid = "id"\n\n[engagement]\nbands = { 1 = 60, 2 = 30 }\nfallback_band = "3"\n'
        "\n[mql]\nthreshold = 40\n",
        encoding="utf-8",
    )
    assert load_config(path).engagement.band_names() == ["1", "2", "3"]


def test_without_grading_output_unchanged(score: Scorer):
    leads = [
        person("A", industry="Software", employees="500", stack="Salesforce"),
        person("B", title="Student"),
        person("C", industry="Retail"),
    ]
    activities = visits("A", 5) + visits("B", 1) + visits("C", 1, "demo")
    plain = {"engagement": {"rules": [VISIT, DEMO]}, "mql": {"threshold": 10}}
    before = score(plain, leads, activities)
    after = score(graded(), leads, activities)
    assert before.scored_leads.columns == OLD_COLUMNS
    assert "fit_grades" not in build_summary(before)
    new_columns = ["fit_score", "fit_grade", "engagement_band", "grade_band"]
    assert_frame_equal(after.scored_leads.drop(new_columns), before.scored_leads)


def test_b2b_without_grading_keeps_old_funnel():
    config = load_config(Path(__file__).resolve().parents[1] / "configs" / "b2b.toml")
    raw = config.model_dump(by_alias=True, exclude_defaults=True)
    for key in ("points", "grades", "fallback_grade"):
        raw["fit"].pop(key, None)
    for key in ("bands", "fallback_band"):
        raw["engagement"].pop(key, None)
    for key in ("min_grade", "cells"):
        raw["mql"].pop(key, None)
    raw.pop("accounts", None)
    result = score_leads(parse_config(raw), as_of=AS_OF)
    grading = {"fit_score", "fit_grade", "engagement_band", "grade_band"}
    assert not grading & set(result.scored_leads.columns)
    assert result.scored_leads["fit"].sum() == 194
    assert result.scored_leads["mql"].sum() == 62


def test_summary_counts_grades_bands_cells(score: Scorer):
    leads = [
        person("A", industry="Software", employees="500", stack="Salesforce"),  # A
        person("B", industry="Software", stack="Salesforce"),  # B
        person("C", industry="Software", stack="Salesforce"),  # B
    ]
    result = score(graded({"threshold": 50}), leads, visits("A", 6) + visits("B", 6))
    summary = build_summary(result)
    grades = {item["grade"]: item for item in summary["fit_grades"]}
    assert grades["A"] == {"grade": "A", "min_fit_score": 60, "leads": 1, "fit": 1, "mql": 1}
    assert grades["B"]["leads"] == 2
    assert grades["B"]["mql"] == 1
    assert grades["D"] == {"grade": "D", "min_fit_score": None, "leads": 0, "fit": 0, "mql": 0}
    bands = {item["band"]: item["leads"] for item in summary["engagement_bands"]}
    assert bands == {"1": 2, "2": 0, "3": 1}
    cells = {item["cell"]: item["leads"] for item in summary["grade_band_cells"]}
    assert len(cells) == 12
    assert (cells["A1"], cells["B1"], cells["B3"], cells["C1"]) == (1, 1, 1, 0)

    markdown = summary_markdown(summary)
    assert "| D | below 0 | 0 | 0 | 0 |" in markdown
    assert "| B | 1 (1) | 0 (0) | 1 (0) |" in markdown
    console = Console(record=True, width=200)
    render_summary(summary, console)
    assert "Grade x band: leads (MQLs)" in console.export_text()


def test_explain_lists_points_and_grade(score: Scorer):
    leads = [person("A", industry="Software", title="Student", stack="")]
    result = score(graded(), leads, visits("A", 4))
    explanation = explain_lead(result, "A")
    earned = {check.name: (check.value, check.earned) for check in explanation.fit_points}
    # 30 - 40 + 10 (missing stack passes) = 0, grade C
    assert earned == {
        "Software": ("Software", 30),
        "Large company": (None, 0),
        "Student": ("Student", -40),
        "Uses Salesforce": (None, 10),
    }
    console = Console(record=True, width=200)
    render_explanation(explanation, console)
    text = console.export_text()
    assert "Fit score: 0, grade C" in text
    assert "Engagement score: 40, band 2" in text
    assert "Grade and band cell: C2" in text
    assert "-40" in text


def test_explain_cli_shows_points(tmp_path: Path):
    (tmp_path / "leads.csv").write_text("id,industry\nL1,Software\n", encoding="utf-8")
    (tmp_path / "leadq.toml").write_text(
        '[inputs]\nleads = "leads.csv"\n\n[leads]\nid = "id"\n\n'
        '[fit]\ngrades = { A = 30 }\nfallback_grade = "B"\n\n'
        '[[fit.points]]\nname = "Software"\nfield = "industry"\nequals = "Software"\npoints = 30\n'
        "\n[mql]\nthreshold = 1\n",
        encoding="utf-8",
    )
    args = ["explain", "--config", str(tmp_path / "leadq.toml"), "L1"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Fit score: 30, grade A" in result.stdout
    assert "'Software'" in result.stdout
    assert "+30" in result.stdout


minimum_lists = st.lists(
    st.floats(min_value=-1000, max_value=1000, allow_nan=False), min_size=1, max_size=5, unique=True
)
fit_scores = st.lists(st.floats(min_value=-2000, max_value=2000, allow_nan=False), min_size=1)


@given(minimum_lists, fit_scores)
def test_grade_monotone_in_fit_score(minimums: list[float], scores: list[float]):
    names = [f"G{rank}" for rank in range(len(minimums))]
    scale = dict(zip(names, sorted(minimums, reverse=True), strict=True))
    frame = pl.DataFrame({"score": sorted(scores)}).with_columns(
        scale_expr(pl.col("score"), scale, "Fallback").alias("grade")
    )
    order = [*names, "Fallback"]
    ranks = [order.index(grade) for grade in frame["grade"]]
    # a higher score never gets a worse grade
    assert ranks == sorted(ranks, reverse=True)
    for value, grade in zip(frame["score"], frame["grade"], strict=True):
        reached = [name for name, minimum in scale.items() if value >= minimum]
        assert grade == (reached[0] if reached else "Fallback")
