"""`leadq diff`: two configs on the same leads, compared lead by lead and by cause."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from leadq.cli import app
from leadq.config import Config, load_config, parse_config
from leadq.diff import MOVERS, LeadComparison, compare_leads
from leadq.engagement import count_column, points_column
from leadq.errors import ExitCode
from leadq.fit import exclusion_column, filter_column

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
SAMPLE_CONFIG = REPO / "configs" / "b2b.toml"


def make_config(
    *,
    threshold: float | None = 40,
    qualifying: list[str] | None = None,
    filters: list[dict[str, Any]] | None = None,
    exclusions: list[dict[str, Any]] | None = None,
    rules: list[tuple[str, float]] | None = None,
) -> Config:
    """A config whose criteria and rules only need names and what they hold to be compared."""
    mql: dict[str, Any] = {"qualifying_rules": qualifying or []}
    if threshold is not None:
        mql["threshold"] = threshold
    rule_list = rules if rules is not None else [("Demo request", 25)]
    return parse_config(
        {
            "leads": {"id": "id"},
            "activities": {"lead_id": "lead", "type": "type", "timestamp": "at"},
            "fit": {
                "filters": filters or [{"name": "Industry", "field": "industry", "equals": "IT"}],
                "exclude": exclusions or [],
            },
            "engagement": {
                "rules": [
                    {"name": name, "type": name.lower(), "points": points}
                    for name, points in rule_list
                ]
            },
            "mql": mql,
        }
    )


def scored(config: Config, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Build the lead columns a scoring run leaves, from hand-written rows.

    A row contains `lead_id`, `fit`, `score` and `mql`, then, by name, True where a filter
    passes or an exclusion matches, and `(count, points)` for each rule that matched.
    """
    columns: dict[str, list[Any]] = {
        "lead_id": [row["lead_id"] for row in rows],
        "fit": [row["fit"] for row in rows],
        "engagement_score": [float(row["score"]) for row in rows],
        "mql": [row["mql"] for row in rows],
    }
    for position, rule in enumerate(config.fit.filters):
        columns[filter_column(position)] = [row.get(rule.name, True) for row in rows]
    for position, rule in enumerate(config.fit.exclude):
        columns[exclusion_column(position)] = [row.get(rule.name, False) for row in rows]
    for position, rule in enumerate(config.engagement.rules):
        earned = [row.get(rule.name, (0, 0.0)) for row in rows]
        columns[count_column(position)] = [count for count, _ in earned]
        columns[points_column(position)] = [float(points) for _, points in earned]
    return pl.DataFrame(columns).with_columns(pl.col("^_count_.*$").cast(pl.Int64))


def compare(
    old_config: Config,
    old_rows: list[dict[str, Any]],
    new_config: Config,
    new_rows: list[dict[str, Any]],
) -> LeadComparison:
    return compare_leads(
        scored(old_config, old_rows), old_config, scored(new_config, new_rows), new_config
    )


def lead_row(comparison: LeadComparison, lead_id: str) -> dict[str, Any]:
    rows = comparison.leads.filter(pl.col("lead_id") == lead_id)
    assert rows.height == 1
    return rows.row(0, named=True)


def lead(lead_id: str, *, fit: bool = True, score: float = 0, mql: bool = False, **parts: Any):
    return {"lead_id": lead_id, "fit": fit, "score": score, "mql": mql, **parts}


# --- counts -------------------------------------------------------------------------------


def test_gain_and_lose_fit():
    old = make_config(filters=[{"name": "Industry", "field": "industry", "equals": "IT"}])
    new = make_config(filters=[{"name": "Industry", "field": "industry", "equals": "Retail"}])
    # A passes only the old filter, B only the new one, C both, D neither
    comparison = compare(
        old,
        [
            lead("A", Industry=True),
            lead("B", fit=False, Industry=False),
            lead("C", Industry=True),
            lead("D", fit=False, Industry=False),
        ],
        new,
        [
            lead("A", fit=False, Industry=False),
            lead("B", Industry=True),
            lead("C", Industry=True),
            lead("D", fit=False, Industry=False),
        ],
    )

    counts = comparison.counts
    assert counts["gain_fit"] == 1
    assert counts["lose_fit"] == 1
    assert counts["old"] == {"total": 4, "fit": 2, "mql": 0}
    assert counts["new"] == {"total": 4, "fit": 2, "mql": 0}

    [industry] = comparison.fit_causes
    assert industry["status"] == "changed"
    assert industry["leads_changed"] == 2
    assert industry["now_pass"] == 1
    assert industry["now_fail"] == 1
    assert industry["fit_changed"] == 2
    assert lead_row(comparison, "A")["causes"] == "now fails Industry"
    assert lead_row(comparison, "B")["causes"] == "now passes Industry"
    assert comparison.changed_leads["lead_id"].to_list() == ["A", "B"]


def test_become_stop_and_keep_mql():
    rules = [("Demo request", 25), ("Visit", 10), ("Unsubscribe", -10)]
    old = make_config(threshold=40, rules=rules)
    new = make_config(threshold=30, rules=[*rules[:2], ("Unsubscribe", -30)])
    # A: two demos and an unsubscribe, 50 - 10 = 40 -> 50 - 30 = 20: stops being an MQL
    # B: a demo and a visit, 35 < 40 -> 35 >= 30: becomes an MQL
    # C: two demos, 50 in both: keeps MQL. D: 50 in both, but not fit, so never an MQL
    demos = {"Demo request": (2, 50)}
    comparison = compare(
        old,
        [
            lead("A", score=40, mql=True, Unsubscribe=(1, -10), **demos),
            lead("B", score=35, Visit=(1, 10), **{"Demo request": (1, 25)}),
            lead("C", score=50, mql=True, **demos),
            lead("D", fit=False, score=50, **demos),
        ],
        new,
        [
            lead("A", score=20, Unsubscribe=(1, -30), **demos),
            lead("B", score=35, mql=True, Visit=(1, 10), **{"Demo request": (1, 25)}),
            lead("C", score=50, mql=True, **demos),
            lead("D", fit=False, score=50, **demos),
        ],
    )

    counts = comparison.counts
    assert counts["become_mql"] == 1
    assert counts["stop_mql"] == 1
    assert counts["keep_mql"] == 1
    assert counts["score_changed"] == 1
    assert counts["old"]["mql"] == 2
    assert counts["new"]["mql"] == 2
    assert comparison.changed_leads["lead_id"].to_list() == ["A", "B"]
    # 40 >= 30, so the threshold alone would have kept A; only B is its doing
    assert lead_row(comparison, "A")["causes"] == "Unsubscribe x1 -10 -> x1 -30"
    assert lead_row(comparison, "B")["causes"] == "threshold 40 -> 30"


def test_identical_runs_change_nothing():
    config = make_config()
    rows = [lead("A", score=45, mql=True, **{"Demo request": (1, 45)}), lead("B")]
    comparison = compare(config, rows, config, rows)
    assert comparison.changed_leads.is_empty()
    assert comparison.movers.is_empty()
    assert comparison.mql_causes == []
    assert [rule["status"] for rule in comparison.rule_causes] == ["same"]
    assert comparison.counts["keep_mql"] == 1


# --- mismatched lead sets ----------------------------------------------------------------


def test_lead_in_one_result_only():
    config = make_config()
    # A is only in the old result, C only in the new one: each counts in its own run's
    # totals, but neither gains, loses, becomes or stops anything
    comparison = compare(
        config,
        [lead("A", score=50, mql=True), lead("B", score=10)],
        config,
        [lead("B", score=10), lead("C", score=70, mql=True)],
    )

    counts = comparison.counts
    assert counts["old"] == {"total": 2, "fit": 2, "mql": 1}
    assert counts["new"] == {"total": 2, "fit": 2, "mql": 1}
    assert counts["in_both"] == 1
    assert counts["only_old"] == 1
    assert counts["only_new"] == 1
    for key in ("gain_fit", "lose_fit", "become_mql", "stop_mql", "keep_mql", "score_changed"):
        assert counts[key] == 0, key

    changed = comparison.changed_leads
    assert changed["lead_id"].to_list() == ["A", "C"]
    only_old = changed.row(0, named=True)
    assert only_old["causes"] == "scored only under the old config"
    assert only_old["score_old"] == 50
    assert only_old["score_new"] is None
    assert only_old["delta"] is None
    assert only_old["mql_new"] is None
    assert changed.row(1, named=True)["causes"] == "scored only under the new config"
    assert comparison.movers.is_empty()


# --- movers ------------------------------------------------------------------------------


def test_movers_by_size_then_lead_id():
    config = make_config()
    old_scores = {"A": 10, "B": 10, "C": 10, "D": 10, "E": 10}
    # deltas: A -5, B +5, C +10, D 0, E -3; A and B tie on size, so A comes first
    new_scores = {"A": 5, "B": 15, "C": 20, "D": 10, "E": 7}
    comparison = compare(
        config,
        [lead(key, score=value) for key, value in old_scores.items()],
        config,
        [lead(key, score=value) for key, value in new_scores.items()],
    )
    movers = comparison.movers
    assert movers["lead_id"].to_list() == ["C", "A", "B", "E"]
    assert movers["delta"].to_list() == [10, -5, 5, -3]


def test_movers_keep_the_top_20():
    config = make_config()
    ids = [f"L{number:02d}" for number in range(25)]
    # lead L<n> moves by n + 1 points, so the 20 biggest are L24 down to L05
    comparison = compare(
        config,
        [lead(key) for key in ids],
        config,
        [lead(key, score=number + 1) for number, key in enumerate(ids)],
    )
    assert MOVERS == 20
    assert comparison.movers["lead_id"].to_list() == ids[:4:-1]


def test_delta_is_rounded():
    config = make_config()
    # 0.3 - 0.1 is 0.19999999999999998 in floating point
    comparison = compare(config, [lead("A", score=0.1)], config, [lead("A", score=0.3)])
    assert lead_row(comparison, "A")["delta"] == 0.2


# --- causes ------------------------------------------------------------------------------


def test_rule_changed_added_and_removed():
    old = make_config(rules=[("Demo request", 25), ("Visit", 10)])
    new = make_config(rules=[("Demo request", 30), ("Webinar", 20)])
    # A: demo 25 -> 30 and two visits worth 20 that no longer count: 45 -> 30
    # B: a webinar worth 20 that only the new config scores: 0 -> 20
    comparison = compare(
        old,
        [lead("A", score=45, mql=True, **{"Demo request": (1, 25), "Visit": (2, 20)}), lead("B")],
        new,
        [
            lead("A", score=30, **{"Demo request": (1, 30)}),
            lead("B", score=20, Webinar=(1, 20)),
        ],
    )

    causes = {rule["name"]: rule for rule in comparison.rule_causes}
    assert list(causes) == ["Demo request", "Visit", "Webinar"]
    assert causes["Demo request"]["status"] == "changed"
    assert causes["Demo request"]["leads_changed"] == 1
    assert causes["Demo request"]["points_delta"] == 5
    assert causes["Visit"]["status"] == "removed"
    assert causes["Visit"]["leads_changed"] == 1
    assert causes["Visit"]["points_delta"] == -20
    assert causes["Webinar"]["status"] == "added"
    assert causes["Webinar"]["leads_changed"] == 1
    assert causes["Webinar"]["points_delta"] == 20

    assert lead_row(comparison, "A")["causes"] == (
        "Demo request x1 +25 -> x1 +30; Visit (removed) x2 +20"
    )
    assert lead_row(comparison, "B")["causes"] == "Webinar (added) x1 +20"


def test_threshold_alone_names_its_flips():
    old = make_config(threshold=40)
    new = make_config(threshold=50, rules=[("Demo request", 30)])
    # A: 45 stays 45, and 45 < 50 -> stops, by the threshold alone
    # B: 45 -> 48 by the rule, still < 50 -> stops; the threshold alone would stop it too
    # C: 45 -> 54 by the rule -> stays an MQL, so nothing flipped
    # D: 35 -> 55 by the rule -> becomes an MQL; the threshold alone (35 >= 50) would not
    comparison = compare(
        old,
        [
            lead("A", score=45, mql=True),
            lead("B", score=45, mql=True, **{"Demo request": (1, 25)}),
            lead("C", score=45, mql=True, **{"Demo request": (1, 25)}),
            lead("D", score=35, **{"Demo request": (1, 25)}),
        ],
        new,
        [
            lead("A", score=45),
            lead("B", score=48, **{"Demo request": (1, 28)}),
            lead("C", score=54, mql=True, **{"Demo request": (1, 34)}),
            lead("D", score=55, mql=True, **{"Demo request": (1, 45)}),
        ],
    )

    [threshold] = comparison.mql_causes
    assert threshold["setting"] == "threshold"
    assert threshold["stop_mql"] == 2
    assert threshold["become_mql"] == 0
    assert threshold["text"] == "threshold 40 -> 50: 2 leads stop being MQL"
    assert lead_row(comparison, "A")["causes"] == "threshold 40 -> 50"
    assert lead_row(comparison, "B")["causes"] == (
        "Demo request x1 +25 -> x1 +28; threshold 40 -> 50"
    )
    assert lead_row(comparison, "D")["causes"] == "Demo request x1 +25 -> x1 +45"


def test_threshold_change_that_flips_nobody_is_still_listed():
    old = make_config(threshold=40)
    new = make_config(threshold=45)
    comparison = compare(old, [lead("A", score=60, mql=True)], new, [lead("A", score=60, mql=True)])
    [threshold] = comparison.mql_causes
    assert threshold["text"] == (
        "threshold 40 -> 45: no lead changes MQL status from this change alone"
    )


def test_new_qualifying_rule_makes_mqls():
    old = make_config(threshold=40, qualifying=[])
    new = make_config(threshold=40, qualifying=["Demo request"])
    # A asked for a demo (25 points, below 40): the new qualifying rule alone makes it an MQL.
    # B asked too but is not fit, and C did not ask.
    comparison = compare(
        old,
        [
            lead("A", score=25, **{"Demo request": (1, 25)}),
            lead("B", fit=False, score=25, **{"Demo request": (1, 25)}),
            lead("C", score=10),
        ],
        new,
        [
            lead("A", score=25, mql=True, **{"Demo request": (1, 25)}),
            lead("B", fit=False, score=25, **{"Demo request": (1, 25)}),
            lead("C", score=10),
        ],
    )

    [qualifying] = comparison.mql_causes
    assert qualifying["setting"] == "qualifying_rules"
    assert qualifying["text"] == 'qualifying_rules none -> "Demo request": 1 lead becomes MQL'
    assert lead_row(comparison, "A")["causes"] == 'qualifying_rules none -> "Demo request"'
    assert comparison.changed_leads["lead_id"].to_list() == ["A"]


def test_reordered_qualifying_rules_are_no_change():
    rules = [("Demo request", 25), ("Trial", 25)]
    old = make_config(qualifying=["Demo request", "Trial"], rules=rules)
    new = make_config(qualifying=["Trial", "Demo request"], rules=rules)
    comparison = compare(old, [lead("A")], new, [lead("A")])
    assert comparison.mql_causes == []


def test_criteria_match_by_name_not_position():
    size = {"name": "Size", "field": "employees", "min": 50}
    industry = {"name": "Industry", "field": "industry", "equals": "IT"}
    old = make_config(filters=[size, industry])
    new = make_config(filters=[industry, size])
    # B fails Size in both runs; by position it would look like a change
    rows = [lead("A"), lead("B", fit=False, Size=False)]
    comparison = compare(old, rows, new, rows)
    assert [(c["name"], c["status"], c["leads_changed"]) for c in comparison.fit_causes] == [
        ("Size", "same", 0),
        ("Industry", "same", 0),
    ]
    assert comparison.changed_leads.is_empty()


def test_added_exclusion_excludes_leads():
    personal = {"name": "Personal e-mail", "field": "email", "matches": "@gmail\\."}
    old = make_config()
    new = make_config(exclusions=[personal])
    # A matches the new exclusion, so it is no longer fit and stops being an MQL
    comparison = compare(
        old,
        [lead("A", score=60, mql=True), lead("B", score=60, mql=True)],
        new,
        [
            lead("A", fit=False, score=60, **{"Personal e-mail": True}),
            lead("B", score=60, mql=True),
        ],
    )

    causes = {c["name"]: c for c in comparison.fit_causes}
    assert causes["Personal e-mail"]["kind"] == "exclusion"
    assert causes["Personal e-mail"]["status"] == "added"
    assert causes["Personal e-mail"]["now_fail"] == 1
    assert causes["Personal e-mail"]["fit_changed"] == 1
    assert lead_row(comparison, "A")["causes"] == "now matches exclusion Personal e-mail"
    assert comparison.counts["lose_fit"] == 1
    assert comparison.counts["stop_mql"] == 1


def test_removed_filter_lets_leads_pass():
    size = {"name": "Size", "field": "employees", "min": 50}
    old = make_config(filters=[{"name": "Industry", "field": "industry", "equals": "IT"}, size])
    new = make_config()
    comparison = compare(old, [lead("A", fit=False, Size=False)], new, [lead("A")])
    size_cause = next(c for c in comparison.fit_causes if c["name"] == "Size")
    assert size_cause["status"] == "removed"
    assert size_cause["now_pass"] == 1
    assert lead_row(comparison, "A")["causes"] == "now passes Size"


# --- the command -------------------------------------------------------------------------


def variant_config(tmp_path: Path) -> tuple[Path, str]:
    """Copy the B2B sample config with threshold 40 -> 50 and its first rule worth 5 more.

    Returns the copy's path and the re-weighted rule's name.
    """
    text = SAMPLE_CONFIG.read_text(encoding="utf-8")
    assert text.count("\nthreshold = 40\n") == 1
    text = text.replace("\nthreshold = 40\n", "\nthreshold = 50\n")

    rule = tomllib.loads(text)["engagement"]["rules"][0]
    new_points = rule["points"] + 5
    old_line = f"\npoints = {rule['points']}\n"
    points_at = text.index(old_line, text.index(f'name = "{rule["name"]}"'))
    text = text[:points_at] + f"\npoints = {new_points}\n" + text[points_at + len(old_line) :]

    path = tmp_path / "b2b-variant.toml"
    path.write_text(text, encoding="utf-8")
    return path, rule["name"]


def score_sample(config: Path, out: Path) -> pl.DataFrame:
    """Score the B2B sample inputs with `config` through `leadq score`."""
    inputs = load_config(SAMPLE_CONFIG).inputs
    assert inputs.leads is not None
    assert inputs.activities is not None
    activities = [arg for pattern in inputs.activities for arg in ("--activities", pattern)]
    args = ["score", "--config", str(config), "--as-of", "2026-11-30", "--out", str(out)]
    result = runner.invoke(app, [*args, "--leads", inputs.leads, *activities, "-q"])
    assert result.exit_code == 0, result.output
    return pl.read_csv(out / "scored_leads.csv", infer_schema=False)


def diff_args(old: Path, new: Path, out: Path, *extra: str) -> list[str]:
    return [
        "diff",
        "--config",
        str(old),
        "--config",
        str(new),
        "--as-of",
        "2026-11-30",
        "--out",
        str(out),
        *extra,
    ]


def test_sample_diff_agrees_with_two_score_runs(tmp_path: Path):
    variant, rule_name = variant_config(tmp_path)
    out = tmp_path / "diff"
    result = runner.invoke(app, diff_args(SAMPLE_CONFIG, variant, out))
    assert result.exit_code == 0, result.output
    report = json.loads((out / "diff.json").read_text(encoding="utf-8"))

    old = score_sample(SAMPLE_CONFIG, tmp_path / "old")
    new = score_sample(variant, tmp_path / "new")
    both = old.join(new, on="lead_id", suffix="_new")
    was_fit, is_fit = pl.col("fit") == "true", pl.col("fit_new") == "true"
    was_mql, is_mql = pl.col("mql") == "true", pl.col("mql_new") == "true"
    score_moved = pl.col("engagement_score").cast(pl.Float64) != pl.col(
        "engagement_score_new"
    ).cast(pl.Float64)
    expected = {
        "old": {
            "total": old.height,
            "fit": old.filter(pl.col("fit") == "true").height,
            "mql": old.filter(pl.col("mql") == "true").height,
        },
        "new": {
            "total": new.height,
            "fit": new.filter(pl.col("fit") == "true").height,
            "mql": new.filter(pl.col("mql") == "true").height,
        },
        "in_both": both.height,
        "only_old": old.height - both.height,
        "only_new": new.height - both.height,
        "gain_fit": both.filter(~was_fit & is_fit).height,
        "lose_fit": both.filter(was_fit & ~is_fit).height,
        "become_mql": both.filter(~was_mql & is_mql).height,
        "stop_mql": both.filter(was_mql & ~is_mql).height,
        "keep_mql": both.filter(was_mql & is_mql).height,
        "score_changed": both.filter(score_moved).height,
    }
    assert report["leads"] == expected
    # the sample must exercise the change, or this test proves little
    assert expected["stop_mql"] > 0
    assert expected["score_changed"] > 0

    changed = pl.read_csv(out / "changed_leads.csv", infer_schema=False)
    moved = both.filter((was_fit != is_fit) | (was_mql != is_mql) | score_moved)
    assert changed["lead_id"].to_list() == moved["lead_id"].to_list()

    rules = {rule["name"]: rule for rule in report["causes"]["rules"]}
    assert rules[rule_name]["status"] == "changed"
    assert rules[rule_name]["leads_changed"] > 0
    assert all(rule["status"] == "same" for name, rule in rules.items() if name != rule_name)
    old_summary = json.loads((tmp_path / "old" / "summary.json").read_text(encoding="utf-8"))
    new_summary = json.loads((tmp_path / "new" / "summary.json").read_text(encoding="utf-8"))
    [old_points] = [r["points"] for r in old_summary["rules"] if r["name"] == rule_name]
    [new_total] = [r["points"] for r in new_summary["rules"] if r["name"] == rule_name]
    # each summary rounds its own total, so their difference may be a cent off
    assert rules[rule_name]["points_delta"] == pytest.approx(new_total - old_points, abs=0.011)

    [threshold] = report["causes"]["mql"]
    assert threshold["text"].startswith("threshold 40 -> 50: ")
    assert 0 < threshold["stop_mql"] <= expected["stop_mql"]
    assert "threshold 40 -> 50" in result.stdout


def test_diff_writes_three_files(tmp_path: Path):
    variant, _ = variant_config(tmp_path)
    out = tmp_path / "diff"
    result = runner.invoke(app, diff_args(SAMPLE_CONFIG, variant, out))
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.iterdir()) == [
        "changed_leads.csv",
        "diff.json",
        "diff.md",
    ]
    header = (out / "changed_leads.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == ("lead_id,fit_old,fit_new,score_old,score_new,delta,mql_old,mql_new,causes")
    markdown = (out / "diff.md").read_text(encoding="utf-8")
    assert markdown.startswith("# leadq diff as of 2026-11-30\n")
    assert "- threshold 40 -> 50: " in markdown
    assert "Wrote 3 files to" in result.stdout


def test_diff_rerun_is_byte_identical(tmp_path: Path):
    variant, _ = variant_config(tmp_path)
    first, second = tmp_path / "first", tmp_path / "second"
    assert runner.invoke(app, diff_args(SAMPLE_CONFIG, variant, first)).exit_code == 0
    assert runner.invoke(app, diff_args(SAMPLE_CONFIG, variant, second)).exit_code == 0
    for name in ("changed_leads.csv", "diff.json", "diff.md"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_diff_same_config_changes_nothing(tmp_path: Path):
    out = tmp_path / "diff"
    result = runner.invoke(app, diff_args(SAMPLE_CONFIG, SAMPLE_CONFIG, out, "-q"))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    lines = (out / "changed_leads.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    report = json.loads((out / "diff.json").read_text(encoding="utf-8"))
    assert report["movers"] == []
    assert report["causes"]["mql"] == []


@pytest.mark.parametrize(("times", "given"), [(0, "not at all"), (1, "once"), (3, "3 times")])
def test_config_not_given_twice_exits_2(tmp_path: Path, times: int, given: str):
    args = ["diff", "--as-of", "2026-11-30", "--out", str(tmp_path / "diff")]
    for _ in range(times):
        args += ["--config", str(SAMPLE_CONFIG)]
    result = runner.invoke(app, args)
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert "give --config exactly twice" in result.stderr
    assert f"it was given {given}" in result.stderr
    assert not (tmp_path / "diff").exists()


def test_invalid_second_config_exits_2(tmp_path: Path):
    broken = tmp_path / "broken.toml"
    broken.write_text(
        SAMPLE_CONFIG.read_text(encoding="utf-8").replace("threshold = 40", 'threshold = "40"'),
        encoding="utf-8",
    )
    result = runner.invoke(app, diff_args(SAMPLE_CONFIG, broken, tmp_path / "diff"))
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert "mql.threshold" in result.stderr


def test_missing_leads_file_exits_1(tmp_path: Path):
    args = diff_args(SAMPLE_CONFIG, SAMPLE_CONFIG, tmp_path / "diff")
    result = runner.invoke(app, [*args, "--leads", str(tmp_path / "missing.csv")])
    assert result.exit_code == ExitCode.BAD_DATA
    assert "missing.csv" in result.stderr


def test_diff_folder_with_other_files_is_refused(tmp_path: Path):
    out = tmp_path / "diff"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    result = runner.invoke(app, diff_args(SAMPLE_CONFIG, SAMPLE_CONFIG, out))
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert "notes.txt" in result.stderr
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_diff_reads_the_first_configs_inputs(tmp_path: Path):
    # the copy's own [inputs] point nowhere, so the run only works on the first config's inputs
    text = SAMPLE_CONFIG.read_text(encoding="utf-8").replace("../sample_data/", "nowhere/")
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text(text, encoding="utf-8")
    result = runner.invoke(app, diff_args(SAMPLE_CONFIG, elsewhere, tmp_path / "diff", "-q"))
    assert result.exit_code == 0, result.output


def test_shipped_diff_example_numbers(tmp_path: Path):
    # configs/examples/b2b-new.toml sets threshold 50 and 20 pricing points. The README shows
    # MQLs 63 -> 59, and the pricing rule changing 206 leads by +1,314.66 points.
    example = SAMPLE_CONFIG.parent / "examples" / "b2b-new.toml"
    out = tmp_path / "diff"
    result = runner.invoke(app, diff_args(SAMPLE_CONFIG, example, out))
    assert result.exit_code == 0, result.output
    markdown = (out / "diff.md").read_text(encoding="utf-8")
    assert "| MQL | 63 | 59 | -4 |" in markdown
    assert "| Pricing page visit | changed | 206 | +1314.66 |" in markdown
    assert "Cause: threshold 40 -> 50: 4 leads stop being MQL" in result.stdout
