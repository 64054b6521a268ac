"""Load: N concurrent chat sessions against the running app (``python -m ui`` on 127.0.0.1).

Each session is its own ``gradio_client.Client`` with its own conversation, asking questions one
after another through the ``/ask`` endpoint, exactly as a browser tab does. The app answers one
question at a time (one embedded model; ``concurrency_limit=1``) and queues the rest, so with N
sessions throughput should stay flat and latency grow about N-fold: what matters is that nothing
fails or times out, and that the chat process's memory stays bounded.

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
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.measure import mb, peak_rss_bytes, rss_bytes, summarize, timer
from core.settings import PROJECT_ROOT
from eval.dataset import load_dataset

DATASET = PROJECT_ROOT / "eval" / "datasets" / "test.jsonl"
HOST = "127.0.0.1"  # never anything else: the benchmark must not expose the app
STARTUP_TIMEOUT_S = 600.0


@dataclass
class LoadConfig:
    work: Path
    levels: tuple[int, ...] = (1, 4, 16)
    # Questions per session at each level: 3, 4 and 16 answers, a few minutes in all.
    questions_per_session: dict[int, int] = field(default_factory=lambda: {1: 3, 4: 1, 16: 1})
    level_cap_s: float = 300.0  # no new question is started after this
    request_timeout_s: float = 900.0  # 16 queued answers on a busy machine take minutes
    cache_dir: Path | None = None

    @classmethod
    def preset(cls, size: str, work: Path, cache_dir: Path | None = None) -> LoadConfig:
        sizes: dict[str, dict[str, Any]] = {
            "full": {},
            "reduced": {"questions_per_session": {1: 2, 4: 1, 16: 1}, "level_cap_s": 180.0},
            "quick": {"questions_per_session": {1: 1, 4: 1, 16: 1}, "level_cap_s": 120.0},
            "tiny": {"levels": (2,), "questions_per_session": {2: 1}, "level_cap_s": 60.0},
        }
        return cls(work=Path(work), cache_dir=cache_dir, **sizes[size])

    def record(self) -> dict[str, Any]:
        out = asdict(self)
        out["work"] = str(self.work)
        out["cache_dir"] = str(self.cache_dir) if self.cache_dir else None
        out["questions_per_session"] = {str(k): v for k, v in self.questions_per_session.items()}
        return out


def questions() -> list[str]:
    """Single-turn answerable questions of the test split: each session starts a fresh chat."""
    return [i.question for i in load_dataset(DATASET) if i.answerable and not i.history]


@contextmanager
def chat_app(cfg: LoadConfig) -> Iterator[tuple[str, int, float]]:
    """``python -m ui`` on a free loopback port with its own data folder; yields (url, pid,
    seconds until it answered HTTP)."""
    from bench.corpus import bench_settings
    from tests.servers import free_port, wait_for_http

    data_dir = cfg.work / "load-data"
    settings = bench_settings(data_dir, cfg.cache_dir)
    port = free_port()
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(data_dir),
        "RAG_CACHE_DIR": str(settings.models_dir),
        "RAG_UI_HOST": HOST,
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
    levels = []
    with chat_app(cfg) as (url, pid, startup_s):
        rss_idle = rss_bytes(pid)
        for n in cfg.levels:
            per = cfg.questions_per_session.get(n, 1)
            row = run_level(url, n, per, cfg, pool)
            row["app_rss_mb"] = mb(rss_bytes(pid))
            levels.append(row)
            print(
                f"load: {n} sessions: {row['completed']}/{row['requests']} answered, "
                f"p50 {row['latency_s']['p50']} s, errors {row['errors']}",
                file=sys.stderr,
                flush=True,
            )
        peak = peak_rss_bytes(pid)
    return {
        "app": {
            "host": HOST,
            "startup_s": round(startup_s, 1),
            "rss_idle_mb": mb(rss_idle),
            "peak_rss_mb": mb(peak),
        },
        "levels": levels,
        "errors": sum(level["errors"] for level in levels),
    }


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    peak = result["app"]["peak_rss_mb"]
    return [
        {
            "name": "chat process (python -m ui) peak RSS under load",
            "target": "< 1,500 MB",
            "value": peak,
            "unit": "MB",
            "met": peak is not None and peak < 1500,
        },
        {
            "name": "errors under load (1/4/16 sessions)",
            "target": "0",
            "value": result["errors"],
            "unit": "",
            "met": result["errors"] == 0,
        },
    ]
