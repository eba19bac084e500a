"""Fixtures of the privacy tests (see helpers.py)."""

from tests.cases.helpers import no_classifier  # noqa: F401
from tests.privacy.helpers import signed_in  # noqa: F401
