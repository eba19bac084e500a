"""Macros imported from another template see the request's translations.

Translations are per request (in each template's context, never on the shared Jinja
environment), and Jinja imports macros *without* the caller's context unless told: such a
macro's ``_()`` would fall back to the untranslated Chinese on an English page.
"""

from __future__ import annotations

import re

from gongzhi.web.templating import PACKAGE_DIR

TEMPLATES = PACKAGE_DIR / "web" / "templates"
IMPORT = re.compile(r"\{%-?\s*(from|import)\s[^%]*%\}")


def test_every_macro_import_passes_the_context() -> None:
    missing = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for match in IMPORT.finditer(path.read_text(encoding="utf-8")):
            if "with context" not in match.group(0):
                missing.append(f"{path.relative_to(TEMPLATES)}: {match.group(0)}")
    assert not missing, "add `with context`:\n" + "\n".join(missing)
