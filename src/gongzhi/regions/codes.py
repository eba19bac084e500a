"""Arithmetic on the 12-digit statistical division codes (省2-市2-县2-乡3-村3).

Grid cells (网格) extend a village/community code with three digits (15 digits). Because
the code is hierarchical, a subtree is a key range and the ancestors are the code's own
prefixes: neither needs a table scan. Pure functions, no database.
"""

from __future__ import annotations

import re

# level -> number of significant digits
LEVEL_DIGITS = {1: 2, 2: 4, 3: 6, 4: 9, 5: 12, 6: 15}
LEVEL_NAMES = {1: "province", 2: "city", 3: "county", 4: "township", 5: "village", 6: "grid"}
CODE_RE = re.compile(r"^\d{12}(\d{3})?$")


def is_valid_code(code: str) -> bool:
    return bool(CODE_RE.match(code)) and level_of(code) is not None


def level_of(code: str) -> int | None:
    """The level a code denotes, from its trailing zeros; None if malformed."""
    if not CODE_RE.match(code):
        return None
    if len(code) == 15:
        return 6 if level_of(code[:12]) == 5 else None
    segments = [code[0:2], code[2:4], code[4:6], code[6:9], code[9:12]]
    nonzero = [i for i, seg in enumerate(segments) if seg.strip("0")]
    if not nonzero or nonzero[0] != 0:
        return None
    return nonzero[-1] + 1


def prefix(code: str) -> str:
    """The significant digits of a code: all its descendants start with them."""
    level = level_of(code)
    if level is None:
        raise ValueError(f"not a division code: {code!r}")
    return code[: LEVEL_DIGITS[level]]


def pad(prefix_digits: str) -> str:
    """'330523' -> '330523000000'; a 15-digit grid code is returned as it is."""
    return prefix_digits if len(prefix_digits) == 15 else prefix_digits.ljust(12, "0")


def parent_code(code: str) -> str | None:
    level = level_of(code)
    if level is None or level == 1:
        return None
    if level == 6:
        return code[:12]
    return pad(code[: LEVEL_DIGITS[level - 1]])


def ancestor_codes(code: str) -> list[str]:
    """Codes of the ancestors, top (province) first, excluding the code itself."""
    out: list[str] = []
    current = parent_code(code)
    while current is not None:
        out.append(current)
        current = parent_code(current)
    return list(reversed(out))


def is_within(code: str, scope: str) -> bool:
    """True if ``code`` is ``scope`` or one of its descendants."""
    if scope == code:
        return True
    return code.startswith(prefix(scope)) and len(code) >= len(scope)


def subtree_bounds(code: str) -> tuple[str, str]:
    """Inclusive key range ``(low, high)`` covering the code and all its descendants.

    ``WHERE code BETWEEN low AND high`` is an index range scan on both backends.
    """
    p = prefix(code)
    return p, p.ljust(15, "9")
