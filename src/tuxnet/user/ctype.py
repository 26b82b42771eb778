"""C's ``<ctype.h>`` in the C locale, which the programs' parsers use: a digit is 0 to 9 and white
space is six characters.  (Python's ``str.isdigit`` also takes "²" and "٣", which ``int`` then
refuses or reads as a number, where a C program sees no digit.)"""

from __future__ import annotations

DIGITS = "0123456789"
HEXDIGITS = "0123456789abcdefABCDEF"
SPACE = " \t\n\v\f\r"


def isdigits(text: str) -> bool:
    """``text`` is one or more characters, each a digit for ``isdigit()``."""
    return bool(text) and all(c in DIGITS for c in text)
