"""The HTML report in headless Chromium: every chart draws, nothing errs, nothing is fetched.

Needs Chromium (Debian's `chromium` package) and the Python package playwright, which drives
it. Without them the test is skipped, unless LEADQ_REQUIRE_CHROMIUM=1 is set, as `.ci/run`
does, and then it fails. The screenshot lands in `test-artifacts/`, which git ignores.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadq.cli import app

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
# Without the networking flags Chromium contacts update and sync servers on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    """Return the Chromium executable, or skip (fail under LEADQ_REQUIRE_CHROMIUM=1)."""
    required = os.environ.get("LEADQ_REQUIRE_CHROMIUM") == "1"
    executable = os.environ.get("LEADQ_CHROMIUM") or shutil.which("chromium")
    problem = None
    if executable is None:
        problem = "Chromium is not installed (Debian: apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed (pip install -e '.[dev]')"
    if problem and required:
        pytest.fail(f"{problem}, and LEADQ_REQUIRE_CHROMIUM=1 requires it")
    if problem:
        pytest.skip(problem)
    assert executable is not None
    return executable


def test_report_renders_in_chromium(tmp_path: Path):
    executable = _chromium()
    from playwright.sync_api import Request, sync_playwright

    report = tmp_path / "report.html"
    args = ["score", "--config", str(ROOT / "configs" / "b2b.toml"), "--as-of", "2026-11-30"]
    args += ["--out", str(tmp_path / "out"), "--report", str(report), "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output

    messages: list[str] = []
    requests: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: messages.append(f"console {m.type}: {m.text}"))
            page.on("pageerror", lambda error: messages.append(f"page error: {error}"))

            def record(request: Request) -> None:
                requests.append(request.url)

            page.on("request", record)
            page.goto(report.as_uri(), wait_until="load")
            charts = page.eval_on_selector_all(
                "figure.chart",
                """figures => figures.map(f => {
                    const svg = f.querySelector('svg');
                    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
                    const drawn = svg ? [...svg.querySelectorAll('path')]
                        .filter(p => { const b = p.getBBox(); return b.width > 0 || b.height > 0; })
                        .length : 0;
                    return {id: f.id, width: box.width, height: box.height, drawn: drawn};
                })""",
            )
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report-b2b.png"), full_page=True)
        finally:
            browser.close()

    assert [chart["id"] for chart in charts] == [
        "funnel-chart",
        "fit-chart",
        "score-chart",
        "rules-chart",
        "groups-chart",
    ]
    for chart in charts:
        assert chart["width"] > 200, chart
        assert chart["height"] > 100, chart
        # bars, axes and ticks are paths; a chart with a handful of them drew nothing
        assert chart["drawn"] > 10, chart
    assert messages == []
    assert requests == [report.as_uri()]
