"""The baseline: the plain RAG of the LangChain tutorial, in the same harness as the product.

Dense retrieval only (k=4) over 1000-character chunks with 200 overlap
(``RecursiveCharacterTextSplitter``), the classic "stuff" prompt (``prompts/naive.txt``), the same
LLM and embedder as the product, no citation check and no refusal logic. It ignores the chat
history, as the tutorial's chain does. Its answers are :class:`rag.types.Answer` objects, so the
same scorer applies: ``passages`` are the retrieved chunks, ``citations`` is always empty, and
``refused`` is only set for an empty answer.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import chromadb
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_text_splitters import RecursiveCharacterTextSplitter

from core.errors import InputError
from core.settings import Settings
from index.articles import article_files, load_document
from index.documents import IngestError
from index.embedding import make_embedder
from rag.engine import AnswerEvent, QuestionError, TokenEvent
from rag.llm import LLMError, make_llm, model_label
from rag.prompts import load_prompt
from rag.types import Answer, Passage, Timings, Turn

CHUNK_CHARS = 1000
OVERLAP_CHARS = 200
TOP_K = 4
COLLECTION = f"naive-{CHUNK_CHARS}"


class NaiveCorpusError(InputError):
    """No article could be loaded for the baseline's index."""


@dataclass(frozen=True)
class _Chunk:
    chunk_id: str
    doc_id: str
    title: str
    publication: str
    text: str
    start: int


def split_articles(folder: Path, max_file_bytes: int) -> list[_Chunk]:
    """The cleaned articles of ``folder`` (the text the product indexes, so evidence can match),
    split as the tutorial does."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_CHARS, chunk_overlap=OVERLAP_CHARS, add_start_index=True
    )
    chunks: list[_Chunk] = []
    for path in article_files(folder) if folder.is_dir() else []:
        try:
            doc = load_document(path, max_file_bytes)
        except (IngestError, OSError):
            continue  # the product's ingest reports bad files; the baseline just skips them
        for piece in splitter.create_documents([doc.text]):
            start = int(piece.metadata["start_index"])
            chunks.append(
                _Chunk(
                    f"naive:{doc.doc_id}:{start}",
                    doc.doc_id,
                    doc.title,
                    doc.publication,
                    piece.page_content,
                    start,
                )
            )
    if not chunks:
        raise NaiveCorpusError(f"no articles to index in {folder}")
    return chunks


class NaivePipeline:
    """``ask(question, history) -> Answer``, like :class:`rag.engine.AnswerEngine`."""

    name = "naive"

    def __init__(
        self, settings: Settings, llm: BaseChatModel | None = None, embedder: Embeddings | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings)
        self.llm = llm or make_llm(settings)
        self.model = model_label(settings) if llm is None else type(llm).__name__
        self.chain = self.llm | StrOutputParser()
        self.template = load_prompt("naive")
        self.chunks = {c.chunk_id: c for c in split_articles(settings.articles_dir, settings.max_file_bytes)}
        # In memory and thrown away with the process: the product's collection is never touched,
        # and vectors are always ours (no embedding function, so Chroma's downloading default
        # cannot run). A unique name, since in-memory clients of one process share their state.
        client = chromadb.EphemeralClient(settings=chromadb.Settings(anonymized_telemetry=False))
        self.collection = client.create_collection(
            f"{COLLECTION}-{uuid.uuid4().hex[:8]}",
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
        )
        ids = list(self.chunks)
        vectors = self.embedder.embed_documents([self.chunks[i].text for i in ids])
        self.collection.add(ids=ids, embeddings=vectors)

    def retrieve(self, question: str) -> list[Passage]:
        result = self.collection.query(
            query_embeddings=[self.embedder.embed_query(question)],
            n_results=min(TOP_K, len(self.chunks)),
            include=["distances"],
        )
        passages = []
        for n, (chunk_id, distance) in enumerate(
            zip(result["ids"][0], result["distances"][0], strict=True), start=1
        ):
            chunk = self.chunks[chunk_id]
            similarity = 1.0 - float(distance)
            passages.append(
                Passage(
                    n=n,
                    chunk_id=chunk_id,
                    doc_id=chunk.doc_id,
                    title=chunk.title,
                    publication=chunk.publication,
                    text=chunk.text,
                    start=chunk.start,
                    end=chunk.start + len(chunk.text),
                    score=similarity,
                    dense_score=similarity,
                )
            )
        return passages

    def ask(self, question: str, history: list[Turn] | None = None) -> Answer:
        for event in self.stream(question, history):
            if isinstance(event, AnswerEvent):
                return event.answer
        raise RuntimeError("the answer stream ended without an answer")

    def stream(self, question: str, history: list[Turn] | None = None) -> Iterator[TokenEvent | AnswerEvent]:
        """Like :meth:`rag.engine.AnswerEngine.stream`: the tokens as they come, then the answer."""
        # The tutorial's chain has no memory: ``history`` is accepted for the interface only.
        question = " ".join((question or "").split())
        if not question:
            raise QuestionError("Please type a question.")
        started = time.perf_counter()
        passages = self.retrieve(question)
        retrieval_s = time.perf_counter() - started
        # The "stuff" chain: every document's text, joined by blank lines, into one prompt.
        prompt = self.template.format(context="\n\n".join(p.text for p in passages), question=question)
        ttft: float | None = None
        parts: list[str] = []
        try:
            for part in self.chain.stream([HumanMessage(prompt)]):
                if not part:
                    continue  # the closing chunk carries metadata, not text
                if ttft is None:
                    ttft = time.perf_counter() - started
                parts.append(part)
                yield TokenEvent(part)
        except LLMError:
            raise
        except Exception as exc:  # client libraries raise their own types
            raise LLMError(f"the language model failed: {exc}") from exc
        raw = "".join(parts)
        text = raw.strip()
        answer = Answer(
            question=question,
            standalone_question=question,
            answer=text,
            refused=not text,
            refusal_reason=None if text else "empty",
            passages=passages,
            raw_answer=raw,
            model=self.model,
            timings=Timings(
                retrieval_s=round(retrieval_s, 4),
                ttft_s=round(ttft, 4) if ttft is not None else None,
                total_s=round(time.perf_counter() - started, 4),
                tokens=len(parts),
            ),
        )
        yield AnswerEvent(answer)
