"""A lock file that keeps two runs from using the same state file at once.

The lock is an exclusive `flock` on `<state>.lock`, which the operating system releases when
the process ends, however it ends. The file also contains the process id of the run that took
it, so a run that was killed leaves a file whose lock no process holds. The next run reports
that stale lock, takes it over and names the killed process in a note.

NOTE: `fcntl` exists on Linux and macOS only, so state files are not supported on Windows.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from leadq.errors import LockedError, StateError


def lock_path_for(state_path: Path) -> Path:
    """Return the lock file of a state file: `leadq-state.parquet` -> `leadq-state.lock`."""
    return state_path.with_name(f"{state_path.stem}.lock")


@dataclass
class StaleLock:
    """The process id and host that a killed run left in the lock file this run took over."""

    pid: int | None
    host: str


class StateLock:
    """An exclusive lock on one state file, held from `__enter__` to `__exit__`.

    Raises LockedError on entry when another running process holds it.
    """

    def __init__(self, state_path: Path) -> None:
        self.path = lock_path_for(state_path)
        self.stale: StaleLock | None = None
        self._fd: int | None = None

    def __enter__(self) -> StateLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, or raise LockedError naming the run that holds it."""
        for _attempt in range(10):
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise LockedError(self._held_message(holder)) from None
            # A run that finished removes the file after locking it, so a lock taken on a
            # file that is no longer at `path` protects nothing. Open the new file and retry.
            if _same_file(fd, self.path):
                self._fd = fd
                self.stale = _stale_lock(_read_holder(fd))
                _write_holder(fd)
                return
            os.close(fd)
        msg = f"the lock file {self.path} keeps changing; check what else writes to its folder"
        raise StateError(msg)

    def release(self) -> None:
        """Remove the lock file and release the lock, or do nothing if it is not held."""
        if self._fd is None:
            return
        # Remove the file while still holding the lock, so no run can lock it in between.
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            msg = (
                f"creating the lock file {self.path} failed: {error.strerror}; "
                "check that its folder is writable"
            )
            raise StateError(msg) from None

    def _held_message(self, holder: str) -> str:
        pid, host = _parse_holder(holder)
        who = f"process {pid} on {host}" if pid is not None else "another process"
        return (
            f"another leadq run ({who}) is using the state file, as the lock file {self.path} "
            "shows; this run changed nothing. Let that run finish, or stagger the schedules"
        )


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)


def _read_holder(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 200).decode("utf-8", errors="replace").strip()


def _write_holder(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())


def _parse_holder(text: str) -> tuple[int | None, str]:
    pid_text, _, host = text.partition(" ")
    return (int(pid_text) if pid_text.isdigit() else None), host or "this machine"


def _stale_lock(holder: str) -> StaleLock | None:
    """Describe the killed run whose lock file this run took over, if there was one."""
    if not holder:
        return None
    pid, host = _parse_holder(holder)
    return StaleLock(pid=pid, host=host)
