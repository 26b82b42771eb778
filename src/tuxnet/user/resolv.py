"""The resolver of the C library: glibc's ``resolv/`` (``res_ninit``, ``res_nquery``,
``res_nsearch``, ``res_nsend``), ``nss_files`` (``/etc/hosts``, ``/etc/services``), ``nss_dns``
and ``getaddrinfo``/``getnameinfo``/``gethostbyname``/``gethostbyaddr``.

DNS messages are built and read on the wire, as glibc does it (``tuxnet.user.nameser``); the
exchange is glibc's (``res_send.c``): the
query goes over UDP to each nameserver of ``/etc/resolv.conf`` in turn, for ``attempts`` rounds
(default 2), and the server at index ``ns`` gets ``(timeout << ns) / nscount`` seconds (``ns > 0``;
the first gets ``timeout``, default 5 s, as ``send_dg`` computes it).  A truncated answer (TC)
sends the same query to the same server over TCP (``send_vc``); SERVFAIL, NOTIMP, REFUSED or an
ICMP port unreachable moves on to the next server.  For ``AF_UNSPEC`` the A and AAAA queries go
out together on one socket, as glibc sends them unless ``options single-request``.

The hosts have no IPv6 stack, so AAAA answers come back as ``AF_INET6`` results after the IPv4 ones
(RFC 6724 §6 rule 1: a destination without a usable source address sorts last).
"""

from __future__ import annotations

import math
import re
import socket as _pysocket
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tuxnet.kernel.sched import current
from tuxnet.net.core.dev import IFF_LOOPBACK
from tuxnet.net.socket import AF_INET, AF_INET6, AF_UNSPEC, POLLIN, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_RAW, SOCK_STREAM
from tuxnet.user.ctype import isdigits
from tuxnet.user.nameser import (
    FORMERR,
    HFIXEDSZ,
    NOERROR,
    NOTIMP,
    NXDOMAIN,
    QR,
    REFUSED,
    SERVFAIL,
    T_A,
    T_AAAA,
    T_CNAME,
    T_PTR,
    TC,
    NsMsg,
    dn_expand,
    mkquery,
    name_eq,
    ns_initparse,
    ns_name_pton,
)

# resolv.h
RES_TIMEOUT = 5
RES_DFLRETRY = 2
RES_MAXNDOTS = 15
RES_MAXRETRANS = 30
RES_MAXRETRY = 5
MAXNS = 3
NAMESERVER_PORT = 53
PACKETSZ = 512
RESOLV_EDNS_BUFFER_SIZE = 1200
MAXPACKET = 65536

# netdb.h: h_errno
NETDB_SUCCESS = 0
HOST_NOT_FOUND = 1
TRY_AGAIN = 2
NO_RECOVERY = 3
NO_DATA = 4
_HSTRERROR = {HOST_NOT_FOUND: "Unknown host", TRY_AGAIN: "Host name lookup failure",
              NO_RECOVERY: "Unknown server error", NO_DATA: "No address associated with name"}

# netdb.h: getaddrinfo flags and errors
AI_PASSIVE = 0x0001
AI_CANONNAME = 0x0002
AI_NUMERICHOST = 0x0004
AI_V4MAPPED = 0x0008
AI_ALL = 0x0010
AI_ADDRCONFIG = 0x0020
AI_IDN = 0x0040
AI_CANONIDN = 0x0080
_DEPRECATED_AI_IDN = 0x0300
AI_NUMERICSERV = 0x0400
_AI_MASK = (AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_V4MAPPED | AI_ALL | AI_ADDRCONFIG | AI_IDN | AI_CANONIDN
            | _DEPRECATED_AI_IDN | AI_NUMERICSERV)

EAI_BADFLAGS = -1
EAI_NONAME = -2
EAI_AGAIN = -3
EAI_FAIL = -4
EAI_NODATA = -5
EAI_FAMILY = -6
EAI_SOCKTYPE = -7
EAI_SERVICE = -8
EAI_ADDRFAMILY = -9
_GAI_STRERROR = {
    EAI_BADFLAGS: "Bad value for ai_flags", EAI_NONAME: "Name or service not known",
    EAI_AGAIN: "Temporary failure in name resolution", EAI_FAIL: "Non-recoverable failure in name resolution",
    EAI_NODATA: "No address associated with hostname", EAI_FAMILY: "ai_family not supported",
    EAI_SOCKTYPE: "ai_socktype not supported", EAI_SERVICE: "Servname not supported for ai_socktype",
    EAI_ADDRFAMILY: "Address family for hostname not supported",
}
# gaih_inet: TRY_AGAIN is EAI_AGAIN, NO_DATA (the name is known) EAI_NODATA, the rest EAI_NONAME
_GAI_OF_HERRNO = {HOST_NOT_FOUND: EAI_NONAME, TRY_AGAIN: EAI_AGAIN, NO_RECOVERY: EAI_NONAME, NO_DATA: EAI_NODATA}

NI_NUMERICHOST = 1
NI_NUMERICSERV = 2
NI_NOFQDN = 4
NI_NAMEREQD = 8
NI_DGRAM = 16
_NI_MASK = 0xFF  # and NI_IDN with its two deprecated companions (getnameinfo.c)

SOCK_SEQPACKET = 5
SOCK_DCCP = 6
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_DCCP = 33
IPPROTO_UDPLITE = 136
IPPROTO_SCTP = 132


@dataclass(frozen=True)
class GaihTypeproto:
    """``struct gaih_typeproto``: a socket type and protocol getaddrinfo knows, the protocol's
    name in ``/etc/services``; ``default`` ones are listed when the caller names neither,
    ``protoany`` takes the caller's protocol, ``noservice`` has no ports."""

    socktype: int
    protocol: int
    name: str
    default: bool = False
    protoany: bool = False
    noservice: bool = False


# getaddrinfo.c's gaih_inet_typeproto, in its order
GAIH_INET_TYPEPROTO = (
    GaihTypeproto(SOCK_STREAM, IPPROTO_TCP, "tcp", default=True),
    GaihTypeproto(SOCK_DGRAM, IPPROTO_UDP, "udp", default=True),
    GaihTypeproto(SOCK_DCCP, IPPROTO_DCCP, "dccp"),
    GaihTypeproto(SOCK_DGRAM, IPPROTO_UDPLITE, "udplite"),
    GaihTypeproto(SOCK_STREAM, IPPROTO_SCTP, "sctp"),
    GaihTypeproto(SOCK_SEQPACKET, IPPROTO_SCTP, "sctp"),
    GaihTypeproto(SOCK_RAW, 0, "raw", default=True, protoany=True, noservice=True),
)


def gai_error(code: int) -> _pysocket.gaierror:
    """The exception for an ``EAI_*`` code, with ``gai_strerror``'s text (Python's ``gaierror``)."""
    return _pysocket.gaierror(code, _GAI_STRERROR.get(code, "Unknown error"))


def h_error(code: int) -> _pysocket.herror:
    """The exception for an ``h_errno`` value, with ``hstrerror``'s text (Python's ``herror``)."""
    return _pysocket.herror(code, _HSTRERROR.get(code, "Resolver internal error"))


class ResolverError(Exception):
    """A lookup failed with ``h_errno`` = ``code`` (HOST_NOT_FOUND, TRY_AGAIN, NO_RECOVERY, NO_DATA)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class HostEnt:
    """``struct hostent``."""

    h_name: str
    h_aliases: list[str]
    h_addrtype: int
    h_length: int
    h_addr_list: list[str]


# -- /etc/resolv.conf (res_init.c) -------------------------------------------------------------

@dataclass
class ResState:
    """``struct __res_state``: what ``/etc/resolv.conf`` says."""

    nameservers: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    search: list[str] = field(default_factory=list)
    ndots: int = 1
    timeout: int = RES_TIMEOUT
    attempts: int = RES_DFLRETRY
    rotate: bool = False
    use_vc: bool = False
    edns0: bool = False
    single_request: bool = False
    no_tld_query: bool = False


def _read_text(path: str) -> str | None:
    try:
        data = libc.read_file(path)
    except FileNotFoundError:
        return None
    return data.decode(errors="replace") if isinstance(data, bytes) else data


def is_ipv4_address(text: str) -> bool:
    """``inet_pton(AF_INET, text, ...) == 1``: a dotted quad, four decimal numbers."""
    if "\0" in text:  # (CPython's inet_pton refuses it with ValueError, PyPy's reads up to it)
        return False
    try:
        _pysocket.inet_pton(_pysocket.AF_INET, text)
    except (OSError, ValueError):  # (ValueError: a lone surrogate, which no encoding takes)
        return False
    return True


def is_ipv6_address(text: str) -> bool:
    """``inet_pton(AF_INET6, text, ...) == 1``: an IPv6 address in text (RFC 4291 section 2.2)."""
    if "\0" in text:
        return False
    try:
        _pysocket.inet_pton(_pysocket.AF_INET6, text)
    except (OSError, ValueError):
        return False
    return True


# one part of an address as inet_aton reads it: strtoul's base 0 (hex after 0x, octal after 0)
_ATON_PART = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")


def inet_aton_exact(text: str) -> str | None:
    """``__inet_aton_exact``: the dotted quad of an address in one of inet_aton's forms, a.b.c.d,
    a.b.c (c fills 16 bits), a.b (b fills 24) or a (32), each part decimal, octal (``0177``) or
    hexadecimal (``0x7f``), with nothing after it; None for anything else."""
    parts = text.split(".")
    if len(parts) > 4 or not all(_ATON_PART.fullmatch(part) for part in parts):
        return None
    values = [int(part, 16 if part[1:2] in ("x", "X") else 8 if part.startswith("0") else 10) for part in parts]
    *head, last = values
    if any(v > 0xFF for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    return _pysocket.inet_ntoa(bytes(head) + last.to_bytes(4 - len(head), "big"))


def res_hnok(name: str) -> bool:
    """``res_hnok``: is ``name`` a host name: printable ASCII, a domain name ``ns_name_pton``
    takes, its labels of letters, digits, '-' and '_' only, the first not starting with '-'."""
    if not all("!" <= ch <= "~" for ch in name):
        return False
    try:
        wire = ns_name_pton(name)
    except ValueError:
        return False
    pos = 0
    while wire[pos]:
        label = wire[pos + 1:pos + 1 + wire[pos]]
        if (pos == 0 and label.startswith(b"-")) or label.strip(_HNOK_OCTETS):
            return False
        pos += 1 + wire[pos]
    return True


_HNOK_OCTETS = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"


def _digits_dots(name: str, af: int) -> HostEnt | None:
    """``__nss_hostname_digits_dots``, which ``gethostbyname`` and ``gethostbyname2`` ask before
    any NSS module: a name of digits and dots (not ending in a dot) is an IPv4 address as
    ``inet_aton`` reads it, or for AF_INET6 an IPv6 address, or no host at all
    (``ResolverError(HOST_NOT_FOUND)``); so is an IPv6 address in text for AF_INET6.  None when
    the name is not of that form and goes to the NSS modules."""
    if name and name[0] in "0123456789" and not name.strip("0123456789.") and not name.endswith("."):
        addr = inet_aton_exact(name) if af == AF_INET else name if is_ipv6_address(name) else None
    elif af == AF_INET6 and ":" in name and not name.strip("0123456789abcdefABCDEF:.") and not name.endswith("."):
        addr = name if is_ipv6_address(name) else None
    else:
        return None
    if addr is None:
        raise ResolverError(HOST_NOT_FOUND)
    return HostEnt(name, [], af, 4 if af == AF_INET else 16, [addr])


def res_ninit() -> ResState:
    """``res_ninit``: parse ``/etc/resolv.conf`` as glibc's ``res_init.c`` does.

    ``nameserver`` (at most MAXNS; without any, 127.0.0.1), ``domain`` and ``search`` (the last
    one wins; without either, the domain part of the host name), ``options`` ``ndots:``
    (≤ 15), ``timeout:`` (≤ 30), ``attempts:`` (≤ 5), ``rotate``, ``use-vc``, ``edns0``,
    ``single-request``, ``single-request-reopen`` and ``no-tld-query``.  Comments start with ``#``
    or ``;``.  IPv6 nameservers are skipped: the hosts have no IPv6 stack.
    """
    state = ResState(nameservers=[])
    search: list[str] | None = None
    for raw in (_read_text("/etc/resolv.conf") or "").splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].split()
        if not line:
            continue
        key, args = line[0], line[1:]
        if key == "nameserver" and args and len(state.nameservers) < MAXNS and is_ipv4_address(args[0]):
            state.nameservers.append(args[0])
        elif key == "domain" and args:
            search = [args[0]]
        elif key == "search" and args:
            search = list(args)
        elif key == "options":
            for opt in args:
                name, _, value = opt.partition(":")
                num = int(value) if isdigits(value) else None
                if name == "ndots" and num is not None:
                    state.ndots = min(num, RES_MAXNDOTS)
                elif name == "timeout" and num is not None:
                    state.timeout = max(1, min(num, RES_MAXRETRANS))
                elif name == "attempts" and num is not None:
                    state.attempts = max(1, min(num, RES_MAXRETRY))
                elif name == "rotate":
                    state.rotate = True
                elif name == "use-vc":
                    state.use_vc = True
                elif name == "edns0":
                    state.edns0 = True
                elif name in ("single-request", "single-request-reopen"):
                    state.single_request = True
                elif name == "no-tld-query":
                    state.no_tld_query = True
    if not state.nameservers:
        state.nameservers = ["127.0.0.1"]
    if search is None:
        hostname = libc.gethostname()
        search = [hostname.split(".", 1)[1]] if "." in hostname else []
    state.search = search
    return state


# -- sending (res_send.c) ----------------------------------------------------------------------

_rotation: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


class _Truncated(Exception):
    """The UDP answer had TC set: ask the same server over TCP."""


class _ServerFailed(Exception):
    """The server answered SERVFAIL, NOTIMP or REFUSED: try the next one."""


def _deadline_ms(deadline: float) -> int:
    return max(0, math.ceil((deadline - libc.clock_monotonic()) * 1000))


def _match(queries: Sequence[NsMsg], answers: list[NsMsg | None], wire: bytes) -> int | None:
    """The index of the unanswered query whose ID ``wire`` carries, or None for a stray answer or
    one too short for a header, which ``send_dg`` ignores and goes on waiting past."""
    if len(wire) < HFIXEDSZ:
        return None
    qid = int.from_bytes(wire[:2], "big")
    for i, q in enumerate(queries):
        if answers[i] is None and q.id == qid:
            return i
    return None


def _same_questions(a: NsMsg, b: NsMsg) -> bool:
    """Each question of one is among the other's (names compared without case)."""
    return all(any(name_eq(n, m) and t == u and c == d for m, u, d in b.question) for n, t, c in a.question)


def res_queriesmatch(query: NsMsg, wire: bytes) -> NsMsg | None:
    """``res_queriesmatch``: the header and questions of ``wire`` if it answers ``query``: a
    response, to the same ID and opcode, with the same questions; an error answer (FORMERR,
    SERVFAIL, NOTIMP, REFUSED) may leave its question section empty."""
    try:
        head = ns_initparse(wire, questions_only=True)
    except ValueError:
        return None
    if not head.flags & QR or head.id != query.id or head.opcode() != query.opcode():
        return None
    if not head.question and head.rcode in (FORMERR, SERVFAIL, NOTIMP, REFUSED):
        return head
    return head if _same_questions(query, head) and _same_questions(head, query) else None


def _accept(query: NsMsg, wire: bytes, any_rcode: bool, udp: bool) -> NsMsg | None:
    """What ``send_dg`` and ``send_vc`` make of an answer to ``query``, in glibc's order: ignored
    (None, and the wait goes on) unless its header and questions match; ``_ServerFailed`` for
    SERVFAIL, NOTIMP or REFUSED (unless ``any_rcode``); ``_Truncated`` for TC over UDP; then the
    whole message, or None when its records do not parse.  A resolver must survive any bytes a
    server (or an attacker) sends it."""
    head = res_queriesmatch(query, wire)
    if head is None:
        return None
    if not any_rcode and head.rcode in (SERVFAIL, NOTIMP, REFUSED):
        raise _ServerFailed
    if udp and head.flags & TC:
        raise _Truncated
    try:
        return ns_initparse(wire)
    except ValueError:
        return None


def _send_dg(state: ResState, queries: Sequence[NsMsg], wires: list[bytes],
             server: tuple[str, int], seconds: int, any_rcode: bool) -> list[NsMsg] | None:
    """``send_dg``: the queries over one connected UDP socket; None when the server did not answer
    in ``seconds`` or refused (ICMP port unreachable, SERVFAIL/NOTIMP/REFUSED)."""
    fd = libc.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)
    try:
        try:
            libc.connect(fd, server)
        except OSError:
            return None
        answers: list[NsMsg | None] = [None] * len(queries)
        sent = 0
        deadline = libc.clock_monotonic() + seconds
        while None in answers:
            try:
                # single-request: the second query goes out once the first is answered
                while sent < len(wires) and (not state.single_request or sent == 0
                                             or answers[sent - 1] is not None):
                    libc.send(fd, wires[sent])
                    sent += 1
                timeout = _deadline_ms(deadline)
                if timeout == 0 or not libc.poll([(fd, POLLIN)], timeout)[0]:
                    return None
                wire = libc.recv(fd, MAXPACKET)
            except BlockingIOError:
                continue
            except OSError:
                # an ICMP error reported on the connected socket (port or host unreachable)
                return None
            i = _match(queries, answers, wire)
            if i is None:
                continue
            try:
                answers[i] = _accept(queries[i], wire, any_rcode, True)
            except _ServerFailed:
                return None
        return [a for a in answers if a is not None]
    finally:
        libc.close(fd)


def recv_exact(fd: int, n: int, deadline: float) -> bytes | None:
    """``n`` octets from a stream socket (a DNS message over TCP or its length, RFC 1035
    §4.2.2), or None on EOF, an error, or the monotonic ``deadline`` passing without them."""
    buf = b""
    while len(buf) < n:
        timeout = _deadline_ms(deadline)
        if timeout == 0 or not libc.poll([(fd, POLLIN)], timeout)[0]:
            return None
        try:
            chunk = libc.recv(fd, n - len(buf))
        except OSError:
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


def _send_vc(queries: Sequence[NsMsg], wires: list[bytes], server: tuple[str, int],
             seconds: int, any_rcode: bool) -> list[NsMsg] | None:
    """``send_vc``: the queries over TCP, each with its two-octet length (RFC 1035 §4.2.2).

    glibc reads the answer without a time limit; here the read shares the server's UDP budget so
    that a server which accepts and never answers cannot hang the caller."""
    fd = libc.socket(AF_INET, SOCK_STREAM, 0)
    try:
        try:
            libc.connect(fd, server)
            for wire in wires:
                out = len(wire).to_bytes(2, "big") + wire
                while out:
                    out = out[libc.send(fd, out):]
        except OSError:
            return None
        answers: list[NsMsg | None] = [None] * len(queries)
        deadline = libc.clock_monotonic() + seconds
        while None in answers:
            head = recv_exact(fd, 2, deadline)
            wire = recv_exact(fd, int.from_bytes(head, "big"), deadline) if head else None
            if wire is None:
                return None
            i = _match(queries, answers, wire)
            if i is None:
                continue
            try:
                answers[i] = _accept(queries[i], wire, any_rcode, False)
            except _ServerFailed:
                return None
        return [a for a in answers if a is not None]
    finally:
        libc.close(fd)


def res_nsend(state: ResState, wires: Sequence[bytes], any_rcode: bool = False) -> list[NsMsg]:
    """``__res_context_send``: the answers to the queries ``wires`` (sent together) from the first
    server that gives them; ``ResolverError(TRY_AGAIN)`` when none does.  With ``any_rcode`` a
    SERVFAIL, NOTIMP or REFUSED answer is returned rather than a reason to try the next server, as
    glibc does for dig (``statp->pfcode``)."""
    queries = [ns_initparse(w) for w in wires]
    nscount = len(state.nameservers)
    host = current().host
    offset = 0
    if state.rotate:
        offset = _rotation.get(host, 0)
        _rotation[host] = (offset + 1) % nscount
    for _attempt in range(state.attempts):
        for shift in range(nscount):
            ns = (offset + shift) % nscount
            server = (state.nameservers[ns], NAMESERVER_PORT)
            seconds = max(1, (state.timeout << ns) // nscount if ns > 0 else state.timeout)
            answers = None
            if state.use_vc or any(len(w) > PACKETSZ for w in wires):
                answers = _send_vc(queries, wires, server, seconds, any_rcode)
            else:
                try:
                    answers = _send_dg(state, queries, wires, server, seconds, any_rcode)
                except _Truncated:
                    answers = _send_vc(queries, wires, server, seconds, any_rcode)
            if answers is not None:
                return answers
    raise ResolverError(TRY_AGAIN)


def res_mkquery(state: ResState, name: str, rdtype: int) -> bytes:
    """``res_nmkquery``: a recursive query for ``name`` (presentation form) with a random ID, and
    EDNS0 when ``options edns0``; ``ValueError`` for a name that cannot be one."""
    qid = current().host.rng.getrandbits(16)
    return mkquery(qid, name, rdtype, RESOLV_EDNS_BUFFER_SIZE if state.edns0 else 0)


def _answered(msg: NsMsg) -> bool:
    return msg.rcode == NOERROR and bool(msg.answer)


def _herrno_of(answers: list[NsMsg]) -> int:
    """``__res_context_query``'s verdict when no answer has records: NOERROR is NO_DATA (the name
    exists), then SERVFAIL is TRY_AGAIN, NXDOMAIN is HOST_NOT_FOUND, the rest NO_RECOVERY."""
    rcodes = {a.rcode for a in answers}
    if NOERROR in rcodes:
        return NO_DATA
    if SERVFAIL in rcodes:
        return TRY_AGAIN
    if NXDOMAIN in rcodes:
        return HOST_NOT_FOUND
    return NO_RECOVERY


def res_nquery(state: ResState, name: str, rdtypes: Sequence[int]) -> list[NsMsg]:
    """``res_nquery``: ask for ``name`` (absolute) once; the answers when one has records."""
    answers = res_nsend(state, [res_mkquery(state, name, t) for t in rdtypes])
    if not any(_answered(a) for a in answers):
        raise ResolverError(_herrno_of(answers))
    return answers


def res_nsearch(state: ResState, name: str, rdtypes: Sequence[int]) -> list[NsMsg]:
    """``res_nsearch``: the name as given first when it has at least ``ndots`` dots (or a trailing
    dot), then with each ``search`` domain, then as given (unless ``no-tld-query`` and no dots).
    A NO_DATA or TRY_AGAIN on the way is remembered and reported if nothing better comes."""
    dots = name.count(".")
    trailing = name.endswith(".")
    candidates: list[str] = []
    if dots >= state.ndots or trailing:
        candidates.append(name)
    if not trailing:
        candidates += [f"{name}.{domain}" for domain in state.search]
        if dots < state.ndots and not (dots == 0 and state.no_tld_query and state.search):
            candidates.append(name)
    got_nodata = got_servfail = False
    last = HOST_NOT_FOUND
    for cand in candidates:
        if not cand:
            # __res_context_querydomain: the length less one wraps, "too long": NO_RECOVERY
            last = NO_RECOVERY
            continue
        try:
            ns_name_pton(cand)
        except ValueError:
            continue
        try:
            return res_nquery(state, cand, rdtypes)
        except ResolverError as e:
            last = e.code
            if e.code == NO_DATA:
                got_nodata = True
            elif e.code == TRY_AGAIN:
                got_servfail = True
            elif e.code != HOST_NOT_FOUND:
                break
    if got_nodata:
        raise ResolverError(NO_DATA)
    if got_servfail:
        raise ResolverError(TRY_AGAIN)
    raise ResolverError(last)


# -- answers (nss_dns getanswer_r) -------------------------------------------------------------

# How many CNAMEs an answer may chain before its records are not believed (dnspython's and
# BIND's limit; glibc's getanswer_r follows what the section holds).
MAX_CNAME_CHAIN = 16


def _rdata_name(msg: NsMsg, rr: Any) -> str | None:
    """The name a CNAME's or PTR's rdata holds (``dn_expand`` from where the rdata starts), or None
    when it does not parse or does not fill the rdata exactly."""
    try:
        name, end = dn_expand(msg.wire, rr.rdpos)
    except ValueError:
        return None
    return name if end == rr.rdpos + len(rr.rdata) else None


def _address_text(rtype: int, rdata: bytes) -> str | None:
    """An A or AAAA record's address; None for rdata of the wrong length, which ``getanswer_r``
    skips."""
    if rtype == T_A and len(rdata) == 4:
        return _pysocket.inet_ntop(_pysocket.AF_INET, rdata)
    if rtype == T_AAAA and len(rdata) == 16:
        return _pysocket.inet_ntop(_pysocket.AF_INET6, rdata)
    return None


def getanswer(msg: NsMsg) -> tuple[str, list[str], list[tuple[int, str]]] | None:
    """nss_dns's ``getanswer_r`` for an A or AAAA query: from the question's name, follow the answer
    section's CNAMEs to the canonical name and take its records of the question's type.  The
    canonical name, the aliases (the names that were CNAMEs) and the (family, address) records;
    None when the answer has no question."""
    if not msg.question:
        return None
    name, qtype, qclass = msg.question[0]
    aliases: list[str] = []
    for _ in range(MAX_CNAME_CHAIN + 1):
        target = None
        addrs: list[tuple[int, str]] = []
        for rr in msg.answer:
            if rr.rclass != qclass or not name_eq(rr.name, name):
                continue
            if rr.type == qtype:
                text = _address_text(rr.type, rr.rdata)
                if text is not None:
                    addrs.append((AF_INET if rr.type == T_A else AF_INET6, text))
            elif rr.type == T_CNAME and target is None:
                target = _rdata_name(msg, rr)
        if addrs or target is None:
            return name, aliases, addrs
        aliases.append(name)
        name = target
    return name, aliases, []


def _addresses(answers: list[NsMsg]) -> tuple[str, list[str], list[tuple[int, str]]]:
    """The canonical name, the CNAME aliases on the way, and the (family, address) records."""
    canon = ""
    aliases: list[str] = []
    addrs: list[tuple[int, str]] = []
    for msg in answers:
        if msg.rcode != NOERROR or not msg.answer:
            continue  # (the other query of the two may have failed)
        found = getanswer(msg)
        if found is None:
            continue
        name, chain, records = found
        for alias in chain:
            if alias not in aliases:
                aliases.append(alias)
        canon = canon or name
        addrs += records
    return canon, aliases, addrs


# -- nss_files ----------------------------------------------------------------------------------

def _hosts_lines() -> list[tuple[str, list[str]]]:
    lines = []
    for raw in (_read_text("/etc/hosts") or "").splitlines():
        fields = raw.split("#", 1)[0].split()
        if len(fields) >= 2:
            lines.append((fields[0], fields[1:]))
    return lines


def _files_byname(name: str, families: Sequence[int]) -> tuple[str, list[str], list[tuple[int, str]]] | None:
    """``_nss_files_gethostbyname4_r``: every line that names ``name`` (case-insensitively, and
    as written: ``localhost.`` is not ``localhost``)."""
    want = name.lower()
    canon = ""
    aliases: list[str] = []
    addrs: list[tuple[int, str]] = []
    for addr, names in _hosts_lines():
        if want not in (n.lower() for n in names):
            continue
        family = AF_INET if is_ipv4_address(addr) else AF_INET6 if is_ipv6_address(addr) else None
        if family not in families:
            continue
        if not canon:
            canon = names[0]
            aliases = names[1:]
        addrs.append((family, addr))
    return (canon, aliases, addrs) if addrs else None


def _files_byaddr(addr: str) -> tuple[str, list[str]] | None:
    packed = _packed(addr)
    for line_addr, names in _hosts_lines():
        if (is_ipv4_address(line_addr) or is_ipv6_address(line_addr)) and _packed(line_addr) == packed:
            return names[0], names[1:]
    return None


def _packed(addr: str) -> bytes:
    """An address in text (IPv4 or IPv6) as its octets."""
    return _pysocket.inet_pton(_pysocket.AF_INET if is_ipv4_address(addr) else _pysocket.AF_INET6, addr)


def _hosts_sources() -> list[str]:
    """The ``hosts:`` line of ``/etc/nsswitch.conf`` (``files dns`` without one)."""
    for raw in (_read_text("/etc/nsswitch.conf") or "").splitlines():
        fields = raw.split("#", 1)[0].split()
        if fields and fields[0] == "hosts:":
            return [f for f in fields[1:] if f in ("files", "dns")]
    return ["files", "dns"]


def _lookup_name(name: str, families: Sequence[int],
                 check_name: bool = True) -> tuple[str, list[str], list[tuple[int, str]]]:
    """The NSS ``hosts`` lookup of ``name``: each source in turn; ``ResolverError`` when all fail.
    nss_dns's ``gethostbyname2_r`` and ``gethostbyname4_r`` send no query for a name that is
    not a host name (``check_name``: HOST_NOT_FOUND); its ``gethostbyname3_r`` does."""
    err = HOST_NOT_FOUND
    for source in _hosts_sources():
        if source == "files":
            found = _files_byname(name, families)
            if found is not None:
                return found
            continue
        if check_name and not res_hnok(name):
            err = HOST_NOT_FOUND
            continue
        rdtypes = [T_A if f == AF_INET else T_AAAA for f in families]
        try:
            answers = res_nsearch(res_ninit(), name, rdtypes)
        except ResolverError as e:
            err = e.code
            continue
        canon, aliases, addrs = _addresses(answers)
        if addrs:
            return canon, aliases, addrs
        err = NO_DATA
    raise ResolverError(err)


# -- the netdb functions ------------------------------------------------------------------------

def gethostbyname2(name: str, af: int) -> HostEnt:
    """``gethostbyname2(3)``: the ``af`` addresses of ``name`` (an address in text, as
    ``__nss_hostname_digits_dots`` reads it, is its own answer); raises ``herror``."""
    if af not in (AF_INET, AF_INET6):
        raise h_error(NO_RECOVERY)
    try:
        numeric = _digits_dots(name, af)
        if numeric is not None:
            return numeric
        canon, aliases, addrs = _lookup_name(name, [af])
    except ResolverError as e:
        raise h_error(e.code) from None
    return HostEnt(canon, aliases, af, 4 if af == AF_INET else 16, [a for _, a in addrs])


def gethostbyname(name: str) -> HostEnt:
    """``gethostbyname(3)``: the IPv4 addresses of ``name`` (a dotted quad is its own answer)."""
    return gethostbyname2(name, AF_INET)


def _reverse_name(packed: bytes) -> str:
    """The PTR name of an address (``_nss_dns_gethostbyaddr2_r``): in-addr.arpa for IPv4 (and
    for an IPv4-mapped IPv6 address), nibbles under ip6.arpa for IPv6."""
    if len(packed) == 16 and packed[:12] == bytes(10) + b"\xff\xff":
        packed = packed[12:]
    if len(packed) == 4:
        return ".".join(str(b) for b in reversed(packed)) + ".in-addr.arpa."
    return "".join(f"{b & 0xF:x}.{b >> 4:x}." for b in reversed(packed)) + "ip6.arpa."


def gethostbyaddr(addr: str) -> HostEnt:
    """``gethostbyaddr(3)``: the name of an IPv4 or IPv6 address (in text), from /etc/hosts or a
    PTR query."""
    if not (is_ipv4_address(addr) or is_ipv6_address(addr)):
        raise h_error(HOST_NOT_FOUND)
    af, length = (AF_INET, 4) if is_ipv4_address(addr) else (AF_INET6, 16)
    err = HOST_NOT_FOUND
    for source in _hosts_sources():
        if source == "files":
            found = _files_byaddr(addr)
            if found is not None:
                return HostEnt(found[0], found[1], af, length, [addr])
            continue
        try:
            answers = res_nquery(res_ninit(), _reverse_name(_packed(addr)), [T_PTR])
        except ResolverError as e:
            err = e.code
            continue
        for msg in answers:
            for rr in msg.answer:
                target = _rdata_name(msg, rr) if rr.type == T_PTR else None
                if target is not None:
                    return HostEnt(target, [], af, length, [addr])
        err = NO_DATA
    raise h_error(err)


def getservent() -> list[tuple[str, int, str, list[str]]]:
    """``setservent``, ``getservent`` until it returns NULL, ``endservent``: every entry of
    ``/etc/services`` in its order, as (name, port, protocol, aliases)."""
    entries = []
    for raw in (_read_text("/etc/services") or "").splitlines():
        fields = raw.split("#", 1)[0].split()
        if len(fields) < 2 or "/" not in fields[1]:
            continue
        port, _, proto = fields[1].partition("/")
        if isdigits(port):
            entries.append((fields[0], int(port), proto, fields[2:]))
    return entries


def protocols_entries(text: str) -> list[tuple[str, int, list[str]]]:
    """The entries of an ``/etc/protocols`` text in its order: (name, number, aliases)."""
    entries = []
    for raw in text.splitlines():
        fields = raw.split("#", 1)[0].split()
        if len(fields) >= 2 and isdigits(fields[1]):
            entries.append((fields[0], int(fields[1]), fields[2:]))
    return entries


def networks_entries(text: str) -> list[tuple[str, int, list[str]]]:
    """The entries of an ``/etc/networks`` text in its order: (name, network number as
    ``inet_network`` reads it, aliases); a number it cannot read leaves its line out."""
    entries = []
    for raw in text.splitlines():
        fields = raw.split("#", 1)[0].split()
        parts = fields[1].split(".") if len(fields) >= 2 else []
        if 0 < len(parts) <= 4 and all(isdigits(part) and int(part) <= 255 for part in parts):
            entries.append((fields[0], int.from_bytes(bytes(int(part) for part in parts), "big"), fields[2:]))
    return entries


def getprotobynumber(number: int) -> str:
    """``getprotobynumber(3)``: the name of an IP protocol in ``/etc/protocols``; OSError if it
    has none (or the host has no such file)."""
    for name, proto, _ in protocols_entries(_read_text("/etc/protocols") or ""):
        if proto == number:
            return name
    raise OSError("protocol not found")


def getprotobyname(name: str) -> int:
    """``getprotobyname(3)``: the number of the IP protocol a name or alias in ``/etc/protocols``
    stands for; OSError if none does."""
    for pname, proto, aliases in protocols_entries(_read_text("/etc/protocols") or ""):
        if name == pname or name in aliases:
            return proto
    raise OSError("protocol not found")


def getnetbyname(name: str) -> int:
    """``getnetbyname(3)``: the number of the network a name or alias in ``/etc/networks``
    stands for, as ``inet_network`` reads it (``127.0.0.0`` is 0x7f000000); OSError if none
    does."""
    for nname, net, aliases in networks_entries(_read_text("/etc/networks") or ""):
        if name == nname or name in aliases:
            return net
    raise OSError("network not found")


def getnetbyaddr(net: int) -> str | None:
    """``getnetbyaddr(3)``: the name ``/etc/networks`` gives the network numbered ``net``, or None."""
    return next((name for name, number, _ in networks_entries(_read_text("/etc/networks") or "") if number == net),
                None)


def getservbyname(name: str, proto: str | None = None) -> int:
    """``getservbyname(3)``: the port of a service in ``/etc/services``; OSError if unknown."""
    for sname, port, sproto, aliases in getservent():
        if (name == sname or name in aliases) and (proto is None or proto == sproto):
            return port
    raise OSError("service/proto not found")


def getservbyport(port: int, proto: str | None = None) -> str:
    """``getservbyport(3)``: the name of the service on ``port``; OSError if unknown."""
    for sname, sport, sproto, _ in getservent():
        if sport == port and (proto is None or proto == sproto):
            return sname
    raise OSError("port/proto not found")


def _has_global_ipv4() -> bool:
    """``__check_pf``: is an IPv4 address configured on a device other than loopback?"""
    for dev in current().host.devices.values():
        if not dev.flags & IFF_LOOPBACK and dev.ip_ptr is not None and dev.ip_ptr.ifa_list:
            return True
    return False


def _tp_matches(tp: GaihTypeproto, type: int, proto: int) -> bool:
    return (type == 0 or type == tp.socktype) and (proto == 0 or tp.protoany or proto == tp.protocol)


def _servtuples(type: int, proto: int, service: str | None) -> list[tuple[int, int, int]]:
    """``gaih_inet``'s service part: (socktype, protocol, port) for each socket type the request
    allows.  ``service`` is a name, or a number as ``gaih_service.num`` holds it."""
    tp = None
    if type or proto:
        tp = next((t for t in GAIH_INET_TYPEPROTO if _tp_matches(t, type, proto)), None)
        if tp is None:
            raise gai_error(EAI_SOCKTYPE if type else EAI_SERVICE)
    port = 0
    if service is not None:
        if tp is not None and tp.noservice:
            raise gai_error(EAI_SERVICE)
        if not isinstance(service, int):
            # gaih_inet_serv: getservbyname_r for each protocol the request allows
            out = []
            for t in [tp] if tp is not None else [t for t in GAIH_INET_TYPEPROTO if not t.noservice]:
                try:
                    out.append((t.socktype, proto if t.protoany else t.protocol, getservbyname(service, t.name)))
                except OSError:
                    if tp is not None:
                        raise gai_error(EAI_SERVICE) from None
            if not out:
                raise gai_error(EAI_SERVICE)
            return out
        port = service & 0xFFFF  # (htons)
    if tp is not None:
        return [(tp.socktype, proto if tp.protoany else tp.protocol, port)]
    return [(t.socktype, t.protocol, port) for t in GAIH_INET_TYPEPROTO if t.default]


def _scope_id(addr: str, scope: str) -> int | None:
    """``__inet6_scopeid_pton``: the interface index of ``addr%scope``: a device's name for a
    link-local or link- or node-local multicast address, else a decimal number; None if it is
    neither."""
    packed = _pysocket.inet_pton(_pysocket.AF_INET6, addr)
    if packed[:2] in (b"\xff\x01", b"\xff\x02") or (packed[0] == 0xFE and packed[1] & 0xC0 == 0x80):
        dev = current().host.devices.get(scope)
        if dev is not None:
            return dev.ifindex
    number, end, _ = libc.strtoul(scope)
    return number if scope and end == len(scope) and number <= 0xFFFFFFFF else None


def _numeric_host(host: str, family: int, flags: int) -> tuple[int, str, int] | None:
    """``gaih_inet``'s numeric host: (family, address, scope id) when ``host`` is an IPv4 address
    as ``inet_aton`` reads it (IPv4-mapped for AF_INET6 with AI_V4MAPPED) or an IPv6 one with an
    optional ``%scope``; EAI_ADDRFAMILY when the family does not fit; None for a name."""
    v4 = inet_aton_exact(host)
    if v4 is not None:
        if family in (AF_UNSPEC, AF_INET):
            return AF_INET, v4, 0
        if family == AF_INET6 and flags & AI_V4MAPPED:
            return AF_INET6, "::ffff:" + v4, 0
        raise gai_error(EAI_ADDRFAMILY)
    addr, delim, scope = host.partition("%")
    if not is_ipv6_address(addr):
        return None
    if family in (AF_UNSPEC, AF_INET6):
        fam = AF_INET6
    elif family == AF_INET and _pysocket.inet_pton(_pysocket.AF_INET6, addr)[:12] == bytes(10) + b"\xff\xff":
        fam, addr = AF_INET, _pysocket.inet_ntoa(_pysocket.inet_pton(_pysocket.AF_INET6, addr)[12:])
    else:
        raise gai_error(EAI_ADDRFAMILY)
    scope_id = _scope_id(addr, scope) if delim else 0
    if scope_id is None:
        raise gai_error(EAI_NONAME)
    return fam, addr, scope_id


def _host_addresses(host: str, family: int, flags: int) -> tuple[str, list[tuple[int, str]]]:
    """``gaih_inet``'s NSS lookup of a name: (canonical name, (family, address) records).
    AF_INET without AI_CANONNAME goes through ``gethostbyname2_r`` (digits and dots first);
    AF_UNSPEC through the modules' ``gethostbyname4_r``; AF_INET6, and AF_INET with
    AI_CANONNAME, through ``gethostbyname3_r`` (no host name check) or ``gethostbyname2_r``."""
    try:
        if family == AF_INET and not flags & AI_CANONNAME:
            h = _digits_dots(host, AF_INET)
            if h is not None:
                return h.h_name, [(AF_INET, a) for a in h.h_addr_list]
            canon, _, addrs = _lookup_name(host, [AF_INET])
            return canon, addrs
        if family == AF_UNSPEC:
            families = [AF_INET, AF_INET6]
            if flags & AI_ADDRCONFIG and _has_global_ipv4():
                families = [AF_INET]
        else:
            families = [family]
            if family == AF_INET6 and flags & AI_V4MAPPED:
                families.append(AF_INET)
        canon, _, addrs = _lookup_name(host, families, check_name=family == AF_UNSPEC or not flags & AI_CANONNAME)
    except ResolverError as e:
        raise gai_error(_GAI_OF_HERRNO.get(e.code, EAI_NONAME)) from None
    if family == AF_INET6:
        # AI_V4MAPPED: IPv4 addresses as IPv4-mapped IPv6 ones, when there is no IPv6 one (AI_ALL: always)
        v6 = [(f, a) for f, a in addrs if f == AF_INET6]
        if not v6 or flags & AI_ALL:
            v6 += [(AF_INET6, "::ffff:" + a) for f, a in addrs if f == AF_INET]
        addrs = v6
    return canon, addrs


def getaddrinfo(host: str | None, port: str | int | None, family: int = AF_UNSPEC, type: int = 0,
                proto: int = 0, flags: int = 0) -> list[tuple[int, int, int, str, tuple[Any, ...]]]:
    """``getaddrinfo(3)``, with Python's signature and result: a list of
    ``(family, type, proto, canonname, sockaddr)``; raises ``gaierror`` with glibc's ``EAI_*``,
    its checks in glibc's order.  A port given as an int is its decimal text."""
    service = str(port) if isinstance(port, int) else port
    if host == "*":
        host = None
    if service == "*":
        service = None
    if host is None and service is None:
        raise gai_error(EAI_NONAME)
    if flags & ~_AI_MASK or (flags & AI_CANONNAME and host is None):
        raise gai_error(EAI_BADFLAGS)
    if family not in (AF_UNSPEC, AF_INET, AF_INET6):
        raise gai_error(EAI_FAMILY)
    if flags & AI_ADDRCONFIG:
        # __check_pf: the hosts have no IPv6 addresses; 127.0.0.1 does not count as IPv4
        seen_ipv4 = _has_global_ipv4()
        if (family == AF_INET and not seen_ipv4) or family == AF_INET6:
            raise gai_error(EAI_NONAME)
        if family == AF_UNSPEC and seen_ipv4:
            family = AF_INET
    num: str | int | None = None
    if service:  # ("" is no service: ``service && service[0]``)
        # strtoul's number when nothing follows it, kept in an int: a negative one is looked up
        # as a name
        number, end, _ = libc.strtoul(service)
        if end != len(service) and flags & AI_NUMERICSERV:
            raise gai_error(EAI_NONAME)
        num = libc.c_int(number) if end == len(service) and libc.c_int(number) >= 0 else service
    socktypes = _servtuples(type, proto, num)
    canon = ""
    addrs: list[tuple[int, str, int]]
    if host is None:
        passive = bool(flags & AI_PASSIVE)
        addrs = []
        if family in (AF_UNSPEC, AF_INET):
            addrs.append((AF_INET, "0.0.0.0" if passive else "127.0.0.1", 0))
        if family in (AF_UNSPEC, AF_INET6):
            addrs.append((AF_INET6, "::" if passive else "::1", 0))
    else:
        numeric = _numeric_host(host, family, flags)
        if numeric is not None:
            addrs = [numeric]
            canon = host
        elif flags & AI_NUMERICHOST:
            raise gai_error(EAI_NONAME)
        else:
            canon, found = _host_addresses(host, family, flags)
            addrs = [(f, a, 0) for f, a in found]
    # RFC 3484 rule 1 (rfc3484_sort): the IPv6 destinations, with no source address, go last
    addrs.sort(key=lambda fa: fa[0] != AF_INET)
    result: list[tuple[int, int, int, str, tuple[Any, ...]]] = []
    for fam, addr, scope_id in addrs:
        for socktype, protocol, portnum in socktypes:
            sockaddr: tuple[Any, ...] = (addr, portnum) if fam == AF_INET else (addr, portnum, 0, scope_id)
            name = canon if flags & AI_CANONNAME and not result else ""
            result.append((fam, socktype, protocol, name, sockaddr))
    return result


def getnameinfo(sockaddr: tuple[Any, ...], flags: int = 0) -> tuple[str, str]:
    """``getnameinfo(3)``: (host, service) for an IPv4 ``(address, port)`` or IPv6 ``(address,
    port, flowinfo, scope_id)`` socket address, addresses in text."""
    if flags & ~_NI_MASK:
        raise gai_error(EAI_BADFLAGS)
    if not isinstance(sockaddr, tuple) or len(sockaddr) < 2:
        raise gai_error(EAI_FAMILY)
    addr, port = str(sockaddr[0]), int(sockaddr[1]) & 0xFFFF
    if not (is_ipv4_address(addr) or is_ipv6_address(addr)):
        raise gai_error(EAI_FAMILY)
    host = addr
    if not flags & NI_NUMERICHOST:
        try:
            host = gethostbyaddr(addr).h_name
        except _pysocket.herror as e:
            # gni_host_inet_name: a lookup that could not be made is EAI_AGAIN
            if e.errno == TRY_AGAIN:
                raise gai_error(EAI_AGAIN) from None
            if flags & NI_NAMEREQD:
                raise gai_error(EAI_NONAME) from None
        else:
            if flags & NI_NOFQDN:
                domain = libc.gethostname().partition(".")[2]
                if domain and host.endswith("." + domain):
                    host = host[: -len(domain) - 1]
    serv = str(port)
    if not flags & NI_NUMERICSERV:
        try:
            serv = getservbyport(port, "udp" if flags & NI_DGRAM else "tcp")
        except OSError:
            serv = str(port)
    return host, serv

# libc exports the resolver's functions, importing this module at its end: bound here, once this
# module is whole, either module can be imported first.
from tuxnet.user import libc  # noqa: E402
