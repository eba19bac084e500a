"""Category classifier: cold-start and trained accuracy on synthetic requests, training time
and suggest() latency (through a stored model in a scratch SQLite database).

    .venv/bin/python bench/classifier.py [--per-matter 150] [--calls 5000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.cases import classify
from gongzhi.cases.synthetic import Part, requests_per_matter
from gongzhi.db import Base, make_engine
from gongzhi.org.models import Matter


def pairs(per_matter: int, seed: int, part: Part = "all") -> list[tuple[str, str]]:
    return [(r.text, r.matter_code) for r in requests_per_matter(per_matter, seed=seed, part=part)]


def fmt(m: dict[str, Any]) -> str:
    def right(f: dict[str, Any]) -> str:
        return "—" if f["precision"] is None else f"{f['precision']:.2f}"

    cuts = "; ".join(f"≥{t}: {f['coverage']:.2f}/{right(f)}" for t, f in m["thresholds"].items())
    return f"top-1 {m['top1']:.3f}, top-3 {m['top3']:.3f} (n={m['n_test']}) [score {cuts}]"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-matter", type=int, default=150)
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()

    matters = classify.demo_matter_texts()
    fresh = pairs(20, seed=2)  # unseen requests, all wordings
    unseen = pairs(20, seed=3, part="eval")  # unseen requests in unseen wordings
    classify.fit_pipeline([], classify.C, classify.matter_documents(matters))  # warm imports

    t0 = time.perf_counter()
    cold = classify.fit_pipeline([], classify.C, classify.matter_documents(matters))
    print(f"{len(matters)} matters; cold-start fit {time.perf_counter() - t0:.2f} s")
    print(f"  cold start on fresh requests:            {fmt(classify.evaluate(cold, fresh))}")
    print(f"  cold start on unseen wordings:           {fmt(classify.evaluate(cold, unseen))}")

    for per_matter in (20, args.per_matter):
        model = classify.train(pairs(per_matter, seed=1), matters, min_examples=1)
        m = model.metrics
        print(
            f"trained on {m['n_cases']} requests: held-out split {fmt(m)}; "
            f"train() {m['train_seconds']:.2f} s (fit, measure, refit on all)"
        )
        stored = classify.evaluate(model.pipeline, fresh)
        print(f"  stored model on fresh requests:          {fmt(stored)}")
        narrow = classify.train(pairs(per_matter, seed=1, part="train"), matters, min_examples=1)
        rest = classify.evaluate(narrow.pipeline, unseen)
        print(f"  trained on 2/3 of wordings, on the rest: {fmt(rest)}")

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        tables = [Matter.__table__, classify.ClassifierModel.__table__, AuditEvent.__table__]
        Base.metadata.create_all(engine, tables=tables)
        with Session(engine) as db:
            for m_ in matters:
                db.add(
                    Matter(
                        code=m_.code,
                        name=m_.name,
                        kind="event",
                        keywords=list(m_.keywords),
                        description=m_.description,
                    )
                )
            db.flush()
            classify.store_model(db, model, actor=SystemActor("bench"))
            db.commit()
            texts = [t for t, _ in fresh]
            classify.suggest(db, texts[0])  # load the model into the process cache
            timings = []
            for i in range(args.calls):
                t0 = time.perf_counter()
                classify.suggest(db, texts[i % len(texts)])
                timings.append(time.perf_counter() - t0)
        engine.dispose()
    timings.sort()
    print(
        f"suggest() over {args.calls} calls: median {statistics.median(timings) * 1e3:.2f} ms, "
        f"p95 {timings[int(len(timings) * 0.95)] * 1e3:.2f} ms, "
        f"p99 {timings[int(len(timings) * 0.99)] * 1e3:.2f} ms, "
        f"max {timings[-1] * 1e3:.2f} ms"
    )


if __name__ == "__main__":
    main()
