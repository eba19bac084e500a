"""The category classifier: which matter of the responsibility list (权责清单) a free-text
request is about.

Character n-grams (1–3 characters) weighted by TF-IDF feed a multinomial logistic regression,
whose class probabilities are the suggestion scores. Chinese needs no word segmenter this way,
and typos cost only the n-grams they touch.

- **Cold start**: with too few labelled cases the model learns from the list itself — each
  active matter's name, keywords and description.
- **Trained**: once there are enough cases, it learns from the cases' descriptions and their
  final ``matter_code`` (a dispatcher's correction is simply the final code), plus the list's
  own words so that a matter without cases can still be suggested. Accuracy is measured on a
  stratified held-out share of the cases before the stored model is fitted on all of them.

Models are stored in ``classifier_model``; :func:`suggest` uses the newest one, cached in the
process and re-checked at most every :data:`CHECK_SECONDS`. scikit-learn is imported only when
a model is built or loaded, so importing this module stays cheap.
"""

from __future__ import annotations

import io
import logging
import pickle
import random
import threading
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, Integer, LargeBinary, String, func, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.types import JSON

from gongzhi.audit.services import Actor, record
from gongzhi.db import Base, BigIntPK, UTCDateTime, utcnow

logger = logging.getLogger(__name__)

# Below this many labelled cases the held-out share (a fifth) is too small to tell a trained
# model from the cold start, so the cold start is kept.
MIN_TRAINED_EXAMPLES = 200
HOLDOUT_SHARE = 0.2
SEED = 20261128
# How often suggest() looks for a newer model or a changed matter list (two index reads).
CHECK_SECONDS = 30.0
# A suggestion must score at least twice what a blind guess among the model's matters would
# (1/n), capped at 5 %: on the synthetic requests this drops 1.5–3 % of the cold start's
# answers (about a third of them right) and greetings or chatter ("你好", "测试", "帮帮忙");
# a fixed floor of 0.05 dropped 15–20 %, 40 % of them right.
MIN_SCORE_OVER_CHANCE = 2.0
MIN_SCORE_CAP = 0.05
# Regularisation and stopping tolerance, chosen on the synthetic requests (bench/README.md):
# looser tolerances stop before the model has learnt anything, tighter ones take seconds
# longer for no gain.
C = 10.0
TOL = 1e-3


class ModelKind(StrEnum):
    COLD_START = "cold_start"
    TRAINED = "trained"


class ClassifierModel(Base):
    """A fitted classifier with the figures it was measured at.

    Trust boundary: ``pipeline`` is a pickle, and unpickling runs code. Only
    :func:`store_model` writes it (from objects this module built) and only
    :func:`_load_pipeline` reads it; nothing from outside (uploads, APIs) is ever unpickled.
    Whoever can write this table can already change any case, so it adds no new power.
    """

    __tablename__ = "classifier_model"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    # Labelled cases learnt from (trained) or texts of the list (cold start).
    n_examples: Mapped[int] = mapped_column(Integer)
    # Top-1 accuracy on held-out cases; None when there were no cases to measure on.
    accuracy: Mapped[float | None] = mapped_column(Float)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Emptied (b"") once KEEP_PIPELINES newer models exist.
    pipeline: Mapped[bytes] = mapped_column(LargeBinary)


@dataclass(frozen=True)
class Suggestion:
    matter_code: str
    score: float


@dataclass(frozen=True)
class MatterText:
    """What the list says about a matter: the cold-start teaching material."""

    code: str
    name: str
    keywords: tuple[str, ...] = ()
    description: str | None = None


@dataclass
class TrainedModel:
    kind: ModelKind
    pipeline: Any
    n_examples: int
    accuracy: float | None
    metrics: dict[str, Any] = field(default_factory=dict)


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, whitespace folded: the same text either way."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def matter_documents(matters: Iterable[MatterText]) -> list[tuple[str, str]]:
    """(text, code) pairs from the list: the name, each keyword, the description and all
    of them together, so that both short and long requests find their n-grams."""
    docs: list[tuple[str, str]] = []
    for m in matters:
        parts = [m.name, *m.keywords]
        if m.description:
            parts.append(m.description)
        docs.extend((p, m.code) for p in parts if p)
        docs.append(("，".join(parts), m.code))
    return docs


def _pipeline(c: float) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    analyzer="char",
                    ngram_range=(1, 3),
                    sublinear_tf=True,
                    preprocessor=normalise,
                    dtype=_float32(),
                ),
            ),
            ("model", LogisticRegression(C=c, solver="newton-cg", tol=TOL, max_iter=1000)),
        ]
    )


def _float32() -> Any:
    import numpy as np

    return np.float32


def fit_pipeline(
    pairs: Sequence[tuple[str, str]], c: float, docs: Sequence[tuple[str, str]] = ()
) -> Any:
    """Fit on ``pairs`` (cases) and ``docs`` (the list's words). Each matter's list words
    together weigh as much as its cases: thousands of cases in a few wordings would otherwise
    drown the keywords, and requests worded unlike any earlier case lose their best clue."""
    per_case: dict[str, int] = defaultdict(int)
    for _, code in pairs:
        per_case[code] += 1
    per_doc: dict[str, int] = defaultdict(int)
    for _, code in docs:
        per_doc[code] += 1
    weights = [1.0] * len(pairs) + [max(1.0, per_case[code] / per_doc[code]) for _, code in docs]
    everything = [*pairs, *docs]
    pipeline = _pipeline(c)
    pipeline.fit(
        [t for t, _ in everything], [code for _, code in everything], model__sample_weight=weights
    )
    return pipeline


def split_holdout(
    pairs: Sequence[tuple[str, str]], *, share: float = HOLDOUT_SHARE, seed: int = SEED
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """A stratified, seeded split: ``share`` of each matter's examples held out (at least one
    from every matter with two or more, none from a matter with a single example)."""
    by_code: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for pair in pairs:
        by_code[pair[1]].append(pair)
    rng = random.Random(seed)
    train: list[tuple[str, str]] = []
    test: list[tuple[str, str]] = []
    for code in sorted(by_code):
        group = by_code[code]
        rng.shuffle(group)
        k = max(1, round(len(group) * share)) if len(group) >= 2 else 0
        test.extend(group[:k])
        train.extend(group[k:])
    return train, test


# Score thresholds at which the measure reports how many requests a model would route on its
# own (coverage) and how many of those it gets right (precision); intake picks its own.
THRESHOLDS = (0.3, 0.5, 0.7)


def evaluate(pipeline: Any, pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Top-1 and top-3 accuracy of ``pipeline`` on ``pairs``, and for each of
    :data:`THRESHOLDS` the share of requests whose best score reaches it ("coverage") and
    the top-1 accuracy among those ("precision", None when none reach it)."""
    import numpy as np

    if not pairs:
        return {}
    proba = pipeline.predict_proba([t for t, _ in pairs])
    classes = pipeline.classes_
    order = np.argsort(-proba, axis=1)[:, :3]
    truth = np.array([code for _, code in pairs])
    right = classes[order[:, 0]] == truth
    top3 = sum(t in set(classes[row]) for row, t in zip(order, truth, strict=True))
    best = proba.max(axis=1)
    n = len(pairs)
    by_threshold: dict[str, Any] = {}
    for threshold in THRESHOLDS:
        taken = best >= threshold
        by_threshold[str(threshold)] = {
            "coverage": round(float(taken.mean()), 4),
            "precision": round(float(right[taken].mean()), 4) if taken.any() else None,
        }
    return {
        "top1": float(right.mean()),
        "top3": top3 / n,
        "n_test": n,
        "thresholds": by_threshold,
    }


def train(
    examples: Iterable[tuple[str, str]],
    matters: Sequence[MatterText],
    *,
    min_examples: int = MIN_TRAINED_EXAMPLES,
    seed: int = SEED,
    on_step: Callable[[str], None] | None = None,
) -> TrainedModel:
    """Fit a model for ``matters`` from labelled ``examples`` (text, matter_code).

    Examples of matters not in ``matters`` (deactivated since) are dropped. With fewer than
    ``min_examples`` left the model is a cold start from the list, measured on whatever
    examples there are; otherwise it is trained and measured on a held-out split.
    """
    step = on_step or (lambda _s: None)
    codes = {m.code for m in matters}
    pairs = [(normalise(t), c) for t, c in examples if c in codes and t and t.strip()]
    docs = matter_documents(matters)
    started = time.perf_counter()
    metrics: dict[str, Any] = {"n_matters": len(codes), "n_cases": len(pairs), "seed": seed}
    if len(pairs) < min_examples or len({c for _, c in pairs}) < 2:
        step("fitting the cold-start model on the responsibility list")
        pipeline = fit_pipeline([], C, docs)
        step("measuring on the labelled cases")
        held = evaluate(pipeline, pairs)
        metrics.update(held, n_train=len(docs), evaluated_on="all labelled cases")
        kind = ModelKind.COLD_START
    else:
        train_pairs, test_pairs = split_holdout(pairs, seed=seed)
        step("fitting on the training share")
        pipeline = fit_pipeline(train_pairs, C, docs)
        step("measuring on the held-out share")
        held = evaluate(pipeline, test_pairs)
        # The cold start on the same held-out share: what training on the cases has bought.
        baseline = evaluate(fit_pipeline([], C, docs), test_pairs)
        step("fitting on all cases")
        pipeline = fit_pipeline(pairs, C, docs)
        metrics.update(held, n_train=len(train_pairs), evaluated_on="held-out share")
        metrics.update(cold_start_top1=baseline["top1"], cold_start_top3=baseline["top3"])
        kind = ModelKind.TRAINED
    metrics["train_seconds"] = round(time.perf_counter() - started, 3)
    metrics["sklearn"] = _sklearn_version()
    return TrainedModel(
        kind=kind,
        pipeline=pipeline,
        n_examples=len(pairs) if kind is ModelKind.TRAINED else len(docs),
        accuracy=held.get("top1"),
        metrics=metrics,
    )


def _sklearn_version() -> str:
    import sklearn

    return str(sklearn.__version__)


# -- reading the platform's data ----------------------------------------------------------


def active_matters(db: Session) -> list[MatterText]:
    from gongzhi.org.models import Matter

    rows = db.scalars(select(Matter).where(Matter.active.is_(True)).order_by(Matter.code))
    return [MatterText(m.code, m.name, tuple(m.keywords or ()), m.description) for m in rows]


def demo_matter_texts() -> list[MatterText]:
    """The matters of the demo list shipped with the org domain, read without a database
    (benchmarks and tests)."""
    import csv
    from importlib.resources import files

    text = files("gongzhi.org").joinpath("data/responsibilities.csv").read_text("utf-8-sig")
    return [
        MatterText(
            row["事项编码"],
            row["事项名称"],
            tuple(k for k in row["关键词"].split("、") if k),
            row["事项说明"] or None,
        )
        for row in csv.DictReader(text.splitlines())
    ]


def case_examples(db: Session) -> list[tuple[str, str]]:
    """(description, matter_code) of the cases whose category people have confirmed.

    A closed case's category stood through handling (except "not ours", which says the
    category or the routing was wrong); a case the lead department signed for (accepted,
    feedback) was accepted as its matter. A merely dispatched case carries the classifier's
    own guess, and learning from it would only repeat the classifier's mistakes.
    """
    from gongzhi.cases.models import Case, CaseStatus, Outcome

    rows = db.execute(
        select(Case.description, Case.matter_code)
        .where(Case.matter_code.is_not(None))
        .where(
            or_(
                Case.status.in_([CaseStatus.ACCEPTED.value, CaseStatus.FEEDBACK.value]),
                (Case.status == CaseStatus.CLOSED.value)
                & (Case.outcome.is_(None) | (Case.outcome != Outcome.NOT_OURS.value)),
            )
        )
        .order_by(Case.id)
    )
    return [(d, c) for d, c in rows if c is not None]


# -- storing and loading --------------------------------------------------------------------


def store_model(db: Session, trained: TrainedModel, *, actor: Actor) -> ClassifierModel:
    """Save a fitted model (it becomes the one :func:`suggest` uses) with its audit event."""
    buffer = io.BytesIO()
    pickle.dump(trained.pipeline, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    row = ClassifierModel(
        kind=trained.kind.value,
        n_examples=trained.n_examples,
        accuracy=trained.accuracy,
        metrics=trained.metrics,
        pipeline=buffer.getvalue(),
    )
    db.add(row)
    db.flush()
    record(
        db,
        actor=actor,
        action="cases.classifier.train",
        object_type="classifier_model",
        object_id=row.id,
        new={
            "kind": row.kind,
            "n_examples": row.n_examples,
            "accuracy": row.accuracy,
            "top3": trained.metrics.get("top3"),
            "n_test": trained.metrics.get("n_test"),
        },
    )
    _drop_old_pipelines(db)
    invalidate()
    return row


# Older models keep their row and figures (the history of accuracy) but not their pickle,
# which reaches ~10 MiB at 100,000 cases; the newest few stay loadable for comparison.
KEEP_PIPELINES = 3


def _drop_old_pipelines(db: Session) -> None:
    keep = select(ClassifierModel.id).order_by(ClassifierModel.id.desc()).limit(KEEP_PIPELINES)
    db.execute(
        update(ClassifierModel)
        .where(ClassifierModel.id.not_in(keep.scalar_subquery()))
        .where(func.length(ClassifierModel.pipeline) > 0)
        .values(pipeline=b"")
        .execution_options(synchronize_session=False)
    )


def retrain(
    db: Session,
    *,
    actor: Actor,
    examples: Iterable[tuple[str, str]] | None = None,
    source: str = "cases",
    min_examples: int = MIN_TRAINED_EXAMPLES,
    on_step: Callable[[str], None] | None = None,
) -> ClassifierModel:
    """Train on the platform's labelled cases (or on ``examples``, described by ``source``,
    e.g. "synthetic") and store the model."""
    step = on_step or (lambda _s: None)
    step("reading the responsibility list and the cases")
    matters = active_matters(db)
    pairs = case_examples(db) if examples is None else list(examples)
    trained = train(pairs, matters, min_examples=min_examples, on_step=step)
    trained.metrics["source"] = source
    step("storing the model")
    return store_model(db, trained, actor=actor)


def latest_model(db: Session) -> ClassifierModel | None:
    return db.scalars(select(ClassifierModel).order_by(ClassifierModel.id.desc()).limit(1)).first()


def _load_pipeline(blob: bytes) -> Any:
    # Trust boundary: see ClassifierModel; this blob was written by store_model.
    return pickle.loads(blob)


# -- suggesting -------------------------------------------------------------------------------


@dataclass
class _Loaded:
    model_id: int | None
    matters_version: tuple[Any, ...]
    pipeline: Any
    active: frozenset[str]
    checked_at: float
    scorer: _Scorer | None = None

    def __post_init__(self) -> None:
        if self.scorer is None:
            self.scorer = _Scorer.of(self.pipeline)


class _Scorer:
    """The fitted pipeline's arithmetic for one text, without scikit-learn's per-call input
    validation and sparse-matrix set-up, which cost several times the arithmetic itself at
    intake: the same character n-grams, sublinear tf × idf, L2 norm, and the multinomial
    model's softmax over ``X · coefᵀ + intercept``. Built only for the pipeline
    :func:`_pipeline` makes; anything else is scored by scikit-learn."""

    def __init__(self, vectorizer: Any, model: Any) -> None:
        import numpy as np

        self.vocabulary: dict[str, int] = dict(vectorizer.vocabulary_)
        self.idf = np.asarray(vectorizer.idf_, dtype=vectorizer.dtype)
        self.min_n, self.max_n = vectorizer.ngram_range
        # One row per feature: a text's few hundred n-grams gather their rows at once.
        self.coef_rows = np.ascontiguousarray(np.asarray(model.coef_, dtype=np.float64).T)
        self.intercept = np.asarray(model.intercept_, dtype=np.float64)

    @classmethod
    def of(cls, pipeline: Any) -> _Scorer | None:
        try:
            vectorizer = pipeline.named_steps["tfidf"]
            model = pipeline.named_steps["model"]
            usable = (
                vectorizer.analyzer == "char"
                and vectorizer.preprocessor is normalise
                and vectorizer.sublinear_tf
                and vectorizer.use_idf
                and vectorizer.norm == "l2"
                and vectorizer.strip_accents is None
                and vectorizer.input == "content"
                and len(model.classes_) > 2  # multinomial: softmax over the classes
                and model.coef_.shape[0] == len(model.classes_)
            )
            return cls(vectorizer, model) if usable else None
        except (AttributeError, KeyError, TypeError, ValueError):
            return None

    def _ngrams(self, text: str) -> list[str]:
        # normalise() has already folded white space, as the vectorizer would.
        grams: list[str] = []
        for n in range(self.min_n, min(self.max_n + 1, len(text) + 1)):
            grams.extend(text[i : i + n] for i in range(len(text) - n + 1))
        return grams

    def proba(self, text: str) -> Any:
        """Class probabilities (ordered as the model's classes), or None when the text has
        no n-gram the model knows."""
        import numpy as np

        counts: dict[int, int] = {}
        vocabulary = self.vocabulary
        for gram in self._ngrams(normalise(text)):
            column = vocabulary.get(gram)
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        if not counts:
            return None
        columns = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=self.idf.dtype, count=len(counts))
        weights = (np.log(tf) + 1.0) * self.idf[columns]
        weights /= np.sqrt(np.dot(weights, weights))
        decision = weights.astype(np.float64) @ self.coef_rows[columns] + self.intercept
        decision -= decision.max()
        exp = np.exp(decision)
        return exp / exp.sum()


_lock = threading.Lock()
_cache: dict[str, _Loaded] = {}


def invalidate() -> None:
    """Forget the cached model (store_model calls it; other processes wait for the check)."""
    with _lock:
        _cache.clear()


# The cold start is a pure function of the list's words: kept across invalidate() so that
# storing a model or a test's rollback does not refit it.
_cold_starts: dict[tuple[MatterText, ...], Any] = {}


def _cold_start(matters: Sequence[MatterText]) -> Any:
    key = tuple(matters)
    pipeline = _cold_starts.get(key)
    if pipeline is None:
        pipeline = fit_pipeline([], C, matter_documents(matters))
        if len(_cold_starts) >= 4:
            _cold_starts.clear()
        _cold_starts[key] = pipeline
    return pipeline


def _matters_version(db: Session) -> tuple[Any, ...]:
    from gongzhi.org.models import Matter

    count, latest = db.execute(select(func.count(Matter.id), func.max(Matter.updated_at))).one()
    return (count, str(latest))


def _current(db: Session) -> _Loaded | None:
    slot = str(db.get_bind().engine.url)
    with _lock:
        cached = _cache.get(slot)
        now = time.monotonic()
        if cached is not None and now - cached.checked_at < CHECK_SECONDS:
            return cached
        model_id = db.scalar(select(func.max(ClassifierModel.id)))
        version = _matters_version(db)
        if cached is not None and (cached.model_id, cached.matters_version) == (model_id, version):
            cached.checked_at = now
            return cached
        matters = active_matters(db)
        if not matters:
            _cache.pop(slot, None)
            return None
        pipeline = None
        if cached is not None and cached.model_id == model_id and model_id is not None:
            pipeline = cached.pipeline  # only the list changed: keep the model
        elif model_id is not None:
            row = db.get(ClassifierModel, model_id)
            try:
                pipeline = _load_pipeline(row.pipeline) if row is not None else None
            except Exception:
                # A model pickled by another scikit-learn version may not load; suggest from
                # the list until `gongzhi cases retrain` stores a fresh one.
                logger.exception("classifier model %s could not be loaded", model_id)
        if pipeline is None:
            # No stored model yet (a fresh install): a cold start, kept in memory only.
            pipeline = _cold_start(matters)
        loaded = _Loaded(model_id, version, pipeline, frozenset(m.code for m in matters), now)
        _cache[slot] = loaded
        return loaded


def warm_up(session_factory: Any) -> None:
    """Load the newest model (or fit the cold start) ahead of the first request, so that the
    first citizen does not wait for scikit-learn to import (run in a background thread)."""
    from gongzhi.db import session_scope

    try:
        with session_scope(session_factory) as db:
            _current(db)
    except Exception:  # no tables yet: the first request loads it instead
        logger.warning("classifier warm-up failed", exc_info=True)


def suggest(db: Session, text: str, *, limit: int = 3) -> list[Suggestion]:
    """Up to ``limit`` matters for ``text``, best first, with probabilities; [] when nothing
    fits (empty text, no n-gram the model knows, or no matter scoring above the floor:
    twice chance, at most 5 %).
    Deactivated matters are never suggested."""
    if not text or not text.strip() or limit < 1:
        return []
    loaded = _checked_recently(db)
    if loaded is None:
        # In a savepoint: a failing query must not abort the caller's transaction
        # (PostgreSQL); between checks no query runs and no savepoint is needed.
        with db.begin_nested():
            loaded = _current(db)
    if loaded is None:
        return []
    return _suggest_with(loaded, text, limit)


def _checked_recently(db: Session) -> _Loaded | None:
    """The cached model if its version was checked less than CHECK_SECONDS ago."""
    cached = _cache.get(str(db.get_bind().engine.url))
    if cached is not None and time.monotonic() - cached.checked_at < CHECK_SECONDS:
        return cached
    return None


def _suggest_with(loaded: _Loaded, text: str, limit: int) -> list[Suggestion]:
    if loaded.scorer is not None:
        proba = loaded.scorer.proba(text)
        if proba is None:
            return []
    else:
        features = loaded.pipeline.named_steps["tfidf"].transform([text])
        if features.nnz == 0:
            return []
        proba = loaded.pipeline.named_steps["model"].predict_proba(features)[0]
    classes = loaded.pipeline.classes_
    floor = min(MIN_SCORE_CAP, MIN_SCORE_OVER_CHANCE / len(classes))
    out: list[Suggestion] = []
    for i in proba.argsort()[::-1]:
        score = float(proba[i])
        if score < floor:
            break
        code = str(classes[i])
        if code in loaded.active:
            out.append(Suggestion(code, round(score, 4)))
            if len(out) == limit:
                break
    return out
