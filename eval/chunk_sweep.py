"""Pick chunk size and overlap by retrieval recall: ``python -m eval.chunk_sweep``.

For each (size, overlap) it builds a throw-away index of the articles and reports, over the
answerable items of a dataset (the dev split by default), hit@k and MRR of the evidence among
the hybrid-retrieved passages, plus the prompt size k passages cost. Multi-turn items are
searched with their earlier user turns prepended (what a no-LLM rewrite would do).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from core.settings import PROJECT_ROOT, load_settings
from eval.dataset import load_dataset
from eval.metrics import first_hit_rank
from index.ingest import Ingestor
from index.store import open_index
from rag.retrieval import HybridRetriever


def sweep(dataset: Path, grid: list[tuple[int, int]], k: int) -> list[dict]:
    items = [i for i in load_dataset(dataset) if i.answerable and i.evidence]
    rows = []
    for size, overlap in grid:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(
                data_dir=Path(tmp), chunk_size_tokens=size, chunk_overlap_tokens=overlap, top_k=k
            )
            index = open_index(settings)
            Ingestor(index, show_progress=False).sync_folder(settings.articles_dir)
            retriever = HybridRetriever(index, settings)
            ranks, chars = [], []
            for item in items:
                query = " ".join([t.user for t in item.history] + [item.question])
                passages = retriever.retrieve(query)
                chars.append(sum(len(p.text) for p in passages))
                ranks.append(first_hit_rank(item.evidence or "", [p.text for p in passages]))
            n = len(items)
            rows.append(
                {
                    "size": size,
                    "overlap": overlap,
                    "chunks": index.stats().chunks,
                    f"hit@{k}": round(sum(r is not None for r in ranks) / n, 3),
                    "hit@1": round(sum(r == 1 for r in ranks) / n, 3),
                    "mrr": round(sum(1 / r for r in ranks if r) / n, 3),
                    "prompt_chars": round(sum(chars) / n),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, default=PROJECT_ROOT / "eval/datasets/dev.jsonl")
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    grid = [(96, 16), (128, 24), (160, 32), (200, 40), (256, 48), (320, 64), (200, 0), (400, 80)]
    sweep(args.dataset, grid, args.k)


if __name__ == "__main__":
    main()
