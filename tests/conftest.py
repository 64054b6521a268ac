"""Shared fixtures: settings on a throw-away data folder, with one model cache per test session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT, Settings

ARTICLES_DIR = PROJECT_ROOT / "data" / "articles"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Assembled model files are shared by every test in the session (they are large)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def make_settings(tmp_path: Path, model_cache: Path) -> Callable[..., Settings]:
    """Settings on a fresh data folder; keyword arguments override fields."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {"data_dir": tmp_path / "data", "cache_dir": model_cache}
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture(scope="session")
def built_data_dir(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Path:
    """A data folder with the shipped articles indexed by ``python -m index build``, once per
    session. Read-only: a test that may change it works on :func:`copy_data_dir` instead."""
    data_dir = tmp_path_factory.mktemp("built") / "data"
    env = os.environ | {"RAG_DATA_DIR": str(data_dir), "RAG_CACHE_DIR": str(model_cache)}
    built = subprocess.run(
        [sys.executable, "-m", "index", "build"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr[-3000:]
    return data_dir


@pytest.fixture
def copy_data_dir(built_data_dir: Path, tmp_path: Path) -> Callable[[], Path]:
    """A fresh copy of :func:`built_data_dir` per call (built by another process, so no file of it
    is held open here while it is copied)."""
    copies = iter(range(1_000_000))

    def copy() -> Path:
        target = tmp_path / f"data-{next(copies)}"
        shutil.copytree(built_data_dir, target)
        return target

    return copy
