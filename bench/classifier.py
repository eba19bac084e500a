"""Category classifier: cold-start and trained accuracy on synthetic requests, training
time and suggest() latency. Needs no database (the matters come from the demo list).

    .venv/bin/python bench/classifier.py [--per-matter 150] [--calls 2000]
"""

from __future__ import annotations

import argparse
import statistics
import time

from gongzhi.cases import classify
from gongzhi.cases.synthetic import requests_per_matter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-matter", type=int, default=150)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()

    matters = classify.demo_matter_texts()
    requests = requests_per_matter(args.per_matter, seed=1)
    pairs = [(r.text, r.matter_code) for r in requests]
    print(f"{len(matters)} matters, {len(pairs)} synthetic requests")

    cold = classify.train(pairs, matters, min_examples=10**9)
    print(
        f"cold start: top1 {cold.metrics['top1']:.3f} top3 {cold.metrics['top3']:.3f} "
        f"on {cold.metrics['n_test']} (fit {cold.metrics['train_seconds']:.2f} s)"
    )
    trained = classify.train(pairs, matters, min_examples=1)
    print(
        f"trained: top1 {trained.metrics['top1']:.3f} top3 {trained.metrics['top3']:.3f} "
        f"on {trained.metrics['n_test']} held out (train+eval+refit "
        f"{trained.metrics['train_seconds']:.2f} s)"
    )
    # A second, unseen set (another seed) for the stored model fitted on everything.
    fresh = [(r.text, r.matter_code) for r in requests_per_matter(20, seed=99)]
    print("trained on all, fresh seed:", classify.evaluate(trained.pipeline, fresh))
    print("cold start, fresh seed:", classify.evaluate(cold.pipeline, fresh))

    for name, model in (("cold start", cold), ("trained", trained)):
        loaded = classify._Loaded(1, (), model.pipeline, frozenset(m.code for m in matters), 0)
        texts = [t for t, _ in fresh]
        timings = []
        for i in range(args.calls):
            t0 = time.perf_counter()
            classify._suggest_with(loaded, texts[i % len(texts)], 3)
            timings.append(time.perf_counter() - t0)
        timings.sort()
        print(
            f"suggest latency {name}: median {statistics.median(timings) * 1e3:.2f} ms, "
            f"p95 {timings[int(len(timings) * 0.95)] * 1e3:.2f} ms"
        )


if __name__ == "__main__":
    main()
