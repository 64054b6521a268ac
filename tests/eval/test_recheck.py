"""`python -m eval recheck`: a run's stored generations checked again, with the real verifier.

The run folders are written by the evaluation's own writer from hand-made played items, so the
replay reads exactly what a real run stores.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from core.settings import Settings
from eval.__main__ import main
from eval.dataset import EvalItem
from eval.recheck import RecheckError, load_run, recheck
from eval.report import build_summary, write_run
from eval.runner import PlayedItem
from eval.scoring import by_category, score_played
from rag.types import Answer, Passage, Timings

BODY = "Up to 50,000 people emerged from a corner of the town. Some had news about the caliph."
QUESTION = "How many people emerged from a corner of the town?"


def _passage() -> Passage:
    return Passage(
        n=1, chunk_id="g:1", doc_id="g", title="T", publication="The Guardian", text=BODY, start=0, end=90
    )


def _write_run(tmp_path: Path, settings: Settings, raws: dict[str, str], pipeline: str = "default") -> Path:
    """A run folder of items whose model said ``raws[id]`` (the stored answer text is a stand-in)."""
    items = [
        EvalItem(id=i, question=QUESTION, answers=["50,000"], answerable=True, evidence="Up to 50,000 people")
        for i in raws
    ]
    dataset = tmp_path / "set.jsonl"
    dataset.write_text("".join(item.model_dump_json() + "\n" for item in items), encoding="utf-8")
    played = [
        PlayedItem(
            item,
            Answer(
                question=QUESTION,
                standalone_question=QUESTION,
                answer="(stored answer)",
                refused=True,
                passages=[_passage()],
                raw_answer=raws[item.id],
                timings=Timings(ttft_s=1.0, total_s=2.0, tokens=9),
            ),
            last_token_s=1.5,
            stream_tokens=9,
        )
        for item in items
    ]
    metrics = [score_played(p) for p in played]
    summary = build_summary(
        metrics,
        by_category(items, metrics),
        settings,
        {"name": pipeline},
        {"path": str(dataset), "n_items": len(items)},
        {"started_at": "then", "duration_s": 1.0},
    )
    out = tmp_path / "run"
    write_run(out, played, metrics, summary)
    return out


def test_stored_generations_are_checked_again(tmp_path: Path, settings: Settings) -> None:
    run = _write_run(
        tmp_path,
        settings,
        {
            "right": "Up to 50,000 people emerged from the town [3].",
            "invented": "Up to 90,000 people emerged from the town [1].",
            "declined": "The articles don't say.",
        },
    )
    played = {p.item.id: p for p in recheck(load_run(run), settings)}
    right = played["right"].answer
    assert not right.refused and "50,000" in right.answer and right.answer.endswith("[1].")  # marker repaired
    assert right.citations[0].quote == "Up to 50,000 people emerged from a corner of the town."
    assert right.timings.total_s == 2.0  # the run's timings are kept
    # A number no passage states is not cited; the fallback quotes the sentence that has one.
    invented = played["invented"].answer
    assert invented is not None and "90,000" not in invented.answer and "50,000" in invented.answer
    assert played["declined"].answer.answer.startswith("The Guardian reports:")
    # Without the fallback, both become refusals.
    no_fallback = settings.model_copy(update={"extractive_fallback": False})
    played = {p.item.id: p for p in recheck(load_run(run), no_fallback)}
    assert not played["right"].answer.refused
    assert played["invented"].answer.refused and played["declined"].answer.refused


def test_recheck_cli_writes_a_scored_run(
    tmp_path: Path, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings()
    monkeypatch.setenv("RAG_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("RAG_CACHE_DIR", str(settings.cache_dir))
    run = _write_run(tmp_path, settings, {"declined": "The articles don't say."})
    out = tmp_path / "re"
    assert main(["recheck", str(run), "--set", "RAG_EXTRACTIVE_FALLBACK=false", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["false_refusal_rate"] == 1.0 and summary["answer_accuracy"] == 0.0
    assert summary["pipeline"]["overrides"] == {"extractive_fallback": "false"}
    assert summary["settings"]["extractive_fallback"] is False
    assert main(["recheck", str(run), "--out", str(tmp_path / "re2")]) == 0
    summary = json.loads((tmp_path / "re2" / "summary.json").read_text(encoding="utf-8"))
    assert summary["answer_accuracy"] == 1.0  # the fallback quotes the 50,000 sentence


def test_bad_recheck_requests_are_one_line(
    tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recheck", str(tmp_path / "nothing")]) == 2
    assert "not a readable run folder" in capsys.readouterr().err
    run = _write_run(tmp_path, settings, {"a": "x"})
    assert main(["recheck", str(run), "--set", "no_such_setting=1"]) == 2
    assert "expected KEY=VALUE with KEY a setting" in capsys.readouterr().err
    (tmp_path / "n").mkdir()
    naive = _write_run(tmp_path / "n", settings, {"a": "x"}, pipeline="naive")
    with pytest.raises(RecheckError, match="only the default pipeline"):
        load_run(naive)
