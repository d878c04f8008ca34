"""Refuse another distribution's code under this package's import names, from the first import.

Example (what ``llama_index_finetuning_embeddings.pth`` runs when Python starts)::

    import _llama_index_finetuning_embeddings_guard as guard; guard.install()

``llama-index-finetuning-embeddings`` installs this module and that ``.pth`` file beside
``llama_index/``. When ``llama-index-embeddings-adapter`` (or ``llama-index-finetuning``
0.4) is installed after it, pip overwrites ``llama_index/embeddings/adapter/__init__.py``
(or ``llama_index/finetuning/__init__.py``): importing the package then runs the other
distribution's code, and none of this package's, so its own check
(``llama_index.embeddings.adapter.ownership``) cannot run. This finder runs before the
import: if the ``__init__.py`` about to be served lacks this package's marker line, the
import raises that check's ImportError (naming the other distribution and the pip commands
that fix it) instead. Any other import costs one string comparison.
"""

from __future__ import annotations

import sys  # nothing else at start-up: this module is imported by every Python process

GUARDED = frozenset({"llama_index.embeddings.adapter", "llama_index.finetuning"})
MARKER = '_OWNER = "llama-index-finetuning-embeddings"'
FIX = "pip install --force-reinstall --no-deps llama-index-finetuning-embeddings"


class OwnershipGuard:
    """A meta path finder that only ever refuses: it finds nothing itself."""

    _busy = False  # the check below looks packages up too

    @classmethod
    def find_spec(cls, fullname: str, path: object = None, target: object = None) -> None:
        if fullname not in GUARDED or cls._busy or path is None:
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(fullname, path)
        if spec is None:
            return None
        origin = spec.origin if spec.has_location else None
        try:
            with open(origin or "", encoding="utf-8") as file:
                ours = MARKER in file.read()
        except OSError:
            ours = False
        if ours:
            return None
        cls._busy = True
        try:
            message = _message(fullname, list(spec.submodule_search_locations or []))
        finally:
            cls._busy = False
        raise ImportError(message, name=fullname)


def _message(fullname: str, folders: list[str]) -> str:
    """The ImportError of ``llama_index.embeddings.adapter.ownership``, read from its file
    (which the other distribution does not write); a plain one if it cannot be read."""
    import importlib.util
    from pathlib import Path

    for folder in folders:
        base = Path(folder)
        if fullname == "llama_index.finetuning":
            base = base.parent / "embeddings" / "adapter"
        path = base / "ownership.py"
        if not path.is_file():
            continue
        try:
            spec = importlib.util.spec_from_file_location("_llama_index_ownership", path)
            module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            spec.loader.exec_module(module)  # type: ignore[union-attr]
            found = module.clash_message(
                fullname, module.claimants(every=True), module.foreign_files()
            )
        except Exception:  # noqa: BLE001  (the plain message below still says what to do)
            continue
        if found:
            return found
    return (
        f"cannot import {fullname}: its __init__.py is not llama-index-finetuning-embeddings' "
        f"(another distribution replaced or deleted it). Fix: {FIX}"
    )


def install() -> None:
    """Put the guard first on ``sys.meta_path`` (once)."""
    if OwnershipGuard not in sys.meta_path:
        sys.meta_path.insert(0, OwnershipGuard)  # type: ignore[arg-type]
