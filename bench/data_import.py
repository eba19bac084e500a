"""Benchmark of a data-hub import: 1,000,000 rows of a 10-column person list, validated
against the standard ``person_list`` Table Schema and standardised, into a new version.

Run from the project root::

    .venv/bin/python bench/data_import.py                       # SQLite and PostgreSQL
    .venv/bin/python bench/data_import.py --rows 100000 --backends sqlite

What is measured: ``gongzhi data import``'s path without the terminal (the job in one
transaction, the version in another, as the command does): streaming the CSV, detecting its
encoding, matching the header, per cell the standardisation hooks (ID numbers, names:
full width, spaces, traditional → simplified, pinyin; phones; addresses → region codes
through the resolver; region codes), type and constraint checks, the accuracy checks (GB
11643 check characters, region codes against the region table), consistency (birth date
and sex against the ID number, duplicate keys), sealing the sensitive fields (SM4-GCM, one
seal per row), the keyed row and key indexes (HMAC-SM3), bulk inserts in batches, the
issues table and the scores. The bar (issue 5): under 3 minutes for 1,000,000 rows.

The file: synthetic people of 湖州市 (names from common surnames and given-name characters,
about 3 % written in traditional characters and 1 % with full-width letters or spaces
inside, addresses in the demo county's villages with house numbers), with planted faults:
0.5 % wrong ID check characters, 0.3 % malformed phone numbers (rejected), 0.2 % repeated
ID numbers (rejected), 0.2 % birth dates that contradict the ID number. The database is the
demo county (``build_demo``, county only) in a fresh SQLite file and a fresh PostgreSQL
database ``bench_data_import``.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from _common import add_database_options, fresh_database, print_machine
from sqlalchemy import select

from gongzhi.audit.services import SystemActor
from gongzhi.config import Settings
from gongzhi.crypto import get_provider
from gongzhi.data import services
from gongzhi.data.models import ImportJob
from gongzhi.data.reading import sha256_of
from gongzhi.db import make_engine, make_session_factory, session_scope
from gongzhi.demo import build_demo
from gongzhi.people.idnumber import CHECK_CHARACTERS, check_character
from gongzhi.regions.models import Region

HEADER = [
    "身份证号",
    "姓名",
    "性别",
    "出生日期",
    "民族",
    "联系电话",
    "现住址",
    "行政区划代码",
    "人员类别",
    "更新日期",
]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建国志强文斌宇浩凯"
    "晨欣怡梓涵子轩雨婷佳琪思远海燕春梅晓东国庆建华德胜金凤丹丹"
)
TRADITIONAL = {
    "伟": "偉",
    "华": "華",
    "国": "國",
    "东": "東",
    "庆": "慶",
    "凤": "鳳",
    "丽": "麗",
    "兰": "蘭",
    "红": "紅",
    "军": "軍",
    "陈": "陳",
    "刘": "劉",
    "张": "張",
    "赵": "趙",
    "吴": "吳",
    "黄": "黃",
}
COUNTIES = ("330523", "330502", "330503", "330521", "330522")
NATIONS = ["汉族"] * 97 + ["畲族", "回族", "苗族"]
KINDS = ["户籍人口"] * 8 + ["流动人口"] * 2


def villages(url: str) -> list[tuple[str, str]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Region.code, Region.name, Region.parent_code).where(
                Region.level == 5, Region.code.like("330523%")
            )
        ).all()
        towns = dict(
            conn.execute(
                select(Region.code, Region.name).where(
                    Region.level == 4, Region.code.like("330523%")
                )
            ).all()
        )
    engine.dispose()
    return [(code, f"安吉县{towns.get(parent or '', '')}{name}") for code, name, parent in rows]


def generate(path: Path, rows: int, places: list[tuple[str, str]], seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    seen: set[str] = set()
    ids: list[str] = []
    planted = {"bad_check": 0, "bad_phone": 0, "repeated_id": 0, "birth_mismatch": 0}
    start = date(1940, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for _ in range(rows):
            roll = rng.random()
            if roll < 0.002 and ids:
                number = rng.choice(ids)
                planted["repeated_id"] += 1
                born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
            else:
                while True:
                    born = start + timedelta(days=rng.randrange(0, 24000))
                    first17 = f"{rng.choice(COUNTIES)}{born:%Y%m%d}{rng.randrange(1000):03d}"
                    if first17 not in seen:
                        seen.add(first17)
                        break
                check = check_character(first17)
                if 0.002 <= roll < 0.007:
                    check = CHECK_CHARACTERS[(CHECK_CHARACTERS.index(check) + 1) % 11]
                    planted["bad_check"] += 1
                number = first17 + check
                if len(ids) < 200_000:
                    ids.append(number)
            sex = "男" if int(number[16]) % 2 else "女"
            name = rng.choice(SURNAMES) + "".join(
                rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2)))
            )
            style = rng.random()
            if style < 0.03:
                name = "".join(TRADITIONAL.get(c, c) for c in name)
            elif style < 0.04:
                name = name[0] + "　" + name[1:]
            birth = born
            if 0.007 <= roll < 0.009:
                birth = born + timedelta(days=1)
                planted["birth_mismatch"] += 1
            phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
            if 0.009 <= roll < 0.012:
                phone = phone[:7]
                planted["bad_phone"] += 1
            code, place = rng.choice(places)
            writer.writerow(
                [
                    number,
                    name,
                    sex,
                    birth.isoformat(),
                    rng.choice(NATIONS),
                    phone,
                    f"{place}{rng.randrange(1, 300)}号",
                    code,
                    rng.choice(KINDS),
                    f"2026-{rng.randrange(1, 12):02d}-{rng.randrange(1, 29):02d}",
                ]
            )
    return planted


def run(
    backend: str, url: str, csv_path: Path, rows: int, seed: int, reuse: bool
) -> dict[str, Any]:
    settings = Settings(env="test", database_url=url, _env_file=None)
    t0 = time.perf_counter()
    build_demo(settings, full_china=False, cases=0)
    built = time.perf_counter() - t0
    planted: dict[str, int] = {}
    if not (reuse and csv_path.exists()):
        t0 = time.perf_counter()
        planted = generate(csv_path, rows, villages(url), seed)
        print(f"generated {rows:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)
    factory = make_session_factory(make_engine(url))
    actor = SystemActor("bench")
    provider = get_provider(settings)
    with session_scope(factory) as db:
        dataset = services.create_dataset(
            db,
            services.DatasetSpec(
                code="bench-persons",
                name="人员名单（基准测试）",
                department_code="330523-MZ",
                standard="person_list",
                sharing_condition="基准测试",
                max_rejected_ratio=0.1,
            ),
            actor=actor,
        )
        dataset_id = dataset.id
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    with session_scope(factory) as db:
        dataset = db.get(services.Dataset, dataset_id)
        job = services.start_import_job(
            db,
            dataset,
            filename=csv_path.name,
            size=csv_path.stat().st_size,
            sha256=sha256_of(csv_path),
            as_of=None,
            actor=actor,
        )
        job_id = job.id
    with session_scope(factory) as db:
        running = db.get(ImportJob, job_id)
        outcome = services.import_version(db, running, csv_path, provider=provider, actor=actor)
        version = outcome.version
        figures = {
            "rows_read": version.rows_read,
            "rows_kept": version.row_count,
            "rows_rejected": version.rows_rejected,
            "quality": version.quality["dataset"],
            "counts": {k: v for k, v in version.quality["counts"].items() if k != "fields"},
        }
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    return {
        "backend": backend,
        "demo_build_s": round(built, 1),
        "file_mb": round(csv_path.stat().st_size / 1e6, 1),
        "import_wall_s": round(wall, 1),
        "import_cpu_s": round(cpu, 1),
        "rows_per_s": round(figures["rows_read"] / wall),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "planted": planted,
        **figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    add_database_options(parser, sqlite_path="/tmp/bench_data_import.sqlite")
    parser.add_argument("--csv", default="/tmp/bench_data_import.csv")
    parser.add_argument("--reuse", action="store_true", help="keep an existing CSV file")
    args = parser.parse_args()
    csv_path = Path(args.csv)
    reuse = args.reuse
    for backend in args.backends.split(","):
        url = fresh_database(backend, args, pg_name="bench_data_import")
        result = run(backend, url, csv_path, args.rows, args.seed, reuse)
        reuse = True  # the same file for every backend
        print(json.dumps(result, ensure_ascii=False), flush=True)
    print_machine()


if __name__ == "__main__":
    main()
