"""Benchmark: a person found by citizen ID number through the keyed index, among 1,000,000.

Run from the project root::

    .venv/bin/python bench/personal_lookup.py                       # both backends
    .venv/bin/python bench/personal_lookup.py --people 100000 --backends sqlite
    .venv/bin/python bench/personal_lookup.py --reuse               # time the loaded databases

The people are written through the encryption path (``SealedField.values_for``: SM4-GCM of
the ID number, name and phone bound to table, column and a random row key, HMAC-SM3 indexes of
the ID number and phone) and inserted in bulk with Core INSERTs of 20,000 rows. ID numbers are
valid GB 11643 numbers of ten Zhejiang counties, birth dates 1940-2008. A lookup is
``gongzhi.people.queries.find_by_id_number``: parse and normalise the number, compute its
index, SELECT through the unique index, load the ORM object, and open the sealed name. The
lookups ask for random known numbers (hits) and, one in ten, unknown ones (misses).

SQLite: a fresh file ``/tmp/bench_people.sqlite``. PostgreSQL: the database ``bench_people``
on 127.0.0.1, dropped and created (``--pg-url`` names the server's ``postgres`` database).
Keys: a key file of its own, ``/tmp/bench_people_keys.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gongzhi.crypto import keyfile
from gongzhi.crypto.fields import new_row_key, use_provider
from gongzhi.crypto.software import SoftwareCryptoProvider
from gongzhi.db import make_engine
from gongzhi.migrations.runner import upgrade
from gongzhi.people.idnumber import check_character
from gongzhi.people.models import Person, Sex
from gongzhi.people.queries import find_by_id_number

COUNTIES = (
    "330523",  # 安吉县
    "330522",  # 长兴县
    "330521",  # 德清县
    "330502",  # 吴兴区
    "330503",  # 南浔区
    "330106",  # 西湖区
    "330110",  # 余杭区
    "330782",  # 义乌市
    "331082",  # 临海市
    "330381",  # 瑞安市
)
FIRST_BIRTH = date(1940, 1, 1)
DAYS = 25_000  # to 2008
CHUNK = 20_000
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红娥玲芬芳燕彩春菊凤洁梅"
    "琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛"
    "青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜"
    "纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"
)


def identity(i: int) -> tuple[str, date, str]:
    """The i-th person's ID number, birth date and county: unique for i < 10 × 25,000 × 400."""
    county = COUNTIES[i % len(COUNTIES)]
    born = FIRST_BIRTH + timedelta(days=(i // len(COUNTIES)) % DAYS)
    sequence = 100 + i // (len(COUNTIES) * DAYS)
    first17 = f"{county}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17), born, county


def person_row(i: int, provider: SoftwareCryptoProvider, now: datetime) -> dict[str, Any]:
    number, born, county = identity(i)
    rng = random.Random(i)
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    row_key = new_row_key()
    row: dict[str, Any] = {
        "row_key": row_key,
        "birth_date": born,
        "sex": (Sex.MALE if int(number[16]) % 2 else Sex.FEMALE).value,
        "household_region_code": county + "000000",
        "created_at": now,
        "updated_at": now,
    }
    row |= Person.id_number.values_for(number, row_key=row_key, provider=provider)
    row |= Person.name.values_for(name, row_key=row_key, provider=provider)
    row |= Person.phone.values_for(phone, row_key=row_key, provider=provider)
    return row


def load(engine: Engine, n: int, provider: SoftwareCryptoProvider) -> float:
    started = time.perf_counter()
    now = datetime.now(UTC)
    table = Person.__table__
    for start in range(0, n, CHUNK):
        rows = [person_row(i, provider, now) for i in range(start, min(start + CHUNK, n))]
        with engine.begin() as conn:
            conn.execute(insert(table), rows)
        done = min(start + CHUNK, n)
        rate = done / (time.perf_counter() - started)
        print(f"\r  {done:>9,} people ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(
            text("VACUUM ANALYZE person" if engine.dialect.name != "sqlite" else "ANALYZE")
        )
    return time.perf_counter() - started


def time_lookups(
    engine: Engine, n: int, lookups: int, provider: SoftwareCryptoProvider
) -> dict[str, float]:
    rng = random.Random(7)
    asks: list[tuple[str, bool]] = []
    for k in range(lookups):
        if k % 10 == 9:  # a miss: a valid number nobody in the table has
            number, _, _ = identity(n + rng.randrange(10**6))
            asks.append((number, False))
        else:
            asks.append((identity(rng.randrange(n))[0], True))
    times: list[float] = []
    cpu: list[float] = []  # this thread's CPU time: the lookup's own cost, without waiting
    with use_provider(provider), Session(engine) as db:
        for number, _ in asks[:50]:  # warm-up: caches, prepared statements
            find_by_id_number(db, number)
        db.expunge_all()
        for number, expect in asks:
            t0, c0 = time.perf_counter(), time.thread_time()
            person = find_by_id_number(db, number)
            name = person.name if person is not None else None
            times.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
            assert (person is not None) == expect and (name is not None) == expect, number
            db.expunge_all()  # every lookup loads from the database, not the identity map
    times.sort()
    cpu.sort()
    return {
        "median_ms": statistics.median(times) * 1000,
        "p99_ms": times[int(len(times) * 0.99) - 1] * 1000,
        "max_ms": times[-1] * 1000,
        "cpu_median_ms": statistics.median(cpu) * 1000,
        "cpu_p99_ms": cpu[int(len(cpu) * 0.99) - 1] * 1000,
    }


def crypto_rates(provider: SoftwareCryptoProvider) -> dict[str, float]:
    out: dict[str, float] = {}
    for label, size in (("11-byte phone", 11), ("200-byte record", 200)):
        plain = os.urandom(size)
        ad = b"gongzhi-field/1\x1fperson\x1fphone\x1f" + os.urandom(16)
        count = 50_000
        t0 = time.perf_counter()
        sealed = [provider.seal(plain, associated_data=ad) for _ in range(count)]
        seal_rate = count / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for s in sealed:
            provider.open(s, associated_data=ad)
        open_rate = count / (time.perf_counter() - t0)
        out[f"seal {label}/s"] = seal_rate
        out[f"open {label}/s"] = open_rate
    t0 = time.perf_counter()
    for i in range(50_000):
        provider.blind_index("id_number", b"33052319850315%04d" % i)
    out["HMAC-SM3 index/s"] = 50_000 / (time.perf_counter() - t0)
    return out


def _provider(path: Path) -> SoftwareCryptoProvider:
    if not path.exists():
        keyfile.write(path, keyfile.KeyMaterial.generate())
    return SoftwareCryptoProvider.from_file(path)


def _engine(backend: str, args: argparse.Namespace) -> Engine:
    if backend == "sqlite":
        path = Path("/tmp/bench_people.sqlite")
        if not args.reuse:
            for p in path.parent.glob(path.name + "*"):
                p.unlink()
        return make_engine(f"sqlite:///{path}")
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    if not args.reuse:
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS bench_people WITH (FORCE)"))
            conn.execute(text("CREATE DATABASE bench_people"))
    admin.dispose()
    return make_engine(args.pg_url.rsplit("/", 1)[0] + "/bench_people")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=5_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--reuse", action="store_true", help="Time the databases loaded before.")
    args = parser.parse_args()
    provider = _provider(Path("/tmp/bench_people_keys.json"))
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    for label, rate in crypto_rates(provider).items():
        print(f"  {label:<24} {rate:>10,.0f}")
    for backend in args.backends.split(","):
        engine = _engine(backend, args)
        if not args.reuse:
            with engine.begin() as conn:
                upgrade(conn)
            print(f"{backend}: loading {args.people:,} people through the sealing path")
            seconds = load(engine, args.people, provider)
            print(f"{backend}: loaded in {seconds:.0f} s ({args.people / seconds:,.0f} people/s)")
        result = time_lookups(engine, args.people, args.lookups, provider)
        print(
            f"{backend}: find_by_id_number over {args.people:,} people, {args.lookups:,} lookups"
            f" (10 % misses): median {result['median_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms,"
            f" max {result['max_ms']:.2f} ms; this process's CPU per lookup: median"
            f" {result['cpu_median_ms']:.2f} ms, p99 {result['cpu_p99_ms']:.2f} ms"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
