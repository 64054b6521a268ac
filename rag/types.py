"""What the answer engine hands out: passages, citations, answers, turns of a conversation."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Turn(BaseModel):
    """One earlier exchange of the conversation."""

    user: str
    assistant: str | None = None


class Passage(BaseModel):
    """A retrieved chunk as shown to the model, numbered [n] in the prompt."""

    n: int
    chunk_id: str
    doc_id: str
    title: str
    publication: str
    text: str
    start: int = Field(description="Offset of `text` in the cleaned document.")
    end: int
    kind: str = "body"
    score: float = Field(0.0, description="Fused (reciprocal-rank) score.")
    dense_score: float | None = Field(None, description="Cosine similarity to the question.")
    lexical_score: float | None = Field(None, description="BM25 score.")


class Citation(BaseModel):
    """A verified link from an answer sentence to the exact span that supports it."""

    n: int = Field(description="The [n] marker in the answer text.")
    doc_id: str
    title: str
    publication: str = ""
    chunk_id: str
    quote: str = Field(description="The supporting text, verbatim from the document.")
    start: int = Field(description="Offset of `quote` in the cleaned document.")
    end: int
    score: float = Field(description="Support score of the sentence by this span, 0..1.")


class ShownSentence(BaseModel):
    """A sentence of a passage as the model saw it; offsets into ``Passage.text``."""

    passage_n: int
    start: int
    end: int


class Reading(BaseModel):
    """The model's structured answer (``Answer:`` phrase and ``Reply:``) and its own confidence.

    The grammar only lets ``phrase`` be a run of words of one shown sentence, so it can be found
    verbatim; ``p_none`` is the probability the model gave to answering "none" at the first
    answer token (the grammar then made it answer anyway); ``phrase_logprob`` is the mean
    log-probability of the phrase's tokens; ``p_supported`` is the model's P(yes) to "do the
    passages say this answers the question?", asked on the same cached prompt.
    """

    text: str = Field(description="Everything the model wrote.")
    phrase: str = ""
    reply: str = ""
    p_none: float | None = None
    phrase_logprob: float | None = None
    p_supported: float | None = None
    first_alternatives: list[tuple[str, float]] = Field(
        default_factory=list, description="The likeliest first answer tokens and their log-probabilities."
    )
    sentences: list[ShownSentence] = Field(default_factory=list)
    check_s: float | None = Field(None, description="Seconds the yes/no check took.")


class Timings(BaseModel):
    retrieval_s: float = 0.0
    ttft_s: float | None = None
    total_s: float = 0.0
    tokens: int = 0


class Answer(BaseModel):
    """The final, checked answer. ``answer`` holds [n] markers that index ``citations``."""

    question: str
    standalone_question: str
    answer: str
    refused: bool = False
    refusal_reason: str | None = None
    citations: list[Citation] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list)
    raw_answer: str = Field("", description="What the model generated, before checking.")
    reading: Reading | None = Field(None, description="The structured answer, when the model gave one.")
    p_correct: float | None = Field(None, description="The calibrated probability that the answer is right.")
    timings: Timings = Field(default_factory=Timings)
    model: str = ""
