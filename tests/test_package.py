"""The project installs as a package: `pip install -e .` into a fresh virtual environment gives
the newsqa-* commands, which work from any folder, and the declared dependencies are exactly the
pinned requirements. No download: the test environment's packages (the build backend included)
are lent to the new environment through a .pth file."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT

COMMANDS = {
    "newsqa-index": "index.__main__:main",
    "newsqa-ask": "rag.__main__:main",
    "newsqa-chat": "ui.__main__:main",
    "newsqa-eval": "eval.__main__:main",
}


def requirement_lines(name: str) -> list[str]:
    lines = (PROJECT_ROOT / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    (next(root.glob("lib/python3*/site-packages")) / "lend.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    python = root / "bin" / "python"
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-e", str(PROJECT_ROOT)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return root


def test_the_commands_are_installed_and_declared_with_the_pinned_dependencies(venv: Path) -> None:
    probe = (
        "import importlib.metadata as m, json\n"
        "ours = [e for e in m.entry_points(group='console_scripts') if e.name.startswith('newsqa')]\n"
        "eps = {e.name: e.value for e in ours}\n"
        "for e in ours: e.load()\n"
        "print(json.dumps({'eps': eps, 'requires': m.requires('newsqa')}))\n"
    )
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe], cwd=venv, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["eps"] == COMMANDS
    assert all((venv / "bin" / name).is_file() for name in COMMANDS)
    runtime = [r for r in found["requires"] if "extra ==" not in r]
    assert runtime == requirement_lines("requirements.txt")
    dev = sorted(r.split(";")[0].strip() for r in found["requires"] if 'extra == "dev"' in r)
    assert dev == sorted(requirement_lines("requirements-dev.txt"))


def test_the_commands_run_from_any_folder(venv: Path, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "RAG_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path)}
    listed = subprocess.run(
        [str(venv / "bin" / "newsqa-index"), "stats", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert json.loads(listed.stdout)["documents"] == 0  # a fresh, empty index in RAG_DATA_DIR
    asked = subprocess.run(
        [str(venv / "bin" / "newsqa-ask"), "ask", "How many people emerged from Baghuz?"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # The empty index is reported in one line, the way `python -m rag` reports it.
    assert asked.returncode != 0 and "index build" in asked.stderr and "Traceback" not in asked.stderr
