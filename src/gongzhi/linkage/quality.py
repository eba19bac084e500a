"""Linkage quality against a known truth.

Definitions (records r, predicted cluster P(r), true entity T(r)):

- **Pairwise precision / recall / F1 of the predicted links** (before clustering): the scored
  pairs at or above the threshold against the true pairs (both records of one entity).
  Recall of this measure counts only true pairs the blocking rules brought together; true pairs
  never compared are misses, so it includes the blocking's loss.
- **Cluster F1** (the headline figure): the same pairwise measure taken over the *clusters* —
  every pair of records put in one cluster is a predicted link, every pair of records of one
  true entity is a true link. Precision = |predicted ∩ true| / |predicted|, recall =
  |predicted ∩ true| / |true|, F1 their harmonic mean. Counted from the cluster × entity
  contingency table: TP = Σ C(n_ij, 2), predicted = Σ C(n_i·, 2), true = Σ C(n_·j, 2).
  Large wrongly merged clusters weigh quadratically, which is what a master index must avoid.
- **B-cubed precision / recall / F1**: per record, the share of its cluster that is the same
  entity (precision) and the share of its entity that is in its cluster (recall), averaged
  over records. Reported beside cluster F1 because it weighs every record equally.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _scores(tp: float, predicted: float, actual: float) -> Scores:
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1)


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def cluster_scores(cluster_of: Mapping[str, str], truth_of: Mapping[str, str]) -> Scores:
    """Pairwise precision/recall/F1 over clusters (``cluster F1``; see the module docstring).

    Both mappings are record id → cluster id / true entity id over the same records.
    """
    joint = Counter((cluster_of[r], truth_of[r]) for r in truth_of)
    tp = sum(_pairs(n) for n in joint.values())
    predicted = sum(_pairs(n) for n in Counter(cluster_of[r] for r in truth_of).values())
    actual = sum(_pairs(n) for n in Counter(truth_of.values()).values())
    return _scores(tp, predicted, actual)


def bcubed_scores(cluster_of: Mapping[str, str], truth_of: Mapping[str, str]) -> Scores:
    """B-cubed precision/recall/F1 (per-record averages; see the module docstring)."""
    joint = Counter((cluster_of[r], truth_of[r]) for r in truth_of)
    cluster_size = Counter(cluster_of[r] for r in truth_of)
    truth_size = Counter(truth_of.values())
    n = len(truth_of)
    if not n:
        return Scores(1.0, 1.0, 1.0)
    # Each record of cell (c, t) has precision n_ct / |c| and recall n_ct / |t|.
    precision = sum(k * k / cluster_size[c] for (c, _t), k in joint.items()) / n
    recall = sum(k * k / truth_size[t] for (_c, t), k in joint.items()) / n
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1)


def pair_scores(predicted_pairs: Iterable[tuple[str, str]], truth_of: Mapping[str, str]) -> Scores:
    """Pairwise precision/recall/F1 of predicted links (pairs of record ids)."""
    seen: set[tuple[str, str]] = set()
    tp = 0
    for left, right in predicted_pairs:
        pair = (left, right) if left < right else (right, left)
        if pair in seen:
            continue
        seen.add(pair)
        if truth_of[left] == truth_of[right]:
            tp += 1
    actual = sum(_pairs(n) for n in Counter(truth_of.values()).values())
    return _scores(tp, len(seen), actual)
