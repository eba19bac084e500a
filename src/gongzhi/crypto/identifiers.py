"""What a mainland ID number and a mobile number look like, to find them where they must not
be: in text the platform echoes back (error messages) and, in the test suite, in database
files, dumps and logs (tests/security/plaintext.py).

The shapes are strict enough to pass over hashes, ciphertexts, credit codes and case numbers:
an ID number is 6 region digits (first 1–6), a birth date 19xx/20xx with a real month and
day, 3 digits and a check character; a mobile number is 11 digits starting 13–19. Neither may
be part of a longer run of letters and digits (hex digests, base64, alphanumeric codes).
"""

from __future__ import annotations

import re

from gongzhi.crypto.masking import mask_id_number, mask_phone

_ID = (
    r"(?<![0-9A-Za-z])[1-6][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])"
    r"(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx](?![0-9A-Za-z])"
)
_MOBILE = r"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])"

ID_SHAPE = re.compile(_ID.encode())
PHONE_SHAPE = re.compile(_MOBILE.encode())
_ID_TEXT = re.compile(_ID)
_MOBILE_TEXT = re.compile(_MOBILE)


def shaped_values(data: bytes) -> set[bytes]:
    """Every distinct ID-shaped or mobile-shaped value in ``data``."""
    return set(ID_SHAPE.findall(data)) | set(PHONE_SHAPE.findall(data))


def find_identifiers(data: bytes) -> list[tuple[int, bytes]]:
    """``(offset, value)`` of every ID-shaped or mobile-shaped value in ``data``, in order."""
    found = [(m.start(), m.group()) for m in ID_SHAPE.finditer(data)]
    found += [(m.start(), m.group()) for m in PHONE_SHAPE.finditer(data)]
    return sorted(found)


def mask_identifier(value: str | bytes) -> str:
    """The value masked by the Chinese convention for its kind (for reports that say where a
    value was found without repeating it)."""
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    return mask_id_number(text) if len(text) == 18 else mask_phone(text)


def mask_identifiers(text: str) -> str:
    """``text`` with every ID number and mobile number in it masked (330523********123X,
    138****1999): for messages that echo what a caller sent."""
    text = _ID_TEXT.sub(lambda m: mask_id_number(m.group()), text)
    return _MOBILE_TEXT.sub(lambda m: mask_phone(m.group()), text)
