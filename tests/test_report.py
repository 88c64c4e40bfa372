"""The HTML report: its config section, its aggregates, and its numbers against summary.json."""

from __future__ import annotations

import io
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from leadq.cli import app
from leadq.config import load_config, parse_config
from leadq.errors import ConfigError, ExitCode, InputDataError
from leadq.report import check_report_target
from leadq.report_scoring import (
    MAX_GROUPS,
    _only_failure_counts,
    _round_width,
    mqls_by_group,
    score_bins,
)
from leadq.scoring import score_leads
from tests.conftest import AS_OF, Scorer

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


class _ReportParser(HTMLParser):
    """Collect the `data-summary` cells, chart ids and every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.summary_cells: list[tuple[str, str]] = []
        self.chart_ids: list[str] = []
        self.links: list[str] = []
        self._key: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("data-summary"):
            self._key, self._text = values["data-summary"], ""
        if tag == "figure":
            self.chart_ids.append(values["id"] or "")
        for name in ("href", "xlink:href", "src", "action", "srcset"):
            if values.get(name):
                self.links.append(values[name] or "")

    def handle_data(self, data: str) -> None:
        if self._key is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._key is not None:
            self.summary_cells.append((self._key, self._text))
            self._key = None


def summary_value(summary: dict[str, Any], key: str) -> Any:
    """Follow a key path such as `rules[2].points` into the summary dict."""
    value: Any = summary
    for name, index in re.findall(r"(\w+)(?:\[(\d+)\])?", key):
        value = value[name]
        if index:
            value = value[int(index)]
    return value


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Score the B2B sample with --report once; return the report's path and summary.json."""
    folder = tmp_path_factory.mktemp("sample")
    report = folder / "report.html"
    args = [
        "score",
        "--config",
        str(ROOT / "configs" / "b2b.toml"),
        "--as-of",
        "2026-11-30",
        "--out",
        str(folder / "out"),
        "--report",
        str(report),
        "-q",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return report, json.loads((folder / "out" / "summary.json").read_text(encoding="utf-8"))


def parse_report(path: Path) -> _ReportParser:
    parser = _ReportParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_report_numbers_equal_summary(sample_run: tuple[Path, dict[str, Any]]):
    report, summary = sample_run
    cells = parse_report(report).summary_cells
    for key, text in cells:
        expected = summary_value(summary, key)
        shown = text.replace(",", "")
        if isinstance(expected, int):
            assert int(shown) == expected, key
        else:
            assert float(shown) == round(expected, 2), key

    keys = {key for key, _text in cells}
    expected_keys = {"leads.total", "leads.fit", "leads.engaged", "leads.mql", "rejected_rows"}
    expected_keys |= {f"fit_filters[{i}].failed" for i in range(len(summary["fit_filters"]))}
    expected_keys |= {f"exclusions[{i}].matched" for i in range(len(summary["exclusions"]))}
    for i in range(len(summary["rules"])):
        expected_keys |= {f"rules[{i}].hits", f"rules[{i}].leads", f"rules[{i}].points"}
    assert expected_keys <= keys


def test_funnel_chart_labels_equal_summary(sample_run: tuple[Path, dict[str, Any]]):
    report, summary = sample_run
    page = report.read_text(encoding="utf-8")
    chart = page[page.index('id="funnel-chart"') : page.index('id="funnel-chart-title"')]
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", chart)
    leads = summary["leads"]
    # the sample has 400 leads, so the fit label reads "194 (48.5%)"
    for key in ("total", "fit", "engaged", "mql"):
        share = leads[key] / leads["total"]
        assert f"{leads[key]:,} ({share:.1%})" in labels, key


def test_report_has_every_part(sample_run: tuple[Path, dict[str, Any]]):
    report, summary = sample_run
    page = report.read_text(encoding="utf-8")
    parser = parse_report(report)
    assert parser.chart_ids == [
        "funnel-chart",
        "fit-chart",
        "score-chart",
        "rules-chart",
        "groups-chart",
    ]
    for anchor in ("funnel", "fit", "scores", "rules", "groups", "top-mqls", "facts"):
        assert f'<section id="{anchor}">' in page
    assert "MQLs by Industry" in page
    assert "MQL threshold 40" in page
    assert summary["config"]["sha256"] in page
    # the sample's highest-scoring MQL, as in the README
    assert "L-000159" in page


def test_report_has_no_external_url(sample_run: tuple[Path, dict[str, Any]]):
    report, _summary = sample_run
    page = report.read_text(encoding="utf-8")
    # the only URLs allowed are the SVG namespace names, which browsers never fetch
    namespaces = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    urls = set(re.findall(r"""(?i)(?:https?:|ftp:)?//[^\s"'<>)]+""", page))
    assert urls <= namespaces
    for namespace in namespaces:
        assert page.count(namespace) == page.count(f'"{namespace}"')
    assert all(link.startswith("#") for link in parse_report(report).links)
    assert re.findall(r"url\((?!#)", page) == []
    assert "@import" not in page
    assert "<script" not in page
    assert "<link" not in page


def test_report_same_bytes_on_rerun(
    sample_run: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    report, _summary = sample_run
    again = tmp_path / "again.html"
    args = ["score", "--config", str(ROOT / "configs" / "b2b.toml"), "--as-of", "2026-11-30"]
    args += ["--out", str(tmp_path / "out"), "--report", str(again), "-q"]
    assert runner.invoke(app, args).exit_code == 0
    assert again.read_bytes() == report.read_bytes()


def test_report_size_small(sample_run: tuple[Path, dict[str, Any]]):
    report, _summary = sample_run
    # about 70 kB for 400 leads; charts are aggregated, so 1M leads stay near this size
    assert report.stat().st_size < 300_000


def test_score_bins_by_hand():
    # threshold 40; the non-zero scores span -3 to 41, 44 points, so 44 / 30 = 1.47 rounds up
    # to bins of width 2. Bins start at 40 and step down to -4: -3 falls in [-4, -2), 5 in
    # [4, 6), 12.5 in [12, 14), and 40 and 41 in [40, 42).
    leads = pl.DataFrame(
        {
            "engagement_score": [0.0, 5.0, 12.5, 40.0, 41.0, -3.0, 0.0],
            "fit": [True, True, False, True, False, True, False],
        }
    )
    bins = score_bins(leads, 40)
    assert bins.zero_scores == 2
    assert bins.edges[0] == -4
    assert bins.edges[-1] == 42
    assert len(bins.edges) == 24
    assert bins.fit[0] == 1
    assert bins.fit[4] == 1
    assert bins.not_fit[8] == 1
    assert bins.fit[22] == 1
    assert bins.not_fit[22] == 1
    assert sum(bins.fit) + sum(bins.not_fit) == 5


def test_score_bins_without_threshold_start_at_zero():
    # scores 0.6 and 0.2: range 0 to 0.6, 0.6 / 30 = 0.02, so bins of 0.02 from 0; 0.6 is
    # 0.6 / 0.02 = 30 bins up, which float division puts just below 30 without the epsilon
    leads = pl.DataFrame({"engagement_score": [0.6, 0.2], "fit": [True, True]})
    bins = score_bins(leads, None)
    assert bins.edges[0] == 0
    assert bins.fit[30] == 1
    assert bins.fit[10] == 1


def test_score_bins_all_zero():
    leads = pl.DataFrame({"engagement_score": [0.0, 0.0], "fit": [True, False]})
    bins = score_bins(leads, 40)
    assert bins.edges == []
    assert bins.zero_scores == 2


@pytest.mark.parametrize(
    ("raw", "width"), [(1.4667, 2), (0.3, 0.5), (7, 10), (23, 25), (100, 100), (0.001, 0.01)]
)
def test_round_width(raw: float, width: float):
    assert _round_width(raw) == pytest.approx(width)


def test_mqls_by_group_counts_missing_values():
    leads = pl.DataFrame(
        {
            "Industry": ["Software", "Software", None, "Retail", None],
            "fit": [True, True, True, False, False],
            "mql": [True, False, True, False, False],
        }
    )
    groups = mqls_by_group(leads, "Industry")
    # Software and (missing) have 1 MQL each and 2 leads each, so the name decides
    assert groups.rows() == [
        ("(missing)", 2, 1, 1),
        ("Software", 2, 2, 1),
        ("Retail", 1, 0, 0),
    ]


def test_mqls_by_group_ignores_case_and_spaces():
    # "software" twice and " SOFTWARE" once: one group of 3, named by the commoner spelling
    leads = pl.DataFrame(
        {
            "Industry": ["software", " SOFTWARE", "software", "Retail"],
            "fit": [True, True, False, True],
            "mql": [True, True, False, False],
        }
    )
    groups = mqls_by_group(leads, "Industry")
    assert groups.rows() == [("software", 3, 2, 2), ("Retail", 1, 1, 0)]


def test_mqls_by_group_adds_up_the_rest():
    # MAX_GROUPS + 3 groups of one MQL lead each: the last 3 become one "Other" row
    names = [f"G{n:02d}" for n in range(MAX_GROUPS + 3)]
    leads = pl.DataFrame({"Country": names, "fit": [True] * len(names), "mql": [True] * len(names)})
    groups = mqls_by_group(leads, "Country")
    assert groups.height == MAX_GROUPS + 1
    assert groups.row(-1) == ("Other (3 values)", 3, 3, 3)
    assert groups.get_column("mql").sum() == len(names)


def test_fit_drop_out_counts_sole_failures(score: Scorer, tmp_path: Path):
    # L1 fails both criteria, L2 only the size filter, L3 only the exclusion, L4 neither
    config = {
        "leads": {"id": "id", "email": "email"},
        "fit": {
            "filters": [{"name": "Size", "field": "size", "min": 50}],
            "exclude": [{"name": "Gmail", "field": "email", "contains": "@gmail."}],
        },
    }
    leads = [
        {"id": "L1", "email": "a@gmail.com", "size": "10"},
        {"id": "L2", "email": "b@acme.com", "size": "10"},
        {"id": "L3", "email": "c@gmail.com", "size": "90"},
        {"id": "L4", "email": "d@acme.com", "size": "90"},
    ]
    result = score(config, leads, [])
    assert _only_failure_counts(result) == [1, 1]


def test_group_by_empty_is_invalid():
    raw = {"leads": {"id": "id"}, "mql": {"threshold": 1}, "report": {"group_by": ""}}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert caught.value.problems == ["report.group_by: string should have at least 1 character"]


def test_report_unknown_key_suggests_group_by():
    raw = {"leads": {"id": "id"}, "mql": {"threshold": 1}, "report": {"groupby": "Industry"}}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert caught.value.problems == ["report.groupby: unknown key; did you mean 'group_by'?"]


def test_group_by_missing_column_names_key(score: Scorer):
    config = {"report": {"group_by": "Industy"}}
    with pytest.raises(InputDataError) as caught:
        score(config, [{"id": "L1", "email": "a@acme.com", "Industry": "Software"}], [])
    assert "(used by report.group_by)" in str(caught.value)
    assert caught.value.exit_code == ExitCode.BAD_DATA


def test_sample_scores_same_without_report_section(tmp_path: Path):
    text = (ROOT / "configs" / "b2b.toml").read_text(encoding="utf-8")
    without = text[: text.index("[report]")].replace('"../sample_data', f'"{ROOT}/sample_data')
    path = tmp_path / "b2b.toml"
    path.write_text(without, encoding="utf-8")
    plain = score_leads(load_config(path), as_of=AS_OF)
    grouped = score_leads(load_config(ROOT / "configs" / "b2b.toml"), as_of=AS_OF)
    assert plain.scored_leads.equals(grouped.scored_leads)


def test_report_folder_missing_exits_2(tmp_path: Path):
    args = ["score", "--config", str(ROOT / "configs" / "b2b.toml"), "--as-of", "2026-11-30"]
    args += ["--out", str(tmp_path / "out"), "--report", str(tmp_path / "no" / "r.html")]
    result = runner.invoke(app, args)
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert "does not exist; create it first" in result.output
    # checked before scoring, so no outputs were written either
    assert not (tmp_path / "out").exists()


def test_report_without_matplotlib_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # None in sys.modules makes `import matplotlib` raise ImportError
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ConfigError) as caught:
        check_report_target(tmp_path / "report.html")
    assert "pip install 'leadq[report]'" in caught.value.problems[0]


def test_step_display_fills_bar_per_file():
    from rich.console import Console
    from rich.progress import Progress

    from leadq.cli import _StepDisplay

    progress = Progress(console=Console(file=io.StringIO()))
    steps = _StepDisplay(progress, verbose=False, started=0.0)
    steps("Reading and scoring activities")
    # two batches of file 2 of 3: one file is done, and the rows add up to 150
    steps.batch(2, 3, 100)
    steps.batch(2, 3, 50)
    task = progress.tasks[0]
    assert task.total == 3
    assert task.completed == 1
    assert task.fields["detail"] == "file 2 of 3, 150 rows"
    # a new step clears the bar back to a spinner
    steps("Deciding MQLs")
    assert progress.tasks[0].total is None
