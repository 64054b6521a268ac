"""Answering: time to first token, total time, tokens/s and peak RSS: the product (structured
answers, calibrated decision), the product as it was before (free answers, hand-written rules:
``rules``) and the naive baseline.

All pipelines run in the same benchmark run, each in its own worker process (so each process's
peak RSS is its own), fed the same evaluation items in turn, the order rotating from item to
item. Only one worker computes at a time, and a burst of load from elsewhere on the machine
lands on all alike, so the ratios are fair even when the absolute numbers wander.

Items are played as ``eval.runner.play_item`` plays them (earlier turns of a conversation are
asked first); every question asked is one timing sample. llama.cpp's own timings for each call
(prompt tokens, prompt-processing and generation rates) are recorded too, to show how much of the
time to first token is prompt processing: TTFT ~ retrieval + prompt_tokens / prefill_rate.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult

from bench.corpus import bench_settings
from bench.measure import mb, median, peak_rss_bytes, ratio, rss_bytes, summarize
from core.settings import PROJECT_ROOT, Settings
from eval.dataset import EvalItem, load_dataset

DATASET = PROJECT_ROOT / "eval" / "datasets" / "test.jsonl"
PIPELINES = ("default", "rules", "naive")
ITEM_TIMEOUT_S = 600.0
STARTUP_TIMEOUT_S = 600.0


@dataclass
class AnswerConfig:
    work: Path
    max_items: int | None = None  # None: the whole test split
    budget_s: float = 600.0  # no new item is started after this (both pipelines finish theirs)
    dataset: Path = DATASET
    cache_dir: Path | None = None

    @classmethod
    def preset(cls, size: str, work: Path, cache_dir: Path | None = None) -> AnswerConfig:
        sizes: dict[str, dict[str, Any]] = {
            "full": {},
            "reduced": {"max_items": 24, "budget_s": 540.0},
            "quick": {"max_items": 8, "budget_s": 240.0},
            "tiny": {"max_items": 1, "budget_s": 120.0},
        }
        return cls(work=Path(work), cache_dir=cache_dir, **sizes[size])

    def record(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("work", "dataset", "cache_dir"):
            out[key] = str(out[key]) if out[key] else None
        return out


def pick_items(items: list[EvalItem], n: int | None) -> list[EvalItem]:
    """Up to ``n`` items (all when None) in an order whose every prefix is spread evenly over
    the file (which is grouped by category), so a run cut short by its time budget still covers
    every category in proportion. Golden-ratio (low-discrepancy) order; deterministic."""
    golden = (math.sqrt(5) - 1) / 2
    order = sorted(range(len(items)), key=lambda i: (i * golden) % 1.0)
    return [items[i] for i in order][: n if n is not None else len(items)]


# --- the worker (one per pipeline) -------------------------------------------------------------
class LLMCalls(BaseCallbackHandler):
    """Keeps llama.cpp's usage and timings of every finished model call."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        generation = response.generations[0][0] if response.generations and response.generations[0] else None
        meta: dict[str, Any] = {}
        if generation is not None:
            meta.update(generation.generation_info or {})
            message = getattr(generation, "message", None)
            meta.update(getattr(message, "response_metadata", None) or {})
        self.calls.append({"usage": meta.get("usage") or {}, "timings": meta.get("timings") or {}})


class Recording:
    """A pipeline that records one sample per question asked (``eval.runner`` uses ``stream``)."""

    def __init__(self, pipeline: Any, calls: LLMCalls) -> None:
        self.pipeline = pipeline
        self.calls = calls
        self.asks: list[dict[str, Any]] = []

    def ask(self, question: str, history: list[Any]) -> Any:
        return self.pipeline.ask(question, history)

    def stream(self, question: str, history: list[Any] | None = None) -> Iterator[Any]:
        from rag.engine import AnswerEvent

        first_call = len(self.calls.calls)
        for event in self.pipeline.stream(question, history):
            if isinstance(event, AnswerEvent):
                self.asks.append(_sample(event.answer, self.calls.calls[first_call:]))
            yield event


def _sample(answer: Any, calls: list[dict[str, Any]]) -> dict[str, Any]:
    t = answer.timings
    # The answer's own generation: a structured answer's yes/no check (one token) comes after it.
    main = [c for c in calls if (c["usage"] or {}).get("completion_tokens", 0) > 1] or calls
    usage = main[-1]["usage"] if main else {}
    timings = main[-1]["timings"] if main else {}
    reading = getattr(answer, "reading", None)
    return {
        "ttft_s": t.ttft_s,
        "total_s": t.total_s,
        "retrieval_s": t.retrieval_s,
        "tokens": t.tokens,
        "refused": answer.refused,
        "llm_calls": len(calls),
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        # llama.cpp reuses the KV cache of a shared prefix: prompt_n tokens were really processed.
        "prompt_n": timings.get("prompt_n"),
        "cache_n": timings.get("cache_n"),
        "prompt_ms": timings.get("prompt_ms"),
        "predicted_n": timings.get("predicted_n"),
        "predicted_ms": timings.get("predicted_ms"),
        "check_s": reading.check_s if reading is not None else None,
    }


def _make_pipeline(name: str, settings: Settings, calls: LLMCalls) -> Any:
    from rag.llm import make_llm, model_label

    llm = make_llm(settings)
    llm.callbacks = [calls]
    if name == "naive":
        from eval.naive import NaivePipeline

        pipeline: Any = NaivePipeline(settings, llm=llm)
    else:
        from index.ingest import Ingestor
        from index.store import open_index
        from rag.engine import AnswerEngine

        if name == "rules":  # the product before structured answers and the calibrated decision
            settings = settings.model_copy(update={"answer_format": "free", "judgement": "rules"})
        index = open_index(settings)
        if index.is_empty():
            Ingestor(index, show_progress=False).sync_folder(settings.articles_dir)
        pipeline = AnswerEngine(settings, index=index, llm=llm)
        pipeline.warm_up()  # as the chat does at start: the shared prompt prefix is cached
    pipeline.model = model_label(settings)
    return pipeline


def worker(name: str, settings: Settings, requests: IO[str], replies: IO[str]) -> int:
    """Serve ``{"item": ...}`` lines with ``{"asks": [...]}`` lines; ``{"stats": true}`` gives
    memory. Runs until ``requests`` closes."""
    from eval.runner import play_item

    def reply(data: dict[str, Any]) -> None:
        replies.write(json.dumps(data) + "\n")
        replies.flush()

    started = time.perf_counter()
    calls = LLMCalls()
    recording = Recording(_make_pipeline(name, settings, calls), calls)
    reply({"ready": True, "load_s": round(time.perf_counter() - started, 2), "rss_mb": mb(rss_bytes())})
    for line in requests:
        request = json.loads(line)
        if request.get("stats"):
            reply({"rss_mb": mb(rss_bytes()), "peak_rss_mb": mb(peak_rss_bytes())})
            continue
        item = EvalItem.model_validate(request["item"])
        recording.asks = []
        played = play_item(recording, item)
        reply({"id": item.id, "asks": recording.asks, "error": played.error})
    return 0


class Worker:
    """The driver's handle on one worker process."""

    def __init__(self, name: str, settings: Settings, log: Path) -> None:
        self.name = name
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.answer",
                "--worker",
                name,
                "--settings",
                settings.model_dump_json(),
            ],
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
        )
        self.log = log

    def read(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.name} worker gave no answer in {timeout:.0f}s:\n{tail}")
        return json.loads(line)

    def call(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self.read(timeout)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def summarize_pipeline(asks: list[dict[str, Any]]) -> dict[str, Any]:
    """The eval's timing metrics (same definitions as ``eval.scoring``) plus llama.cpp's rates."""
    ttft = [a["ttft_s"] for a in asks if a["ttft_s"] is not None]
    total = [a["total_s"] for a in asks]
    after = [
        (a["tokens"], a["total_s"] - a["ttft_s"]) for a in asks if a["ttft_s"] is not None and a["tokens"]
    ]
    after_s = sum(s for _, s in after)
    prefill = [a for a in asks if a["prompt_n"] and a["prompt_ms"]]
    decode = [a for a in asks if a["predicted_n"] and a["predicted_ms"]]
    prefill_rate = (
        sum(a["prompt_n"] for a in prefill) / (sum(a["prompt_ms"] for a in prefill) / 1000)
        if prefill
        else None
    )
    decode_rate = (
        sum(a["predicted_n"] for a in decode) / (sum(a["predicted_ms"] for a in decode) / 1000)
        if decode
        else None
    )
    ttft_p50 = summarize(ttft)["p50"]
    # TTFT ~ retrieval + prompt processing + one decoded token: the median of that per question.
    modelled = [
        a["retrieval_s"] + a["prompt_n"] / prefill_rate + (1 / decode_rate if decode_rate else 0.0)
        for a in asks
        if a["prompt_n"] is not None and prefill_rate
    ]
    return {
        "questions": len(asks),
        "ttft_s": summarize(ttft),
        "total_s": summarize(total),
        "retrieval_s": summarize([a["retrieval_s"] for a in asks]),
        "tokens_per_s": round(sum(t for t, _ in after) / after_s, 2) if after_s > 0 else None,
        "decode_tokens_per_s": round(decode_rate, 2) if decode_rate else None,
        "prefill_tokens_per_s": round(prefill_rate, 2) if prefill_rate else None,
        "prompt_tokens": summarize([float(a["prompt_tokens"]) for a in asks if a["prompt_tokens"]], 1),
        "prompt_tokens_processed": summarize([float(a["prompt_n"]) for a in asks if a["prompt_n"]], 1),
        "prefill_s": summarize([a["prompt_ms"] / 1000 for a in prefill]),
        "completion_tokens": summarize(
            [float(a["completion_tokens"]) for a in asks if a["completion_tokens"]], 1
        ),
        "ttft_modelled_p50_s": round(median(modelled), 4) if modelled else None,
        "ttft_p50_s": ttft_p50,
        "refused": sum(1 for a in asks if a["refused"]),
        "support_check_s": summarize([a["check_s"] for a in asks if a.get("check_s") is not None]),
    }


def run(cfg: AnswerConfig) -> dict[str, Any]:
    items = pick_items(load_dataset(cfg.dataset), cfg.max_items)
    settings = bench_settings(cfg.work / "answer-data", cfg.cache_dir)
    workers: dict[str, Worker] = {}
    started: dict[str, Any] = {}
    try:
        # One at a time: two model loads at once would only slow each other down.
        for name in PIPELINES:
            workers[name] = Worker(name, settings, cfg.work / f"answer-{name}.log")
            started[name] = workers[name].read(STARTUP_TIMEOUT_S)
        asks: dict[str, list[dict[str, Any]]] = {name: [] for name in PIPELINES}
        errors: dict[str, list[str]] = {name: [] for name in PIPELINES}
        done = 0
        begin = time.perf_counter()
        for n, item in enumerate(items):
            if time.perf_counter() - begin > cfg.budget_s:
                break
            order = PIPELINES[n % len(PIPELINES) :] + PIPELINES[: n % len(PIPELINES)]
            for name in order:
                reply = workers[name].call({"item": item.model_dump(mode="json")}, ITEM_TIMEOUT_S)
                asks[name] += reply["asks"]
                if reply["error"]:
                    errors[name].append(f"{item.id}: {reply['error']}")
            done += 1
            print(f"answer: {done}/{len(items)} items", file=sys.stderr, flush=True)
        memory = {name: w.call({"stats": True}, 60) for name, w in workers.items()}
    finally:
        for w in workers.values():
            w.close()
    per = {
        name: {
            **summarize_pipeline(asks[name]),
            "errors": errors[name],
            "load_s": started[name]["load_s"],
            "peak_rss_mb": memory[name]["peak_rss_mb"],
            "rss_mb": memory[name]["rss_mb"],
        }
        for name in PIPELINES
    }
    d, r, b = per["default"], per["rules"], per["naive"]
    return {
        "dataset": str(cfg.dataset.relative_to(PROJECT_ROOT))
        if cfg.dataset.is_relative_to(PROJECT_ROOT)
        else str(cfg.dataset),
        "items": done,
        "items_planned": len(items),
        "items_in_split": len(load_dataset(cfg.dataset)),
        "seconds": round(time.perf_counter() - begin, 1),
        "llm_threads": settings.llm_threads,
        "default": d,
        "rules": r,
        "naive": b,
        "ratios_default_over_rules": {
            "ttft_p50": ratio(d["ttft_s"]["p50"], r["ttft_s"]["p50"]),
            "ttft_p95": ratio(d["ttft_s"]["p95"], r["ttft_s"]["p95"]),
            "total_p50": ratio(d["total_s"]["p50"], r["total_s"]["p50"]),
            "total_p95": ratio(d["total_s"]["p95"], r["total_s"]["p95"]),
        },
        "ratios_default_over_naive": {
            "ttft_p50": ratio(d["ttft_s"]["p50"], b["ttft_s"]["p50"]),
            "ttft_p95": ratio(d["ttft_s"]["p95"], b["ttft_s"]["p95"]),
            "total_p50": ratio(d["total_s"]["p50"], b["total_s"]["p50"]),
            "total_p95": ratio(d["total_s"]["p95"], b["total_s"]["p95"]),
            "tokens_per_s": ratio(d["tokens_per_s"], b["tokens_per_s"]),
            "prompt_tokens_p50": ratio(d["prompt_tokens"]["p50"], b["prompt_tokens"]["p50"]),
            "peak_rss": ratio(d["peak_rss_mb"], b["peak_rss_mb"]),
        },
    }


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    d = result["default"]
    vs_rules = result.get("ratios_default_over_rules", {}).get("ttft_p50")
    check = d.get("support_check_s", {}).get("p50")
    # The yes/no check is off by default (RAG_SUPPORT_CHECK); it has a target only when it ran.
    check_target = (
        [
            {
                "name": "yes/no support check on the cached prompt p50",
                "target": "< 0.3 s",
                "value": check,
                "unit": "s",
                "met": check < 0.3,
            }
        ]
        if check is not None
        else []
    )
    return [
        {
            "name": "time to first token p50, vs free answers with rules (same run)",
            "target": "<= 1.2x",
            "value": vs_rules,
            "unit": "x",
            "met": vs_rules is not None and vs_rules <= 1.2,
        },
        *check_target,
        {
            "name": "time to first token p50 (engine)",
            "target": "< 1.5 s",
            "value": d["ttft_s"]["p50"],
            "unit": "s",
            "met": d["ttft_s"]["p50"] is not None and d["ttft_s"]["p50"] < 1.5,
        },
        {
            "name": "whole answer p50 (engine)",
            "target": "< 5 s",
            "value": d["total_s"]["p50"],
            "unit": "s",
            "met": d["total_s"]["p50"] is not None and d["total_s"]["p50"] < 5,
        },
        {
            "name": "answering process peak RSS (engine, no UI)",
            "target": "< 1,500 MB",
            "value": d["peak_rss_mb"],
            "unit": "MB",
            "met": d["peak_rss_mb"] is not None and d["peak_rss_mb"] < 1500,
        },
    ]


def _main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.answer")
    parser.add_argument("--worker", choices=PIPELINES, required=True)
    parser.add_argument("--settings", required=True, help="Settings as JSON")
    args = parser.parse_args()
    # The protocol owns stdout; anything a library prints goes to stderr (the worker's log).
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    return worker(args.worker, Settings(**json.loads(args.settings)), sys.stdin, replies)


if __name__ == "__main__":
    sys.exit(_main())
