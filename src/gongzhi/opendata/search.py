"""``package_search`` over the published datasets: the part of CKAN's Solr syntax that its
clients use.

- ``q``: words, all of which must occur (case-insensitive substrings, so Chinese needs no
  word splitting) in the title, description, tags, organisation, code or field titles;
  ``field:value`` terms in ``q`` filter like ``fq``; ``*:*`` or empty matches everything.
- ``fq``: ``field:value`` terms (value bare or "quoted"), each optionally negated with ``-``
  (a leading ``+`` is accepted), all of which must hold.
- ``sort``: ``score desc``, ``metadata_modified desc|asc``, ``metadata_created``,
  ``title_string asc|desc``, ``name asc|desc``, comma-separated.
- facets over ``organization``, ``tags``, ``res_format``, ``license_id`` and the
  catalogue's own ``update_cycle``, ``resource_class``, ``sharing_type``.

A county or a province catalogue holds hundreds to a few thousand datasets, so this runs in
memory over the listings rather than keeping a search index in step with the catalogue.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gongzhi.opendata.queries import Listing, organization_id


class SearchQueryError(Exception):
    """An ``fq``/``q``/``sort`` that cannot be understood (CKAN's "Search Query Error")."""


FACET_TITLES = {
    "organization": "Organizations",
    "tags": "Tags",
    "res_format": "Formats",
    "license_id": "Licenses",
    "groups": "Groups",
    "update_cycle": "Update cycle",
    "resource_class": "Resource class",
    "sharing_type": "Sharing type",
}

_TERM = re.compile(r'\s*([+-]?)([A-Za-z_][\w.]*):("(?:[^"\\]|\\.)*"|\S+)\s*')


def _values(listing: Listing, name: str) -> list[str] | None:
    """A listing's values of a filterable field; None for a field we do not know."""
    d = listing.dataset
    if name in ("organization", "owner_org_name"):
        return [listing.organization_name]
    if name == "owner_org":
        return [organization_id(d.department.code)]
    if name in ("tags", "tag"):
        return listing.tags
    if name == "res_format":
        return ["CSV"] if listing.version is not None else []
    if name == "license_id":
        return [listing.license["id"]]
    if name == "name":
        return [listing.name]
    if name == "id":
        return [listing.id]
    if name in ("dataset_type", "type"):
        return ["dataset"]
    if name == "capacity":
        return ["private" if listing.private else "public"]
    if name == "state":
        return ["active"]
    if name == "groups":
        return []
    if name == "update_cycle":
        return [d.update_cycle]
    if name == "resource_class":
        return [d.resource_class]
    if name == "sharing_type":
        return [d.sharing_type]
    if name == "provider_department_code":
        return [d.department.code]
    return None


@dataclass
class Clause:
    field: str
    value: str
    negated: bool

    def holds(self, listing: Listing) -> bool:
        values = _values(listing, self.field) or []
        if self.value == "*":
            found = bool(values)
        else:
            found = self.value.lower() in (v.lower() for v in values)
        return found != self.negated


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_fq(text: str) -> list[Clause]:
    clauses = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TERM.match(text, pos)
        if match is None:
            raise SearchQueryError(f"cannot parse fq at {text[pos : pos + 30]!r}")
        sign, name, value = match.groups()
        if name.startswith("extras_"):
            name = name.removeprefix("extras_")
        if name not in FILTERABLE:
            raise SearchQueryError(f"undefined field {name}")
        clauses.append(Clause(name, _unquote(value), sign == "-"))
        pos = match.end()
    return clauses


FILTERABLE = frozenset(
    {
        "organization",
        "owner_org_name",
        "owner_org",
        "tags",
        "tag",
        "res_format",
        "license_id",
        "name",
        "id",
        "dataset_type",
        "type",
        "capacity",
        "state",
        "groups",
        "update_cycle",
        "resource_class",
        "sharing_type",
        "provider_department_code",
    }
)


def parse_q(text: str) -> tuple[list[str], list[Clause]]:
    """Free words and ``field:value`` clauses of ``q``."""
    words: list[str] = []
    clauses: list[Clause] = []
    text = (text or "").strip()
    if text in ("", "*:*", "*"):
        return words, clauses
    for token in re.findall(r'[+-]?[A-Za-z_][\w.]*:(?:"(?:[^"\\]|\\.)*"|\S+)|"[^"]*"|\S+', text):
        if ":" in token and not token.startswith('"') and _TERM.fullmatch(token):
            clauses.extend(parse_fq(token))
        elif token.upper() in ("AND", "OR", "NOT", "&&", "||"):
            continue  # boolean operators: every word is required anyway
        else:
            word = _unquote(token).strip()
            if word and word != "*":
                words.append(word.lower())
    return words, clauses


def _text_parts(listing: Listing) -> list[tuple[str, int]]:
    """Searchable text and its weight in the score."""
    d = listing.dataset
    parts = [
        (d.name, 5),
        (" ".join(listing.tags), 3),
        (d.department.name + " " + (d.department.short_name or ""), 2),
        (d.code + " " + listing.name, 2),
        (d.abstract or "", 1),
        (" ".join(f"{f['name']} {f.get('title', '')}" for f in listing.fields), 1),
    ]
    return [(text.lower(), weight) for text, weight in parts]


def score(listing: Listing, words: list[str]) -> float:
    """0 when a word is missing; otherwise the weighted count of where the words occur."""
    if not words:
        return 1.0
    parts = _text_parts(listing)
    total = 0.0
    for word in words:
        found = sum(weight for text, weight in parts if word in text)
        if not found:
            return 0.0
        total += found
    return total


_SORT_KEYS: dict[str, Callable[[Listing, float], Any]] = {
    "score": lambda listing, s: s,
    "metadata_modified": lambda listing, s: listing.modified,
    "metadata_created": lambda listing, s: listing.dataset.created_at,
    "title_string": lambda listing, s: listing.dataset.name,
    "title": lambda listing, s: listing.dataset.name,
    "name": lambda listing, s: listing.name,
}


def parse_sort(text: str) -> list[tuple[str, bool]]:
    """``[(key, descending)]``; the default is CKAN's ``score desc, metadata_modified desc``."""
    text = (text or "").strip() or "score desc, metadata_modified desc"
    out = []
    for part in text.split(","):
        bits = part.split()
        if not bits:
            continue
        if len(bits) > 2 or bits[0] not in _SORT_KEYS:
            raise SearchQueryError(f"cannot sort by {part.strip()!r}")
        direction = bits[1].lower() if len(bits) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise SearchQueryError(f"bad sort direction {bits[1]!r}")
        out.append((bits[0], direction == "desc"))
    return out


@dataclass
class SearchResult:
    count: int
    results: list[Listing]
    facets: dict[str, dict[str, int]]


def search(
    listings: list[Listing],
    *,
    q: str = "",
    fq: str = "",
    sort: str = "",
    start: int = 0,
    rows: int = 10,
    facet_fields: list[str] | None = None,
    facet_limit: int = 50,
    facet_mincount: int = 1,
) -> SearchResult:
    words, clauses = parse_q(q)
    clauses += parse_fq(fq)
    order = parse_sort(sort)
    scored = []
    for listing in listings:
        if not all(c.holds(listing) for c in clauses):
            continue
        s = score(listing, words)
        if s > 0:
            scored.append((listing, s))
    # Stable sorts from the last key to the first; ties end in code order (the input's).
    for key, descending in reversed(order):
        sort_key = _SORT_KEYS[key]
        scored.sort(key=lambda pair: sort_key(pair[0], pair[1]), reverse=descending)
    facets: dict[str, dict[str, int]] = {}
    for name in facet_fields or []:
        counts: Counter[str] = Counter()
        for listing, _s in scored:
            counts.update(set(_values(listing, name) or []))
        items = [(k, n) for k, n in counts.most_common() if n >= facet_mincount]
        items.sort(key=lambda kn: (-kn[1], kn[0]))
        if facet_limit >= 0:
            items = items[:facet_limit]
        facets[name] = dict(items)
    page = [listing for listing, _s in scored[start : start + rows]]
    return SearchResult(count=len(scored), results=page, facets=facets)
