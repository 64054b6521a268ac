"""From the model's raw words to the checked :class:`Answer`.

Every sentence is tied to the span that supports it (``citations``), the answer is declined when
the evidence does not carry it (``refusal``), and a plainly answering passage sentence may stand
in for an answer that cannot (``fallback``). No model is called here, so the evaluation can replay
this step on stored generations (``python -m eval recheck``).
"""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from core.settings import Settings
from rag.citations import CitationChecker
from rag.condense import topic_question
from rag.fallback import best_sentence
from rag.prompts import load_prompt
from rag.refusal import refusal_reason
from rag.types import Answer, Citation, Passage, Turn


class AnswerVerifier:
    def __init__(self, settings: Settings, embedder: Embeddings) -> None:
        self.settings = settings
        self.checker = CitationChecker(embedder, settings.support_threshold)

    def verify(
        self,
        question: str,
        history: list[Turn],
        standalone: str,
        passages: list[Passage],
        raw: str,
        model: str = "",
    ) -> Answer:
        """The checked answer to ``question`` from the model's ``raw`` answer over ``passages``."""
        settings = self.settings
        said = " ".join([question] + [f"{t.user} {t.assistant or ''}" for t in history])
        checked = self.checker.check(raw, passages, settings.max_answer_sentences, known=said)
        text, citations = checked.text, checked.citations
        cited = {c.chunk_id for c in citations}
        # "How old is he?" alone has one content word; the topic includes who "he" is.
        topic = topic_question(question, history)
        reason = refusal_reason(
            raw,
            text,
            question,
            [p.text for p in passages if p.chunk_id in cited],
            len(passages),
            settings.min_question_coverage,
            topic=topic,
        )
        if reason and settings.extractive_fallback and passages:
            quote = best_sentence(standalone, passages, settings.fallback_min_coverage, asked=topic)
            if quote is not None:
                text, citations, reason = _quoted(quote), [quote], None
        base = {
            "question": question,
            "standalone_question": standalone,
            "passages": passages,
            "raw_answer": raw,
            "model": model,
        }
        if reason:
            return Answer(answer=load_prompt("refusal"), refused=True, refusal_reason=reason, **base)
        return Answer(answer=text, citations=citations, **base)


def _quoted(citation: Citation) -> str:
    quote = citation.quote.strip()
    source = citation.publication if citation.publication not in ("", "unknown") else "The article"
    return f"{source} reports: “{quote}” [{citation.n}]"
