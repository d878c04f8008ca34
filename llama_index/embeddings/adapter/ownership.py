"""Refuse to run beside another distribution that installs the same files (stdlib only).

Example::

    from llama_index.embeddings.adapter.ownership import check_installation

    check_installation()   # None, or ImportError naming the other distribution and the fix

``llama-index-embeddings-adapter`` (which ``llama-index-finetuning`` 0.4 depends on) writes
``llama_index/embeddings/adapter/__init__.py``, ``base.py`` and ``utils.py``, the files this
package writes; ``llama-index-finetuning`` 0.4 writes ``llama_index/finetuning/``. pip does
not refuse: the distribution installed last serves its code, and uninstalling either one
deletes the other's files. So both ``llama_index.embeddings.adapter`` and
``llama_index.finetuning`` check, when imported, that no other installed distribution lists
a file of theirs in its RECORD, and that the shared files on disk are this package's (each
holds :data:`MARKER`). A clash raises one ImportError with the pip commands, in the order
that leaves a working install. When the other distribution was installed last, its
``__init__.py`` runs none of this code: the start-up guard this package installs beside
``llama_index/`` (``_llama_index_finetuning_embeddings_guard``, run by a ``.pth`` file)
refuses that import with the same message.

Importing this module must stay cheap: ``import llama_index.finetuning`` runs the check and
must not import torch. The check reads the RECORD files of the installed ``llama-index-*``
distributions (all of them only once a shared file is found to be another's) and the four
shared files.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.metadata import Distribution

DISTRIBUTION = "llama-index-finetuning-embeddings"
# every shared file holds this line; a served file without it is another distribution's
MARKER = '_OWNER = "llama-index-finetuning-embeddings"'
# the folders this package installs, as paths appear in a wheel's RECORD
PACKAGE_DIRS = ("llama_index/embeddings/adapter/", "llama_index/finetuning/")
# (module, file) pairs that other distributions are known to write too
SHARED_FILES = (
    ("llama_index.embeddings.adapter", "__init__.py"),
    ("llama_index.embeddings.adapter", "base.py"),
    ("llama_index.embeddings.adapter", "utils.py"),
    ("llama_index.finetuning", "__init__.py"),
)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _dist_infos(every: bool) -> Iterator[tuple[str, str, Path]]:
    """``(name, version, RECORD path)`` of the installed wheels on ``sys.path``: those named
    ``llama-index-*`` (a dozen files to read), or with ``every`` all of them."""
    seen: set[str] = set()
    for entry in sys.path:
        try:
            children = list(os.scandir(entry or "."))
        except OSError:
            continue
        for child in children:
            stem, dot, suffix = child.name.rpartition(".")
            if suffix != "dist-info" or not dot:
                continue
            name, _, version = stem.partition("-")
            key = _normalise(name)
            if key in seen or not (every or key.startswith("llama-index")):
                continue
            seen.add(key)
            yield name, version, Path(child.path) / "RECORD"


def claimants(every: bool = False) -> dict[str, tuple[str, list[str]]]:
    """``{distribution: (version, [files in this package's folders it lists])}`` for the
    installed distributions other than this one whose RECORD lists a file in
    :data:`PACKAGE_DIRS`. Only ``llama-index-*`` distributions are read unless ``every``."""
    found: dict[str, tuple[str, list[str]]] = {}
    for name, version, record_path in _dist_infos(every):
        if _normalise(name) == DISTRIBUTION:
            continue
        try:
            record = record_path.read_text(encoding="utf-8")
        except OSError:
            continue
        if not any(d in record for d in PACKAGE_DIRS):
            continue
        files = [
            line.split(",", 1)[0]
            for line in record.splitlines()
            if line.startswith(PACKAGE_DIRS) and "/__pycache__/" not in line
        ]
        if files:
            found[_normalise(name)] = (version, files)
    return found


def served_file(module: str, filename: str) -> Path | None:
    """Where ``filename`` of the package ``module`` is served from (``None``: no such package).

    Found as the import system's path finder would, without importing ``module`` (only its
    parent namespace packages) and past the start-up guard (which refuses to find it)."""
    from importlib.machinery import PathFinder

    parent = module.rpartition(".")[0]
    try:
        search = importlib.import_module(parent).__path__
    except (ImportError, AttributeError):
        return None
    spec = PathFinder.find_spec(module, search)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / filename


def foreign_files() -> dict[str, bool]:
    """``{llama_index/... path: exists}`` for the shared files that are missing or served
    without :data:`MARKER` (another distribution's code)."""
    bad = {}
    for module, filename in SHARED_FILES:
        path = served_file(module, filename)
        if path is None:
            continue
        try:
            ours = MARKER in path.read_text(encoding="utf-8")
        except OSError:
            ours = False
        if not ours:
            bad[module.replace(".", "/") + "/" + filename] = path.exists()
    return bad


def _own_distribution() -> Distribution | None:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        return distribution(DISTRIBUTION)
    except PackageNotFoundError:
        return None


def reinstall_target(dist: Distribution | None) -> str:
    """What ``pip install`` reinstalls this package from: the folder of an editable install,
    the wheel it was installed from if it is still there, else the installed version."""
    if dist is None:
        return DISTRIBUTION
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "null")
    except json.JSONDecodeError:
        direct = None
    url = direct.get("url", "") if isinstance(direct, dict) else ""
    if url.startswith("file://"):
        from urllib.parse import unquote, urlparse
        from urllib.request import url2pathname

        local = Path(url2pathname(unquote(urlparse(url).path)))
        if direct.get("dir_info", {}).get("editable") and local.is_dir():
            return f"-e {shlex.quote(str(local))}"
        if local.exists():
            return shlex.quote(str(local))
    return f"{DISTRIBUTION}=={dist.version}"


def fix_commands(others: list[str], dist: Distribution | None) -> list[str]:
    """The pip commands, in order, that leave this package's code installed alone.

    Uninstalling the others deletes the shared files, this package's copies included (they
    are one file on disk), so this package is reinstalled after."""
    pip = f"{shlex.quote(sys.executable)} -m pip"
    commands = [f"{pip} uninstall -y {' '.join(others)}"] if others else []
    commands.append(f"{pip} install --force-reinstall --no-deps {reinstall_target(dist)}")
    return commands


def clash_message(
    module: str, others: dict[str, tuple[str, list[str]]], foreign: dict[str, bool]
) -> str | None:
    """The ImportError's text for what :func:`claimants` and :func:`foreign_files` found
    (``None`` when they found nothing)."""
    if not others and not foreign:
        return None
    dist = _own_distribution()
    ours = f"{DISTRIBUTION} {dist.version}" if dist else DISTRIBUTION
    lines = [f"cannot import {module}: the installation of {ours} is broken."]
    for name, (version, files) in sorted(others.items()):
        shown = ", ".join(files[:4]) + (f" and {len(files) - 4} more" if len(files) > 4 else "")
        lines.append(f"{name} {version} is installed too and claims the same files ({shown}).")
    replaced = [path for path, exists in foreign.items() if exists]
    missing = [path for path, exists in foreign.items() if not exists]
    if replaced:
        whose = " or ".join(sorted(others)) if others else "another distribution"
        lines.append(
            f"The files on disk are {whose}'s, not {DISTRIBUTION}'s: {', '.join(replaced)}."
        )
    if missing:
        lines.append(
            f"Missing: {', '.join(missing)} (uninstalling a distribution that claimed them "
            "deleted them)."
        )
    if others:
        lines.append(
            f"{DISTRIBUTION} replaces llama-index-embeddings-adapter and llama-index-finetuning "
            "0.4 (same imports), and two distributions cannot own one file: uninstalling "
            "either deletes the other's copy. Fix, in this order:"
        )
    else:
        lines.append("Fix:")
    lines += [f"    {command}" for command in fix_commands(sorted(others), dist)]
    return "\n".join(lines)


def check_installation(module: str = "llama_index.embeddings.adapter") -> None:
    """Raise ImportError when another distribution claims this package's files, or the
    shared files served are not this package's (see the module docstring)."""
    foreign = foreign_files()
    # another distribution's code served: read every RECORD to name it
    message = clash_message(module, claimants(every=bool(foreign)), foreign)
    if message is not None:
        raise ImportError(message, name=module)
