"""An append-only record of finished chunks, so that generation resumes after any crash.

Example::

    journal = Journal.for_output("train_dataset.json")  # train_dataset.json.journal.jsonl
    done = journal.load()                                # {node_id: JournalEntry}
    journal.append(JournalEntry(node_id="n1", text="...", questions={"q-id": "Why?"}))

Each finished chunk is one JSON line, written with a single ``write`` and fsync'ed. A
process killed mid-write leaves at most one torn last line: reading skips it, and the next
append first cuts it off, so the file is always a list of whole entries. A node id that
appears twice (it cannot, unless two runs shared a file) keeps its first entry.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class JournalEntry:
    """One finished chunk: its text and its questions (question id -> text).

    ``questions`` is empty when the chunk failed for good (``error`` says why); a failed
    chunk is asked again on the next run.
    """

    node_id: str
    text: str
    questions: dict[str, str] = field(default_factory=dict)
    error: str | None = None


class Journal:
    """The checkpoint file beside a dataset's output path."""

    SUFFIX = ".journal.jsonl"

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    @classmethod
    def for_output(cls, output_path: str | os.PathLike) -> Journal:
        return cls(str(output_path) + cls.SUFFIX)

    def load(self) -> dict[str, JournalEntry]:
        """The finished chunks, by node id (failed ones are left out: they are retried)."""
        entries: dict[str, JournalEntry] = {}
        if not self.path.exists():
            return entries
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # torn by a crash mid-write
                try:
                    entry = JournalEntry(**json.loads(line))
                except (json.JSONDecodeError, TypeError):
                    continue
                if entry.questions and entry.node_id not in entries:
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
        """Prepare to append: create the folder, cut a torn last line."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._cut_torn_tail()
        return self

    def append(self, entry: JournalEntry) -> None:
        line = json.dumps(asdict(entry), ensure_ascii=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
