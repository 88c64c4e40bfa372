"""Time `leadq score` against the pandas and DuckDB baselines, each as a whole process.

    python benchmarks/run.py --sizes 100k,1m --runs 2

A size is a number of activities, with one lead per 20 activities. For each size and input
format, the runner generates the data unless its folder already contains it. Then it runs
every tool `--runs` times, interleaved so that all tools see the same machine load. It
records wall time, CPU time and peak resident memory, read from `/usr/bin/time -v` or, where
that is missing, from `resource.getrusage` in a wrapper process. Finally it checks that each
baseline's scores agree with leadq's, and writes a Markdown report that describes the
machine.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path

import polars as pl
from generate import AS_OF, DEFAULT_SEED, parse_count

BENCHMARKS = Path(__file__).resolve().parent
REPOSITORY = BENCHMARKS.parent
CONFIG = BENCHMARKS / "bench.toml"
TOOLS = ("leadq", "pandas", "duckdb")
FORMATS = ("parquet", "csv")
LEADS_PER_ACTIVITY = 1 / 20
# Bytes on disk per activity row as generate.py writes them, measured at 1M and 20M rows
# (11 to 13 for Parquet, 80 for CSV) and rounded up.
BYTES_PER_ACTIVITY = {"parquet": 14, "csv": 90}
GNU_TIME = Path("/usr/bin/time")
# The exit code that GNU timeout uses, recorded for a run stopped by --timeout.
TIMED_OUT = 124
# Runs a command and writes its resource usage as JSON, for machines without GNU time.
RUSAGE_WRAPPER = """
import json, resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as handle:
    json.dump({"max_rss_kb": usage.ru_maxrss, "cpu_s": usage.ru_utime + usage.ru_stime}, handle)
sys.exit(code)
"""
# Starts leadq's CLI from whichever `leadq` package comes first on the Python path.
LEADQ_MAIN = "import sys; from leadq.cli import app; sys.argv[0] = 'leadq'; app()"


@dataclass
class Measurement:
    """One timed run of one tool."""

    wall_s: float
    cpu_s: float
    max_rss_kb: int
    exit_code: int


@dataclass
class Case:
    """One tool on one data set and format, with every run's measurement."""

    size: str
    fmt: str
    tool: str
    n_leads: int
    n_activities: int
    runs: list[Measurement] = field(default_factory=list)
    agreement: str = ""
    error: str = ""

    def ok_runs(self) -> list[Measurement]:
        return [run for run in self.runs if run.exit_code == 0]


@dataclass(frozen=True)
class Leadq:
    """How to start the leadq under test, and which code it is."""

    command: list[str]
    env: dict[str, str] | None
    revision: str


def installed_leadq() -> Leadq:
    """Use the `leadq` of this Python environment, as it is on disk now."""
    executable = shutil.which("leadq") or str(Path(sys.executable).with_name("leadq"))
    return Leadq(command=[executable], env=None, revision=working_tree_revision())


def exported_leadq(commit: str, root: Path) -> Leadq:
    """Export `leadq/` at `commit` with `git archive` under `root` and use that copy.

    This times one fixed version while the working tree keeps changing. The copy uses the
    installed dependencies. Raises SystemExit if Python would import another `leadq`.
    """
    sha = _git("rev-parse", "--short", f"{commit}^{{commit}}")
    target = root / f"leadq-{sha}"
    if not (target / "leadq").is_dir():
        archive = subprocess.run(
            ["git", "archive", sha, "leadq"], cwd=REPOSITORY, capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")

    # -P keeps the working folder off sys.path, where it would come before PYTHONPATH and
    # import the working tree's leadq when the runner starts in the repository
    python = [sys.executable, "-P"]
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run(
        [*python, "-c", "import leadq; print(leadq.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(where).is_relative_to(target):
        msg = f"the exported leadq in {target} is not the one imported: Python imports {where}"
        raise SystemExit(msg)
    return Leadq(
        command=[*python, "-c", LEADQ_MAIN],
        env=env,
        revision=f"commit {sha}, exported with git archive",
    )


def working_tree_revision() -> str:
    """Return the checkout's commit and whether `leadq/` differs from it."""
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        changes = _git("status", "--porcelain", "--", "leadq")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {commit}" + (", with uncommitted changes in leadq/" if changes else "")


def _git(*arguments: str) -> str:
    completed = subprocess.run(
        ["git", *arguments], cwd=REPOSITORY, capture_output=True, text=True, check=True
    )
    return completed.stdout.strip()


def ensure_data(folder: Path, *, n_leads: int, n_activities: int, fmt: str, seed: int) -> None:
    """Generate the data set into `folder` unless it already contains it in `fmt`.

    Raises SystemExit when the folder contains data of other sizes or the disk is too full.
    """
    manifest_path = folder / "generated.json"
    expected = {"leads": n_leads, "activities": n_activities, "seed": seed}
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    if manifest and {key: manifest.get(key) for key in expected} != expected:
        msg = (
            f"{folder} contains data generated with {manifest}, not {expected}; "
            "remove it or pass another --data-root"
        )
        raise SystemExit(msg)
    if fmt in manifest.get("formats", []):
        return

    folder.mkdir(parents=True, exist_ok=True)
    needed = int(n_activities * BYTES_PER_ACTIVITY[fmt] * 1.3)
    free = shutil.disk_usage(folder).free
    if needed > free * 0.8:
        msg = (
            f"generating {n_activities:,} activities as {fmt} needs about {needed / 2**30:.1f} "
            f"GiB, but {folder} has {free / 2**30:.1f} GiB free; pick a smaller size or "
            "another --data-root"
        )
        raise SystemExit(msg)
    command = [
        sys.executable,
        str(BENCHMARKS / "generate.py"),
        f"--leads={n_leads}",
        f"--activities={n_activities}",
        f"--out={folder}",
        f"--format={fmt}",
        f"--seed={seed}",
    ]
    print(f"generating {folder} ({fmt})", file=sys.stderr)
    subprocess.run(command, check=True)
    formats = sorted({*manifest.get("formats", []), fmt})
    manifest_path.write_text(json.dumps({**expected, "formats": formats}) + "\n")


def tool_command(tool: str, leadq: Leadq, folder: Path, fmt: str, out: Path) -> list[str]:
    """Build the command line that scores the data in `folder` with `tool`, writing to `out`."""
    inputs = [
        "--leads",
        str(folder / f"leads.{fmt}"),
        "--activities",
        str(folder / "activities" / f"*.{fmt}"),
        "--as-of",
        AS_OF,
        "--out",
        str(out),
    ]
    if tool == "leadq":
        return [*leadq.command, "score", "--config", str(CONFIG), *inputs, "-q"]
    return [sys.executable, str(BENCHMARKS / f"baseline_{tool}.py"), *inputs]


def measure(
    command: list[str], *, env: dict[str, str] | None, timeout: float, usage_file: Path
) -> Measurement:
    """Run `command` once and return its wall time, CPU time and peak resident memory."""
    if GNU_TIME.exists():
        wrapped = [str(GNU_TIME), "-v", "-o", str(usage_file), *command]
    else:
        wrapped = [sys.executable, "-c", RUSAGE_WRAPPER, str(usage_file), *command]
    usage_file.unlink(missing_ok=True)
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            wrapped, env=env, timeout=timeout, capture_output=True, text=True
        )
    except subprocess.TimeoutExpired:
        print(f"stopped after {timeout:g} s: {' '.join(command)}", file=sys.stderr)
        return Measurement(wall_s=timeout, cpu_s=0.0, max_rss_kb=0, exit_code=TIMED_OUT)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        print(completed.stderr[-2000:], file=sys.stderr)

    text = usage_file.read_text() if usage_file.exists() else ""
    if GNU_TIME.exists():
        max_rss_kb = int(_gnu_time_field(text, "Maximum resident set size (kbytes)"))
        cpu = _gnu_time_field(text, "User time (seconds)")
        cpu += _gnu_time_field(text, "System time (seconds)")
    else:
        usage = json.loads(text) if text else {"max_rss_kb": 0, "cpu_s": 0.0}
        max_rss_kb, cpu = usage["max_rss_kb"], usage["cpu_s"]
    return Measurement(wall, cpu, max_rss_kb, completed.returncode)


def _gnu_time_field(text: str, name: str) -> float:
    match = re.search(rf"^\s*{re.escape(name)}: ([\d.]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def compare_scores(leadq_csv: Path, baseline_csv: Path) -> str:
    """Compare lead_id, fit, engagement_score and mql, and return "yes" or what differs."""
    columns = ["lead_id", "fit", "engagement_score", "mql"]
    ours = pl.read_csv(leadq_csv, columns=columns, infer_schema=False)
    theirs = pl.read_csv(baseline_csv, columns=columns, infer_schema=False)
    joined = ours.join(theirs, on="lead_id", how="full", suffix="_b", coalesce=True)
    score = pl.col("engagement_score").cast(pl.Float64)
    their_score = pl.col("engagement_score_b").cast(pl.Float64)
    differs = {
        "lead ids": pl.col("fit").is_null() | pl.col("fit_b").is_null(),
        "fit": pl.col("fit") != pl.col("fit_b"),
        "score": (score - their_score).abs() > 1e-9,
        "mql": pl.col("mql") != pl.col("mql_b"),
    }
    counts = joined.select(
        **{name: expr.fill_null(False).sum() for name, expr in differs.items()}
    ).row(0, named=True)
    problems = [f"{count:,} {name}" for name, count in counts.items() if count]
    return "yes" if not problems else "no: " + ", ".join(problems) + " differ"


def run_cases(args: argparse.Namespace, leadq: Leadq) -> list[Case]:
    """Generate data as needed, then time every tool on every size and format."""
    cases = []
    for size in args.sizes:
        n_activities = parse_count(size)
        n_leads = max(1, round(n_activities * LEADS_PER_ACTIVITY))
        folder = args.data_root / f"bench-{size}"
        for fmt in args.formats:
            ensure_data(folder, n_leads=n_leads, n_activities=n_activities, fmt=fmt, seed=args.seed)
            size_cases = [Case(size, fmt, tool, n_leads, n_activities) for tool in args.tools]
            _time_tools(size_cases, folder, leadq, args)
            cases += size_cases
    return cases


def _time_tools(cases: list[Case], folder: Path, leadq: Leadq, args: argparse.Namespace) -> None:
    results = folder / "results"
    results.mkdir(exist_ok=True)
    outputs = {}
    for run in range(args.runs):
        # rotate the order, so that no tool always runs first
        shift = run % len(cases)
        for case in cases[shift:] + cases[:shift]:
            name = f"leadq-{case.fmt}" if case.tool == "leadq" else f"{case.tool}-{case.fmt}.csv"
            outputs[case.tool] = results / name
            command = tool_command(case.tool, leadq, folder, case.fmt, outputs[case.tool])
            measurement = measure(
                command,
                env=leadq.env if case.tool == "leadq" else None,
                timeout=args.timeout,
                usage_file=results / "usage.txt",
            )
            case.runs.append(measurement)
            status = "" if measurement.exit_code == 0 else f" (exit {measurement.exit_code})"
            print(
                f"{case.size:>6} {case.fmt:<7} {case.tool:<6} run {run + 1}: "
                f"{measurement.wall_s:7.2f} s, {measurement.max_rss_kb / 1024:7.0f} MiB{status}",
                file=sys.stderr,
            )
    _check_agreement(cases, outputs)


def _check_agreement(cases: list[Case], outputs: dict[str, Path]) -> None:
    """Compare each baseline's last output with leadq's last output."""
    leadq = next((case for case in cases if case.tool == "leadq"), None)
    for case in cases:
        if not case.ok_runs():
            case.error = f"failed (exit {case.runs[-1].exit_code})"
        elif case.tool != "leadq" and leadq is not None and leadq.ok_runs():
            leadq_csv = outputs["leadq"] / "scored_leads.csv"
            case.agreement = compare_scores(leadq_csv, outputs[case.tool])


def machine_description(revision: str) -> list[str]:
    """Describe leadq's `revision`, the CPU, memory, OS and the versions of the libraries."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu = names[0] if names else cpu
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        match = re.search(r"^MemTotal:\s+(\d+) kB", meminfo.read_text(), re.MULTILINE)
        memory = f"{int(match.group(1)) / 2**20:.1f} GiB" if match else memory
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = []
    for package in ("polars", "pandas", "pyarrow", "duckdb", "numpy"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    return [
        f"- leadq: {revision}",
        f"- CPU: {cpu}, {cores} cores available",
        f"- Memory: {memory}",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}; {', '.join(versions)}",
    ]


def report_table(cases: list[Case]) -> list[str]:
    """Write one Markdown row per tool, size and format, with ratios to leadq's figures."""
    lines = [
        "| activities | leads | format | tool | median s | min-max s | CPU s | peak RSS MiB "
        "| time ÷ leadq | RSS ÷ leadq | agrees with leadq |",
        "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    leadq_cases = {(case.size, case.fmt): case for case in cases if case.tool == "leadq"}
    for case in cases:
        prefix = f"| {case.n_activities:,} | {case.n_leads:,} | {case.fmt} | {case.tool} "
        if not case.ok_runs():
            lines.append(prefix + f"| {case.error} | | | | | | |")
            continue
        wall, spread, cpu, rss = _figures(case)
        time_ratio = rss_ratio = ""
        reference = leadq_cases.get((case.size, case.fmt))
        if reference and reference.ok_runs() and case.tool != "leadq":
            leadq_wall, _, _, leadq_rss = _figures(reference)
            time_ratio = f"{wall / leadq_wall:.2f}x"
            rss_ratio = f"{rss / leadq_rss:.2f}x"
        agreement = "(reference)" if case.tool == "leadq" else case.agreement
        lines.append(
            prefix + f"| {wall:.2f} | {spread} | {cpu:.2f} | {rss:,.0f} | {time_ratio} "
            f"| {rss_ratio} | {agreement} |"
        )
    return lines


def _figures(case: Case) -> tuple[float, str, float, float]:
    """Return the median wall time, the min-max text, median CPU time and peak RSS in MiB."""
    runs = case.ok_runs()
    walls = [run.wall_s for run in runs]
    spread = f"{min(walls):.2f}-{max(walls):.2f}"
    cpu = statistics.median(run.cpu_s for run in runs)
    return statistics.median(walls), spread, cpu, max(run.max_rss_kb for run in runs) / 1024


def write_report(path: Path, cases: list[Case], args: argparse.Namespace, *, revision: str) -> None:
    """Write the report, or add this run's section to it with `--append`."""
    started = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    section = [
        f"## Run of {started}",
        "",
        f"`python benchmarks/run.py {' '.join(sys.argv[1:])}`: {args.runs} run(s) of each tool, "
        "interleaved, on a warm page cache (the data was just written or read).",
        "",
        *machine_description(revision),
        "",
        *report_table(cases),
        "",
    ]
    if args.append and path.exists():
        path.write_text(path.read_text().rstrip("\n") + "\n\n" + "\n".join(section))
        return
    header = [
        "# leadq benchmark results",
        "",
        "Each row is one tool scoring one data set as a whole process, from start to exit.",
        "`median s` and `min-max s` are wall times. `CPU s` is user plus system time, so",
        "it exceeds the wall time when a tool uses both cores. `peak RSS MiB` is the",
        "largest resident memory over the runs. `time ÷ leadq` above 1 means the baseline",
        "was slower than leadq on the same data in the same run. `agrees with leadq`",
        "compares lead_id, fit, engagement_score and mql of every lead.",
        "benchmarks/README.md says how to repeat a run.",
        "",
    ]
    path.write_text("\n".join(header + section))


def _comma_list(text: str) -> list[str]:
    return [item.strip().lower() for item in text.split(",") if item.strip()]


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time leadq against the pandas and DuckDB baselines.",
        epilog="Example: python benchmarks/run.py --sizes 100k,1m --runs 2",
    )
    parser.add_argument(
        "--sizes",
        type=_comma_list,
        default=["100k"],
        help="comma-separated activity counts such as 100k,1m,20m; leads = activities / 20",
    )
    parser.add_argument(
        "--formats",
        type=_comma_list,
        default=list(FORMATS),
        help="comma-separated input formats (default: parquet,csv)",
    )
    parser.add_argument(
        "--tools",
        type=_comma_list,
        default=list(TOOLS),
        help="comma-separated tools to run (default: leadq,pandas,duckdb)",
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each tool (default: 3)")
    parser.add_argument(
        "--data-root",
        type=Path,
        default=Path("/tmp"),
        help="folder with one bench-SIZE folder per size (default: /tmp)",
    )
    parser.add_argument(
        "--leadq-commit",
        metavar="REV",
        help="time leadq/ as of this git commit, exported under --data-root, instead of the "
        "installed leadq",
    )
    parser.add_argument(
        "--report", type=Path, default=BENCHMARKS / "RESULTS.md", help="Markdown file to write"
    )
    parser.add_argument(
        "--append", action="store_true", help="add this run to the report instead of replacing it"
    )
    parser.add_argument(
        "--timeout", type=float, default=3600, help="seconds after which one run is stopped"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed for generated data")
    args = parser.parse_args()

    try:
        for size in args.sizes:
            parse_count(size)
    except argparse.ArgumentTypeError as error:
        parser.error(f"--sizes: {error}")
    for option, values, known in (
        ("--formats", args.formats, FORMATS),
        ("--tools", args.tools, TOOLS),
    ):
        unknown = [value for value in values if value not in known]
        if unknown or not values:
            parser.error(f"{option}: invalid {unknown or values}; choose from {', '.join(known)}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main() -> None:
    args = parse_arguments()
    if args.leadq_commit:
        leadq = exported_leadq(args.leadq_commit, args.data_root)
    else:
        leadq = installed_leadq()

    cases = run_cases(args, leadq)
    revision = leadq.revision
    if not args.leadq_commit and working_tree_revision() != revision:
        # an editable install runs whatever is on disk, so the runs may mix two versions
        revision = f"changed during the run, from {revision} to {working_tree_revision()}"
        print(f"warning: leadq {revision}; the timings mix versions", file=sys.stderr)
    write_report(args.report, cases, args, revision=revision)
    print("\n".join(report_table(cases)))
    print(f"wrote {args.report}", file=sys.stderr)


if __name__ == "__main__":
    main()
