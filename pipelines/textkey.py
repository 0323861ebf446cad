"""The form in which names are compared (no heavy imports: the reader process uses it too)."""
from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_TRAILING = re.compile(r"[:：\s]+$")


def norm_key(text: object) -> str:
    """The form in which names are compared.

    NFKC folds full-width letters, digits and brackets to half-width; white
    space (including line breaks inside a cell) is removed; a trailing colon
    is dropped; Latin letters are lower-cased.
    """
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    s = _SPACES.sub("", s)
    s = _TRAILING.sub("", s)
    return s.lower()
