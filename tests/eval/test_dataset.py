"""The project's question sets: they load, their evidence is real, and the splits are clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT
from eval.dataset import DatasetError, EvalItem, check_items, load_dataset
from index.articles import article_files, load_document

DATASETS = PROJECT_ROOT / "eval" / "datasets"
ARTICLES = PROJECT_ROOT / "data" / "articles"


@pytest.fixture(scope="module")
def splits() -> dict[str, list[EvalItem]]:
    return {name: load_dataset(DATASETS / f"{name}.jsonl") for name in ("dev", "test")}


@pytest.fixture(scope="module")
def train() -> list[EvalItem]:
    """The training split: only for fitting the calibrated decision, never for reported scores."""
    return load_dataset(DATASETS / "train.jsonl")


@pytest.fixture(scope="module")
def corpus() -> dict[str, str]:
    """Cleaned text of every shipped article, by file name (the text the index holds)."""
    return {path.name: load_document(path, 2_000_000).text for path in article_files(ARTICLES)}


def test_both_splits_load_with_every_kind(splits: dict[str, list[EvalItem]]) -> None:
    for name, items in splits.items():
        kinds = {item.kind for item in items}
        assert kinds == {"single-turn", "multi-turn", "unanswerable"}, name
        docs = {item.doc for item in items}
        assert docs == {"guardian-baghuz-final-battle.txt", "spiegel-beaten-but-not-defeated.txt"}, name


def test_answerable_items_have_answers_and_evidence(splits: dict[str, list[EvalItem]]) -> None:
    for items in splits.values():
        for item in items:
            if item.answerable:
                assert item.answers and all(a.strip() for a in item.answers), item.id
                assert item.evidence, item.id
            else:
                assert item.answers == [], item.id


def test_evidence_is_verbatim_in_the_cleaned_corpus(
    splits: dict[str, list[EvalItem]], corpus: dict[str, str]
) -> None:
    assert len(corpus) == 2
    missing = [
        item.id
        for items in splits.values()
        for item in items
        if item.answerable
        and item.evidence not in corpus.get(item.doc or "", "")
        and not any(item.evidence in text for text in corpus.values())
    ]
    assert missing == []


def test_the_sets_are_sound_large_and_adversarial(
    splits: dict[str, list[EvalItem]], corpus: dict[str, str]
) -> None:
    items = splits["dev"] + splits["test"]
    # Evidence and traps verbatim, answers only where answerable, no question twice.
    assert check_items(items, corpus) == []
    unanswerable = [i for i in items if not i.answerable]
    adversarial = [i for i in unanswerable if i.adversarial]
    assert len(items) >= 300 and len(unanswerable) >= 120 and len(adversarial) >= 80
    # Every kind of trap is in both splits.
    for name, split in splits.items():
        assert {i.adversarial for i in split if i.adversarial} == {
            "swap",
            "negation",
            "number",
            "other_article",
            "false_premise",
        }, name


def test_ids_unique_and_splits_disjoint(splits: dict[str, list[EvalItem]], train: list[EvalItem]) -> None:
    dev_ids = [item.id for item in splits["dev"]]
    test_ids = [item.id for item in splits["test"]]
    train_ids = [item.id for item in train]
    assert len(set(dev_ids)) == len(dev_ids)
    assert len(set(test_ids)) == len(test_ids)
    assert len(set(train_ids)) == len(train_ids)
    assert set(dev_ids).isdisjoint(test_ids)
    assert set(train_ids).isdisjoint(dev_ids) and set(train_ids).isdisjoint(test_ids)


def test_train_split_is_sound_and_apart_from_the_evaluation_sets(
    splits: dict[str, list[EvalItem]], train: list[EvalItem], corpus: dict[str, str]
) -> None:
    # Evidence and traps verbatim in the cleaned corpus, answers only where answerable.
    assert check_items(train, corpus) == []
    assert {item.kind for item in train} == {"single-turn", "multi-turn", "unanswerable"}
    docs = {item.doc for item in train}
    assert docs == {"guardian-baghuz-final-battle.txt", "spiegel-beaten-but-not-defeated.txt"}
    for item in train:
        if item.answerable:
            assert item.answers and all(a.strip() for a in item.answers) and item.evidence, item.id
        else:
            assert item.answers == [], item.id
    unanswerable = [i for i in train if not i.answerable]
    assert len(train) >= 300 and len(unanswerable) >= 140
    assert len([i for i in unanswerable if i.adversarial]) >= 110
    assert {i.adversarial for i in unanswerable if i.adversarial} == {
        "swap",
        "negation",
        "number",
        "other_article",
        "false_premise",
    }

    # No question of dev or test is repeated in train.
    def key(item: EvalItem) -> str:
        return " ".join(item.question.lower().split())

    asked = {key(i) for items in splits.values() for i in items if not i.history}
    assert not [i.id for i in train if not i.history and key(i) in asked]


def test_multi_turn_history_is_for_the_system_to_play(splits: dict[str, list[EvalItem]]) -> None:
    multi = [item for items in splits.values() for item in items if item.history]
    assert multi
    assert all(turn.user.strip() for item in multi for turn in item.history)


def test_bad_lines_are_reported_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "question": "q?", "answers": ["x"]}\n{not json}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad\.jsonl:2"):
        load_dataset(bad)
    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"id": "a", "question": "q?", "answers": ["x"]}\n' * 2, encoding="utf-8")
    with pytest.raises(DatasetError, match="duplicate id"):
        load_dataset(dup)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="no items"):
        load_dataset(empty)
