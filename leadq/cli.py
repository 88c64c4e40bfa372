"""The `leadq` command line: it parses options, calls the library and renders the results."""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import logging
import os
import re
import sys
import time
from collections.abc import Iterator
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from leadq import __version__, calibration
from leadq import backtest as backtesting
from leadq.activity_scoring import DEFAULT_BATCH_ROWS
from leadq.calibration_outputs import (
    BACKTEST_FILES,
    CALIBRATION_FILES,
    backtest_rows,
    write_backtest_outputs,
    write_calibration_outputs,
)
from leadq.calibration_report import render_calibration, render_suggestions
from leadq.config import Config, load_config
from leadq.console import (
    render_check,
    render_diff,
    render_explanation,
    render_idle_rules,
    render_number_problems,
    render_summary,
    stderr_console,
    stdout_console,
)
from leadq.diff import diff_configs
from leadq.diff_report import build_diff_report
from leadq.engagement import LEAD_ID
from leadq.errors import ConfigError, ExitCode, InputDataError, LeadqError, RejectRateError
from leadq.explain import explain_lead
from leadq.nightly import NightlyRun, Note
from leadq.outputs import (
    DIFF_FILES,
    check_output_folder,
    output_file_names,
    write_diff_outputs,
    write_outputs,
)
from leadq.readers import expand_patterns
from leadq.report import check_report_target
from leadq.report_scoring import write_scoring_report
from leadq.scoring import ScoringResult, score_leads, today_in
from leadq.spreadsheets import neutralize_formulas
from leadq.sql import scoring_script
from leadq.sql.engines import score_leads_in_engine
from leadq.summary import build_summary
from leadq.value_checks import number_problems

log = logging.getLogger("leadq")

app = typer.Typer(
    name="leadq",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
)


class OutputFormatChoice(StrEnum):
    """File formats for the lead tables."""

    csv = "csv"
    parquet = "parquet"
    jsonl = "jsonl"
    xlsx = "xlsx"


class EngineChoice(StrEnum):
    """Engine that computes the scores of `leadq score`."""

    polars = "polars"
    duckdb = "duckdb"
    spark = "spark"


class DialectChoice(StrEnum):
    """SQL dialects that `leadq sql` writes."""

    duckdb = "duckdb"
    spark = "spark"
    bigquery = "bigquery"
    snowflake = "snowflake"
    postgres = "postgres"


class Template(StrEnum):
    """Starter configs for `leadq init`."""

    b2b = "b2b"
    b2c = "b2c"


ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="The TOML config file.", show_default=False)
]
LeadsOption = Annotated[
    str | None,
    typer.Option(help="Leads file (CSV, Excel or Parquet); overrides inputs.leads in the config."),
]
ActivitiesOption = Annotated[
    list[str] | None,
    typer.Option(
        help="Activity file or glob pattern; repeat for several. Overrides inputs.activities."
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="The day to score, YYYY-MM-DD; the default is today in the config's time zone.",
        show_default=False,
    ),
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Show no progress or summary; errors still show.")
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show each step with its time, and tracebacks.")
]


def _show_version(value: bool) -> None:
    if value:
        stdout_console.print(f"leadq {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_show_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Score leads from CRM and marketing exports and list the marketing-qualified leads.

    Example: [bold]leadq score --config configs/b2b.toml --as-of 2026-11-30[/]
    """


@app.command()
def score(
    config: ConfigOption,
    leads: LeadsOption = None,
    activities: ActivitiesOption = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the outputs.")] = Path(
        "leadq-out"
    ),
    as_of: AsOfOption = None,
    output_format: Annotated[
        OutputFormatChoice,
        typer.Option("--format", case_sensitive=False, help="File format of the lead tables."),
    ] = OutputFormatChoice.csv,
    mqls: Annotated[
        str | None,
        typer.Option(
            "--mqls",
            help="Also write the MQL list as CSV to this file, or to standard output with '-'.",
        ),
    ] = None,
    max_reject_rate: Annotated[
        str | None,
        typer.Option(
            help="Exit with code 3 when more than this share of input rows is rejected, "
            "as a fraction (0.05) or a percentage (5%).",
            show_default=False,
        ),
    ] = None,
    batch_rows: Annotated[
        int,
        typer.Option(
            min=1,
            help="Activity rows read and scored at a time; lower it to use less memory.",
        ),
    ] = DEFAULT_BATCH_ROWS,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Also write an HTML report of the run to this file: funnel, fit drop-out, "
            "scores, rules and top MQLs, viewable offline and printable.",
            show_default=False,
        ),
    ] = None,
    escape_formulas: Annotated[
        bool,
        typer.Option(
            help="Prefix text that a spreadsheet would run as a formula (=, +, -, @) with ' "
            "in CSV and XLSX outputs."
        ),
    ] = True,
    ledger: Annotated[
        bool,
        typer.Option(
            "--ledger",
            help="Also write ledger.<format>: one row per scored activity and rule with the "
            "points it earned after limits and caps. Takes memory for every matched activity "
            "in the window.",
        ),
    ] = False,
    state: Annotated[
        Path | None,
        typer.Option(
            help="State file kept between runs, used to write new_mqls and lost_mqls. "
            "Overrides \\[state] path.",
            show_default=False,
        ),
    ] = None,
    rewind: Annotated[
        bool, typer.Option(help="Allow an --as-of before the latest day in the state file.")
    ] = False,
    log_file: Annotated[
        Path | None,
        typer.Option(
            help="Append one JSON line per step to this file, for cron.", show_default=False
        ),
    ] = None,
    engine: Annotated[
        EngineChoice,
        typer.Option(
            help="Engine that computes the scores: polars (built in), or the same model as SQL "
            "in DuckDB or Spark (optional extras leadq\\[duckdb], leadq\\[spark]).",
        ),
    ] = EngineChoice.polars,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Score every lead and write the scored leads, the MQL list and a summary.

    Writes scored_leads, mqls, summary.json, summary.md and rejects.csv into --out, and
    accounts when the config has an \\[accounts] section, and the ledger with --ledger.

    The previous run's files stay until the new set is complete.

    Example: [bold]leadq score --config configs/b2b.toml --as-of 2026-11-30 --out leadq-out[/]
    """
    to_stdout = mqls == "-"
    console = stderr_console if to_stdout else stdout_console
    if ledger and engine is not EngineChoice.polars:
        # The SQL engines return only each lead's totals, so a ledger would come out empty.
        message = (
            f"--ledger needs the default engine: --engine {engine.value} keeps each lead's "
            "totals, not the scored activities. Run without --engine to write the ledger."
        )
        _print_error(message, stderr_console)
        raise typer.Exit(ExitCode.BAD_CONFIG)
    with (
        _user_errors(verbose=verbose),
        NightlyRun(
            load_config(config),
            state_path=state,
            rewind=rewind,
            log_path=log_file,
            as_of=_parse_as_of(as_of),
        ) as run,
    ):
        limit = _parse_rate(max_reject_rate)
        check_output_folder(out, output_file_names())
        if mqls and not to_stdout:
            _check_mqls_target(Path(mqls))
        if report:
            # NOTE: the report's funnel, score chart and top MQLs read one row per lead, so
            # they cannot show models yet.
            run.config.reject_models("--report")
            check_report_target(report)
        started = time.perf_counter()
        result = _run_scoring(
            config,
            leads,
            activities,
            run.as_of.isoformat(),
            batch_rows=batch_rows,
            full_ledger=ledger,
            quiet=quiet,
            verbose=verbose,
            engine=engine.value,
        )
        result = run.with_changes(result)
        show_progress = not quiet and stderr_console.is_terminal
        with _progress(show=show_progress, verbose=verbose, started=started) as steps:
            summary = build_summary(result)
            summary["timing"] = {"seconds": round(time.perf_counter() - started, 3)}
            steps("Writing outputs")
            written = write_outputs(
                out,
                scored_leads=result.scored_leads,
                mqls=result.mqls,
                rejects=result.rejects,
                summary=summary,
                fmt=output_format.value,
                escape_formulas=escape_formulas,
                accounts=result.account_table,
                ledger=result.ledger() if ledger else None,
                extra_files=run.file_writer(output_format.value, escape_formulas=escape_formulas),
            )
            if report:
                steps("Writing the report")
                write_scoring_report(report, result, summary)
        notes = run.commit()
        mql_list = neutralize_formulas(result.mqls) if escape_formulas else result.mqls
        if to_stdout:
            sys.stdout.write(mql_list.write_csv())
            sys.stdout.flush()
        elif mqls:
            mql_list.write_csv(mqls)

        if not quiet:
            render_summary(summary, console)
            console.print(f"Wrote {len(written)} files to {out}.")
            if report:
                console.print(f"Wrote the report to {report}.")
        _show_notes(notes, console, quiet=quiet)
        _check_reject_rate(summary, limit)


@app.command()
def check(
    config: ConfigOption,
    leads: LeadsOption = None,
    activities: ActivitiesOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Validate the config and read every input, writing nothing.

    Reports the rows read, usable and rejected in each input, with rejects counted by problem.

    Example: [bold]leadq check --config configs/b2b.toml[/]
    """
    with _user_errors(verbose=verbose):
        settings = load_config(config)
        stdout_console.print(f"Config {config} is valid.")
        result = _score_quietly(settings, leads, activities, None)
        render_check(build_summary(result), result.rejects, stdout_console)
        one_row_per_lead = result.leads.unique(LEAD_ID, keep="first", maintain_order=True)
        render_number_problems(number_problems(one_row_per_lead, settings), stdout_console)
        render_idle_rules(result, stdout_console)
        _warn_missing_outcomes(settings, stdout_console)
        stdout_console.print("Nothing was written.")


def _warn_missing_outcomes(config: Config, console: Console) -> None:
    """Warn when the outcome export that the config names is missing.

    Scoring does not read it, so this is no error for `check`.
    """
    file_name = config.outcomes.file if config.outcomes else None
    if file_name is None:
        return
    try:
        expand_patterns([file_name], table="outcomes")
    except InputDataError:
        warning = (
            f"outcomes.file: no outcomes file matches {os.path.normpath(file_name)!r}; leadq "
            "calibrate, leadq backtest --outcomes and leadq explain --outcomes will stop until "
            "it exists"
        )
        console.print(f"[bold yellow]Warning:[/] {escape(warning)}", soft_wrap=True)


@app.command()
def explain(
    lead_id: Annotated[
        str, typer.Argument(metavar="LEAD_ID", help="The lead's id, as in the leads file.")
    ],
    config: ConfigOption,
    leads: LeadsOption = None,
    activities: ActivitiesOption = None,
    as_of: AsOfOption = None,
    outcomes: Annotated[
        str | None,
        typer.Option(
            help="Outcome export (see leadq calibrate); adds the points the outcomes suggest.",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="With \\[\\[models]] in the config, explain the lead in this model only. "
            "Without it, every model is shown.",
            show_default=False,
        ),
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """Show why one lead is or is not an MQL: each fit criterion and each scoring activity.

    With --outcomes, also compares the rules' points with the points the outcomes suggest.
    With \\[\\[models]], shows the lead in each model, or in the one named by --model.

    Example: [bold]leadq explain --config configs/b2b.toml --as-of 2026-11-30 L-000042[/]
    """
    with _user_errors(verbose=verbose):
        settings = load_config(config)
        if outcomes is not None:
            # NOTE: the suggested points come from one set of rules, so models are rejected.
            settings.reject_models("explain --outcomes")
        names = _chosen_models(settings, model)
        result = score_leads(
            settings,
            leads_path=leads,
            activity_patterns=activities,
            as_of=_parse_as_of(as_of),
            ledger_leads=[lead_id.strip()],
        )
        if not result.models:
            render_explanation(explain_lead(result, lead_id), stdout_console)
        for name, model_result in result.named_model_results():
            if name in names:
                stdout_console.rule(f"Model {escape(name)}", align="left")
                render_explanation(explain_lead(model_result, lead_id), stdout_console)
        if outcomes is not None:
            suggestions = calibration.rule_suggestions(settings, result, outcomes)
            render_suggestions(result, lead_id.strip(), suggestions, stdout_console)


def _chosen_models(config: Config, name: str | None) -> list[str]:
    """Return the names of the models to explain: all of them, or the one `--model` names."""
    names = [model.name for model in config.models]
    if name is None:
        return names
    if not names:
        problem = f"--model {name!r}: the config has no [[models]]; leave --model out"
        raise ConfigError("command line", [problem])
    if name not in names:
        known = ", ".join(repr(known) for known in names)
        problem = f"--model {name!r}: no model has this name (models: {known})"
        raise ConfigError("command line", [problem])
    return [name]


@app.command()
def diff(
    config: Annotated[
        list[Path] | None,
        typer.Option(
            "--config",
            "-c",
            help="A TOML config file, given twice: first the current config, then the changed one.",
            show_default=False,
        ),
    ] = None,
    leads: Annotated[
        str | None,
        typer.Option(help="Leads file; overrides inputs.leads of the first config."),
    ] = None,
    activities: Annotated[
        list[str] | None,
        typer.Option(
            help="Activity file or glob pattern. Repeat for several. Overrides "
            "inputs.activities of the first config."
        ),
    ] = None,
    as_of: AsOfOption = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the diff files.")] = Path(
        "leadq-diff"
    ),
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Score the same leads with two configs and show what the change does.

    Compares fit, score and MQL status lead by lead and names the causes of each change.

    Writes diff.md, diff.json and changed_leads.csv into --out.

    Both configs score the inputs of the first config, as of the same day.

    Example: [bold]leadq diff --config configs/b2b.toml --config new-b2b.toml --as-of 2026-11-30[/]
    """
    with _user_errors(verbose=verbose):
        paths = config or []
        if len(paths) != 2:
            given = {0: "not at all", 1: "once"}.get(len(paths), f"{len(paths)} times")
            problem = (
                "give --config exactly twice, the current config first and the changed one "
                f"second; it was given {given}"
            )
            raise ConfigError("command line", [problem])
        old_config, new_config = load_config(paths[0]), load_config(paths[1])
        check_output_folder(out, set(DIFF_FILES))
        show_progress = not quiet and stderr_console.is_terminal
        with _progress(show=show_progress, verbose=verbose) as on_step:
            result = diff_configs(
                old_config,
                new_config,
                leads_path=leads,
                activity_patterns=activities,
                as_of=_parse_as_of(as_of),
                on_step=on_step,
            )
        report = build_diff_report(result)
        written = write_diff_outputs(
            out, report=report, changed_leads=result.comparison.changed_leads
        )
        if not quiet:
            render_diff(report, stdout_console)
            stdout_console.print(f"Wrote {len(written)} files to {out}.")


@app.command(name="sql")
def sql_command(
    config: ConfigOption,
    dialect: Annotated[
        DialectChoice,
        typer.Option(
            case_sensitive=False, help="The SQL dialect of the warehouse that runs the script."
        ),
    ] = DialectChoice.duckdb,
    leads_table: Annotated[
        str, typer.Option(help="The table that contains the leads, e.g. crm.leads.")
    ] = "leads",
    activities_table: Annotated[
        str, typer.Option(help="The table that contains the activities of every source.")
    ] = "activities",
    as_of: AsOfOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Print a SQL script that scores the leads inside a warehouse, as leadq score would.

    The script creates the table scored_leads with the same columns and values as the
    scored_leads file of leadq score, and the table accounts when the config has an
    \\[accounts] section. docs/sql.md describes how to run it on each warehouse.

    Example: [bold]leadq sql --config configs/b2b.toml --dialect snowflake --as-of 2026-11-30[/]
    """
    with _user_errors(verbose=verbose):
        settings = load_config(config)
        timezone = settings.activities.timezone if settings.activities else "UTC"
        script = scoring_script(
            settings,
            dialect=dialect.value,
            as_of=_parse_as_of(as_of) or today_in(timezone),
            leads_table=leads_table,
            activities_table=activities_table,
        )
        sys.stdout.write(script)
        sys.stdout.flush()


@app.command()
def init(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="Where to write the new config.")],
    template: Annotated[
        Template,
        typer.Option(case_sensitive=False, help="b2b: companies and buying roles; b2c: consumers."),
    ] = Template.b2b,
    force: Annotated[bool, typer.Option(help="Overwrite the file if it exists.")] = False,
) -> None:
    """Write a commented starter config to edit.

    Example: [bold]leadq init --template b2c my-config.toml[/]
    """
    if path.is_dir():
        message = f"{path} is a folder; give a file name such as {path / 'leadq.toml'}."
        _print_error(message, stderr_console)
        raise typer.Exit(ExitCode.BAD_CONFIG)
    if path.exists() and not force:
        _print_error(f"{path} already exists; pass --force to overwrite it.", stderr_console)
        raise typer.Exit(ExitCode.BAD_CONFIG)
    if not path.parent.is_dir():
        _print_error(f"the folder {path.parent} does not exist; create it first.", stderr_console)
        raise typer.Exit(ExitCode.BAD_CONFIG)
    text = resources.files("leadq").joinpath("templates", f"{template.value}.toml").read_text()
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        _print_error(f"{path} cannot be written: {error.strerror or error}.", stderr_console)
        raise typer.Exit(ExitCode.BAD_CONFIG) from None
    stdout_console.print(
        f"Wrote {path}. Edit the column names and rules, then run: leadq check --config {path}"
    )


def _run_scoring(
    config_path: Path,
    leads: str | None,
    activities: list[str] | None,
    as_of: str | None,
    *,
    batch_rows: int,
    full_ledger: bool,
    quiet: bool,
    verbose: bool,
    engine: str = "polars",
) -> ScoringResult:
    settings = load_config(config_path)
    show_progress = not quiet and stderr_console.is_terminal
    with _progress(show=show_progress, verbose=verbose) as steps:
        if engine != "polars":
            return score_leads_in_engine(
                settings,
                engine=engine,
                leads_path=leads,
                activity_patterns=activities,
                as_of=_parse_as_of(as_of),
                on_step=steps,
                batch_rows=batch_rows,
            )
        return score_leads(
            settings,
            leads_path=leads,
            activity_patterns=activities,
            as_of=_parse_as_of(as_of),
            on_step=steps,
            batch_rows=batch_rows,
            full_ledger=full_ledger,
            on_batch=steps.batch,
        )


def _score_quietly(
    settings: Config, leads: str | None, activities: list[str] | None, as_of: str | None
) -> ScoringResult:
    return score_leads(
        settings, leads_path=leads, activity_patterns=activities, as_of=_parse_as_of(as_of)
    )


class _StepDisplay:
    """A display of the current step on standard error.

    A bar shows the progress over the activity files as they are read.

    Calling it starts a step, so it also serves as a plain `on_step` callback. With --verbose
    it logs each step's start time. Without a `progress` it shows nothing else.
    """

    def __init__(self, progress: Progress | None, *, verbose: bool, started: float) -> None:
        self._progress = progress
        self._task = progress.add_task("Starting", total=None, detail="") if progress else None
        self._verbose = verbose
        self._started = started
        self._rows = 0

    def __call__(self, name: str) -> None:
        if self._verbose:
            elapsed = time.perf_counter() - self._started
            stderr_console.print(f"[dim]{elapsed:7.2f}s[/] {name}")
        self._rows = 0
        if self._progress is not None and self._task is not None:
            # A new task is needed because rich's update() cannot set a total back to None,
            # which shows a spinner.
            self._progress.remove_task(self._task)
            self._task = self._progress.add_task(f"{name}…", total=None, detail="")

    def batch(self, file_position: int, file_count: int, rows: int) -> None:
        """Count a scored batch of activities. The bar fills per file when there are several."""
        self._rows += rows
        if self._progress is None or self._task is None:
            return
        self._progress.update(
            self._task,
            total=file_count if file_count > 1 else None,
            completed=file_position - 1,
            detail=f"file {file_position} of {file_count}, {self._rows:,} rows",
        )


@contextlib.contextmanager
def _progress(*, show: bool, verbose: bool, started: float | None = None) -> Iterator[_StepDisplay]:
    """Yield a step display that is shown only when `show` is true.

    With --verbose, step times count from `started` (a `time.perf_counter()` value, default now).
    """
    started = time.perf_counter() if started is None else started
    if not show:
        yield _StepDisplay(None, verbose=verbose, started=started)
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=stderr_console,
        transient=True,
    )
    with progress:
        yield _StepDisplay(progress, verbose=verbose, started=started)


@contextlib.contextmanager
def _user_errors(*, verbose: bool) -> Iterator[None]:
    """Turn leadq's errors into a message on standard error and the matching exit code."""
    try:
        yield
    except LeadqError as error:
        _print_error(str(error), stderr_console)
        if verbose:
            stderr_console.print_exception()
        raise typer.Exit(error.exit_code) from None
    except (typer.Exit, typer.Abort):
        raise
    except BrokenPipeError:
        # The reader of a pipe (such as `head`) stopped early. The outputs are complete, so
        # this is not an error, and Python must not print one while exiting either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(ExitCode.SUCCESS) from None
    except Exception as error:
        if verbose:
            stderr_console.print_exception()
        message = (
            f"unexpected {type(error).__name__}: {error}. This is a bug in leadq; run again "
            "with --verbose to see the traceback, and report it with that output."
        )
        _print_error(message, stderr_console)
        raise typer.Exit(ExitCode.BAD_DATA) from None


def _print_error(message: str, console: Console) -> None:
    console.print(f"[bold red]Error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def _parse_as_of(text: str | None) -> dt.date | None:
    return None if text is None else _parse_date(text, "--as-of")


def _check_mqls_target(path: Path) -> None:
    """Raise ConfigError unless the MQL list can be written to `path`, before a run starts."""
    if path.is_dir():
        problem = f"--mqls {path} is a folder; give a file name such as {path / 'mqls.csv'}"
        raise ConfigError("command line", [problem])
    if not path.parent.is_dir():
        problem = f"--mqls {path}: the folder {path.parent} does not exist; create it first"
        raise ConfigError("command line", [problem])


def _parse_rate(text: str | None) -> float | None:
    if text is None:
        return None
    value = text.strip()
    try:
        rate = float(value.removesuffix("%")) / (100 if value.endswith("%") else 1)
    except ValueError:
        rate = -1.0
    if not 0 <= rate <= 1:
        problem = f"--max-reject-rate {text!r} is not a share; write e.g. 0.05 or 5%"
        raise ConfigError("command line", [problem])
    return rate


def _check_reject_rate(summary: dict[str, object], limit: float | None) -> None:
    if limit is None:
        return
    leads = summary["leads"]
    activities = summary["activities"]
    assert isinstance(leads, dict)
    assert isinstance(activities, dict)
    rows = leads["rows_read"] + activities["rows_read"]
    rejected = summary["rejected_rows"]
    assert isinstance(rejected, int)
    rate = rejected / rows if rows else 0.0
    if rate > limit:
        msg = (
            f"{rejected:,} of {rows:,} input rows ({rate:.2%}) were rejected, more than "
            f"--max-reject-rate {limit:.2%}; the outputs were written, and rejects.csv "
            "lists each rejected row"
        )
        raise RejectRateError(msg)


OutcomesOption = Annotated[
    str | None,
    typer.Option(
        "--outcomes",
        help="Outcome export from the CRM (CSV, Excel or Parquet); overrides outcomes.file.",
        show_default=False,
    ),
]


@app.command()
def calibrate(
    config: ConfigOption,
    outcomes: OutcomesOption = None,
    leads: LeadsOption = None,
    activities: ActivitiesOption = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="The cut-off day, YYYY-MM-DD: leads are scored as of it, and only outcomes "
            "dated after it count. Required when the outcomes have dates.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the report.")] = Path(
        "leadq-calibration"
    ),
    holdout_days: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Fit the suggestions on outcomes up to this many days before the latest "
            "outcome, and test them on that last period.",
            show_default=False,
        ),
    ] = None,
    target_precision: Annotated[
        str | None,
        typer.Option(
            help="Find the smallest threshold whose MQLs convert at this rate, as a fraction "
            "(0.3) or a percentage (30%).",
            show_default=False,
        ),
    ] = None,
    target_mqls: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Find the smallest threshold that makes at most this many MQLs.",
            show_default=False,
        ),
    ] = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Measure how MQLs, score bands, fit criteria and rules convert, and suggest changes.

    Joins the scored leads with an outcome export (SQL, opportunity, won) mapped in the
    config's \\[outcomes] section. Writes calibration.md and calibration.json into --out.

    Example: [bold]leadq calibrate --config configs/b2b.toml --as-of 2026-11-30 --out report[/]
    """
    with _user_errors(verbose=verbose):
        precision = _parse_share(target_precision, "--target-precision")
        settings = load_config(config)
        check_output_folder(out, set(CALIBRATION_FILES))
        show_progress = not quiet and stderr_console.is_terminal
        with _progress(show=show_progress, verbose=verbose) as on_step:
            report = calibration.calibrate(
                settings,
                outcomes_path=outcomes,
                leads_path=leads,
                activity_patterns=activities,
                as_of=_parse_as_of(as_of),
                holdout_days=holdout_days,
                target_precision=precision,
                target_mqls=target_mqls,
                on_step=on_step,
            ).report
        written = write_calibration_outputs(out, report)
        if not quiet:
            render_calibration(report, stdout_console)
            stdout_console.print(f"Wrote {len(written)} files to {out}.")


@app.command()
def backtest(
    config: ConfigOption,
    start: Annotated[
        str, typer.Option("--from", help="The first as-of date, YYYY-MM-DD.", show_default=False)
    ],
    end: Annotated[
        str,
        typer.Option("--to", help="The last possible as-of date, YYYY-MM-DD.", show_default=False),
    ],
    every: Annotated[
        str, typer.Option("--every", help="Days or weeks between as-of dates: 7d, 2w.")
    ] = "7d",
    outcomes: OutcomesOption = None,
    leads: LeadsOption = None,
    activities: ActivitiesOption = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the results.")] = Path(
        "leadq-backtest"
    ),
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Score the leads as of a series of dates and count the MQLs and new MQLs of each.

    Reads the inputs once for all dates. With outcomes, also shows how each date's new MQLs
    converted later. Writes backtest.csv and backtest.md into --out.

    Example: [bold]leadq backtest -c configs/b2b.toml --from 2026-09-07 --to 2026-11-30[/]
    """
    with _user_errors(verbose=verbose):
        first = _parse_date(start, "--from")
        last = _parse_date(end, "--to")
        dates = backtesting.as_of_dates(first, last, backtesting.parse_every(every))
        settings = load_config(config)
        check_output_folder(out, set(BACKTEST_FILES))
        show_progress = not quiet and stderr_console.is_terminal
        with _progress(show=show_progress, verbose=verbose) as on_step:
            result = backtesting.backtest(
                settings,
                dates,
                leads_path=leads,
                activity_patterns=activities,
                outcomes_path=outcomes,
                on_step=on_step,
            )
        written = write_backtest_outputs(out, result.periods)
        if not quiet:
            columns, rows = backtest_rows(result.periods)
            table = Table(title="MQLs per as-of date", title_justify="left")
            for position, column in enumerate(columns):
                table.add_column(column, justify="left" if position == 0 else "right")
            for row in rows:
                table.add_row(*row)
            stdout_console.print(table)
            stdout_console.print(f"Wrote {len(written)} files to {out}.")


def _parse_date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        pass
    # A day in the right form that the calendar lacks, such as 2026-11-31, gets the reason.
    parts = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text.strip())
    if parts is None or int(parts[1]) < dt.MINYEAR:
        problem = f"{option} {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-30"
        raise ConfigError("command line", [problem])
    year, month = int(parts[1]), int(parts[2])
    if 1 <= month <= 12:
        days = calendar.monthrange(year, month)[1]
        reason = f"{calendar.month_name[month]} {year} has {days} days"
    else:
        reason = f"there is no month {month}"
    problem = f"{option} {text!r} is not a day of the calendar: {reason}"
    raise ConfigError("command line", [problem])


def _parse_share(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    value = text.strip()
    try:
        share = float(value.removesuffix("%")) / (100 if value.endswith("%") else 1)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        problem = f"{option} {text!r} is not a share; write e.g. 0.3 or 30%"
        raise ConfigError("command line", [problem])
    return share


def _show_notes(notes: list[Note], console: Console, *, quiet: bool) -> None:
    """Print a nightly run's notes. Warnings go to standard error even with --quiet."""
    for note in notes:
        if note.is_warning:
            stderr_console.print(f"[bold yellow]Warning:[/] {escape(note.text)}", soft_wrap=True)
        elif not quiet:
            console.print(escape(note.text), highlight=False, soft_wrap=True)
