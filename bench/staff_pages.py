"""Benchmark of the long staff lists and "my requests" on the demo county, paged and not.

Run from the project root, after building a demo database (about 4 minutes for 3,000
cases; the real intake and lifecycle services play six months of history)::

    export GONGZHI_DATABASE_URL=sqlite:////tmp/pagesbench/demo.db
    export GONGZHI_KEY_FILE=/tmp/pagesbench/keys.json
    .venv/bin/gongzhi demo --county-only --cases 3000
    .venv/bin/python bench/staff_pages.py --db /tmp/pagesbench/demo.db \\
        --keys /tmp/pagesbench/keys.json

Each page is requested through the whole application (``TestClient``: sign-in cookie, CSRF,
routing, queries, Jinja rendering, translation) as the demo persona who uses it; the median
of ``--runs`` requests (the modes interleaved) is printed with the rows and the HTML size.
"paged" is the shipped behaviour (``queries.PAGE_SIZE`` = 50); "unpaged" sets the page size
to 100,000, i.e. one page holding every row, which is what the lists did before paging (less
their old caps of 200 or 500 rows). The triage queue is also timed without its duplicate
suggestions, to show what the suggestions cost. Reads only: the database is not changed.
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from gongzhi.app import create_app
from gongzhi.cases import queries, staff_views
from gongzhi.config import Settings

PASSWORD = "Anji-Demo-2026!"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PAGES = (
    ("citizen", "/my/cases", "my requests (citizen, 245 of their own)"),
    ("leader", "/cases/overdue", "overdue list (leader, county)"),
    ("handler_zhzf", "/cases/inbox", "inbox (enforcement bureau)"),
    ("dispatcher", "/cases/triage", "triage queue (dispatcher, county)"),
)


def _client(app: Any, username: str) -> TestClient:
    client = TestClient(app, base_url="http://testserver")
    page = client.get("/login")
    match = CSRF.search(page.text)
    assert match, "no sign-in form"
    resp = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": match.group(1)},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text[:300]
    return client


def _once(client: TestClient, path: str) -> tuple[float, int, int]:
    began = time.perf_counter()
    resp = client.get(path)
    took = time.perf_counter() - began
    assert resp.status_code == 200, (path, resp.status_code)
    rows = resp.text.count('<article class="case"') + resp.text.count('class="case-item"')
    rows += resp.text.count("<tr>") - (1 if "<thead>" in resp.text else 0)
    return took * 1000, len(resp.content), rows


class Mode:
    """One way of serving a page: a page size, and the triage queue's duplicate hints on or
    off. Modes are interleaved request by request, so that a busy machine slows all alike."""

    def __init__(self, name: str, size: int, hints: bool = True) -> None:
        self.name, self.size, self.hints = name, size, hints
        self.samples: list[float] = []
        self.html = self.rows = 0

    def run(self, client: TestClient, path: str) -> None:
        saved_size, saved_hints = queries.PAGE_SIZE, staff_views.duplicate_suggestions
        queries.PAGE_SIZE = self.size
        if not self.hints:
            staff_views.duplicate_suggestions = lambda *a, **k: []
        try:
            ms, self.html, self.rows = _once(client, path)
        finally:
            queries.PAGE_SIZE, staff_views.duplicate_suggestions = saved_size, saved_hints
        self.samples.append(ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="the demo SQLite file")
    parser.add_argument("--keys", type=Path, required=True, help="the demo's key file")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    settings = Settings(
        env="demo",
        database_url=f"sqlite:///{args.db}",
        key_file=args.keys,
        run_jobs_in_process=False,
    )
    app = create_app(settings)
    clients = {who: _client(app, who) for who, _path, _label in PAGES}
    print(f"{platform.processor() or platform.machine()}, Python {sys.version.split()[0]}")
    print(f"{'page':45} {'mode':28} {'median ms':>10} {'rows':>6} {'HTML KiB':>9}")
    for who, path, label in PAGES:
        modes = [Mode("paged (50)", queries.PAGE_SIZE), Mode("unpaged", 100_000)]
        if path == "/cases/triage":
            modes.append(Mode("paged, no duplicate hints", queries.PAGE_SIZE, hints=False))
        for _ in range(3):  # warm: templates compiled, the work calendar and caches filled
            for mode in modes:
                mode.run(clients[who], path)
        for mode in modes:
            mode.samples.clear()
        for _ in range(args.runs):
            for mode in modes:
                mode.run(clients[who], path)
        for mode in modes:
            ms = statistics.median(mode.samples)
            print(f"{label:45} {mode.name:28} {ms:10.0f} {mode.rows:6d} {mode.html / 1024:9.0f}")


if __name__ == "__main__":
    main()
