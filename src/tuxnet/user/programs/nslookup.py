"""``nslookup`` as BIND 9.18's prints it: ``nslookup [-option...] name [server]``, or, without a
name (``nslookup [-option...] [- server]``), its interactive mode, reading commands from standard
input (``interactive``).

A name is looked up as A then AAAA (``-type=`` or ``-query=`` asks for one type), an IPv4
address as its in-addr.arpa PTR; the server is announced (``Server:``, ``Address:``) except for
an address, and each record printed in nslookup's words (``Name:``/``Address:``, ``canonical
name =``, ``mail exchanger =``, the SOA field by field ...), after ``Non-authoritative answer:``
when the server is not the zone's.  An error rcode prints ``** server can't find NAME: RCODE``
and ends with status 1; no records, ``*** Can't find NAME: No answer``.  Options: ``-type``,
``-query``, ``-class``, ``-port``, ``-timeout`` (seconds a try, 5), ``-retry`` (tries, 3),
``-vc`` (TCP), ``-[no]recurse``, ``-[no]search``, ``-domain=`` (the search list), ``-ndots=``
(a name searched as dighost.c does: see ``dig.search_names``); while no server is named, an
answer without RA gets a ``;; Got recursion not available`` line; an unknown one is reported as nslookup
does and the lookup goes on.  Queries and their failures are dig's (``tuxnet.user.programs.dig``), without EDNS.
"""

from __future__ import annotations

from collections.abc import Sequence

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from tuxnet.kernel.minmax import INT_MAX
from tuxnet.kernel.sched import current
from tuxnet.user import libc
from tuxnet.user.programs.dig import (
    Query,
    exchange,
    irs_resconf_load,
    legal_name,
    parse_answer,
    parse_uint,
    reverse_name,
    search_lookup,
    search_names,
    server_address,
)

TIMEOUT, TRIES = 5, 3
MAX_NDOTS = 128  # set_ndots
# nslookup's words for a record's data (printsection in nslookup.c); others: rdata_N
WORDS = {dns.rdatatype.CNAME: "canonical name", dns.rdatatype.MX: "mail exchanger", dns.rdatatype.NS: "nameserver",
         dns.rdatatype.PTR: "name", dns.rdatatype.TXT: "text", dns.rdatatype.HINFO: "hinfo",
         dns.rdatatype.SRV: "service"}


def _record_lines(rrset) -> list[str]:
    owner = rrset.name.to_text(omit_final_dot=True)
    lines = []
    for rd in rrset:
        t = rrset.rdtype
        if t in (dns.rdatatype.A, dns.rdatatype.AAAA):
            lines += [f"Name:\t{owner}", f"Address: {rd.address}"]
        elif t == dns.rdatatype.SOA:
            lines += [owner, f"\torigin = {rd.mname.to_text(omit_final_dot=True)}",
                      f"\tmail addr = {rd.rname.to_text(omit_final_dot=True)}", f"\tserial = {rd.serial}",
                      f"\trefresh = {rd.refresh}", f"\tretry = {rd.retry}", f"\texpire = {rd.expire}",
                      f"\tminimum = {rd.minimum}"]
        else:
            lines.append(f"{owner}\t{WORDS.get(t, f'rdata_{int(t)}')} = {rd.to_text()}")
    return lines


def _number(value: str, maximum: int, desc: str, setting: int) -> int:
    """``set_port``, ``set_timeout``, ``set_tries``: the number ``parse_uint`` reads, or, after
    its complaint, the setting as it was."""
    number = parse_uint(value, maximum, desc)
    return setting if number is None else number


class Lookup:
    """One run's settings, from its ``-option`` words."""

    def __init__(self) -> None:
        self.rdtype: int | None = None
        self.rdclass = dns.rdataclass.IN
        self.port = 53
        self.timeout = TIMEOUT
        self.tries = TRIES
        self.tcp = False
        self.recurse = True
        self.search = irs_resconf_load()
        self.search.use = True

    def option(self, word: str) -> None:
        """``-name[=value]``: set it, or say it is unknown (``*** Invalid option``)."""
        name, equals, value = word[1:].partition("=")
        if name in ("type", "query", "ty", "q", "querytype") and value:
            try:
                self.rdtype = dns.rdatatype.from_text(value)
            except dns.exception.DNSException:
                libc.printf("unknown query type: %s\n", value)
        elif name in ("class", "cl") and value:
            try:
                self.rdclass = dns.rdataclass.from_text(value)
            except dns.exception.DNSException:
                libc.printf("unknown query class: %s\n", value)
        elif name in ("port", "po") and equals:
            self.port = _number(value, 65535, "port", self.port)
        elif name in ("timeout", "ti") and equals:
            self.timeout = max(1, _number(value, 0xFFFFFFFF, "timeout", self.timeout))
        elif name in ("retry", "ret") and equals:
            self.tries = max(1, _number(value, INT_MAX, "tries", self.tries))
        elif name == "vc":
            self.tcp = True
        elif name == "novc":
            self.tcp = False
        elif name in ("recurse", "rec"):
            self.recurse = True
        elif name in ("norecurse", "norec"):
            self.recurse = False
        elif name in ("domain", "do") and equals:
            self.search.set_domain(value)
        elif len(name) >= 3 and "search".startswith(name):
            self.search.use = True
        elif len(name) >= 5 and "nosearch".startswith(name):
            self.search.use = False
        elif name == "ndots" and equals:
            self.search.ndots = _number(value, MAX_NDOTS, "ndots", self.search.ndots)
        else:
            libc.printf("*** Invalid option: %s\n", word[1:])


def lookup(look: Lookup, argv: Sequence[str], text: str, server_word: str | None, interactive: bool) -> int:
    """One lookup, printed as nslookup prints it (in ``interactive`` mode without the blank line
    that ends the output of a run): 0, 1 for an error answer or a server it cannot find, 10 for a
    name that cannot be one, 9 when no server answered."""
    reverse = reverse_name(text) if text.count(".") == 3 else None
    rdtypes = [look.rdtype] if look.rdtype is not None else [dns.rdatatype.A, dns.rdatatype.AAAA]
    if reverse is not None:
        text = reverse.rstrip(".")
        rdtypes = [dns.rdatatype.PTR]
    qname = legal_name("nslookup", text)
    if qname is None:
        return 10
    server = server_address("nslookup", server_word)
    if server is None:
        return 1
    ip, shown = server
    q = Query(list(argv), port=look.port, timeout=look.timeout, tries=look.tries)
    rng = current().host.rng
    header = "" if reverse is not None else f"Server:\t\t{shown}\nAddress:\t{ip}#{look.port}\n\n"
    end = "" if interactive else "\n"
    said_non_authoritative = printed = False
    # dighost.c's check_ra (set while no server is named): an answer without RA gets its line
    check_ra = server_word is None and look.recurse
    names = search_names(text, look.search)
    for rdtype in rdtypes:
        def ask(name: dns.name.Name, rdtype: int = rdtype) -> tuple[bytes, dns.message.Message | None] | None:
            """One question: its answer's bytes and message (None when they do not parse), the RA
            line printed; None when no answer came."""
            query = dns.message.make_query(name, rdtype, look.rdclass, use_edns=False)
            query.id = rng.getrandbits(16)
            query.flags = dns.flags.RD if look.recurse else 0
            got, _, _ = exchange(q, server, query.to_wire(), query.id, look.tcp, text)
            if got is None:
                return None
            response = parse_answer(got)
            if response is not None and check_ra and not response.flags & dns.flags.RA:
                libc.printf(";; Got recursion not available from %s\n", ip)  # recv_done
            return got, response

        tried, asked = search_lookup(names, ask, lambda asked: asked and asked[0])
        # printmessage's AAAA lookup: the name the A lookup found, as it is
        names = [tried]
        if asked is None:
            libc.printf(";; no servers could be reached\n%s", end)
            return 9
        response = asked[1]
        if response is None:
            return 1
        rcode = response.rcode()
        if rcode != dns.rcode.NOERROR:
            libc.printf("%s** server can't find %s: %s\n%s", header, tried.to_text(omit_final_dot=True),
                        dns.rcode.to_text(rcode), end)
            return 1
        out = []
        if response.answer and not response.flags & dns.flags.AA and not said_non_authoritative:
            out.append("Non-authoritative answer:")
            said_non_authoritative = True
        for rrset in response.answer:
            if rrset.rdtype != dns.rdatatype.CNAME or rdtype == rdtypes[0]:  # an alias, said once
                out += _record_lines(rrset)
        # printmessage: the server with the first answer, each answer's records as it comes
        libc.printf("%s%s", header, "".join(line + "\n" for line in out))
        header, printed = "", printed or bool(out)
    if not printed:
        libc.printf("*** Can't find %s: No answer\n", text)
    libc.printf("%s", end)
    return 0


def _commands() -> list[list[str]]:
    """Standard input's lines, as words (it is not a terminal here: no prompt is printed)."""
    data = b""
    while chunk := libc.read(0, 65536):
        data += chunk
    return [line.split() for line in data.decode(errors="replace").splitlines() if line.split()]


def interactive(look: Lookup, argv: Sequence[str], server_word: str | None) -> int:
    """nslookup's interactive mode, its commands read from standard input: ``server NAME`` or
    ``lserver NAME`` (the default server from then on), ``set OPTION[=VALUE]`` (the options of the
    command line), ``NAME [SERVER]`` (a lookup), ``exit``.  A server it cannot find ends it, with
    status 1; else its status is 1 when an answer was an error or the last lookup reached no
    server, and 0 otherwise."""
    failed = unreached = False
    for words in _commands():
        command = words[0]
        if command == "exit":
            break
        if command in ("server", "lserver") and len(words) > 1:
            server = server_address("nslookup", words[1])
            if server is None:
                return 1
            server_word = words[1]
            libc.printf("Default server: %s\nAddress: %s#%d\n", server[1], server[0], look.port)
        elif command == "set" and len(words) > 1:
            look.option("-" + words[1])
        else:
            status = lookup(look, argv, command, words[1] if len(words) > 1 else server_word, True)
            failed |= status in (1, 10)
            unreached = status == 9
    libc.printf("\n")
    return 1 if failed or unreached else 0


def nslookup_main(argv: Sequence[str]) -> int:
    """``nslookup ARGS``: ``argv`` without the program's name; nslookup's exit status.  Without
    a name, or with ``-`` in its place (``nslookup - SERVER``), the interactive mode."""
    look = Lookup()
    words = []
    for word in argv:
        if word.startswith("-") and len(word) > 1:
            look.option(word)
        else:
            words.append(word)
    if not words or words[0] == "-":
        return interactive(look, argv, words[1] if len(words) > 1 else None)
    status = lookup(look, argv, words[0], words[1] if len(words) > 1 else None, False)
    return 1 if status == 9 else status
