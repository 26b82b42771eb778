"""What iputils' programs (``ping``, ``arping``, ``tracepath``) share, as its
``iputils_common.c`` holds it: the way they stop with a message, and how they read a number
from their command line."""

from __future__ import annotations

from collections.abc import Callable

from tuxnet.kernel.errno import strerror
from tuxnet.user import libc


def iputils_version(prog: str) -> str:
    """``IPUTILS_VERSION``: what ``-V`` prints, Debian 12's iputils and the features it was built with."""
    return (f"{prog} from iputils 20221126\n"
            "libcap: yes, IDN: yes, NLS: no, error.h: yes, getrandom(): yes, __fpending(): yes\n")


class IputilsExit(Exception):
    """The program stops (``error(status, errnum, ...)``, or an exit after a usage text): the
    text it prints, its name first (none for an empty one), and the exit status."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(message)
        self.status = status


def strtol_or_err(prog: str, text: str, errmesg: str, low: int, high: int) -> int:
    """``strtol_or_err``: ``text`` a whole decimal number (``strtol``'s leading blanks and sign
    allowed) within [low, high], else the program's complaint and exit status 1."""
    return _number_or_err(libc.strtol, prog, text, errmesg, low, high)


def strtoul_or_err(prog: str, text: str, errmesg: str, low: int, high: int) -> int:
    """``strtoul_or_err``: as ``strtol_or_err`` with ``strtoul`` (``-1`` being ULONG_MAX)."""
    return _number_or_err(libc.strtoul, prog, text, errmesg, low, high)


def _number_or_err(parse: Callable[[str], tuple[int, int, int]], prog: str, text: str, errmesg: str, low: int,
                   high: int) -> int:
    value, end, err = parse(text)
    if not text or err or end == 0 or end != len(text):
        raise IputilsExit(1, f"{prog}: {errmesg}: '{text}'" + (f": {strerror(err)}" if err else ""))
    if not low <= value <= high:
        raise IputilsExit(1, f"{prog}: {errmesg}: '{text}': out of range: {low} <= value <= {high}")
    return value
