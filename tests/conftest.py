"""Shared fixtures: settings on a throw-away data folder, with one model cache per test session."""

from __future__ import annotations

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
