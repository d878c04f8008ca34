"""One writer at a time: the lock a command holds on its output while it writes it.

Example::

    from llama_index.finetuning.output_lock import output_lock

    with output_lock("train.json"):   # a second writer is refused at once, naming this one
        ...

The lock file sits beside the output (``.train.json.lock``), holds the writer's pid and
command, and is there only while a run writes. A lock left by a killed run (its pid is gone)
is taken over.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from .outputs import OutputExistsError, file_mode


class OutputLockedError(OutputExistsError):
    """Another run is writing the output now; nothing was changed.

    Example::

        try:
            engine.finetune()
        except OutputLockedError as error:   # "my_model: another run is writing it now (pid ...)"
            print(error)
    """


def lock_path(path: str | os.PathLike) -> Path:
    """The lock file of output ``path``: beside it, hidden, there only while a run writes."""
    path = Path(path)
    return path.parent / f".{path.name}.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process
    return True


def _holder(lock: Path) -> dict:
    try:
        data = json.loads(lock.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class OutputLock:
    """The lock one run holds on an output while it writes it; see :func:`output_lock`.

    With ``fcntl`` (Linux, macOS) the lock is an ``flock`` on the lock file, released by the
    system when the process dies however it dies; the file holds the pid and the command, to
    name the holder. Elsewhere the pid in the file is checked for life.
    """

    def __init__(self, path: str | os.PathLike, command: str | None = None) -> None:
        self.output, self.path, self.command = Path(path), lock_path(path), command
        self._fd: int | None = None
        self._made: list[Path] = []

    def acquire(self) -> OutputLock:
        # folders made for the lock alone are removed with it (a refused run leaves nothing)
        self._made = [p for p in (self.path.parent, *self.path.parent.parents) if not p.exists()]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            for _ in range(10):  # the file may be replaced between open and lock: open again
                fd = self._try_lock()
                if fd is None:
                    holder = _holder(self.path)
                    pid = holder.get("pid", "unknown")
                    command = holder.get("command") or "another llamaindex-finetune run"
                    raise OutputLockedError(
                        f"{self.output}: another run is writing it now (pid {pid}: {command}); "
                        "wait for it to end or stop it, or choose another output"
                    )
                if fd >= 0:
                    self._fd = fd
                    _HELD.append(self)
                    command = self.command or " ".join(["python", *sys.argv])
                    record = {"pid": os.getpid(), "command": command}
                    os.ftruncate(fd, 0)
                    os.write(fd, (json.dumps(record) + "\n").encode())
                    return self
        except KeyboardInterrupt:  # Ctrl-C while taking it: nothing of this run is left
            self.release()
            raise
        raise OutputLockedError(f"{self.output}: could not take the lock {self.path}")

    def _try_lock(self) -> int | None:
        """A locked fd; None when a live run holds the lock; -1 to try again."""
        try:
            import fcntl
        except ImportError:  # no flock: a lock file whose pid is alive is held
            try:
                return os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_RDWR, file_mode())
            except FileExistsError:
                pid = _holder(self.path).get("pid")
                if isinstance(pid, int) and _alive(pid):
                    return None
                self.path.unlink(missing_ok=True)  # stale: its run was killed
                return -1
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, file_mode())
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return None
            try:  # the holder before us may have removed the file after we opened it
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
        except KeyboardInterrupt:  # Ctrl-C before acquire() holds it: a file with no
            os.close(fd)  # holder's record in it yet is the one this run made
            with contextlib.suppress(OSError):
                if self.path.stat().st_size == 0:
                    self.path.unlink()
            raise
        if not same:
            os.close(fd)
            return -1
        return fd

    def release(self) -> None:
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)  # before the unlock: no one locks a removed file
        os.close(self._fd)
        self._fd = None
        if self in _HELD:
            _HELD.remove(self)
        for folder in self._made:  # deepest first; one the run wrote into stays
            try:
                folder.rmdir()
            except OSError:
                break

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


_HELD: list[OutputLock] = []


def output_lock(path: str | os.PathLike, command: str | None = None) -> OutputLock:
    """Hold ``path`` for this run; ``command`` names the run to a second one (default: this
    process's command line).

    Example::

        with output_lock("train.json", command="my notebook"):
            ...                      # a second writer of train.json is refused, naming this one

    Raises:
        OutputLockedError: another live run holds it; the message names its pid and command.
            A lock whose run was killed is taken over.
    """
    return OutputLock(path, command)


def release_all_locks() -> None:
    """Release every lock this process holds (before ``os._exit``, which runs no ``with``)."""
    for lock in list(_HELD):
        lock.release()


def holds_lock(path: str | os.PathLike) -> bool:
    """Whether this process holds the lock on output ``path`` already."""
    lock = lock_path(path).resolve()
    return any(held.path.resolve() == lock for held in _HELD)


@contextlib.contextmanager
def claimed_output(
    path: str | os.PathLike, kind: str, overwrite: bool = False, *, command: str | None = None
) -> Iterator[Path]:
    """Claim output folder ``path`` for one run: check it, lock it, mark it; on failure,
    remove it again if this claim made it and the run left nothing in it.

    Example::

        from llama_index.finetuning.output_lock import claimed_output

        with claimed_output("my_model", "model") as folder:   # refused: a user's folder,
            ...                                               # another kind, a live writer
            model.save_pretrained(str(folder))

    The one way both engines, ``compare`` and the command line take an output folder:
    :func:`~.outputs.check_output_dir` (a folder holding files this package did not write,
    or this package's output of another ``kind``, is refused unless ``overwrite``), the lock
    of :func:`output_lock` (a second writer is refused; a lock this process holds already,
    e.g. the command line's around an engine, is not taken twice), then
    :func:`~.outputs.claim_dir`. A run that fails (an error, Ctrl-C) before writing anything
    but markers leaves no folder behind; one that wrote something (a checkpoint to resume
    from, a dataset) keeps it.
    """
    from .outputs import MARKER, check_output_dir, claim_dir

    folder = check_output_dir(path, overwrite, kind=kind)
    made = not folder.exists()
    lock = contextlib.nullcontext() if holds_lock(folder) else output_lock(folder, command)
    with lock:
        claim_dir(folder, kind, overwrite)
        try:
            yield folder
        except BaseException:
            if made and all(p.is_dir() or p.name == MARKER for p in folder.rglob("*")):
                shutil.rmtree(folder, ignore_errors=True)
            raise
