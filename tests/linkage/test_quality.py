"""The quality measures on hand-made clusterings (definitions in gongzhi.linkage.quality)."""

from __future__ import annotations

import pytest

from gongzhi.linkage.quality import bcubed_scores, cluster_scores, pair_scores

TRUTH = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "b2": "B", "c1": "C"}


def test_perfect_clustering_scores_one() -> None:
    scores = cluster_scores(dict(TRUTH), TRUTH)
    assert (scores.precision, scores.recall, scores.f1) == (1.0, 1.0, 1.0)
    assert bcubed_scores(dict(TRUTH), TRUTH).f1 == 1.0


def test_a_wrong_merge_costs_precision_and_a_split_costs_recall() -> None:
    merged = {**TRUTH, "c1": "B"}  # C wrongly joins B: predicted pairs 3 + 3, true ones 3 + 1
    scores = cluster_scores(merged, TRUTH)
    assert scores.precision == pytest.approx(4 / 6)
    assert scores.recall == 1.0
    split = {**TRUTH, "a3": "A'"}  # A split 2 + 1: 1 + 1 predicted pairs, all true, of 4
    scores = cluster_scores(split, TRUTH)
    assert scores.precision == 1.0
    assert scores.recall == pytest.approx(2 / 4)
    assert scores.f1 == pytest.approx(2 * 0.5 / 1.5)


def test_bcubed_weighs_each_record() -> None:
    merged = {**TRUTH, "c1": "B"}
    scores = bcubed_scores(merged, TRUTH)
    # a*: 1 each; b1, b2: 2/3 each; c1: 1/3 → (3 + 4/3 + 1/3) / 6
    assert scores.precision == pytest.approx((3 + 4 / 3 + 1 / 3) / 6)
    assert scores.recall == 1.0


def test_pair_scores_count_each_pair_once() -> None:
    scores = pair_scores([("a1", "a2"), ("a2", "a1"), ("b1", "c1")], TRUTH)
    assert scores.precision == 0.5
    assert scores.recall == pytest.approx(1 / 4)
