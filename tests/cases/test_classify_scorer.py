"""The classifier's own scoring path gives scikit-learn's answer, in a fraction of the time."""

from __future__ import annotations

import random

import numpy as np
import pytest

from gongzhi.cases import classify
from gongzhi.cases.synthetic import PHRASES, compose


@pytest.fixture(scope="module")
def pipeline() -> object:
    matters = classify.demo_matter_texts()
    rng = random.Random(5)
    pairs = [(compose(code, rng).text, code) for code in sorted(PHRASES) for _ in range(3)]
    return classify.fit_pipeline(pairs, classify.C, classify.matter_documents(matters))


def _sklearn_proba(pipeline: object, text: str) -> np.ndarray | None:
    features = pipeline.named_steps["tfidf"].transform([text])  # type: ignore[attr-defined]
    if features.nnz == 0:
        return None
    return pipeline.named_steps["model"].predict_proba(features)[0]  # type: ignore[attr-defined, no-any-return]


def test_the_scorer_matches_scikit_learn_on_requests_people_write(pipeline: object) -> None:
    scorer = classify._Scorer.of(pipeline)
    assert scorer is not None
    rng = random.Random(11)
    texts = [compose(code, rng).text for code in sorted(PHRASES) for _ in range(2)]
    texts += ["  路灯  不亮了 ！", "ＡＢＣ 全角文字", "井", "x"]
    for text in texts:
        expected = _sklearn_proba(pipeline, text)
        got = scorer.proba(text)
        if expected is None:
            assert got is None and text == "x"
            continue
        assert got is not None
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
        assert int(np.argmax(got)) == int(np.argmax(expected))


def test_a_text_without_known_ngrams_scores_nothing_on_both_paths(pipeline: object) -> None:
    scorer = classify._Scorer.of(pipeline)
    assert scorer is not None
    assert scorer.proba("ꙮꙮꙮ") is None and _sklearn_proba(pipeline, "ꙮꙮꙮ") is None


def test_suggestions_are_the_same_with_and_without_the_scorer(pipeline: object) -> None:
    codes = frozenset(PHRASES)
    fast = classify._Loaded(1, (), pipeline, codes, 0.0)
    slow = classify._Loaded(1, (), pipeline, codes, 0.0)
    slow.scorer = None
    assert fast.scorer is not None
    rng = random.Random(3)
    for code in sorted(PHRASES)[:30]:
        text = compose(code, rng).text
        assert classify._suggest_with(fast, text, 3) == classify._suggest_with(slow, text, 3)


def test_a_pipeline_of_another_shape_is_left_to_scikit_learn() -> None:
    assert classify._Scorer.of(object()) is None
