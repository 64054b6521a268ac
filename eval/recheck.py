"""Replay the checking step of a finished run with other settings, without the model.

The run's own generations and retrieved passages go through :class:`rag.verify.AnswerVerifier`
again (citation check, refusal, fallback) and are scored as a new run, in seconds instead of the
minutes a real run takes: what sweeps of thresholds and refusal rules are made with. Earlier turns
of multi-turn items keep the answers they got in the run, so a change that would alter an earlier
answer (and with it the follow-up's search) only shows in a real run; confirm a choice with one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import InputError
from core.settings import Settings
from eval.dataset import EvalItem, load_dataset
from eval.report import RESULTS_FILE, SUMMARY_FILE
from eval.runner import PlayedItem
from index.embedding import make_embedder
from index.store import open_index
from rag.types import Answer, Passage, Reading, Timings, Turn
from rag.verify import AnswerVerifier


class RecheckError(InputError):
    """The run folder cannot be rechecked; the message says why."""


@dataclass
class StoredRun:
    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    items: dict[str, EvalItem]


def load_run(run_dir: Path) -> StoredRun:
    try:
        summary = json.loads((run_dir / SUMMARY_FILE).read_text(encoding="utf-8"))
        lines = (run_dir / RESULTS_FILE).read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError) as exc:
        raise RecheckError(f"{run_dir} is not a readable run folder: {exc}") from None
    if summary.get("pipeline", {}).get("name") != "default":
        raise RecheckError(
            f"{run_dir} is a run of the {summary.get('pipeline', {}).get('name')!r} pipeline; "
            "only the default pipeline has a checking step"
        )
    dataset = Path(summary["dataset"]["path"])
    try:
        items = {item.id: item for item in load_dataset(dataset)}
    except (OSError, ValueError) as exc:
        raise RecheckError(f"the run's dataset {dataset} cannot be read: {exc}") from None
    return StoredRun(summary, [json.loads(line) for line in lines if line.strip()], items)


def _turn_answer(turn: Turn, stored: dict[str, Any] | None) -> Answer | None:
    if stored is None:
        return None
    return Answer(
        question=turn.user,
        standalone_question=turn.user,
        answer=stored["answer"],
        refused=stored["refused"],
        timings=Timings(**stored["timings"]),
    )


def recheck(run: StoredRun, settings: Settings) -> list[PlayedItem]:
    """Every item of ``run`` with its stored generation checked again under ``settings``."""
    embedder = make_embedder(settings)
    # The index gives word rarity (IDF) to the calibrated decision's features.
    verifier = AnswerVerifier(settings, embedder, open_index(settings, embedder))
    played = []
    for row in run.rows:
        item = run.items.get(row["id"])
        if item is None:
            raise RecheckError(f"item {row['id']} of the run is not in its dataset any more")
        history = [Turn(**turn) for turn in row["history"]]
        turns = [_turn_answer(t, a) for t, a in zip(item.history, row["history_answers"], strict=False)]
        if row["error"] or row["raw_answer"] is None:
            played.append(PlayedItem(item, None, history, turns, row["error"]))
            continue
        fields = Passage.model_fields
        passages = [Passage(**{k: v for k, v in p.items() if k in fields}) for p in row["passages"]]
        reading = Reading.model_validate(row["reading"]) if row.get("reading") else None
        answer = verifier.verify(
            row["question"],
            history,
            row["standalone_question"],
            passages,
            row["raw_answer"],
            row["model"],
            reading,
        )
        answer.timings = Timings(**{k: v for k, v in row["timings"].items() if k in Timings.model_fields})
        played.append(
            PlayedItem(
                item,
                answer,
                history,
                turns,
                None,
                row["timings"].get("last_token_s"),
                row["timings"].get("stream_tokens"),
            )
        )
    return played
