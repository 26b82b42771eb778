"""``dig`` as BIND 9.18's prints it: one question to one server, over UDP (TCP with ``+tcp``, or
when the answer comes back truncated), and the answer in dig's sections.

    dig [@server] [-p port] [-t type] [-c class] [-x addr] [-q name] [name] [type] [class] [+opt...]

The query is dig's: a random ID, RD (``+norecurse`` clears it) and AD, EDNS version 0 with a
1232-octet UDP payload and a client COOKIE (RFC 7873; ``+nocookie``, ``+noedns``).  Each try
waits ``+time`` seconds (5), and ``+tries`` (3; ``+retry`` is one less) are made; a try that gets
no answer prints dig's ``;; communications error`` line, and when none answers dig prints
``;; no servers could be reached`` and ends with status 9.  Output options: ``+short``,
``+[no]all``, ``+[no]cmd``, ``+[no]comments``, ``+[no]question``, ``+[no]answer``,
``+[no]authority``, ``+[no]additional``, ``+[no]stats``; ``+[no]tcp`` (``+vc``; an ``ANY``
question goes over TCP unless ``+[no]tcp`` says otherwise), ``+[no]adflag`` (``+[no]ad``); ``AXFR`` and
``IXFR=N`` transfer a zone over TCP and list it (``+onesoa``); ``+trace`` follows the name down
from the root, zone by zone (``trace``); ``+qr`` shows the query as it is sent; ``+dnssec``
sets DO (tuxnet's zones are unsigned: no signatures come back); ``+nsid`` asks the server for
its identifier (an empty NSID option, RFC 5001 §2.1), which the OPT pseudosection shows.
Records are printed in BIND's columns (``dns_master_style`` of masterdump.c: the TTL at 24, the
class at 32, the type at 40, the data at 48, tabs to reach them, once past them one space, or a
tab that reaches a tab stop) and their data as ``dns_rdata_tofmttext`` writes it (a DS digest
in upper-case hex, a key in base64, split every 56 characters).  ``+[no]multiline`` (``+mu``
...) is dig's multiline style: the data at column 32, the class and type one space apart, an
SOA's numbers one a line in parentheses with their names and durations, a DS digest and a
DNSKEY's key split in lines of 44 within parentheses, a key's role, algorithm and key tag in a
comment (``+short`` is the same either way).  Other options of dig's (``+identify``,
``+nssearch`` ...) are refused by name; one question is asked a run.  The name is asked as it is,
or with ``+search`` (``+defname``, or ``+domain=NAME``, which makes NAME the search list) under
/etc/resolv.conf's search domains first when it has fewer dots than ``ndots`` (``+ndots=N``),
as dighost.c's next_origin goes on after an NXDOMAIN (``irs_resconf_load``, ``search_names``).
"""

from __future__ import annotations

import base64
import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import dns.dnssec
import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from tuxnet.kernel.errno import ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ETIMEDOUT
from tuxnet.kernel.sched import current
from tuxnet.net.socket import AF_INET, POLLIN, POLLOUT, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.ctype import isdigits
from tuxnet.user.nameser import EDNS_COOKIE, EDNS_NSID
from tuxnet.user.resolv import EAI_NONAME, HOST_NOT_FOUND, getaddrinfo, res_ninit

VERSION = "9.18.49-1~deb12u3-Debian"
EDNS_PAYLOAD = 1232  # dig's default +bufsize
USAGE = """Usage:  dig [@global-server] [domain] [q-type] [q-class] {q-opt}
            {global-d-opt} host [@local-server] {local-d-opt}
            [ host [@local-server] {local-d-opt} [...]]

Use "dig -h" (or "dig -h | more") for complete list of options
"""
# What dig prints between sections; +all and +noall set them all (cmd with them)
DISPLAY = ("cmd", "comments", "question", "answer", "authority", "additional", "stats")
SWITCHES = (*DISPLAY, "recurse", "tcp", "vc", "short", "edns", "cookie", "adflag", "trace", "qr", "dnssec",
            "onesoa", "multiline", "nsid")
OFF_BY_DEFAULT = ("tcp", "short", "trace", "qr", "dnssec", "onesoa", "multiline", "nsid")
# dig's options that this dig does not have: named, rather than called invalid
UNSUPPORTED = ("identify", "ttlid", "ttlunits", "besteffort",
               "ignore", "fail", "nssearch", "subnet", "expire", "crypto",
               "split", "rrcomments", "showsearch", "sigchase", "topdown", "keepopen", "padding",
               "bufsize", "class", "ttl", "yaml", "json", "https", "tls", "zflag", "aaflag",
               "cdflag", "raflag", "tcflag", "header-only", "opcode", "ednsflags", "ednsopt",
               "ednsnegotiation", "mapped", "unknownformat", "idnin", "idnout", "dns64prefix", "badcookie")
# isc_result_totext's words for the errors a socket reports
REASONS = {ECONNREFUSED: "connection refused", EHOSTUNREACH: "host unreachable",
           ENETUNREACH: "network unreachable", ETIMEDOUT: "timed out"}
FLAG_NAMES = (("qr", dns.flags.QR), ("aa", dns.flags.AA), ("tc", dns.flags.TC), ("rd", dns.flags.RD),
              ("ra", dns.flags.RA), ("ad", dns.flags.AD), ("cd", dns.flags.CD))
# The styles dig.c's printmessage makes (dns_master_stylecreate): the TTL, class, type and data
# columns, by default and with +multiline; the line is 80 wide, tabs 8.
COLUMNS = (24, 32, 40, 48)
MULTILINE_COLUMNS = (24, 24, 24, 32)
LINE_LENGTH = 80
# masterdump.c's linebreak in multiline style: a new line, tabs to the data column
MULTILINE_BREAK = "\n" + "\t" * (MULTILINE_COLUMNS[3] // 8)
SINGLE_LINE_WIDTH = 60  # dns_rdata_tofmttext's width for hex and base64 on one line
SOA_FIELDS = ("serial", "refresh", "retry", "expire", "minimum")  # soa_6.c's soa_fieldnames
# dns_secalg_format's names for DNSSEC algorithms (lib/dns/rcode.c's SECALGNAMES)
SECALG_NAMES = {1: "RSAMD5", 2: "DH", 3: "DSA", 5: "RSASHA1", 6: "NSEC3DSA", 7: "NSEC3RSASHA1", 8: "RSASHA256",
                10: "RSASHA512", 12: "ECCGOST", 13: "ECDSAP256SHA256", 14: "ECDSAP384SHA384", 15: "ED25519",
                16: "ED448", 252: "INDIRECT", 253: "PRIVATEDNS", 254: "PRIVATEOID"}
KEYFLAG_KSK, KEYFLAG_REVOKE = 0x0001, 0x0080  # SEP (RFC 4034 §2.1.1), REVOKE (RFC 5011 §3)
# Extended DNS Error codes as dig names them (RFC 8914 §4; message.c's edetext)
EDE_NAMES = ("Other", "Unsupported DNSKEY Algorithm", "Unsupported DS Digest Type", "Stale Answer",
             "Forged Answer", "DNSSEC Indeterminate", "DNSSEC Bogus", "Signature Expired",
             "Signature Not Yet Valid", "DNSKEY Missing", "RRSIGs Missing", "No Zone Key Bit Set",
             "NSEC Missing", "Cached Error", "Not Ready", "Blocked", "Censored", "Filtered", "Prohibited",
             "Stale NXDOMAIN Answer", "Not Authoritative", "Not Supported", "No Reachable Authority",
             "Network Error", "Invalid Data")
MAX_TRACE_STEPS = 30  # referrals +trace follows before it gives up (a delegation loop)


class DigExit(Exception):
    """dig stops: ``status`` is its exit status (what it printed is already out)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass
class Query:
    """One lookup as the command line asked it."""
    argv: list[str]
    server: str | None = None
    port: int = 53
    name: str | None = None
    rdtype: int | None = None
    rdclass: int | None = None
    timeout: int = 5
    tries: int = 3
    serial: int = 0  # the SOA serial an IXFR=N question says the client has
    tcp_set: bool = False  # +[no]tcp or +[no]vc was given (dighost.c's tcp_mode_set)
    search: bool = False  # +[no]search, +[no]defname (dighost.c's usesearch)
    ndots: int | None = None  # +ndots (else resolv.conf's)
    domain: str | None = None  # +domain (dig.c's domainopt)
    # each switch's state ("+vc" is a name of "+tcp"): all on but those OFF_BY_DEFAULT
    on: dict[str, bool] = field(default_factory=lambda: {n: n not in OFF_BY_DEFAULT for n in SWITCHES if n != "vc"})


# +timeout, +tries and +retry: the largest each takes (MAXTIMEOUT, MAXTRIES) and its name in messages
PLUS_NUMBERS = {"timeout": (0xFFFF, "timeout"), "tries": (0xFFFFFFFF, "tries"), "retry": (0xFFFFFFFE, "retries"),
                "ndots": (0xFFFF, "ndots")}


def parse_uint(value: str, maximum: int, desc: str) -> int | None:
    """``parse_uint`` (bin/dig/dighost.c) over ``isc_parse_uint32``: a number that starts with a
    letter or digit and is all digits, at most ``maximum``; else None, ISC's words for what is
    wrong printed."""
    number, end, err = libc.strtoul(value)
    if not value[:1].isascii() or not value[:1].isalnum() or end != len(value):
        problem = "not a valid number"
    elif err or number > maximum:
        problem = "out of range"
    else:
        return number
    libc.printf("invalid %s '%s': %s\n", desc, value, problem)
    return None


def _dig_uint(value: str, maximum: int, desc: str, status: int) -> int:
    """dig's numbers: ``parse_uint``, and on a failure "Couldn't parse" and exit ``status``."""
    number = parse_uint(value, maximum, desc)
    if number is None:
        libc.printf("dig: Couldn't parse %s\n", desc)
        raise DigExit(status)
    return number


def _usage_error(word: str) -> DigExit:
    libc.printf("Invalid option: %s\n%s", word, USAGE)
    return DigExit(1)


def _plus_option(q: Query, word: str) -> None:
    """A ``+[no]name[=value]`` option; dig takes any start of a name that no other of its options
    shares (``+mu`` is ``+multiline``, but ``+m`` could be ``+mapped`` too: invalid)."""
    text = word[1:]
    value = None
    if "=" in text:
        text, value = text.split("=", 1)
    negate = text.startswith("no")
    if negate:
        text = text[2:]
    candidates = (*SWITCHES, "all", *PLUS_NUMBERS, "search", "defname", "domain", *UNSUPPORTED)
    names = [n for n in candidates if n.startswith(text)] if text else []
    if text in names:
        names = [text]
    if text == "ad":  # plus_option (bin/dig/dig.c): "+ad is a synonym for +adflag"
        names = ["adflag"]
    if len(names) != 1:
        raise _usage_error(word.split("=", 1)[0])  # (dig names the option without its value)
    if names[0] in UNSUPPORTED:
        libc.printf("dig: +%s is not in tuxnet's dig\n", text)
        raise DigExit(1)
    name = names[0]
    if name in PLUS_NUMBERS or name == "domain":
        if negate or not value:
            raise _usage_error(word.split("=", 1)[0])
        if name == "domain":
            q.domain = value
            return
        number = _dig_uint(value, *PLUS_NUMBERS[name], status=10)
        if name == "timeout":
            q.timeout = max(1, number)
        elif name == "ndots":
            q.ndots = number
        else:
            q.tries = max(1, number + (name == "retry"))
        return
    if name in ("search", "defname"):  # +defname: "deprecated, treated as a synonym for +[no]search"
        q.search = not negate
        return
    if name == "all":
        for d in DISPLAY:
            q.on[d] = not negate
        return
    if name == "short" and not negate:
        for d in DISPLAY:
            q.on[d] = d == "answer"
    q.on["tcp" if name == "vc" else name] = not negate
    q.tcp_set = q.tcp_set or name in ("tcp", "vc")


def reverse_name(addr: str) -> str | None:
    """``-x``'s name: the address's octets, last first, under in-addr.arpa."""
    parts = addr.split(".")
    if not 1 <= len(parts) <= 4 or not all(isdigits(p) and int(p) < 256 for p in parts):
        return None
    return ".".join(reversed(parts)) + ".in-addr.arpa."


def parse_args(argv: Sequence[str]) -> Query:
    """dig's command line, in its order; warnings print as they come."""
    q = Query(list(argv))
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg.startswith("@") and len(arg) > 1:
            q.server = arg[1:]
        elif arg.startswith("+"):
            _plus_option(q, arg)
        elif arg in ("-4",):
            continue
        elif arg in ("-p", "-t", "-c", "-x", "-q") or (arg[:2] in ("-p", "-t", "-c", "-x", "-q") and len(arg) > 2):
            flag, value = (arg, args.pop(0) if args else None) if len(arg) == 2 else (arg[:2], arg[2:])
            if value is None:
                raise _usage_error(arg)
            if flag == "-p":
                q.port = _dig_uint(value, 0xFFFF, "port number", status=1)
            elif flag == "-t":
                if _ixfr(q, value):
                    continue
                try:
                    q.rdtype = dns.rdatatype.from_text(value)
                except dns.exception.DNSException:
                    libc.printf(";; Warning, ignoring invalid type %s\n", value)
            elif flag == "-c":
                try:
                    q.rdclass = dns.rdataclass.from_text(value)
                except dns.exception.DNSException:
                    libc.printf(";; Warning, ignoring invalid class %s\n", value)
            elif flag == "-x":
                name = reverse_name(value)
                if name is None:
                    libc.printf("dig: '%s' is not a legal IPv4 address\n", value)
                    raise DigExit(1)
                q.name = name
                if q.rdtype is None:
                    q.rdtype = dns.rdatatype.PTR
            else:
                q.name = value
        elif arg.startswith("-"):
            raise _usage_error(arg)
        else:
            _positional(q, arg)
    return q


def _ixfr(q: Query, word: str) -> bool:
    """``ixfr=N``: an IXFR from serial N (dig's way to name the type and the serial at once)."""
    kind, _, serial = word.partition("=")
    if kind.lower() != "ixfr" or not isdigits(serial):
        return False
    q.rdtype, q.serial = dns.rdatatype.IXFR, int(serial) & 0xFFFFFFFF
    return True


def _positional(q: Query, word: str) -> None:
    """A word is the type if none is set and it names one (``ixfr=N`` too), then likewise the
    class, else the name."""
    if q.rdtype is None and _ixfr(q, word):
        return
    for attr, parse in (("rdtype", dns.rdatatype.from_text), ("rdclass", dns.rdataclass.from_text)):
        if getattr(q, attr) is None:
            try:
                setattr(q, attr, parse(word))
                return
            except dns.exception.DNSException:
                pass
    if q.name is not None:
        libc.printf("dig: tuxnet's dig asks one question a run ('%s' and '%s')\n", q.name, word)
        raise DigExit(1)
    q.name = word


def _indent(column: int, to: int) -> tuple[str, int]:
    """masterdump.c's ``indent``: tabs (8 wide) to column ``to``, then spaces; when already there
    or past, to the next column, which is a tab when that ends a tab stop, else a space."""
    to = max(to, column + 1)
    tabs = to // 8 - column // 8
    if tabs:
        return "\t" * tabs + " " * (to % 8), to
    return " " * (to - column), to


def record_line(owner: str, ttl: int | None, rdclass: int, rdtype: int, rdata: str | None,
                columns: tuple[int, int, int, int] = COLUMNS) -> str:
    """One record (or a question, without TTL and data) in BIND's ``columns``; a question's
    leading ";" is not counted (message.c writes it before masterdump.c's question_totext)."""
    ttl_column, class_column, type_column, rdata_column = columns
    line, column = owner, len(owner.removeprefix(";"))
    fields = [] if ttl is None else [(ttl_column, str(ttl))]
    fields += [(class_column, dns.rdataclass.to_text(rdclass)), (type_column, dns.rdatatype.to_text(rdtype))]
    if rdata is not None:
        fields.append((rdata_column, rdata))
    for to, text in fields:
        pad, column = _indent(column, to)
        line += pad + text
        column += len(text)
    return line


def ttl_text(seconds: int) -> str:
    """A duration as lib/dns/ttl.c's ``dns_ttl_totext`` writes it verbose: "1 week 2 days",
    "15 minutes", "0 seconds"."""
    parts = []
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count or (unit == "second" and not parts):
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts)


def _chunks(text: str, wordlength: int, unit: int, wordbreak: str) -> str:
    """isc_hex_totext's (``unit`` 2) and isc_base64_totext's (``unit`` 4) splitting: after the
    most whole units that leave room for one more within ``wordlength``, ``wordbreak``, while
    more follow."""
    size = unit * (-(-wordlength // unit) - 1)
    return wordbreak.join(text[i:i + size] for i in range(0, len(text), size))


def rdata_text(rdtype: int, rd: Any, multiline: bool = False) -> str:
    """A record's data as dig prints it (``dns_rdata_tofmttext``): one line, or in dig's multiline
    style (``totext_soa``, ``totext_ds``, ``generic_totext_key`` with dig's RRCOMMENT); the types
    BIND writes as dnspython does, as dnspython writes them."""
    wordbreak = MULTILINE_BREAK if multiline else " "
    # hex and base64 words: the line's length past the data column, less 2
    wordlength = (LINE_LENGTH - MULTILINE_COLUMNS[3] if multiline else SINGLE_LINE_WIDTH) - 2
    opening, closing = (" (", " )") if multiline else ("", "")
    if rdtype == dns.rdatatype.SOA and multiline:
        fields = (rd.serial, rd.refresh, rd.retry, rd.expire, rd.minimum)
        lines = [f"{rd.mname} {rd.rname} ("]
        lines += [f"{value:<10} ; {name}" + (f" ({ttl_text(value)})" if i else "")
                  for i, (name, value) in enumerate(zip(SOA_FIELDS, fields, strict=True))]
        return wordbreak.join([*lines, ")"])
    if rdtype in (dns.rdatatype.DS, dns.rdatatype.CDS):
        digest = _chunks(rd.digest.hex().upper(), wordlength, 2, wordbreak)
        return f"{rd.key_tag} {int(rd.algorithm)} {rd.digest_type}{opening}{wordbreak}{digest}{closing}"
    if rdtype in (dns.rdatatype.DNSKEY, dns.rdatatype.CDNSKEY):
        head = f"{rd.flags} {rd.protocol} {int(rd.algorithm)}"
        key = _chunks(base64.b64encode(rd.key).decode(), wordlength, 4, wordbreak)
        if not multiline:
            return f"{head} {key}"
        role = "ZSK" if not rd.flags & KEYFLAG_KSK else "revoked KSK" if rd.flags & KEYFLAG_REVOKE else "KSK"
        algorithm = SECALG_NAMES.get(int(rd.algorithm), str(int(rd.algorithm)))
        return (f"{head} ({wordbreak}{key}{wordbreak}) ; {role}; alg = {algorithm} ; "
                f"key id = {dns.dnssec.key_id(rd)}")
    return rd.to_text()


def section_lines(rrsets: list, multiline: bool = False) -> list[str]:
    """A section's records, one line each (several in ``multiline`` style)."""
    columns = MULTILINE_COLUMNS if multiline else COLUMNS
    return [record_line(rrset.name.to_text(), rrset.ttl, rrset.rdclass, rrset.rdtype,
                        rdata_text(rrset.rdtype, rd, multiline), columns)
            for rrset in rrsets for rd in rrset]


def _opt_lines(response: dns.message.Message, cookie: bytes | None) -> list[str]:
    """The OPT PSEUDOSECTION's lines (dig's ``printmessage`` for the OPT record); a query's
    (``cookie`` None) COOKIE has no verdict."""
    flags = " do" if response.ednsflags & dns.flags.DO else ""
    lines = [f"; EDNS: version: {response.edns}, flags:{flags}; udp: {response.payload}"]
    for option in response.options:
        data = option.to_wire()
        if option.otype == EDNS_COOKIE:
            status = "" if cookie is None else " (echoed)" if len(data) == 8 else \
                " (good)" if data[:8] == cookie else " (bad)"
            lines.append(f"; COOKIE: {data.hex()}{status}")
        elif option.otype == EDNS_NSID:
            # message.c's dns_message_pseudosectiontotext: the octets in hex, then as text
            shown = "".join(chr(b) if 32 <= b < 127 else "." for b in data)
            lines.append(f"; NSID: {''.join(f'{b:02x} ' for b in data)}(\"{shown}\")" if data else "; NSID:")
        elif option.otype == dns.edns.OptionType.EDE and len(data) >= 2:
            code = int.from_bytes(data[:2], "big")
            text = f": ({data[2:].decode(errors='replace')})" if len(data) > 2 else ""
            name = f" ({EDE_NAMES[code]})" if code < len(EDE_NAMES) else ""
            lines.append(f"; EDE: {code}{name}{text}")
        else:
            lines.append(f"; OPT={int(option.otype)}: {' '.join(f'{b:02x}' for b in data)}")
    return lines


def print_response(q: Query, wire: bytes, response: dns.message.Message, cookie: bytes | None, ms: int,
                   server: tuple[str, str], proto: str) -> None:
    """The answer as dig prints it, section by section as the display options ask; with
    ``cookie`` None, the query ``+qr`` shows before it is sent."""
    on = q.on
    out: list[str] = []
    if on["short"]:
        out += [rdata_text(rrset.rdtype, rd) for rrset in response.answer for rd in rrset]
        libc.printf("%s", "".join(line + "\n" for line in out))
        return
    if on["comments"]:
        counts = [int.from_bytes(wire[i:i + 2], "big") for i in (4, 6, 8, 10)]
        flags = "".join(f" {name}" for name, bit in FLAG_NAMES if response.flags & bit)
        out += [";; Sending:" if cookie is None else ";; Got answer:",
                f";; ->>HEADER<<- opcode: {dns.opcode.to_text(response.opcode())}, "
                f"status: {dns.rcode.to_text(response.rcode())}, id: {response.id}",
                f";; flags:{flags}; QUERY: {counts[0]}, ANSWER: {counts[1]}, "
                f"AUTHORITY: {counts[2]}, ADDITIONAL: {counts[3]}"]
        if on["recurse"] and not response.flags & dns.flags.RA and cookie is not None:
            out.append(";; WARNING: recursion requested but not available")
        out.append("")
        if response.edns >= 0:
            out += [";; OPT PSEUDOSECTION:", *_opt_lines(response, cookie)]
    if on["question"] and response.question:
        if on["comments"]:
            out.append(";; QUESTION SECTION:")
        columns = MULTILINE_COLUMNS if on["multiline"] else COLUMNS
        out += [record_line(";" + r.name.to_text(), None, r.rdclass, r.rdtype, None, columns)
                for r in response.question]
        if on["comments"]:
            out.append("")
    for key, title, rrsets in (("answer", "ANSWER", response.answer), ("authority", "AUTHORITY", response.authority),
                               ("additional", "ADDITIONAL", response.additional)):
        if on[key] and rrsets:
            if on["comments"]:
                out.append(f";; {title} SECTION:")
            out += section_lines(rrsets, on["multiline"])
            if on["comments"]:
                out.append("")
    if cookie is None:
        out += [f";; QUERY SIZE: {len(wire)}", ""]
    elif on["stats"]:
        when = _time.strftime("%a %b %d %H:%M:%S UTC %Y", _time.gmtime(libc.time()))
        out += [f";; Query time: {ms} msec", f";; SERVER: {server[0]}#{q.port}({server[1]}) ({proto})",
                f";; WHEN: {when}", f";; MSG SIZE  rcvd: {len(wire)}", ""]
    libc.printf("%s", "".join(line + "\n" for line in out))


def _banner(q: Query) -> None:
    if q.on["cmd"]:
        found = ""
        if q.server is not None:
            found = "; (1 server found)\n"
        libc.printf("\n; <<>> DiG %s <<>> %s\n%s;; global options: +cmd\n", VERSION, " ".join(q.argv), found)


def _wait(fd: int, events: int, deadline: float) -> bool:
    """Poll ``fd`` until it is ready or the deadline passes; whether it became ready."""
    left = int((deadline - libc.clock_monotonic()) * 1000)
    while left > 0:
        if libc.poll([(fd, events)], left)[0]:
            return True
        left = int((deadline - libc.clock_monotonic()) * 1000)
    return False


def over_udp(q: Query, ip: str, wire: bytes, qid: int) -> bytes | str:
    """One try over UDP on a connected socket: the answer's bytes, or the isc reason it failed."""
    fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
    try:
        try:
            libc.connect(fd, (ip, q.port))
        except OSError as e:
            return "setup:" + REASONS.get(e.errno, e.strerror.lower())
        libc.send(fd, wire)
        deadline = libc.clock_monotonic() + q.timeout
        while _wait(fd, POLLIN, deadline):
            try:
                data = libc.recv(fd, 65535)
            except OSError as e:
                return REASONS.get(e.errno, e.strerror.lower())
            if len(data) >= 2 and int.from_bytes(data[:2], "big") == qid:
                return data
            if len(data) >= 2:
                libc.printf(";; Warning: ID mismatch: expected ID %d, got %d\n", qid, int.from_bytes(data[:2], "big"))
        return "timed out"
    finally:
        libc.close(fd)


def over_tcp(q: Query, ip: str, wire: bytes, transfer: int = 0) -> bytes | list[bytes] | str:
    """One try over TCP (RFC 1035 §4.2.2: a two-octet length before each message); for a
    ``transfer`` (AXFR or IXFR) the messages until it is done (``_transfer_done``)."""
    fd = libc.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)
    deadline = libc.clock_monotonic() + q.timeout
    try:
        try:
            libc.connect(fd, (ip, q.port))
        except BlockingIOError:
            if not _wait(fd, POLLOUT, deadline):
                return "setup:timed out"
            err = libc.getsockopt(fd, 1, 4)  # SO_ERROR
            if err:
                return "setup:" + REASONS.get(err, "failure")
        except OSError as e:
            return "setup:" + REASONS.get(e.errno, e.strerror.lower())
        libc.send(fd, len(wire).to_bytes(2, "big") + wire)
        data = b""
        messages: list[bytes] = []
        counts = [0, 0]  # a transfer's records and SOA records so far
        while True:
            while len(data) < 2 or len(data) < 2 + int.from_bytes(data[:2], "big"):
                if not _wait(fd, POLLIN, deadline):
                    return "timed out"
                try:
                    chunk = libc.recv(fd, 65535)
                except OSError as e:
                    return REASONS.get(e.errno, e.strerror.lower())
                if not chunk:
                    return "end of file"
                data += chunk
            end = 2 + int.from_bytes(data[:2], "big")
            message, data = data[2:end], data[end:]
            if not transfer:
                return message
            messages.append(message)
            if _transfer_done(message, len(messages) == 1, counts, transfer):
                return messages
    finally:
        libc.close(fd)


def _transfer_done(wire: bytes, first: bool, counts: list[int], rdtype: int) -> bool:
    """Whether a transfer is done with the message ``wire`` (``counts`` holds the records and
    SOA records of those before it, and takes this one's): an error or a message that does not
    parse, the closing SOA (RFC 5936 §2.2), or an IXFR's lone SOA (the client is current)."""
    try:
        message = dns.message.from_wire(wire, one_rr_per_rrset=True)
    except dns.exception.DNSException:
        return True
    if first and message.rcode() != dns.rcode.NOERROR:
        return True
    counts[0] += len(message.answer)
    counts[1] += sum(rrset.rdtype == dns.rdatatype.SOA for rrset in message.answer)
    records, soas = counts
    return soas >= 2 or rdtype == dns.rdatatype.IXFR and records == soas == 1


def legal_name(prog: str, text: str) -> dns.name.Name | None:
    """``text`` as an absolute name; None once ``prog``'s "is not a legal name" line is out."""
    try:
        return dns.name.from_text(text)
    except dns.exception.DNSException as e:
        reason = {"LabelTooLong": "label too long", "EmptyLabel": "empty label",
                  "NameTooLong": "name too long"}.get(type(e).__name__, "bad name")
        libc.printf("%s: '%s' is not a legal name (%s)\n", prog, text, reason)
        return None


@dataclass
class SearchList:
    """dighost.c's search_list and ndots, as setup_system takes them from /etc/resolv.conf, and
    usesearch (host and nslookup set it, dig's ``+search`` does)."""
    domains: list[str]
    ndots: int
    use: bool = False

    def set_domain(self, domain: str) -> None:
        """``set_search_domain``: ``domain`` alone, searched (``+domain=``, ``-domain=``)."""
        self.domains = [domain]
        self.use = True


RESCONF_MAXSEARCH = 8  # lib/irs/resconf.c's RESCONFMAXSEARCH
RESCONF_MAXNDOTS = 0xFF  # resconf_parseoption: a larger ndots is out of range


def irs_resconf_load() -> SearchList:
    """``irs_resconf_load`` (lib/irs/resconf.c) for what dighost.c's setup_system takes from it:
    ``domain`` or ``search``, whichever comes last (resconf_parsedomain and resconf_parsesearch
    each drop the other), at most 8 domains and no fallback to the host name's domain (unlike
    glibc's res_init), and ``options ndots:N`` (1 without one).  Lines that start with ``#`` or
    ``;`` are comments."""
    domains: list[str] = []
    ndots = 1
    try:
        data = libc.read_file("/etc/resolv.conf")
    except FileNotFoundError:
        data = ""
    text = data.decode(errors="replace") if isinstance(data, bytes) else data
    for line in text.splitlines():
        words = line.split()
        if not words or words[0][0] in "#;":
            continue
        if words[0] == "domain" and len(words) > 1:
            domains = words[1:2]
        elif words[0] == "search" and len(words) > 1:
            domains = words[1:1 + RESCONF_MAXSEARCH]
        elif words[0] == "options":
            for option in words[1:]:
                if option.startswith("ndots:") and isdigits(option[6:]) and int(option[6:]) <= RESCONF_MAXNDOTS:
                    ndots = int(option[6:])
    return SearchList(domains, ndots)


def search_names(text: str, search: SearchList) -> list[dns.name.Name]:
    """The names dighost.c asks for ``text``, in turn: setup_lookup's first (the name as it is
    when search is off, the name is absolute or has ndots dots or more: then next_origin has
    nothing more) and next_origin's, each search domain after the name, then the name as it is.
    ``text`` is a legal name (``legal_name``)."""
    name = dns.name.from_text(text, origin=None)
    if not search.use or name.is_absolute() or text.count(".") >= search.ndots:
        return [name.derelativize(dns.name.root)]
    names = []
    for domain in search.domains:
        try:
            names.append(name.derelativize(dns.name.from_text(domain)))
        except dns.exception.DNSException:  # a domain that is no name, or too long with it
            continue
    return [*names, name.derelativize(dns.name.root)]


T = TypeVar("T")


def search_lookup(names: Sequence[dns.name.Name], ask: Callable[[dns.name.Name], T],
                  answer: Callable[[T], Any]) -> tuple[dns.name.Name, T]:
    """dighost.c's recv_done and next_origin: ``ask`` for each name in turn while its answer
    (``answer`` finds the message's bytes in what ``ask`` returns) is NXDOMAIN and a name is
    left; the last name asked and what ``ask`` returned for it."""
    for name in names[:-1]:
        got = ask(name)
        wire = answer(got)
        if not isinstance(wire, bytes) or len(wire) < 4 or wire[3] & 0x0F != dns.rcode.NXDOMAIN:
            return name, got
    return names[-1], ask(names[-1])


def server_address(prog: str, server: str | None) -> tuple[str, str] | None:
    """The server's address and the name shown for it (the one given, else resolv.conf's first
    nameserver); None once ``prog``'s "couldn't get address" line is out."""
    if server is None:
        ip = (res_ninit().nameservers or ["127.0.0.1"])[0]
        return ip, ip
    try:
        return libc.gethostbyname(server).h_addr_list[0], server
    except OSError as e:
        reason = "not found" if e.errno == HOST_NOT_FOUND else "failure"
        libc.printf("%s: couldn't get address for '%s': %s\n", prog, server, reason)
        return None


def exchange(q: Query, server: tuple[str, str], wire: bytes, qid: int, tcp: bool,
             text: str, transfer: int = 0) -> tuple[Any, bool, int]:
    """Up to ``q.tries`` tries, each failure's line printed as dighost.c prints it: the answer
    (None when none came; a transfer's list of messages), whether a try went unanswered (rather
    than failing to set up), and the milliseconds the answered try took."""
    ip, shown = server
    unanswered = False
    for _ in range(q.tries):
        start = libc.clock_monotonic()
        got = over_tcp(q, ip, wire, transfer) if tcp else over_udp(q, ip, wire, qid)
        if not isinstance(got, str):
            return got, unanswered, int((libc.clock_monotonic() - start) * 1000)
        if got.startswith("setup:"):
            libc.printf(";; %s %s#%d(%s) for %s failed: %s.\n;; no servers could be reached\n",
                        "Connection to" if tcp else "UDP setup with", ip, q.port, shown, text, got[6:])
        else:
            libc.printf(";; communications error to %s#%d: %s\n", ip, q.port, got)
            unanswered = True
    return None, unanswered, 0


def parse_answer(got: bytes, one_rr_per_rrset: bool = False) -> dns.message.Message | None:
    """The answer's message (with ``one_rr_per_rrset``, each record its own set, as a transfer
    lists them); None once dig's "Got bad packet" lines are out."""
    try:
        return dns.message.from_wire(got, one_rr_per_rrset=one_rr_per_rrset)
    except dns.exception.DNSException as e:
        libc.printf(";; Got bad packet: %s\n%d bytes\n", e, len(got))
        return None


def ask(q: Query, server: tuple[str, str], qname: dns.name.Name, rdtype: int, rdclass: int, recurse: bool,
        text: str, cookie: bytes, dnssec: bool = False) -> tuple[Any, int, bool] | bool:
    """One question to one server as dig asks it (its ID, RD when ``recurse``, AD, EDNS with an
    empty NSID when ``+nsid`` and the COOKIE, in dighost.c's order, and DO when ``dnssec``; an
    IXFR's SOA with the serial the client has, RFC 1995 §3), tried and retried, over TCP when
    ``+tcp``, for a transfer, or when the answer comes truncated: the answer's bytes (a
    transfer's list of messages), the milliseconds it took and whether TCP carried it; or, when
    none came, whether a try went unanswered."""
    options = [dns.edns.GenericOption(EDNS_NSID, b"")] if q.on["nsid"] else []
    if q.on["cookie"]:
        options.append(dns.edns.GenericOption(EDNS_COOKIE, cookie))
    query = dns.message.make_query(qname, rdtype, rdclass, use_edns=0 if q.on["edns"] else False,
                                   payload=EDNS_PAYLOAD, want_dnssec=dnssec, options=options)
    query.id = current().host.rng.getrandbits(16)
    query.flags = (dns.flags.RD if recurse else 0) | (dns.flags.AD if q.on["adflag"] else 0)
    transfer = rdtype if rdtype in (dns.rdatatype.AXFR, dns.rdatatype.IXFR) else 0
    if rdtype == dns.rdatatype.IXFR:
        query.authority.append(dns.rrset.from_text(qname, 0, rdclass, dns.rdatatype.SOA,
                                                   f". . {q.serial} 0 0 0 0"))
    wire = query.to_wire()
    if q.on["qr"]:
        print_response(q, wire, query, None, 0, server, "")
    tcp = q.on["tcp"] or bool(transfer)
    got, unanswered, ms = exchange(q, server, wire, query.id, tcp, text, transfer)
    if transfer:
        return unanswered if got is None else (got, ms, tcp)
    if got is not None and got[2] & 0x02 and not tcp:  # TC: the whole answer over TCP
        libc.printf(";; Truncated, retrying in TCP mode.\n")
        tcp = True
        got, unanswered, ms = exchange(q, server, wire, query.id, tcp, text)
    return unanswered if got is None else (got, ms, tcp)


def dig(q: Query) -> int:
    """Ask, wait, retry, print; dig's exit status."""
    text = q.name if q.name is not None else "."
    qname = legal_name("dig", text)
    if qname is None:
        return 10
    rdtype = q.rdtype if q.rdtype is not None else dns.rdatatype.NS if q.name is None else dns.rdatatype.A
    rdclass = q.rdclass if q.rdclass is not None else dns.rdataclass.IN
    server = server_address("dig", q.server)
    if server is None:
        return 1
    cookie = current().host.rng.getrandbits(64).to_bytes(8, "big")
    if rdtype == dns.rdatatype.ANY and not q.tcp_set:
        q.on["tcp"] = True  # dighost.c: an ANY question goes over TCP unless +[no]tcp says otherwise
    if q.on["trace"]:
        return trace(q, qname, rdtype, rdclass, server, cookie)
    if q.on["qr"]:
        _banner(q)  # then the query, as it goes
    search = irs_resconf_load()
    search.use = q.search
    if q.ndots is not None:
        search.ndots = q.ndots
    if q.domain is not None:
        search.set_domain(q.domain)  # setup_system: +domain searches, whatever +[no]search said
    _, asked = search_lookup(
        search_names(text, search),
        lambda name: ask(q, server, name, rdtype, rdclass, q.on["recurse"], text, cookie, q.on["dnssec"]),
        lambda asked: asked[0] if isinstance(asked, tuple) else None)
    if not isinstance(asked, tuple):
        if asked:
            if not q.on["qr"]:
                _banner(q)
            libc.printf(";; no servers could be reached\n")
        return 9
    got, ms, tcp = asked
    if isinstance(got, list):
        if not q.on["qr"]:
            _banner(q)
        return print_transfer(q, got, ms, server)
    response = parse_answer(got)
    if response is None:
        return 9
    if not q.on["qr"]:
        _banner(q)
    print_response(q, got, response, cookie, ms, server, "TCP" if tcp else "UDP")
    return 0


def print_transfer(q: Query, messages: list[bytes], ms: int, server: tuple[str, str]) -> int:
    """A zone transfer as dig prints it: each record as it came (but the closing SOA with
    ``+onesoa``), then the XFR size; ``; Transfer failed.`` for an error."""
    parsed = [parse_answer(wire, one_rr_per_rrset=True) for wire in messages]
    if None in parsed:
        return 9
    if parsed[0].rcode() != dns.rcode.NOERROR:
        libc.printf("; Transfer failed.\n")
        return 0
    records = [rrset for message in parsed for rrset in message.answer]
    shown = records[:-1] if q.on["onesoa"] and len(records) > 1 and records[-1].rdtype == dns.rdatatype.SOA \
        else records
    if q.on["answer"]:
        libc.printf("%s", "".join(line + "\n" for line in section_lines(shown, q.on["multiline"])))
    if q.on["stats"]:
        when = _time.strftime("%a %b %d %H:%M:%S UTC %Y", _time.gmtime(libc.time()))
        libc.printf(";; Query time: %d msec\n;; SERVER: %s#%d(%s) (TCP)\n;; WHEN: %s\n"
                    ";; XFR size: %d records (messages %d, bytes %d)\n\n", ms, server[0], q.port, server[1],
                    when, len(records), len(messages), sum(map(len, messages)))
    return 0


def ns_addresses(names: Sequence[dns.name.Name]) -> tuple[list[tuple[str, str]], str]:
    """The IPv4 addresses of a zone's servers, each with its name as dig and host show it, looked
    up as dighost.c looks them up (``bind9_getaddresses``: ``getaddrinfo``, through the host's
    resolver); a name that has none gets its line.  Also the last name that had none, which the
    caller's ``fatal`` names when no address is left ("no more")."""
    out: list[tuple[str, str]] = []
    failed = ""
    for name in names:
        shown = name.to_text(omit_final_dot=True)
        try:
            infos = getaddrinfo(shown, None, AF_INET, SOCK_DGRAM)
        except OSError as e:  # ISC_R_NOTFOUND or ISC_R_FAILURE
            failed = shown
            libc.printf("couldn't get address for '%s': %s\n", shown, "not found" if e.errno == EAI_NONAME
                        else "failure")
            continue
        out += [(info[4][0], shown) for info in infos if (info[4][0], shown) not in out]
    return out, failed


def trace(q: Query, qname: dns.name.Name, rdtype: int, rdclass: int, server: tuple[str, str], cookie: bytes) -> int:
    """``+trace``, as dighost.c follows a name down: the root's NS records from the server
    (recursively), then the question, without RD, to a server of each zone in turn, starting
    at the root and following the referrals until one answers; for each, the records of the
    answer and authority sections (a referral's NS records, a negative answer's SOA) and the
    ``;; Received`` line.  Queries carry DO, as ``+trace`` sets ``+dnssec``."""
    _banner(q)
    transfer = rdtype in (dns.rdatatype.AXFR, dns.rdatatype.IXFR)
    # For a zone transfer BIND's dig asks for the root's servers without RD, looks their
    # addresses up, and goes no further.
    asked = ask(q, server, dns.name.root, dns.rdatatype.NS, rdclass, not transfer, ".", cookie, dnssec=True)
    at = server
    for step in range(MAX_TRACE_STEPS):
        if not isinstance(asked, tuple):
            return 9
        got, ms, _ = asked
        response = parse_answer(got)
        if response is None:
            return 9
        libc.printf("%s", "".join(line + "\n" for line in section_lines(response.answer + response.authority,
                                                                         q.on["multiline"])))
        shown = response.answer or response.authority
        ns = [rd.target for rrset in shown if rrset.rdtype == dns.rdatatype.NS for rd in rrset]
        received = f";; Received {len(got)} bytes from {at[0]}#{q.port}({at[1]}) in {ms} ms\n\n"
        if not ns or (response.answer and step) or response.rcode() != dns.rcode.NOERROR:
            libc.printf("%s", received)
            return 0
        servers, failed = ns_addresses(ns)
        if not servers:
            libc.printf("dig: couldn't get address for '%s': no more\n", failed)
            return 1
        libc.printf("%s", received)
        if transfer:
            return 0
        for at in servers:
            asked = ask(q, at, qname, rdtype, rdclass, False, qname.to_text(), cookie, dnssec=True)
            if isinstance(asked, tuple):
                break
    return 0


def dig_main(argv: Sequence[str]) -> int:
    """``dig ARGS``: ``argv`` without the program's name; dig's exit status."""
    try:
        return dig(parse_args(argv))
    except DigExit as e:
        return e.status
