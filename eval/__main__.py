"""``python -m eval run [--dataset FILE] [--out DIR] [--pipeline default|naive] [--limit N]``,
``python -m eval recheck RUN [--set KEY=VALUE ...] [--out DIR]`` and
``python -m eval compare RUN_A RUN_B``, ``python -m eval calibrate RUN [RUN ...] [--out FILE]`` (fit the
calibrated decision), ``python -m eval curve RUN [--calibration FILE]`` (its trade-off curve on a
held-out run), ``python -m eval table NAME=RUN ...`` (rates with Wilson intervals) and
``python -m eval check FILE ...`` (a question set's evidence and traps against the shipped
articles)."""

from __future__ import annotations

import argparse
import hashlib
import platform
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from core.cli import ArgumentParser, run_cli
from core.errors import EXIT_BAD_INPUT, EXIT_SOME_FAILED, NewsQAError
from core.settings import PROJECT_ROOT, Settings, load_settings
from eval.calibrate import (
    CalibrationDataError,
    collect,
    fit,
    format_curve,
    score_held_out,
    trade_off,
    write_calibration,
)
from eval.compare import compare
from eval.dataset import DatasetError, EvalItem, check_items, load_dataset
from eval.naive import CHUNK_CHARS, OVERLAP_CHARS, TOP_K, NaiveCorpusError, NaivePipeline
from eval.recheck import RecheckError, load_run, recheck
from eval.report import build_summary, write_run
from eval.runner import Pipeline, PlayedItem, play_item
from eval.scoring import by_category, score_played
from eval.table import TableError, table
from index.articles import article_files, load_document
from index.ingest import Ingestor
from index.store import open_index
from rag.engine import AnswerEngine, EmptyIndexError
from rag.judge import load_calibration

DEFAULT_DATASET = PROJECT_ROOT / "eval" / "datasets" / "test.jsonl"
PIPELINES = ("default", "naive")


class EvalCLIError(NewsQAError):
    """A problem the user can fix; printed as one line, with an exit code."""

    def __init__(self, message: str, code: int = EXIT_SOME_FAILED) -> None:
        super().__init__(message)
        self.exit_code = code


def _load_items(path: Path, limit: int | None) -> list[EvalItem]:
    try:
        items = load_dataset(path)
    except DatasetError as exc:
        raise EvalCLIError(f"invalid dataset: {exc}", EXIT_BAD_INPUT) from None
    except UnicodeDecodeError:
        raise EvalCLIError(f"invalid dataset: {path}: not UTF-8 text", EXIT_BAD_INPUT) from None
    except OSError as exc:
        raise EvalCLIError(f"cannot read dataset {path}: {exc.strerror or exc}", EXIT_BAD_INPUT) from None
    return items[:limit] if limit else items


def _default_pipeline(settings: Settings, show_progress: bool) -> tuple[Pipeline, dict[str, Any]]:
    index = open_index(settings)
    if index.is_empty():
        print(f"the index is empty: building it from {settings.articles_dir}", file=sys.stderr)
        results = Ingestor(index, show_progress=show_progress).sync_folder(settings.articles_dir)
        for result in results:
            if not result.ok:
                print(f"error: {result.message}", file=sys.stderr)
        if index.is_empty():
            raise EmptyIndexError(
                f"the index is empty and {settings.articles_dir} has no article to build it from; "
                "add articles (`python -m index add FILE`) or set RAG_ARTICLES_DIR"
            )
    engine = AnswerEngine(settings, index=index)
    engine.warm_up()  # like a running chat: the shared prompt prefix is already cached
    info = {
        "name": "default",
        "model": engine.model,
        "k": settings.top_k,
        "retrieval": "hybrid: dense + BM25, reciprocal-rank fusion",
        "chunks": f"{settings.chunk_size_tokens} tokens, {settings.chunk_overlap_tokens} overlap",
        "citation_check": True,
        "refusal_logic": True,
        "condense_mode": settings.condense_mode,
        "answer_format": settings.answer_format,
        "judgement": settings.judgement,
    }
    return engine, info


def _naive_pipeline(settings: Settings) -> tuple[Pipeline, dict[str, Any]]:
    try:
        pipeline = NaivePipeline(settings)
    except NaiveCorpusError as exc:
        raise EvalCLIError(str(exc)) from None
    info = {
        "name": "naive",
        "model": pipeline.model,
        "k": TOP_K,
        "retrieval": "dense only",
        "chunks": f"{CHUNK_CHARS} characters, {OVERLAP_CHARS} overlap",
        "citation_check": False,
        "refusal_logic": False,
        "uses_history": False,
    }
    return pipeline, info


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    dataset_path = Path(args.dataset)
    items = _load_items(dataset_path, args.limit)
    pipeline_name = args.pipeline
    out = Path(args.out or PROJECT_ROOT / "eval" / "runs" / f"{datetime.now():%Y%m%d-%H%M%S}-{pipeline_name}")
    if settings.temperature > 0:
        print(
            f"warning: temperature {settings.temperature} samples; answers will vary between runs "
            "(RAG_TEMPERATURE=0 is greedy and reproducible)",
            file=sys.stderr,
        )
    # Nothing here should be random, but a fixed seed makes sure of it.
    random.seed(settings.seed)
    np.random.seed(settings.seed % 2**32)
    show_progress = not args.no_progress
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.perf_counter()
    if pipeline_name == "naive":
        pipeline, pipeline_info = _naive_pipeline(settings)
    else:
        pipeline, pipeline_info = _default_pipeline(settings, show_progress)

    played: list[PlayedItem] = []
    right = 0
    interrupted = False
    bar = tqdm(items, desc=f"eval {pipeline_name}", unit="item", disable=not show_progress)
    try:
        for item in bar:
            played.append(play_item(pipeline, item))
            right += score_played(played[-1]).right
            bar.set_postfix_str(f"right {right}/{len(played)}")
    except KeyboardInterrupt:
        # Keep what was measured: the files are written for the items done so far.
        interrupted = True
    finally:
        bar.close()

    metrics = [score_played(p) for p in played]
    done_items = [p.item for p in played]
    summary = build_summary(
        metrics,
        by_category(done_items, metrics),
        settings,
        pipeline_info,
        {
            "path": str(dataset_path.resolve()),
            "sha256": _sha256(dataset_path),
            "n_items": len(done_items),
            "limit": args.limit,
        },
        {
            "started_at": started_at,
            "duration_s": round(time.perf_counter() - started, 2),
            "interrupted": interrupted,
            "python": platform.python_version(),
            "command": " ".join(["python -m eval", *sys.argv[1:]]),
        },
    )
    paths = write_run(out, played, metrics, summary)
    _print_headline(summary, paths)
    if interrupted:
        print(
            f"interrupted after {len(played)} of {len(items)} items; partial results written", file=sys.stderr
        )
        return 130
    errors = summary["counts"]["errors"]
    if errors:
        print(
            f"error: {errors} of {len(items)} items failed (see 'error' in {paths['results']})",
            file=sys.stderr,
        )
        return 1
    return 0


def _overrides(pairs: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs naming settings (``support_threshold=0.6`` or ``RAG_SUPPORT_THRESHOLD=0.6``)."""
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().lower().removeprefix("rag_")
        if not sep or key not in Settings.model_fields:
            raise EvalCLIError(
                f"--set {pair!r}: expected KEY=VALUE with KEY a setting (see the README)", EXIT_BAD_INPUT
            )
        overrides[key] = value
    return overrides


def recheck_run(args: argparse.Namespace) -> int:
    overrides = _overrides(args.set or [])
    settings = load_settings(**overrides)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.perf_counter()
    try:
        stored = load_run(args.run)
        played = recheck(stored, settings)
    except RecheckError as exc:
        raise EvalCLIError(str(exc), EXIT_BAD_INPUT) from None
    metrics = [score_played(p) for p in played]
    out = Path(args.out or args.run.parent / f"{args.run.name}-recheck")
    summary = build_summary(
        metrics,
        by_category([p.item for p in played], metrics),
        settings,
        stored.summary["pipeline"] | {"rechecked_from": str(args.run), "overrides": overrides},
        stored.summary["dataset"],
        {
            "started_at": started_at,
            "duration_s": round(time.perf_counter() - started, 2),
            "interrupted": False,
            "python": platform.python_version(),
            "command": " ".join(["python -m eval", *sys.argv[1:]]),
            "generations_from": stored.summary.get("run", {}),
        },
    )
    _print_headline(summary, write_run(out, played, metrics, summary))
    return 0


def _print_headline(summary: dict[str, Any], paths: dict[str, Path]) -> None:
    def pct(key: str) -> str:
        value = summary[key]
        return "–" if value is None else f"{100 * value:.1f}%"

    def sec(key: str) -> str:
        value = summary[key]
        return "–" if value is None else f"{value:.2f}s"

    print(
        f"{summary['n_items']} items: accuracy {pct('answer_accuracy')}, F1 {pct('token_f1')}, "
        f"refused unanswerable {pct('refusal_rate_unanswerable')}, false refusals "
        f"{pct('false_refusal_rate')}, citation precision {pct('citation_precision')}, "
        f"hit@k {pct('hit_at_k')}, total p50 {sec('total_p50_s')}"
    )
    for kind, path in paths.items():
        print(f"{kind}: {path}")


def table_runs(args: argparse.Namespace) -> int:
    rows = []
    for spec in args.runs:
        name, sep, path = spec.rpartition("=")
        if not sep or not name:
            raise TableError(f"{spec!r}: write each run as NAME=RUN")
        rows.append((name, Path(path)))
    print(table(rows), end="")
    return 0


def calibrate_run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
        data, sources, models = [], [], set()
        for run_dir in args.runs:
            stored = load_run(run_dir)
            data += collect(stored, settings)
            models.add(str(stored.summary.get("pipeline", {}).get("model", "unknown")))
            dataset = stored.summary.get("dataset", {}).get("path", "?")
            sources.append(f"{Path(dataset).name} (run {run_dir.name})")
        if len(models) > 1:
            names = ", ".join(sorted(models))
            raise CalibrationDataError(f"the runs were made with different models: {names}")
        fitted = fit(data, models.pop(), ", ".join(sources), args.refusal_precision)
    except (RecheckError, CalibrationDataError) as exc:
        raise EvalCLIError(str(exc), EXIT_BAD_INPUT) from None
    cal = fitted.calibration
    print(f"{len(data)} items; out-of-fold: " + ", ".join(f"{k} {v}" for k, v in cal.cross_validated.items()))
    print(format_curve(trade_off(fitted)))
    if args.out:
        print(f"calibration: {write_calibration(cal, args.out)}")
    return 0


def curve_run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
        if args.calibration is not None:
            settings = settings.model_copy(update={"calibration_file": args.calibration})
        calibration = load_calibration(settings)
        data = collect(load_run(args.run), settings)
    except (RecheckError, CalibrationDataError) as exc:
        raise EvalCLIError(str(exc), EXIT_BAD_INPUT) from None
    fitted, summary = score_held_out(data, calibration)
    print(
        f"{len(data)} items; calibration fitted on {calibration.fitted_on}; at its threshold: "
        + ", ".join(f"{k} {v if v is None else round(v, 4)}" for k, v in summary.items())
    )
    print(format_curve(trade_off(fitted)))
    return 0


def check_datasets(args: argparse.Namespace) -> int:
    settings = load_settings()
    corpus = {
        path.name: load_document(path, settings.max_file_bytes).text
        for path in article_files(settings.articles_dir)
    }
    failed = 0
    for path in args.files:
        items = _load_items(path, None)
        problems = check_items(items, corpus)
        for problem in problems:
            print(f"{path}: {problem}")
        failed += len(problems)
        print(f"{path}: {len(items)} items, {len(problems)} problems", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m eval", description="Evaluate the question answering.")
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="run a dataset through a pipeline and score it")
    run_p.add_argument(
        "--dataset",
        type=Path,
        default=DEFAULT_DATASET,
        help="JSONL question set (default: the test split, eval/datasets/test.jsonl)",
    )
    run_p.add_argument("--out", type=Path, help="run folder to write (default: eval/runs/<time>-<pipeline>)")
    run_p.add_argument(
        "--pipeline",
        choices=PIPELINES,
        default="default",
        help="default: the product's engine; naive: the LangChain-tutorial baseline",
    )
    run_p.add_argument("--limit", type=int, help="only the first N items (quick checks)")
    run_p.add_argument("--no-progress", action="store_true", help="no progress bar")
    re_p = sub.add_parser(
        "recheck", help="check a default run's stored generations again with other settings (no model)"
    )
    re_p.add_argument("run", type=Path, help="run folder of the default pipeline")
    re_p.add_argument("--set", action="append", metavar="KEY=VALUE", help="a setting to change (repeatable)")
    re_p.add_argument("--out", type=Path, help="run folder to write (default: RUN-recheck beside RUN)")
    cmp_p = sub.add_parser("compare", help="metric deltas and flipped items between two runs")
    cmp_p.add_argument("run_a", type=Path)
    cmp_p.add_argument("run_b", type=Path)
    cal_p = sub.add_parser("calibrate", help="fit the calibrated decision on structured runs (never test)")
    cal_p.add_argument(
        "runs", type=Path, nargs="+", metavar="RUN", help="run folders of the default pipeline (train, dev)"
    )
    cal_p.add_argument(
        "--refusal-precision", type=float, default=0.85, help="share of refusals that must be right"
    )
    cal_p.add_argument("--out", type=Path, help="calibration file to write (e.g. rag/calibration/0.5b.json)")
    cur_p = sub.add_parser(
        "curve", help="a calibration's refusal / false-refusal curve on a run it was not fitted on (no model)"
    )
    cur_p.add_argument("run", type=Path, help="run folder of the default pipeline (e.g. the test split)")
    cur_p.add_argument(
        "--calibration", type=Path, help="calibration file (default: the shipped one for the run's settings)"
    )
    tab_p = sub.add_parser("table", help="runs side by side, rates with Wilson 95%% intervals (markdown)")
    tab_p.add_argument("runs", nargs="+", metavar="NAME=RUN", help="a row name and its run folder")
    chk_p = sub.add_parser("check", help="check question sets: evidence and traps verbatim, no duplicates")
    chk_p.add_argument("files", type=Path, nargs="+")
    return run_cli(lambda: _dispatch(parser, argv))


def _dispatch(parser: ArgumentParser, argv: list[str] | None) -> int:
    args = parser.parse_args(argv)
    if args.command == "run" and args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.command == "compare":
        print(compare(args.run_a, args.run_b), end="")
        return 0
    if args.command == "recheck":
        return recheck_run(args)
    if args.command == "check":
        return check_datasets(args)
    if args.command == "table":
        return table_runs(args)
    if args.command == "calibrate":
        return calibrate_run(args)
    if args.command == "curve":
        return curve_run(args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
