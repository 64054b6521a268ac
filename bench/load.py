"""Load: N concurrent chat sessions against the running app (``python -m ui`` on 127.0.0.1), with
one llama.cpp slot and with several, in the same run.

Each session is its own ``gradio_client.Client`` with its own conversation, asking questions one
after another through the ``/ask`` endpoint, exactly as a browser tab does. Two apps run side by
side, one with ``RAG_LLM_PARALLEL=1`` and one with the slots under test, and every level is
played on both, one after the other, the order alternating from level to level: on a shared
machine whose speed drifts, both configurations meet the same conditions and are compared as
ratios. Only one app is busy at a time; the idle one costs memory, not CPU.

Bounded in count (questions per session) and in time (no session starts a new question after the
level's time cap; a request that takes longer than its timeout is an error).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.measure import mb, peak_rss_bytes, ratio, rss_bytes, summarize, timer
from core.settings import PROJECT_ROOT, load_settings
from eval.dataset import load_dataset

DATASET = PROJECT_ROOT / "eval" / "datasets" / "test.jsonl"
HOST = "127.0.0.1"  # never anything else: the benchmark must not expose the app
STARTUP_TIMEOUT_S = 600.0


@dataclass
class LoadConfig:
    work: Path
    levels: tuple[int, ...] = (1, 4, 16, 32)
    # Questions per session at each level: 3, 4, 16 and 32 answers per configuration.
    questions_per_session: dict[int, int] = field(default_factory=lambda: {1: 3, 4: 1, 16: 1, 32: 1})
    # The configuration under test; None = the product's default (RAG_LLM_PARALLEL or Settings).
    slots: int | None = None
    level_cap_s: float = 900.0  # no new question is started after this
    request_timeout_s: float = 1800.0  # 32 queued answers on one slot of a busy machine take long
    cache_dir: Path | None = None

    @classmethod
    def preset(cls, size: str, work: Path, cache_dir: Path | None = None) -> LoadConfig:
        sizes: dict[str, dict[str, Any]] = {
            "full": {},
            "reduced": {"questions_per_session": {1: 2, 4: 1, 16: 1, 32: 1}},
            "quick": {"levels": (1, 4, 16), "questions_per_session": {1: 1, 4: 1, 16: 1}},
            "tiny": {"levels": (2,), "questions_per_session": {2: 1}, "level_cap_s": 60.0, "slots": 2},
        }
        return cls(work=Path(work), cache_dir=cache_dir, **sizes[size])

    @property
    def tested_slots(self) -> int:
        return self.slots if self.slots is not None else load_settings().llm_parallel

    def configurations(self) -> dict[str, int]:
        """Name -> llama.cpp slots: the one-slot baseline and the configuration under test."""
        n = self.tested_slots
        return {"one slot": 1, f"{n} slots": n}

    def record(self) -> dict[str, Any]:
        out = asdict(self)
        out["work"] = str(self.work)
        out["cache_dir"] = str(self.cache_dir) if self.cache_dir else None
        out["questions_per_session"] = {str(k): v for k, v in self.questions_per_session.items()}
        out["configurations"] = self.configurations()
        return out


def questions() -> list[str]:
    """Single-turn answerable questions of the test split: each session starts a fresh chat."""
    return [i.question for i in load_dataset(DATASET) if i.answerable and not i.history]


@contextmanager
def chat_app(cfg: LoadConfig, slots: int) -> Iterator[tuple[str, int, float]]:
    """``python -m ui`` with ``slots`` llama.cpp slots on a free loopback port, with its own data
    folder; yields (url, pid, seconds until it answered HTTP)."""
    from bench.corpus import bench_settings
    from tests.servers import free_port, wait_for_http

    data_dir = cfg.work / f"load-data-{slots}"
    settings = bench_settings(data_dir, cfg.cache_dir)
    port = free_port()
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(data_dir),
        "RAG_CACHE_DIR": str(settings.models_dir),
        "RAG_UI_HOST": HOST,
        "RAG_LLM_PARALLEL": str(slots),
        "GRADIO_TEMP_DIR": str(data_dir / "gradio-tmp"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("RAG_CHROMA_HOST", None)
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"http://{HOST}:{port}/"
    cmd = [sys.executable, "-m", "ui", "--host", HOST, "--port", str(port)]
    start = time.perf_counter()
    with (data_dir / "ui.log").open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=PROJECT_ROOT)
        try:
            # The app builds its index and loads the model before it listens: allow for a busy machine.
            wait_for_http(url, proc, timeout=STARTUP_TIMEOUT_S)
            yield url, proc.pid, time.perf_counter() - start
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass
class Request:
    session: int
    question: str
    submitted: float
    first_token: float | None = None
    finished: float | None = None
    error: str | None = None


class Session:
    """One chat tab: its own client and conversation id."""

    def __init__(self, url: str, number: int) -> None:
        from gradio_client import Client

        self.number = number
        self.client = Client(url, verbose=False)
        self.conversation = self.client.predict("", api_name="/restore")[2]

    def ask(self, question: str, timeout: float) -> Request:
        request = Request(self.number, question, time.perf_counter())
        job = self.client.submit(question, self.conversation, api_name="/ask")
        # The first output echoes the question; the second carries the first streamed token.
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                if len(job.outputs()) >= 2:
                    request.first_token = time.perf_counter()
                    return
                done.wait(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            messages, _sources, status, _question, conversation = job.result(timeout=timeout)
            request.finished = time.perf_counter()
            if status:
                request.error = f"status: {status[:200]}"
            elif conversation != self.conversation or len(messages) < 2:
                request.error = "the answer did not come back to its conversation"
        except Exception as exc:  # timeouts and transport errors alike count as failures
            request.error = f"{type(exc).__name__}: {exc}"[:300]
            job.cancel()
        finally:
            done.set()
            watcher.join()
        return request


def run_level(url: str, n: int, per_session: int, cfg: LoadConfig, pool: list[str]) -> dict[str, Any]:
    sessions = [Session(url, i) for i in range(n)]  # connecting is not part of the timed window
    requests: list[Request] = []
    lock = threading.Lock()
    with timer() as elapsed:
        deadline = time.perf_counter() + cfg.level_cap_s

        def chat(session: Session) -> None:
            for k in range(per_session):
                if time.perf_counter() > deadline:
                    return
                question = pool[(session.number * per_session + k) % len(pool)]
                request = session.ask(question, cfg.request_timeout_s)
                with lock:
                    requests.append(request)

        threads = [threading.Thread(target=chat, args=(s,)) for s in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    wall = elapsed()
    ok = [r for r in requests if r.error is None and r.finished is not None]
    latency = [r.finished - r.submitted for r in ok]  # type: ignore[operator]
    first = [r.first_token - r.submitted for r in ok if r.first_token is not None]
    return {
        "sessions": n,
        "questions_per_session": per_session,
        "requests": len(requests),
        "completed": len(ok),
        "errors": len(requests) - len(ok),
        "error_messages": [r.error for r in requests if r.error][:5],
        "wall_s": round(wall, 2),
        "throughput_answers_per_min": round(60 * len(ok) / wall, 2) if wall else None,
        "latency_s": summarize(latency),
        "first_token_s": summarize(first),
    }


def run(cfg: LoadConfig) -> dict[str, Any]:
    pool = questions()
    configs = cfg.configurations()
    apps: dict[str, dict[str, Any]] = {}
    levels: list[dict[str, Any]] = []
    with ExitStack() as stack:
        urls, pids = {}, {}
        for name, slots in configs.items():  # one after the other: loads do not overlap
            url, pid, startup_s = stack.enter_context(chat_app(cfg, slots))
            urls[name], pids[name] = url, pid
            apps[name] = {"slots": slots, "startup_s": round(startup_s, 1), "rss_idle_mb": mb(rss_bytes(pid))}
        names = list(configs)
        for i, n in enumerate(cfg.levels):
            per = cfg.questions_per_session.get(n, 1)
            order = names if i % 2 == 0 else names[::-1]  # A B, then B A, ...: drift hits both
            level: dict[str, Any] = {"sessions": n, "questions_per_session": per, "order": order}
            for name in order:
                row = run_level(urls[name], n, per, cfg, pool)
                row["app_rss_mb"] = mb(rss_bytes(pids[name]))
                level[name] = row
                print(
                    f"load: {n} sessions, {name}: {row['completed']}/{row['requests']} answered, "
                    f"{row['throughput_answers_per_min']} answers/min, p95 {row['latency_s']['p95']} s, "
                    f"errors {row['errors']}",
                    file=sys.stderr,
                    flush=True,
                )
            base, tested = level[names[0]], level[names[1]]
            level["ratios"] = {
                "throughput": ratio(tested["throughput_answers_per_min"], base["throughput_answers_per_min"]),
                "latency_p50": ratio(tested["latency_s"]["p50"], base["latency_s"]["p50"]),
                "latency_p95": ratio(tested["latency_s"]["p95"], base["latency_s"]["p95"]),
                "first_token_p50": ratio(tested["first_token_s"]["p50"], base["first_token_s"]["p50"]),
            }
            levels.append(level)
        for name, pid in pids.items():
            apps[name]["peak_rss_mb"] = mb(peak_rss_bytes(pid))
    return {
        "host": HOST,
        "baseline": names[0],
        "tested": names[1],
        "apps": apps,
        "levels": levels,
        "errors": sum(level[name]["errors"] for level in levels for name in names),
    }


def _level(result: dict[str, Any], sessions: int) -> dict[str, Any] | None:
    return next((lv for lv in result["levels"] if lv["sessions"] == sessions), None)


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    base, tested = result["baseline"], result["tested"]
    out: list[dict[str, Any]] = []
    busiest = _level(result, 16) or result["levels"][-1]
    n = busiest["sessions"]
    gain = busiest["ratios"]["throughput"]
    out.append(
        {
            "name": f"throughput at {n} sessions, {tested} / {base}",
            "target": ">= 2x",
            "value": gain,
            "unit": "x",
            "met": gain is not None and gain >= 2,
        }
    )
    p95 = (busiest[tested]["latency_s"]["p95"], busiest[base]["latency_s"]["p95"])
    out.append(
        {
            "name": f"latency p95 at {n} sessions, {tested} vs {base} (s)",
            "target": "lower",
            "value": f"{p95[0]:.1f} vs {p95[1]:.1f}" if None not in p95 else None,
            "unit": "",
            "met": None not in p95 and p95[0] < p95[1],
        }
    )
    single = _level(result, 1)
    if single is not None:
        first = single["ratios"]["first_token_p50"]
        out.append(
            {
                "name": f"time to first token, 1 session, {tested} / {base}",
                "target": "<= 1.1",
                "value": first,
                "unit": "",
                "met": first is not None and first <= 1.1,
            }
        )
    peak = max((app["peak_rss_mb"] or 0) for app in result["apps"].values())
    out.append(
        {
            "name": "chat process (python -m ui) peak RSS under load, either configuration",
            "target": "< 1,500 MB",
            "value": peak,
            "unit": "MB",
            "met": 0 < peak < 1500,
        }
    )
    levels = "/".join(str(lv["sessions"]) for lv in result["levels"])
    out.append(
        {
            "name": f"errors under load ({levels} sessions, both configurations)",
            "target": "0",
            "value": result["errors"],
            "unit": "",
            "met": result["errors"] == 0,
        }
    )
    return out
