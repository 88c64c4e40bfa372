"""Exit codes and the errors that leadq reports to users without a traceback."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes that cron jobs and wrappers can act on."""

    SUCCESS = 0
    BAD_DATA = 1
    BAD_CONFIG = 2
    TOO_MANY_REJECTS = 3
    LOCKED = 4


class LeadqError(Exception):
    """A problem the user can fix; the CLI prints its message and exits with `exit_code`."""

    exit_code: ExitCode = ExitCode.BAD_DATA


class ConfigError(LeadqError):
    """An invalid config file or command-line usage, with every problem found at once."""

    exit_code = ExitCode.BAD_CONFIG

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        if len(problems) == 1:
            super().__init__(f"{source}: {problems[0]}")
            return
        lines = [f"{source}: {len(problems)} problems found:"]
        lines += [f"  - {problem}" for problem in problems]
        super().__init__("\n".join(lines))


class InputDataError(LeadqError):
    """An input file that cannot be read or lacks a column the config uses."""

    exit_code = ExitCode.BAD_DATA

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.column = column
        where = path or ""
        if path and line is not None:
            where = f"{path}, line {line}"
        super().__init__(f"{where}: {message}" if where else message)


class RejectRateError(LeadqError):
    """The run finished, but more rows were rejected than `--max-reject-rate` allows."""

    exit_code = ExitCode.TOO_MANY_REJECTS


class StateError(LeadqError):
    """A state file that cannot be read, or a run that the state does not allow."""

    exit_code = ExitCode.BAD_DATA


class LockedError(LeadqError):
    """Another run holds the lock on the same state file."""

    exit_code = ExitCode.LOCKED
