"""ss's filter (iproute2's misc/ssfilter.y and ss.c): the states to show and an expression on
the sockets' addresses and ports.

    ss [OPTIONS] [ state STATE-FILTER | exclude STATE-FILTER ]... [ EXPRESSION ]

STATE-FILTER is a state (``established``, ``syn-sent``, ``syn-recv``, ``fin-wait-1``,
``fin-wait-2``, ``time-wait``, ``closed``, ``close-wait``, ``last-ack``, ``listening``,
``closing``) or a group (``all``, ``connected``, ``synchronized``, ``bucket``, ``big``); each
``state`` adds, each ``exclude`` takes away from all (``scan_state``).  EXPRESSION joins
conditions with ``and`` (``&``, ``&&``, or nothing), ``or`` (``|``, ``||``) and ``not``
(``!``), with parentheses; ``and`` and ``or`` bind equally, from the left, as ss's grammar has
them.  The conditions: ``dst``/``src`` HOST (``10.0.0.1``, ``10.0.0.0/8``, ``*:80``,
``10.0.0.1:http``, ``[10.0.0.1]:80``, a host name), optionally after ``=``; ``dport``/``sport``
OP PORT (OP one of ``=`` ``==`` ``eq``, ``!=`` ``neq``, ``>=`` ``ge``, ``<=`` ``le``, ``>``
``gt``, ``<`` ``lt``; PORT ``:80``, ``80``, ``:http``); ``dev`` [``=``|``!=``] NAME; and
``autobound`` (a local port in ``ip_local_port_range``).  Errors are ss's, word for word.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tuxnet.net.core.utils import in_aton
from tuxnet.user.ctype import isdigits

SS_ALL = (1 << 12) - 2  # every state, 1 (established) to 11 (closing)
SS_LISTEN, SS_CLOSE, SS_TIME_WAIT, SS_SYN_RECV, SS_SYN_SENT, SS_ESTABLISHED = 10, 7, 6, 3, 2, 1
# SS_CONN: what ss shows of TCP by default
SS_CONN = SS_ALL & ~((1 << SS_LISTEN) | (1 << SS_CLOSE) | (1 << SS_TIME_WAIT) | (1 << SS_SYN_RECV))

_STATE_NAMES = ("UNKNOWN", "established", "syn-sent", "syn-recv", "fin-wait-1", "fin-wait-2", "time-wait",
                "unconnected", "close-wait", "last-ack", "listening", "closing")
_STATE_GROUPS = {
    "close": 1 << SS_CLOSE, "closed": 1 << SS_CLOSE, "syn-rcv": 1 << SS_SYN_RECV, "all": SS_ALL,
    "connected": SS_ALL & ~((1 << SS_CLOSE) | (1 << SS_LISTEN)),
    "synchronized": SS_ALL & ~((1 << SS_CLOSE) | (1 << SS_LISTEN) | (1 << SS_SYN_SENT)),
    "bucket": (1 << SS_SYN_RECV) | (1 << SS_TIME_WAIT),
    "big": SS_ALL & ~((1 << SS_SYN_RECV) | (1 << SS_TIME_WAIT)),
}
# A socket as a condition sees it: (local address, local port, remote address, remote port,
# bound device's index)
Sock = tuple[int, int, int, int, int]
Cond = Callable[[Sock], bool]


class SsFilterError(ValueError):
    """A filter ss refuses: its message, and ss's exit status (1, or 255 for ``exit(-1)``)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def scan_state(name: str) -> int:
    """``scan_state``: a state's bit, or a group's bits."""
    lowered = name.lower()
    if lowered in _STATE_GROUPS:
        return _STATE_GROUPS[lowered]
    if lowered in _STATE_NAMES:
        return 1 << _STATE_NAMES.index(lowered)
    raise SsFilterError(f"ss: wrong state name: {name}\n", 255)


def parse_states(args: list[str]) -> tuple[int | None, list[str]]:
    """The leading ``state X`` and ``exclude X`` words: the states they give (None when there
    are none), and the words after them, the expression."""
    states: int | None = None
    i = 0
    while i < len(args) and args[i] in ("state", "exclude", "excl"):
        if i + 1 == len(args):
            raise SsFilterError('Command line is not complete. Try option "help"\n', 255)
        if args[i] == "state":
            states = (states or 0) | scan_state(args[i + 1])
        else:
            states = (SS_ALL if states is None else states) & ~scan_state(args[i + 1])
        i += 2
    return states, args[i:]


_KEYWORDS = {"dst", "src", "dport", "sport", "dev", "autobound", "and", "&", "&&", "or", "|", "||", "not", "!",
             "(", ")", "=", "==", "eq", "!=", "neq", ">=", "ge", "<=", "le", ">", "gt", "<", "lt"}
_OPS = {"=": "eq", "==": "eq", "eq": "eq", "!=": "ne", "neq": "ne", ">=": "ge", "ge": "ge", "<=": "le", "le": "le",
        ">": "gt", "gt": "gt", "<": "lt", "lt": "lt"}


def _syntax_error() -> SsFilterError:
    return SsFilterError('ss: bison bellows (while parsing filter): "syntax error!" Sorry.\n'
                         "Usage: ss [ OPTIONS ]\n       ss [ OPTIONS ] [ FILTER ]\n"
                         "       FILTER := [ state STATE-FILTER ] [ EXPRESSION ]\n", 255)


def _port(text: str, proto: str) -> int:
    """A port: a number or a service's name; -1 for ``*``, any."""
    if text == "*":
        return -1
    if isdigits(text):
        return int(text)
    from tuxnet.user.resolv import getservbyname

    try:
        return getservbyname(text, proto)
    except OSError:
        raise SsFilterError(f'Error: "{text}" does not look like a port.\nCannot parse dst/src address.\n',
                            1) from None


def _hostcond(text: str, is_port: bool, proto: str) -> tuple[int, int, int]:
    """``parse_hostcond``: (address, prefix length, port) of ``10.0.0.0/8:80`` and its kinds;
    prefix length 0 for any address, port -1 for any port."""
    if is_port:
        return 0, 0, _port(text[1:] if text.startswith(":") else text, proto)
    port = -1
    addr = text
    bracketed = re.fullmatch(r"\[([^\]]*)\](?::(.*))?", text)
    if bracketed:
        addr, port_text = bracketed.group(1), bracketed.group(2)
        port = _port(port_text, proto) if port_text else -1
    elif ":" in text:
        addr, _, port_text = text.rpartition(":")
        port = _port(port_text, proto)
    if addr in ("", "*", "0/0"):
        return 0, 0, port
    name, slash, plen_text = addr.partition("/")
    bad = SsFilterError(f'Error: an inet prefix is expected rather than "{text}".\nCannot parse dst/src address.\n', 1)
    if slash and not (isdigits(plen_text) and int(plen_text) <= 32):
        raise bad
    try:
        ip = in_aton(name)
    except ValueError:
        from tuxnet.user.resolv import gethostbyname

        try:
            ip = in_aton(gethostbyname(name).h_addr_list[0])
        except (OSError, IndexError):
            raise bad from None
    return ip, int(plen_text) if slash else 32, port


def _match(addr: int, port: int, cond: tuple[int, int, int]) -> bool:
    """A DCOND or SCOND: the port, when given, and the address prefix, when given."""
    want_ip, plen, want_port = cond
    if want_port != -1 and want_port != port:
        return False
    return plen == 0 or (addr ^ want_ip) >> (32 - plen) == 0


class _Parser:
    """The expression's grammar, a recursive descent over ss's words."""

    def __init__(self, words: list[str], proto: str, port_range: tuple[int, int], devices: dict[str, int]) -> None:
        self.words = words
        self.pos = 0
        self.proto = proto
        self.port_range = port_range
        self.devices = devices

    def peek(self) -> str | None:
        return self.words[self.pos] if self.pos < len(self.words) else None

    def take(self) -> str:
        word = self.peek()
        if word is None:
            raise _syntax_error()
        self.pos += 1
        return word

    def exprlist(self) -> Cond:
        cond = self.expr()
        while (word := self.peek()) is not None and word != ")":
            if word in ("or", "|", "||"):
                self.pos += 1
                cond = _either(cond, self.expr())
            else:
                if word in ("and", "&", "&&"):
                    self.pos += 1
                cond = _both(cond, self.expr())
        return cond

    def expr(self) -> Cond:
        word = self.take()
        if word == "(":
            cond = self.exprlist()
            if self.take() != ")":
                raise _syntax_error()
            return cond
        if word in ("not", "!"):
            inner = self.expr()
            return lambda s: not inner(s)
        if word in ("dst", "src"):
            if self.peek() in ("=", "==", "eq"):
                self.pos += 1
            host = _hostcond(self.operand(), False, self.proto)
            if word == "dst":
                return lambda s: _match(s[2], s[3], host)
            return lambda s: _match(s[0], s[1], host)
        if word in ("dport", "sport"):
            op = _OPS.get(self.take())
            if op is None:
                raise _syntax_error()
            port = _hostcond(self.operand(), True, self.proto)[2]
            index = 3 if word == "dport" else 1
            test = {"eq": lambda p: port == -1 or p == port, "ne": lambda p: not (port == -1 or p == port),
                    "ge": lambda p: p >= port, "le": lambda p: p <= port, "gt": lambda p: not p <= port,
                    "lt": lambda p: not p >= port}[op]
            return lambda s: test(s[index])
        if word == "dev":
            negate = self.peek() in ("!=", "neq")
            if self.peek() in ("=", "==", "eq", "!=", "neq"):
                self.pos += 1
            name = self.operand()
            index = int(name) if isdigits(name) else self.devices.get(name, -1)
            return lambda s: (s[4] == index) != negate
        if word == "autobound":
            low, high = self.port_range
            return lambda s: low <= s[1] <= high
        if word not in _KEYWORDS:
            _hostcond(word, False, self.proto)  # a word that is no address says so, one that is is out of place
        raise _syntax_error()

    def operand(self) -> str:
        word = self.take()
        if word in _KEYWORDS:
            raise _syntax_error()
        return word


def _either(a: Cond, b: Cond) -> Cond:
    return lambda s: a(s) or b(s)


def _both(a: Cond, b: Cond) -> Cond:
    return lambda s: a(s) and b(s)


def _words(args: list[str]) -> list[str]:
    """The expression's words: the arguments joined, parentheses apart."""
    return re.sub(r"([()])", r" \1 ", " ".join(args)).split()


def parse_ssfilter(args: list[str], proto: str, port_range: tuple[int, int],
                   devices: dict[str, int]) -> Callable[[Any], bool] | None:
    """``ssfilter_parse``: a test of a diag record (``tuxnet.net.ipv4.inet_diag.DiagRecord``),
    or None with no expression.  ``proto`` names services' ports, ``port_range`` is
    ``ip_local_port_range``, ``devices`` the host's device indexes by name."""
    words = _words(args)
    if not words:
        return None
    parser = _Parser(words, proto, port_range, devices)
    cond = parser.exprlist()
    if parser.peek() is not None:
        raise _syntax_error()

    def test(record: Any) -> bool:
        return cond((in_aton(record.local[0]), record.local[1], in_aton(record.peer[0]), record.peer[1],
                     record.iface))

    return test
