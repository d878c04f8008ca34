"""Output safety: write files as ``open()`` would, and never replace what this package did not write.

Example::

    from llama_index.finetuning.outputs import atomic_write_text, check_dataset_output, claim_dir

    folder = claim_dir("my_model", kind="model")   # refuses a user's non-empty folder
    atomic_write_text(folder / "notes.md", "...")  # old file or new one, never half
    check_dataset_output("train.json", {"doc-0": "chunk text"})  # refuses other data

A folder this package writes (a model, an adapter, a report, a run, a checkpoint folder)
holds a marker file, ``.llamaindex-finetune.json`` (``{"kind": ..., "version": ...}``). A
command may write into a folder that does not exist, is empty, or holds the marker; anything
else is refused with one line naming the path and the ``--overwrite`` flag (``overwrite=True``
in Python). With ``overwrite`` the package writes its own files there (replacing files of the
same names) and marks the folder, but it never deletes anything it did not make: only a
folder with the marker is ever removed (:func:`remove_own_dir`).

A dataset file (:func:`check_dataset_output`) may be written when it does not exist or is a
dataset that holds only chunks of the inputs being asked about (a rerun resumes it); one that
holds other chunks, in the file or in its journal, is refused unless ``append`` (keep them
beside the new ones) or ``overwrite`` (replace them) says otherwise. Both question generators
go through it. While a command writes an output it holds a lock on it
(:mod:`llama_index.finetuning.output_lock`).

This module imports nothing else of the package but :mod:`.phrasing` (a leaf), so every
room can use it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from .phrasing import PhrasedError, Setting

MARKER = ".llamaindex-finetune.json"
# advice as data: said overwrite=True in Python, --overwrite on the command line
OVERWRITE = Setting("overwrite", True)


class OutputExistsError(PhrasedError, FileExistsError):
    """An output path holds something this package did not write, or other data than this
    run's; nothing was changed.

    Example::

        from llama_index.finetuning import OutputExistsError, SentenceTransformersFinetuneEngine

        try:
            SentenceTransformersFinetuneEngine(train, model_output_path="my_notes").finetune()
        except OutputExistsError as error:   # "my_notes" holds files this package did not write
            print(error)                     # names the path and the overwrite=True that allows it
    """


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("llama-index-finetuning-embeddings")
    except Exception:  # noqa: BLE001  (not installed: a source checkout on sys.path)
        return "unknown"


def file_mode() -> int:
    """The mode ``open()`` gives a new file: ``0o666`` less the process umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str | os.PathLike, write: Callable[[str], object]) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file over ``path``.

    Readers see the old file or the new one, never half of one; the file gets the mode a
    plain ``open()`` would give it (temporary files are created ``0600``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, with the user's umask."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


# ---- folders ------------------------------------------------------------------------------


def marker_kind(path: str | os.PathLike) -> str | None:
    """The kind recorded in ``path``'s marker (``"model"``, ``"adapter"``, ...), or None."""
    try:
        data = json.loads((Path(path) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("kind") if isinstance(data, dict) else None


def is_own_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder that this package wrote (it holds the marker)."""
    return marker_kind(path) is not None


def _holds_files(path: Path) -> bool:
    """Whether the folder holds anything but a marker being written (another process of a
    distributed run may be claiming it at this moment)."""
    partial = f".{MARKER}."
    return any(not (p.name.startswith(partial) and p.name.endswith(".tmp")) for p in path.iterdir())


def check_output_dir(
    path: str | os.PathLike, overwrite: bool = False, kind: str | None = None
) -> Path:
    """Refuse ``path`` as an output folder unless it is absent, empty, or ours (and, given
    ``kind``, ours of that kind: a model is not written into an adapter's folder).

    Raises:
        OutputExistsError: ``path`` is a file, a non-empty folder without the marker, or
            one marked as another kind (and ``overwrite`` is False). A file is refused even
            with ``overwrite``: it is never replaced by a folder.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputExistsError(f"{path}: is a file, not a folder; choose another output folder")
    if path.is_dir() and not overwrite and not is_own_dir(path) and _holds_files(path):
        raise OutputExistsError(
            f"{path}: the folder holds files this package did not write; choose another "
            "output folder, or pass ",
            OVERWRITE,
            " to write into it (nothing else there is deleted)",
        )
    held = marker_kind(path) if kind is not None and not overwrite else None
    if held is not None and held != kind:
        raise OutputExistsError(
            f"{path}: the folder holds this package's {held}, not a {kind}; choose another "
            "output folder, or pass ",
            OVERWRITE,
            f" to write the {kind} into it",
        )
    return path


def claim_dir(path: str | os.PathLike, kind: str, overwrite: bool = False) -> Path:
    """Check ``path`` (see :func:`check_output_dir`), create it and mark it as ours."""
    path = check_output_dir(path, overwrite)
    path.mkdir(parents=True, exist_ok=True)
    if marker_kind(path) != kind:
        atomic_write_text(path / MARKER, json.dumps({"kind": kind, "version": _version()}) + "\n")
    return path


def check_scratch_dir(path: str | os.PathLike, kind: str = "checkpoints") -> Path:
    """Refuse a non-empty folder this package did not make as a working folder, even under
    ``overwrite``: it would be deleted with the working files at the end."""
    path = Path(path)
    if path.exists() and (not path.is_dir() or (not is_own_dir(path) and _holds_files(path))):
        raise OutputExistsError(
            f"{path}: holds files this package did not write, and it keeps its {kind} there "
            "(deleting them at the end); move them, or choose another output folder"
        )
    return path


def claim_scratch_dir(path: str | os.PathLike, kind: str = "checkpoints") -> Path:
    """Create and mark a working folder that :func:`remove_own_dir` deletes later."""
    return claim_dir(check_scratch_dir(path, kind), kind, overwrite=True)


def remove_own_dir(path: str | os.PathLike) -> bool:
    """Delete ``path`` only if this package made it (marker present); True if deleted."""
    path = Path(path)
    if path.is_dir() and is_own_dir(path):
        shutil.rmtree(path, ignore_errors=True)
        return True
    return False


# ---- dataset files ---------------------------------------------------------------------------


DATASET_KEYS = frozenset({"queries", "corpus", "relevant_docs"})


def dataset_keys(path: str | os.PathLike) -> frozenset[str]:
    """The keys of the dataset layout that the JSON object in ``path`` holds (none when it
    is not a readable JSON object)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    return DATASET_KEYS & data.keys() if isinstance(data, dict) else frozenset()


def is_dataset_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a JSON file in the dataset layout (ours, or 0.4's)."""
    return dataset_keys(path) == DATASET_KEYS


def check_output_file(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Refuse ``path`` as a dataset output unless it is absent or a dataset file.

    Raises:
        OutputExistsError: ``path`` is a folder, or a file that is not a dataset (and
            ``overwrite`` is False).
    """
    path = Path(path)
    if path.is_dir():
        raise OutputExistsError(f"{path}: is a folder; name a .json file as the output")
    if path.exists() and not overwrite and not is_dataset_file(path):
        raise OutputExistsError(
            f"{path}: the file exists and is not a dataset this package wrote; choose another "
            "output, or pass ",
            OVERWRITE,
            " to replace it",
        )
    return path


#: The journal of a dataset output (``<output>.journal.jsonl``): a JSON line a finished chunk
#: (:class:`..generation.journal.Journal` writes it).
JOURNAL_SUFFIX = ".journal.jsonl"


def journal_records(path: str | os.PathLike) -> list[dict]:
    """The records of a journal file, in order: a line torn by a crash ends them (it has no
    newline); a line that is not a JSON object is left out. No file: none."""
    records: list[dict] = []
    try:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if not line.endswith("\n"):
                    break
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    records.append(record)
    except OSError:
        pass
    return records


def held_chunks(path: str | os.PathLike) -> dict[str, str]:
    """Node id -> text of every chunk that the dataset file ``path`` and its journal hold
    (a chunk with questions; the journal's finished chunks that are not in the file yet)."""
    held: dict[str, str] = {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        corpus = data.get("corpus") if isinstance(data, dict) else None
        held.update(corpus if isinstance(corpus, dict) else {})
    except (OSError, ValueError):
        pass
    for record in journal_records(str(path) + JOURNAL_SUFFIX):
        if record.get("questions") and isinstance(record.get("text"), str) and "node_id" in record:
            held.setdefault(str(record["node_id"]), record["text"])
    return held


def _is_part_of(held: str, text: str) -> bool:
    """``held``'s words are ``text``'s words in order, some left out (the pseudo-query
    generator's corpus text is its chunk with the picked sentences cut out)."""
    remaining = iter(text.split())
    return all(word in remaining for word in held.split())


def other_chunks(path: str | os.PathLike, chunks: Mapping[str, str]) -> list[str]:
    """The ids of the chunks ``path`` holds (see :func:`held_chunks`) that are not among
    ``chunks`` (node id -> text): not the same text, nor the same id with its text cut."""
    texts = set(chunks.values())
    return [
        node_id
        for node_id, text in held_chunks(path).items()
        if text not in texts and not (node_id in chunks and _is_part_of(text, chunks[node_id]))
    ]


def check_dataset_output(
    path: str | os.PathLike,
    chunks: Mapping[str, str] | None = None,
    append: bool = False,
    overwrite: bool = False,
) -> Path:
    """Refuse ``path`` as a dataset output unless it is absent, or a dataset that holds
    only ``chunks`` (node id -> text: the chunks this run asks about; ``None``: not known
    yet, the file alone is checked).

    Raises:
        OutputExistsError: ``path`` is a folder, a file that is not a dataset (unless
            ``overwrite``), or a dataset holding chunks that are not among ``chunks``
            (unless ``append`` or ``overwrite``).
    """
    path = check_output_file(path, overwrite)
    if chunks is None or append or overwrite:
        return path
    others = other_chunks(path, chunks)
    if others:
        raise holds_other_chunks(path, others)
    return path


def holds_other_chunks(
    path: str | os.PathLike | None, others: list[str], can_overwrite: bool = True
) -> OutputExistsError:
    """The one refusal of a dataset output holding chunks (ids ``others``) that this run does
    not ask about, for :func:`check_dataset_output` and a generation's resume alike."""
    replace = (OVERWRITE, " to replace it, ") if can_overwrite else ()
    return OutputExistsError(
        f"{path}: already holds {len(others)} chunks that are not among these inputs "
        f"(e.g. {others[0]!r}: other files, or another chunk size); pass ",
        Setting("append", True),
        " to add to it, ",
        *replace,
        "or write to a new output",
    )


def not_a_dataset(path: str | os.PathLike, why: str) -> OutputExistsError:
    """The refusal of an output path that exists and is not a dataset of pairs."""
    return OutputExistsError(
        f"{path} exists and is not a dataset of question-chunk pairs ({why}); choose another "
        "output path or remove that file"
    )


def discard_dataset(path: str | os.PathLike) -> None:
    """Delete a dataset file and its journal (``overwrite``: what they held is replaced)."""
    if is_dataset_file(path):
        Path(path).unlink()
    Path(str(path) + JOURNAL_SUFFIX).unlink(missing_ok=True)
