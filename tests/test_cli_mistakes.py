"""Command-line mistakes: each ends with exit code 2 and a message that names the fix."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from leadq.cli import app
from leadq.config import Config
from leadq.errors import ExitCode
from tests.conftest import write_csv
from tests.test_cli import CONFIG, score_args

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The config of the command-line tests, with one lead and one activity beside it."""
    lead = {"Record ID": "L1", "Email": "a@acme.com", "Industry": "Software", "Company": "Acme"}
    write_csv(tmp_path / "leads.csv", [lead])
    (tmp_path / "activities").mkdir()
    activity = {
        "Contact ID": "L1",
        "Activity Type": "form_submit",
        "Occurred At": "2026-11-30",
        "Page URL": "",
    }
    write_csv(tmp_path / "activities" / "forms.csv", [activity])
    config = tmp_path / "leadq.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


COMMANDS = ["score", "check", "explain", "diff", "sql", "init", "calibrate", "backtest"]


def test_every_command_is_listed():
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    assert sorted(COMMANDS) == sorted(commands)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_an_example(command: str):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert f"leadq {command}" in result.stdout


# rich reads any [word] in help text as a style tag and drops it unless the bracket is
# escaped. Only these tags are meant as styles.
STYLE_TAGS = {"bold", "/", "/bold"}


def help_texts(command: str) -> str:
    """Return the docstring and the option help of `command`, as written in leadq/cli.py."""
    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    texts = [inspect.getdoc(click_command.callback) or ""]
    texts += [getattr(parameter, "help", None) or "" for parameter in click_command.params]
    return "\n".join(texts)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_brackets_are_escaped(command: str):
    tags = re.findall(r"(?<!\\)\[([^\[\]]*)\]", help_texts(command))
    assert [tag for tag in tags if tag not in STYLE_TAGS] == []


@pytest.mark.parametrize("command", COMMANDS)
def test_help_keeps_section_names(command: str):
    written = help_texts(command).replace("\\[", "[")
    help_output = runner.invoke(app, [command, "--help"], env={"COLUMNS": "300"}).stdout
    help_output = " ".join(help_output.split())
    for section in Config.model_fields:
        for name in (f"[{section}]", f"[[{section}]]"):
            if name in written:
                assert name in help_output, f"{name} is lost from leadq {command} --help"


@pytest.mark.parametrize(
    ("as_of", "reason"),
    [
        ("2026-11-31", "is not a day of the calendar: November 2026 has 30 days"),
        ("2026-02-29", "is not a day of the calendar: February 2026 has 28 days"),
        ("2026-13-01", "is not a day of the calendar: there is no month 13"),
        ("30/11/2026", "is not a date; write it as YYYY-MM-DD, e.g. 2026-11-30"),
    ],
)
def test_as_of_impossible_day_named(project: Path, tmp_path: Path, as_of: str, reason: str):
    args = ["score", "--config", str(project), "--as-of", as_of, "--out", str(tmp_path / "out")]
    result = runner.invoke(app, args)
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert f"Error: command line: --as-of {as_of!r} {reason}" in result.stderr
    assert "Traceback" not in result.output


def test_backtest_impossible_day_named(project: Path):
    args = ["backtest", "--config", str(project), "--from", "2026-09-31", "--to", "2026-11-30"]
    result = runner.invoke(app, args)
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert "--from '2026-09-31' is not a day of the calendar: September 2026 has 30 days" in (
        result.stderr
    )


def test_out_inside_a_file_exits_2_before_scoring(project: Path):
    out = project / "out"
    result = runner.invoke(app, score_args(project, out))
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert f"--out {out}: {project} is a file, so the folder cannot be created there" in (
        result.stderr
    )
    assert "bug in leadq" not in result.stderr


def test_out_that_cannot_be_created_exits_2(project: Path, tmp_path: Path, monkeypatch):
    # Root may write into any folder, so a folder without write permission cannot show the
    # failure, and mkdtemp fails here instead.
    def reject(*args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("leadq.outputs.tempfile.mkdtemp", reject)
    out = tmp_path / "out"
    result = runner.invoke(app, score_args(project, out))
    assert result.exit_code == ExitCode.BAD_CONFIG
    expected = f"--out {out}: the output folder cannot be written: Permission denied"
    assert expected in result.stderr
    assert "bug in leadq" not in result.stderr


def test_diff_out_inside_a_file_exits_2(project: Path):
    out = project / "out"
    args = ["diff", "-c", str(project), "-c", str(project), "--as-of", "2026-11-30"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert f"--out {out}: {project} is a file" in result.stderr


def test_mqls_into_missing_folder_exits_2_before_writing(project: Path, tmp_path: Path):
    out = tmp_path / "out"
    target = tmp_path / "exports" / "mqls.csv"
    result = runner.invoke(app, score_args(project, out, "--mqls", str(target)))
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert f"--mqls {target}: the folder {target.parent} does not exist; create it first" in (
        result.stderr
    )
    # The check comes before the run, so no output of a half-finished run exists.
    assert not out.exists()


def test_mqls_to_a_folder_exits_2(project: Path, tmp_path: Path):
    result = runner.invoke(app, score_args(project, tmp_path / "out", "--mqls", str(tmp_path)))
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert f"--mqls {tmp_path} is a folder; give a file name such as" in result.stderr


def test_state_that_is_a_folder_exits_2(project: Path, tmp_path: Path):
    folder = tmp_path / "state"
    folder.mkdir()
    result = runner.invoke(app, score_args(project, tmp_path / "out", "--state", str(folder)))
    assert result.exit_code == ExitCode.BAD_CONFIG
    expected = f"--state {folder} is a folder; give a file name such as "
    assert expected + str(folder / "leadq-state.parquet") in " ".join(result.stderr.split())


def test_init_into_a_folder_exits_2(tmp_path: Path):
    result = runner.invoke(app, ["init", "--force", str(tmp_path)])
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert f"{tmp_path} is a folder; give a file name such as {tmp_path / 'leadq.toml'}" in (
        " ".join(result.stderr.split())
    )
    assert "Traceback" not in result.output


def test_init_names_its_argument_file():
    result = runner.invoke(app, ["init"])
    assert result.exit_code == ExitCode.BAD_CONFIG
    assert "Missing argument 'FILE'" in result.output


def test_config_mistake_in_every_command_exits_2(tmp_path: Path):
    config = tmp_path / "leadq.toml"
    config.write_text('[leads]\nid = "Record ID\n[mql]\nthreshold = 40\n', encoding="utf-8")
    for args in (
        ["score", "-c", str(config), "--out", str(tmp_path / "out")],
        ["check", "-c", str(config)],
        ["explain", "-c", str(config), "L1"],
        ["diff", "-c", str(config), "-c", str(config), "--out", str(tmp_path / "diff")],
        ["sql", "-c", str(config)],
        ["calibrate", "-c", str(config), "--out", str(tmp_path / "cal")],
        ["backtest", "-c", str(config), "--from", "2026-11-01", "--to", "2026-11-30"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == ExitCode.BAD_CONFIG, args
        assert re.search(r"invalid TOML at line 2, column \d+", result.stderr), args


def test_format_in_capitals_accepted(project: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = runner.invoke(app, score_args(project, out, "--format", "XLSX"))
    assert result.exit_code == 0, result.output
    assert (out / "mqls.xlsx").exists()


def test_template_in_capitals_accepted(tmp_path: Path):
    result = runner.invoke(app, ["init", "--template", "B2C", str(tmp_path / "b2c.toml")])
    assert result.exit_code == 0, result.output
    assert "Customer ID" in (tmp_path / "b2c.toml").read_text()


def test_check_warns_about_missing_outcomes_file(project: Path):
    outcomes = '\n[outcomes]\nfile = "outcome.csv"\nlead_id = "Record ID"\neach_row = "won"\n'
    project.write_text(project.read_text() + outcomes, encoding="utf-8")
    result = runner.invoke(app, ["check", "--config", str(project)], env={"COLUMNS": "300"})
    # Scoring does not read the outcomes, so the check passes with a warning.
    assert result.exit_code == 0, result.output
    warning = (
        "Warning: outcomes.file: no outcomes file matches "
        f"{str(project.parent / 'outcome.csv')!r}; leadq calibrate, leadq backtest "
        "--outcomes and leadq explain --outcomes will stop until it exists"
    )
    assert warning in " ".join(result.stdout.split())
