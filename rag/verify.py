"""From the model's raw words to the checked :class:`Answer`.

Two kinds of model answer arrive here:
- **structured** (the default): a phrase quoted from one passage sentence, a one-sentence reply
  and the model's own probabilities (:class:`~rag.types.Reading`). Every sentence of the
  retrieved passages is a candidate answer; the **calibrated** judgement (``rag.judge``) picks
  the one most likely to hold the answer and answers only if P(right) reaches its threshold; the
  **rules** judgement keeps the sentence the model quoted and runs the hand-written checks.
- **free**: one to three sentences with [n] markers, each tied to the span that supports it
  (``citations``), then the hand-written checks and the extractive fallback.

The answer shown cites exactly one sentence of an article: the model's reply when it says the
quoted phrase and is supported there, otherwise that sentence itself, quoted. No model is called
here, so the evaluation can replay this step on stored generations (``python -m eval recheck``).
"""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from core.settings import Settings
from index.store import ArticleIndex
from rag.checks import CheckContext, RefusalReason, first_failure, rule_checks
from rag.checks.features import Candidate, FeatureExtractor, candidates
from rag.citations import CitationChecker, Span
from rag.condense import topic_question
from rag.fallback import best_sentence
from rag.judge import Judge, load_calibration
from rag.prompts import load_prompt
from rag.text_match import content_terms, strip_markers
from rag.types import Answer, Citation, Passage, Reading, Turn


class AnswerVerifier:
    def __init__(self, settings: Settings, embedder: Embeddings, index: ArticleIndex | None = None) -> None:
        self.settings = settings
        self.checker = CitationChecker(
            embedder,
            settings.support_threshold,
            settings.support_lexical_weight,
            settings.claim_tolerance,
            settings.unsourced_penalty,
        )
        self.checks = rule_checks(settings)
        self.features = FeatureExtractor(embedder, index.idf if index is not None else None)
        self._judge: Judge | None = None

    @property
    def judge(self) -> Judge:
        """The calibrated decision, loaded on first use (raises CalibrationError if missing)."""
        if self._judge is None:
            self._judge = Judge(load_calibration(self.settings), self.settings.answer_threshold)
        return self._judge

    def verify(
        self,
        question: str,
        history: list[Turn],
        standalone: str,
        passages: list[Passage],
        raw: str,
        model: str = "",
        reading: Reading | None = None,
    ) -> Answer:
        """The checked answer to ``question`` from the model's ``raw`` answer over ``passages``."""
        base = {
            "question": question,
            "standalone_question": standalone,
            "passages": passages,
            "raw_answer": raw,
            "model": model,
            "reading": reading,
        }
        if reading is None:
            text, citations, reason, p_correct = self._free(question, history, standalone, passages, raw)
        else:
            text, citations, reason, p_correct = self._structured(question, history, passages, raw, reading)
        if reason:
            return Answer(
                answer=load_prompt("refusal"),
                refused=True,
                refusal_reason=reason,
                p_correct=p_correct,
                **base,
            )
        return Answer(answer=text, citations=citations, p_correct=p_correct, **base)

    # --- free answers -------------------------------------------------------------------------
    def _free(
        self, question: str, history: list[Turn], standalone: str, passages: list[Passage], raw: str
    ) -> tuple[str, list[Citation], RefusalReason | None, float | None]:
        settings = self.settings
        checked = self.checker.check(
            raw, passages, settings.max_answer_sentences, known=_said(question, history)
        )
        text, citations = checked.text, checked.citations
        cited = {c.chunk_id for c in citations}
        # "How old is he?" alone has one content word; the topic includes who "he" is.
        topic = topic_question(question, history)
        ctx = CheckContext(
            question=question,
            topic=topic,
            raw_answer=raw,
            answer_text=text,
            cited_texts=[p.text for p in passages if p.chunk_id in cited],
            n_passages=len(passages),
            history=history,
        )
        reason = first_failure(ctx, self.checks)
        if reason and settings.extractive_fallback and passages:
            quote = best_sentence(standalone, passages, settings.fallback_min_coverage, asked=topic)
            if quote is not None:
                return _quoted(quote), [quote], None, None
        return text, citations, reason, None

    # --- structured answers -------------------------------------------------------------------
    def _structured(
        self, question: str, history: list[Turn], passages: list[Passage], raw: str, reading: Reading
    ) -> tuple[str, list[Citation], RefusalReason | None, float | None]:
        topic = topic_question(question, history)
        cands = candidates(passages, reading)
        rows = self.features.candidate_features(question, topic, cands, reading)
        quoted_from = next((i for i, row in enumerate(rows) if row["phrase_here"] and row["shown"]), None)
        if quoted_from is None:
            quoted_from = next((i for i, row in enumerate(rows) if row["phrase_here"]), None)
        p_correct: float | None = None
        if self.settings.judgement == "calibrated":
            chosen, p_correct = self.judge.decide(rows)
            p_correct = round(p_correct, 4)
            if not passages:
                reason: RefusalReason | None = "no_passages"
            elif not raw.strip():
                reason = "empty"
            elif chosen is None or p_correct < self.judge.threshold:
                reason = "not_calibrated_enough"
            else:
                reason = None
        else:
            chosen = quoted_from
            held = cands[chosen] if chosen is not None else None
            ctx = CheckContext(
                question=question,
                topic=topic,
                raw_answer=raw,
                answer_text=reading.phrase if held is not None else "",
                cited_texts=[held.passage.text] if held is not None else [],
                n_passages=len(passages),
                history=history,
                reading=reading,
            )
            reason = first_failure(ctx, self.checks)
        if reason or chosen is None:
            return "", [], reason or "unsupported", p_correct
        text, citation = self._present(
            _with_quoted_neighbour(cands, chosen, quoted_from),
            chosen == quoted_from,
            reading,
            passages,
            question,
            history,
        )
        return text, [citation], None, p_correct

    def _present(
        self,
        cand: Candidate,
        is_quoted: bool,
        reading: Reading,
        passages: list[Passage],
        question: str,
        history: list[Turn],
    ) -> tuple[str, Citation]:
        """The model's reply with its marker when it says the quoted phrase and the reply is
        supported in this sentence's passage; else the sentence itself, quoted."""
        citation = Span(cand.passage, cand.start, cand.end).citation(1.0)
        reply = strip_markers(reading.reply)[0].strip()
        if is_quoted and reply and content_terms(reading.phrase) <= content_terms(reply):
            checked = self.checker.check(reply, passages, 1, known=_said(question, history))
            supported = checked.supported
            if len(supported) == 1 and supported[0].span and supported[0].span.passage.n == cand.passage.n:
                body = supported[0].text.rstrip()
                end = body[-1] if body[-1] in ".!?" else "."
                body = body[:-1] if body[-1] in ".!?" else body
                return f"{body} [{cand.passage.n}]{end}", citation.model_copy(
                    update={"score": supported[0].support}
                )
        return _quoted(citation), citation


def _with_quoted_neighbour(cands: list[Candidate], chosen: int, quoted_from: int | None) -> Candidate:
    """The chosen sentence, joined with the next or previous one when the model quoted its phrase
    from there: the answer often sits beside the sentence that matches the question ("... was
    painted teal. The painting was done by keeper Ingrid Solberg"; a caption and its credit line)."""
    cand = cands[chosen]
    if quoted_from is None or abs(quoted_from - chosen) != 1:
        return cand
    other = cands[quoted_from]
    if other.passage.chunk_id != cand.passage.chunk_id:
        return cand
    return Candidate(cand.passage, min(cand.start, other.start), max(cand.end, other.end), cand.shown)


def _said(question: str, history: list[Turn]) -> str:
    """Everything the user (and the conversation) said: names in it are not inventions."""
    return " ".join([question] + [f"{t.user} {t.assistant or ''}" for t in history])


def _quoted(citation: Citation) -> str:
    quote = citation.quote.strip()
    source = citation.publication if citation.publication not in ("", "unknown") else "The article"
    return f"{source} reports: “{quote}” [{citation.n}]"
