"""An append-only record of finished chunks, so that generation resumes after any crash.

Example::

    journal = Journal.for_output("train_dataset.json").open()  # train_dataset.json.journal.jsonl
    journal.append(JournalEntry(node_id="n1", text="...", questions={"q-id": "Why?"}))
    journal.close()                                            # waits until it is on disk
    done = journal.load()                                      # {node_id: JournalEntry}

Each finished chunk is one JSON line. A writer thread takes the lines off the event loop,
writes every line waiting in one ``write`` and fsyncs once per batch, so many finished chunks
cost one disk flush. A SIGKILL loses at most the chunks in flight and those finished in the
last moment that the writer had not flushed yet; a process killed mid-write leaves at most one
torn last line: reading skips it, and opening cuts it off, so the file is a list of whole
entries. When a node id appears more than once (a chunk asked again with another prompt or
LLM), the last entry counts.

The journal stays beside the dataset after the run: it holds the raw parsed questions (before
the quality filters) and each chunk's fingerprint (prompt, LLM, questions asked), so a rerun
can filter differently or resume exactly without asking the LLM again.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..outputs import JOURNAL_SUFFIX, journal_records


@dataclass
class JournalEntry:
    """One finished chunk: its text and its raw questions (question id -> text).

    ``fingerprint`` identifies how the questions were made (see ``resume.fingerprint``);
    ``None`` for entries written before fingerprints existed.
    """

    node_id: str
    text: str
    questions: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    fingerprint: str | None = None


class Journal:
    """The checkpoint file beside a dataset's output path."""

    SUFFIX = JOURNAL_SUFFIX

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._error: BaseException | None = None

    @classmethod
    def for_output(cls, output_path: str | os.PathLike) -> Journal:
        return cls(str(output_path) + cls.SUFFIX)

    def load(self) -> dict[str, JournalEntry]:
        """The finished chunks, by node id (failed ones are left out: they are retried)."""
        entries: dict[str, JournalEntry] = {}
        for record in journal_records(self.path):
            try:
                entry = JournalEntry(**record)
            except TypeError:
                continue
            if entry.questions:
                entries.pop(entry.node_id, None)
                entries[entry.node_id] = entry
        return entries

    def _cut_torn_tail(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, "rb+") as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0:
                return
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
            f.seek(0)
            keep = f.read().rfind(b"\n") + 1
            f.truncate(keep)

    def open(self) -> Journal:
        """Prepare to append: create the folder, cut a torn last line, start the writer."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._cut_torn_tail()
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_loop, daemon=True)
            self._writer.start()
        return self

    def _write_loop(self) -> None:
        f = None  # opened with the first entry: a run that finished no chunk leaves no file
        try:
            while True:
                lines = [self._queue.get()]
                while not self._queue.empty():
                    lines.append(self._queue.get_nowait())
                batch = [line for line in lines if line is not None]
                try:
                    if batch:
                        f = f or open(self.path, "a", encoding="utf-8")  # noqa: SIM115
                        f.write("".join(batch))
                        f.flush()
                        os.fsync(f.fileno())
                except OSError as e:  # disk full, ...: raised by the next close()
                    self._error = e
                for _ in lines:
                    self._queue.task_done()
                if None in lines:
                    return
        finally:
            if f is not None:
                f.close()

    def append(self, entry: JournalEntry) -> None:
        """Queue one entry for the writer (``open()`` first); returns at once."""
        if self._writer is None:
            raise RuntimeError("Journal.append before open()")
        self._queue.put(json.dumps(asdict(entry), ensure_ascii=False) + "\n")

    def flush(self) -> None:
        """Wait until every appended entry is on disk."""
        if self._writer is not None:
            self._queue.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise OSError(f"cannot write the journal {self.path}: {error}") from error

    def close(self) -> None:
        """Flush and stop the writer."""
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
        self.flush()

    def rewrite(self, entries: Iterable[JournalEntry]) -> None:
        """Replace the file by ``entries`` (atomically): drops stale and superseded lines."""
        self.close()
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(asdict(e), ensure_ascii=False) + "\n" for e in entries)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)
