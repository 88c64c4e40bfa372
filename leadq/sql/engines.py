"""Running the SQL model inside DuckDB or Spark, with leadq's own readers feeding the tables.

The input files are read by the same readers as `leadq score`: every value as trimmed text,
null tokens as null, one row per lead id, and the same rejects. They are then handed to the
engine as the tables `leads` and `activities`, with each row's position in the export. It runs
the query from leadq.sql.query, and its result becomes a ScoringResult, so that the outputs
and the summary are written exactly as for the Polars engine.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import polars as pl
from sqlglot import exp

from leadq.accounts import ACCOUNT, ACCOUNT_KEY, ACCOUNT_MQA, QUALIFIED_BY_ACCOUNT
from leadq.activity_scoring import DEFAULT_BATCH_ROWS, ActivityCounts, activity_columns
from leadq.config import AccountsSection, Config
from leadq.engagement import ENGAGEMENT_TOTAL, Window, count_column, points_column
from leadq.errors import InputDataError, LeadqError
from leadq.grades import FIT_SCORE, criterion_column
from leadq.leads import read_leads
from leadq.readers import FILE_COLUMN, LINE_COLUMN, ORDER_COLUMN, TableScan, read_options
from leadq.rejects import no_rejects, shape_rejects
from leadq.scoring import (
    ScoringResult,
    _input_paths,
    _rule_stats,
    lead_output_columns,
    today_in,
)
from leadq.sql import render
from leadq.sql.query import ScoringQuery

ENGINES = ("duckdb", "spark")
_INSTALL_HINTS = {
    "duckdb": 'pip install "leadq[duckdb]"',
    "spark": 'pip install "leadq[spark]" (Spark also needs a Java runtime, 17 or later)',
}


class EngineMissingError(LeadqError):
    """The package an --engine needs is not installed."""


class Engine(Protocol):
    """A database that loads text tables and runs one dialect's SQL."""

    dialect: str

    def load(self, name: str, frames: Iterable[pl.DataFrame]) -> None:
        """Create table `name` from frames that share one schema of text and integers."""

    def query(self, sql: str) -> pl.DataFrame:
        """Run one SELECT and return its rows."""


class _ArrowStream:
    """An adapter that hands a Polars frame to DuckDB through the Arrow stream interface.

    It needs no pyarrow.
    """

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self.frame.__arrow_c_stream__(requested_schema)


class DuckDBEngine:
    """An in-memory DuckDB database in this process. Results come back through a Parquet file."""

    dialect = "duckdb"

    def __init__(self) -> None:
        try:
            import duckdb
        except ImportError:
            raise _missing("duckdb") from None
        # The progress bar is off because leadq shows its own progress and -q must print nothing.
        self._connection = duckdb.connect()
        self._connection.execute("SET enable_progress_bar = false")
        self._folder = tempfile.TemporaryDirectory(prefix="leadq-duckdb-")

    def load(self, name: str, frames: Iterable[pl.DataFrame]) -> None:
        """Create table `name` from the frames, one INSERT per frame to bound memory."""
        table = exp.to_identifier(name, quoted=True).sql("duckdb")
        created = False
        for frame in frames:
            self._connection.register("_leadq_frame", _ArrowStream(frame))
            verb = f"INSERT INTO {table}" if created else f"CREATE TABLE {table} AS"
            self._connection.execute(f"{verb} SELECT * FROM _leadq_frame")
            self._connection.unregister("_leadq_frame")
            created = True

    def query(self, sql: str) -> pl.DataFrame:
        """Run a SELECT and read its result back."""
        path = Path(self._folder.name) / "result.parquet"
        self._connection.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")
        return pl.read_parquet(path)

    def close(self) -> None:
        """Free the database and its temporary files."""
        self._connection.close()
        self._folder.cleanup()


class SparkEngine:
    """A Spark session: the active one, or a new one configured by `spark.master` and similar.

    Tables are temporary views built from the rows leadq read, so they live only in this
    session. Times are handled as wall-clock values (TIMESTAMP_NTZ), and the session time
    zone is set to UTC so that no implicit conversion can shift a day.
    """

    dialect = "spark"

    def __init__(self, session: Any = None) -> None:
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise _missing("spark") from None
        self._session = session or SparkSession.builder.appName("leadq").getOrCreate()
        self._session.conf.set("spark.sql.session.timeZone", "UTC")

    def load(self, name: str, frames: Iterable[pl.DataFrame]) -> None:
        """Create a temporary view `name` from the frames."""
        from pyspark.sql import types

        frame = pl.concat(list(frames), how="vertical")
        fields = [
            types.StructField(
                column,
                types.LongType() if dtype.is_integer() else types.StringType(),
            )
            for column, dtype in frame.schema.items()
        ]
        with warnings.catch_warnings():
            # PySpark checks its pandas version here, although no pandas is involved.
            warnings.filterwarnings("ignore", "PySpark does not yet", FutureWarning)
            data = self._session.createDataFrame(frame.rows(), schema=types.StructType(fields))
        data.createOrReplaceTempView(name)

    def query(self, sql: str) -> pl.DataFrame:
        """Run a SELECT and collect its rows to the driver."""
        result = self._session.sql(sql)
        rows = result.collect()
        columns = result.columns
        return pl.DataFrame(
            {column: [row[position] for row in rows] for position, column in enumerate(columns)},
            strict=False,
        )

    def close(self) -> None:
        """Leave the session running, because it may be shared and it ends with the process."""


def _missing(engine: str) -> EngineMissingError:
    return EngineMissingError(
        f"--engine {engine} failed: a required package is missing. Install it with: "
        f"{_INSTALL_HINTS[engine]}"
    )


def open_engine(name: str, *, spark_session: Any = None) -> DuckDBEngine | SparkEngine:
    """Start the engine called `name` (`duckdb` or `spark`)."""
    if name == "duckdb":
        return DuckDBEngine()
    return SparkEngine(spark_session)


def score_leads_in_engine(
    config: Config,
    *,
    engine: str,
    leads_path: str | None = None,
    activity_patterns: Sequence[str] | None = None,
    as_of: dt.date | None = None,
    on_step: Callable[[str], None] | None = None,
    batch_rows: int | None = DEFAULT_BATCH_ROWS,
    spark_session: Any = None,
) -> ScoringResult:
    """Score like leadq.scoring.score_leads, with the SQL model running in `engine`.

    Raises NotSupportedError or DialectError before reading anything when the config uses a
    setting the SQL model cannot reproduce, and the errors of score_leads otherwise.
    """
    step = on_step or (lambda _name: None)
    timezone = config.activities.timezone if config.activities else "UTC"
    as_of = as_of or today_in(timezone)
    model = ScoringQuery(config, as_of=as_of, row_order=ORDER_COLUMN)
    dialect = "duckdb" if engine == "duckdb" else "spark"
    scored_sql = render(model.scored_leads(internal=True), dialect, pretty=False)
    lead_paths, activity_paths = _input_paths(config, leads_path, activity_patterns)

    runner = open_engine(engine, spark_session=spark_session)
    try:
        step("Reading leads")
        lead_base = None if leads_path else config.folder
        leads, lead_rejects, lead_files, lead_rows = read_leads(config, lead_paths, lead_base)
        lead_columns = [*config.lead_column_uses(), ORDER_COLUMN]
        runner.load("leads", [leads.select(lead_columns)])

        step("Reading activities")
        base = None if activity_patterns else config.folder
        activities = _load_activities(runner, model, activity_paths, base, batch_rows)
        counts, activity_rejects, activity_files = activities

        step(f"Scoring in {engine}")
        scored = _typed(runner.query(scored_sql), config)
        accounts = None
        if config.accounts is not None:
            accounts_sql = render(model.accounts(internal=True), dialect, pretty=False)
            accounts = _typed_accounts(runner.query(accounts_sql), config.accounts)
    finally:
        runner.close()

    return ScoringResult(
        config=config,
        as_of=as_of,
        window=Window(as_of=as_of, lookback_days=config.engagement.lookback_days),
        leads=scored,
        matches=pl.DataFrame(),
        rejects=pl.concat([lead_rejects, activity_rejects]),
        lead_files=lead_files,
        activity_files=activity_files,
        lead_rows_read=lead_rows,
        activity_counts=counts,
        rule_stats=_rule_stats(config, scored),
        output_columns=lead_output_columns(config),
        accounts=accounts,
    )


def _load_activities(
    runner: DuckDBEngine | SparkEngine,
    model: ScoringQuery,
    paths: list[Path],
    base: Path | None,
    batch_rows: int | None,
) -> tuple[ActivityCounts, pl.DataFrame, list[Any]]:
    """Load the activity files as the `activities` table; return counts, rejects and files."""
    config = model.config
    section = config.activities
    if section is None or not paths:
        return ActivityCounts(), no_rejects(), []
    required, optional = activity_columns(config)
    columns = required + optional
    scan = TableScan(
        paths,
        columns=columns,
        options=read_options(config.inputs),
        table="activity",
        uses=config.activity_column_uses(),
        optional=optional,
        base=base,
    )
    shape_problems: list[pl.DataFrame] = [scan.empty_rejects()]

    def rows() -> Iterator[pl.DataFrame]:
        yield scan.empty_rows()
        for batch in scan.batches(batch_rows=batch_rows):
            shape_problems.append(batch.rejects)
            yield batch.rows

    runner.load("activities", rows())
    slashed = runner.query(render(model.slashed_timestamps(), runner.dialect, pretty=False))
    if slashed.item(0, 0):
        msg = (
            f"column {section.timestamp!r} has dates written with slashes (such as 03/04/2026), "
            "which --engine cannot read yet; score with the default engine"
        )
        raise InputDataError(msg, column=section.timestamp)

    unreadable = runner.query(render(model.unreadable_activities(), runner.dialect, pretty=False))
    value = pl.col(section.timestamp)
    unreadable = unreadable.with_columns(
        pl.col(LINE_COLUMN).cast(pl.Int64),
        pl.col(ORDER_COLUMN).cast(pl.Int64),
        pl.when(value.is_null())
        .then(pl.lit("missing timestamp"))
        .otherwise(pl.lit("unreadable timestamp"))
        .alias("problem"),
        pl.when(value.is_null())
        .then(pl.lit(f"missing timestamp in {section.timestamp!r}"))
        .otherwise(
            pl.format(
                "unreadable timestamp '{}' in {}; if it is a date, set "
                "activities.timestamp_format to the format it is written in",
                value,
                pl.lit(repr(section.timestamp)),
            )
        )
        .alias("reason"),
    )
    shape = pl.concat(shape_problems, how="diagonal_relaxed")
    rejected = pl.concat([shape, unreadable], how="diagonal_relaxed")
    rejects = shape_rejects("activities", rejected, columns, scan.files)
    counts = runner.query(render(model.activity_counts(), runner.dialect, pretty=False))
    row = {name: int(value or 0) for name, value in counts.row(0, named=True).items()}
    activity_counts = ActivityCounts(
        total=shape.height + row["total"],
        rejected=shape.height + row["rejected"],
        unmatched=row["unmatched"],
        future_dated=row["future_dated"],
        before_window=row["before_window"],
        in_window=row["in_window"],
    )
    return activity_counts, rejects, scan.files


def _typed(scored: pl.DataFrame, config: Config) -> pl.DataFrame:
    """Give the engine's result the column types of the Polars engine."""
    booleans = ["fit", "mql", *(f"_filter_{p}" for p in range(len(config.fit.filters)))]
    booleans += [f"_exclusion_{p}" for p in range(len(config.fit.exclude))]
    booleans += [criterion_column(p) for p in range(len(config.fit.points))]
    doubles = ["engagement_score", ENGAGEMENT_TOTAL]
    doubles += [group.column for group in config.engagement.groups]
    doubles += [FIT_SCORE] if config.fit.points else []
    integers: list[str] = []
    for position in range(len(config.engagement.rules)):
        integers.append(count_column(position))
        doubles.append(points_column(position))
    if config.accounts is not None:
        booleans += [ACCOUNT_MQA, QUALIFIED_BY_ACCOUNT]
    return _with_types(scored, booleans=booleans, doubles=doubles, integers=integers)


def _typed_accounts(accounts: pl.DataFrame, section: AccountsSection) -> pl.DataFrame:
    """Give the engine's accounts the column types and the order of leadq.accounts."""
    booleans = ["fit", "mqa", *(f"_filter_{p}" for p in range(len(section.filters)))]
    booleans += [f"_exclusion_{p}" for p in range(len(section.exclude))]
    typed = _with_types(
        accounts,
        booleans=booleans,
        doubles=["engagement_score"],
        integers=["leads", "fit_leads", "engaged_leads"],
    )
    # The rows are sorted again here, because warehouses order text by their own collation.
    return typed.sort(["engagement_score", ACCOUNT, ACCOUNT_KEY], descending=[True, False, False])


def _with_types(
    frame: pl.DataFrame, *, booleans: list[str], doubles: list[str], integers: list[str]
) -> pl.DataFrame:
    casts = [pl.col(column).cast(pl.Boolean) for column in booleans]
    casts += [pl.col(column).cast(pl.Float64) for column in doubles]
    casts += [pl.col(column).cast(pl.Int64) for column in integers]
    typed = {*booleans, *doubles, *integers}
    # A column that is null in every row comes back without a type. The others are text.
    untyped = [c for c, dtype in frame.schema.items() if dtype == pl.Null and c not in typed]
    casts += [pl.col(column).cast(pl.String) for column in untyped]
    return frame.with_columns(casts)


__all__ = [
    "ENGINES",
    "FILE_COLUMN",
    "DuckDBEngine",
    "EngineMissingError",
    "SparkEngine",
    "score_leads_in_engine",
]
