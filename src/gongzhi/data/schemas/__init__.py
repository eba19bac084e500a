"""Standard Table Schemas shipped with the data hub (one JSON file each)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def standard_schemas() -> dict[str, dict[str, Any]]:
    """name → Table Schema descriptor, for every ``*.json`` here."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(HERE.glob("*.json"))
    }


def standard_schema(name: str) -> dict[str, Any] | None:
    found = standard_schemas().get(name)
    return None if found is None else json.loads(json.dumps(found))
