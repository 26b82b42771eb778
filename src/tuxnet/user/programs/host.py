"""``host`` as BIND 9.18's prints it: ``host [-aCdrTvw] [-t type] [-c class] [-W time] [-R n]
[-p port] name [server]``.

A name is looked up as A, then AAAA and MX of the name the A answer's aliases lead to (an address
as its in-addr.arpa PTR; ``-t`` asks for one type); a name with fewer dots than ``ndots``
(/etc/resolv.conf's, or ``-N``) is tried under the search domains first, then as it is, going on
after NXDOMAIN (dighost.c's next_origin).  Each answer in host's sentences ("has address", "is an
alias for", "mail is handled by" ...); an error rcode ends it with ``Host NAME not found:
3(NXDOMAIN)`` and status 1.  ``-v`` (``-d``) prints each query's answer in dig's sections instead,
``-a`` asks for ANY verbosely.  Its queries are dig's without EDNS, over the same transport
(``tuxnet.user.programs.dig``): ``-W`` seconds a try (5), ``-R`` retries (1), TCP with ``-T``; a
server named on the line is announced with "Using domain server:".  ``-l`` lists a zone by
transfer.  ``-C`` compares a zone's SOA records: the zone's NS records from the server, their
names' addresses from the host's resolver (getaddrinfo), then one SOA question without RD to each,
all at once, each answer printed as it comes (``Nameserver ADDR:`` and the record in host's words;
``-v``: dig's sections) and each server that stays silent for ``-W`` seconds named in a
``communications error`` line.  As BIND 9.18's host does, a zone with one name server ends in
``;; NS servers could not be reached`` (dighost.c's nssearch_next takes the sent query for the lookup's
last and none answered yet).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from tuxnet.kernel.sched import current
from tuxnet.net.socket import AF_INET, POLLIN, SOCK_DGRAM
from tuxnet.user import libc
from tuxnet.user.programs.dig import (
    FLAG_NAMES,
    REASONS,
    Query,
    exchange,
    irs_resconf_load,
    legal_name,
    ns_addresses,
    over_tcp,
    parse_answer,
    record_line,
    reverse_name,
    search_lookup,
    search_names,
    section_lines,
    server_address,
)

USAGE = """Usage: host [-aCdilrTvVw] [-c class] [-N ndots] [-t type] [-W time]
            [-R number] [-m flag] [-p port] hostname [server]
       -a is equivalent to -v -t ANY
       -A is like -a but omits RRSIG, NSEC, NSEC3
       -c specifies query class for non-IN data
       -C compares SOA records on authoritative nameservers
       -d is equivalent to -v
       -l lists all hosts in a domain, using AXFR
       -m set memory debugging flag (trace|record|usage)
       -N changes the number of dots allowed before root lookup is done
       -p specifies the port on the server to query
       -r disables recursive processing
       -R specifies number of retries for UDP packets
       -s a SERVFAIL response should stop query
       -t specifies the query type
       -T enables TCP/IP mode
       -U enables UDP mode
       -v enables verbose output
       -V print version number and exit
       -w specifies to wait forever for a reply
       -W specifies how long to wait for a reply
       -4 use IPv4 query transport only
       -6 use IPv6 query transport only
"""
FLAGS = "aACdilrsTUvVw46"
VALUED = "cNtWRmp"
# host's sentence for each type of record (host.c's rtypes table); others: "has TYPE record"
SENTENCES = {dns.rdatatype.A: "has address", dns.rdatatype.AAAA: "has IPv6 address",
             dns.rdatatype.CNAME: "is an alias for", dns.rdatatype.MX: "mail is handled by",
             dns.rdatatype.NS: "name server", dns.rdatatype.PTR: "domain name pointer",
             dns.rdatatype.TXT: "descriptive text", dns.rdatatype.HINFO: "host information"}
TIMEOUT = 5  # seconds a try (dighost.c's UDP_TIMEOUT)


class HostExit(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _fail(message: str, status: int = 1) -> HostExit:
    libc.printf("host: %s\n", message)
    return HostExit(status)


def _options(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """host's options up to the first word that is not one (isc_commandline_parse's order)."""
    opts: dict[str, str] = {}
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        word = argv[i]
        i += 1
        if word == "--":
            break
        j = 1
        while j < len(word):
            flag = word[j]
            j += 1
            if flag in VALUED:
                value = word[j:] or (argv[i] if i < len(argv) else None)
                if value is None:
                    libc.printf("%s", USAGE)
                    raise HostExit(1)
                if not word[j:]:
                    i += 1
                opts[flag] = value
                break
            if flag not in FLAGS:
                libc.printf("%s", USAGE)
                raise HostExit(1)
            opts[flag] = ""
    return opts, argv[i:]


def _number(opts: dict[str, str], flag: str, default: int) -> int:
    """``-p``, ``-W``, ``-R`` as host reads them: ``atoi`` (what is no number reads as 0)."""
    value = opts.get(flag)
    return default if value is None else libc.atoi(value)


def _sentences(rrsets: list, first: bool) -> list[str]:
    """The records of an answer in host's words (a CNAME only the first query's)."""
    lines = []
    for rrset in rrsets:
        if rrset.rdtype == dns.rdatatype.CNAME and not first:
            continue
        owner = rrset.name.to_text(omit_final_dot=True)
        verb = SENTENCES.get(rrset.rdtype, f"has {dns.rdatatype.to_text(rrset.rdtype)} record")
        lines += [f"{owner} {verb} {rd.to_text()}" for rd in rrset]
    return lines


def _received(wire: bytes, ip: str, port: int, ms: int) -> str:
    """dighost.c's received(): the line ``-v`` ends each answer with."""
    return f"Received {len(wire)} bytes from {ip}#{port} in {ms} ms\n"


def _chase(response: dns.message.Message, name: dns.name.Name) -> dns.name.Name:
    """host.c's chase_cnamechain: where the answer's CNAME records lead from ``name``."""
    for _ in range(len(response.answer)):
        target = next((rrset[0].target for rrset in response.answer
                       if rrset.rdtype == dns.rdatatype.CNAME and rrset.name == name), None)
        if target is None:
            break
        name = target
    return name


def _verbose(response: dns.message.Message, wire: bytes, ip: str, port: int, ms: int) -> str:
    """``-v``: the answer in dig's sections, without dig's comment lines."""
    counts = [int.from_bytes(wire[i:i + 2], "big") for i in (4, 6, 8, 10)]
    flags = "".join(f" {name}" for name, bit in FLAG_NAMES if response.flags & bit)
    lines = [f";; ->>HEADER<<- opcode: {dns.opcode.to_text(response.opcode())}, "
             f"status: {dns.rcode.to_text(response.rcode())}, id: {response.id}",
             f";; flags:{flags}; QUERY: {counts[0]}, ANSWER: {counts[1]}, "
             f"AUTHORITY: {counts[2]}, ADDITIONAL: {counts[3]}", ""]
    if response.question:
        lines += [";; QUESTION SECTION:",
                  *[record_line(";" + r.name.to_text(), None, r.rdclass, r.rdtype, None) for r in response.question],
                  ""]
    for title, rrsets in (("ANSWER", response.answer), ("AUTHORITY", response.authority),
                          ("ADDITIONAL", response.additional)):
        if rrsets:
            lines += [f";; {title} SECTION:", *section_lines(rrsets), ""]
    return "".join(line + "\n" for line in lines) + _received(wire, ip, port, ms)


def host(argv: Sequence[str]) -> int:
    opts, words = _options(list(argv))
    if not words:
        libc.printf("%s", USAGE)
        return 1
    verbose = any(f in opts for f in ("v", "d", "a"))
    rdtypes = [dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.MX]
    if "t" in opts:
        try:
            rdtypes = [dns.rdatatype.from_text(opts["t"])]
        except dns.exception.DNSException:
            libc.printf("host: invalid type: %s\n\n", opts["t"])
            return 2
    elif "a" in opts:
        rdtypes = [dns.rdatatype.ANY]
    rdclass = dns.rdataclass.IN
    if "c" in opts:
        try:
            rdclass = dns.rdataclass.from_text(opts["c"])
        except dns.exception.DNSException:
            libc.printf("host: invalid class: %s\n\n", opts["c"])
            return 2
    text = words[0]
    reverse = reverse_name(text) if text.count(".") == 3 else None
    if reverse is not None:
        text = reverse.rstrip(".")
        if "t" not in opts and "a" not in opts:
            rdtypes = [dns.rdatatype.PTR]
    qname = legal_name("host", text)
    if qname is None:
        return 1
    q = Query(list(argv), port=_number(opts, "p", 53) & 0xFFFF, timeout=max(1, _number(opts, "W", TIMEOUT)),
              tries=max(2, _number(opts, "R", 1) + 1))
    server = server_address("host", words[1] if len(words) > 1 else None)
    if server is None:
        return 1
    ip = server[0]
    announce = ""
    if len(words) > 1:
        announce = _announce(words[1], ip, q.port)
    if "l" in opts:
        return _list(q, qname, rdclass, server, text, announce, opts)
    if "C" in opts:
        return _soa_check(q, qname, rdtypes[0] if "t" in opts else dns.rdatatype.NS, server, text,
                          words[1] if len(words) > 1 else None, opts)
    # host.c: a name (not an address) is searched for, names with fewer than -N dots (else
    # resolv.conf's ndots) under the search domains first (dighost.c's setup_lookup, next_origin)
    search = irs_resconf_load()
    search.use = reverse is None
    if "N" in opts:
        search.ndots = libc.atoi(opts["N"])
    names = search_names(text, search)
    # recv_done prints received()'s line twice for an NXDOMAIN to a lookup that had the search
    # list yet asked the name as it is first (need_search: next_origin has nothing to try)
    as_is_first = search.use and len(names) == 1
    for n, rdtype in enumerate(rdtypes):
        def ask(name: dns.name.Name, rdtype: int = rdtype) -> tuple[bytes, dns.message.Message, int] | None:
            return _ask(q, server, name, rdtype, rdclass, text, opts, verbose)

        tried, asked = search_lookup(names, ask, lambda asked: asked and asked[0])
        if asked is None:
            return 1
        got, response, ms = asked
        # printmessage's AAAA and MX lookups: the name the A answer's aliases lead to, as it is
        names = [_chase(response, tried)]
        out = announce
        announce = ""
        rcode = response.rcode()
        if rcode != dns.rcode.NOERROR:
            # printmessage: the lookup's textname for NXDOMAIN (the name as given, an address's
            # reverse name with its final dot), else the name asked; -v adds received()'s line
            shown = (reverse or text) if rcode == dns.rcode.NXDOMAIN else tried.to_text(omit_final_dot=True)
            out += f"Host {shown} not found: {rcode}({dns.rcode.to_text(rcode)})\n"
            if verbose:
                twice = as_is_first and n == 0 and rcode == dns.rcode.NXDOMAIN
                out += _received(got, ip, q.port, ms) * (2 if twice else 1)
        elif verbose:
            out += _verbose(response, got, ip, q.port, ms)
        else:
            lines = _sentences(response.answer, n == 0)
            if not lines and "t" in opts:
                lines = [f"{tried.to_text(omit_final_dot=True)} has no {dns.rdatatype.to_text(rdtype)} record"]
            out += "".join(line + "\n" for line in lines)
        libc.printf("%s", out)
        if rcode != dns.rcode.NOERROR:
            return 1
    return 0


# What ``-l`` lists without ``-t`` or ``-a`` (host.c's list_addresses)
LISTED = (dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.NS, dns.rdatatype.PTR)


def _list(q: Query, qname: dns.name.Name, rdclass: int, server: tuple[str, str], text: str, announce: str,
          opts: dict[str, str]) -> int:
    """``-l``: the zone by transfer (AXFR over TCP), its hosts' records in host's sentences:
    addresses, name servers and pointers, or the ``-t`` type's records; with ``-v`` or ``-a``
    each message of the transfer in dig's sections (whole: BIND's host given ``-t`` too prints
    only that type's records and an empty question, which this does not copy)."""
    query = dns.message.make_query(qname, dns.rdatatype.AXFR, rdclass, use_edns=False)
    query.id = current().host.rng.getrandbits(16)
    query.flags = 0
    verbose = any(f in opts for f in ("v", "d", "a"))
    if verbose:
        libc.printf('Trying "%s"\n', text)
    got, unanswered, ms = exchange(q, server, query.to_wire(), query.id, True, text, dns.rdatatype.AXFR)
    if got is None:
        if unanswered:
            libc.printf(";; no servers could be reached\n")
        return 1
    messages = [parse_answer(wire, one_rr_per_rrset=True) for wire in got]
    if None in messages:
        return 1
    if verbose:
        libc.printf("%s%s", announce, "".join(_verbose(message, wire, server[0], q.port, ms)
                                              for message, wire in zip(messages, got, strict=True)))
        return 0 if messages[0].rcode() == dns.rcode.NOERROR else 1
    rcode = messages[0].rcode()
    if rcode != dns.rcode.NOERROR:
        libc.printf("%sHost %s not found: %d(%s)\n; Transfer failed.\n", announce, text, rcode,
                    dns.rcode.to_text(rcode))
        return 1
    wanted = [dns.rdatatype.from_text(opts["t"])] if "t" in opts else LISTED
    records = [rrset for message in messages for rrset in message.answer if rrset.rdtype in wanted]
    libc.printf("%s%s", announce, "".join(line + "\n" for line in _sentences(records, True)))
    return 0


def _ask(q: Query, server: tuple[str, str], qname: dns.name.Name, rdtype: int, rdclass: int, text: str,
         opts: dict[str, str], verbose: bool) -> tuple[bytes, dns.message.Message, int] | None:
    """One question to ``server`` (RD unless ``-r``, over TCP with ``-T``), as host.c's lookups
    send it: the answer's bytes, the answer and its time in ms; None, its lines printed, when no
    answer came or it does not parse."""
    query = dns.message.make_query(qname, rdtype, rdclass, use_edns=False)
    query.id = current().host.rng.getrandbits(16)
    query.flags = 0 if "r" in opts else dns.flags.RD
    if verbose:
        libc.printf('Trying "%s"\n', qname.to_text(omit_final_dot=True))
    got, unanswered, ms = exchange(q, server, query.to_wire(), query.id, "T" in opts, text)
    if got is None:
        if unanswered:
            libc.printf(";; no servers could be reached\n")
        return None
    response = parse_answer(got)
    return None if response is None else (got, response, ms)


def _announce(name: str, ip: str, port: int) -> str:
    """printmessage's first lines when a server was named on the command line (listed_server)."""
    return f"Using domain server:\nName: {name}\nAddress: {ip}#{port}\nAliases: \n\n"


def _soa_check(q: Query, qname: dns.name.Name, rdtype: int, server: tuple[str, str], text: str,
               listed: str | None, opts: dict[str, str]) -> int:
    """``-C`` (host.c: ns_search_only, trace_root, identify_previous_line): the zone's NS records
    from ``server`` (``rdtype``, NS unless ``-t`` replaced it), then dighost.c's
    followup_lookup and recv_done's NSSEARCH code: an SOA question to each of their addresses."""
    verbose = any(f in opts for f in ("v", "d", "a"))
    asked = _ask(q, server, qname, rdtype, dns.rdataclass.IN, text, opts, verbose)
    if asked is None:
        return 1
    got, response, ms = asked
    ip = server[0]
    announce = _announce(listed, ip, q.port) if listed is not None else ""
    rcode = response.rcode()
    if rcode != dns.rcode.NOERROR:
        # printmessage is reached by an NXDOMAIN alone (next_origin has nothing to try)
        if rcode == dns.rcode.NXDOMAIN:
            libc.printf("%sNameserver %s:\n\t%s not found: %d(%s)\n", announce, ip, text, rcode,
                        dns.rcode.to_text(rcode))
            if verbose:
                libc.printf("Received %d bytes from %s#%d in %d ms\n", len(got), ip, q.port, ms)
        return 1
    if verbose:
        libc.printf("Received %d bytes from %s#%d in %d ms\n", len(got), ip, q.port, ms)
    # followup_lookup: the answer's NS records, else (no SOA there) the authority's
    names = [rd.target for rrset in response.answer if rrset.rdtype == dns.rdatatype.NS for rd in rrset]
    if not names and not any(rrset.rdtype == dns.rdatatype.SOA for rrset in response.authority):
        names = [rd.target for rrset in response.authority if rrset.rdtype == dns.rdatatype.NS for rd in rrset]
    servers, failed = ns_addresses(names)
    if not servers:
        if failed:  # fatal() names followup_lookup's loop result, ISC_R_NOMORE
            libc.printf("host: couldn't get address for '%s': no more\n", failed)
        return 1
    rng = current().host.rng
    rng.shuffle(servers)  # followup_lookup: "Randomize the order the nameserver will be tried"
    if verbose:
        libc.printf('Trying "%s"\n', text)
    if len(servers) == 1:
        libc.printf(";; NS servers could not be reached\n")
        return 1
    soa = dns.message.make_query(qname, dns.rdatatype.SOA, dns.rdataclass.IN, use_edns=False)
    soa.flags = 0
    answered = 0
    for ip, name, wire in _ask_all(q, servers, soa, rng, "T" in opts, text):
        answered += 1
        message = parse_answer(wire)
        if message is None:
            continue
        if listed is not None and answered == 1:
            libc.printf("%s", _announce(name, ip, q.port))
        code = message.rcode()
        if code != dns.rcode.NOERROR:
            libc.printf("Nameserver %s:\n\t%s not found: %d(%s)\n", ip, text if code == dns.rcode.NXDOMAIN
                        else qname.to_text(omit_final_dot=True), code, dns.rcode.to_text(code))
        elif verbose:
            libc.printf("%s", _verbose(message, wire, ip, q.port, 0))
        else:
            libc.printf("%s", "".join(f"Nameserver {ip}:\n\t{line}\n" for line in _sentences(message.answer, True)))
    if not answered:
        libc.printf(";; NS servers could not be reached\n")
        return 1
    return 0


def _ask_all(q: Query, servers: list[tuple[str, str]], query: dns.message.Message, rng: random.Random,
             tcp: bool, text: str) -> Iterator[tuple[str, str, bytes]]:
    """The follow-up lookup's queries, one try each, and their answers as they come: over UDP
    all sent at once (recv_done takes each answer as it arrives; a silent server gets its
    ``communications error`` line once ``-W`` is up); over TCP one after another (start_tcp from
    nssearch_next), a failed connection in connect_done's line."""
    if tcp:
        for ip, name in servers:
            query.id = rng.getrandbits(16)
            got = over_tcp(q, ip, query.to_wire())
            if isinstance(got, bytes):
                yield ip, name, got
            elif got.startswith("setup:"):
                libc.printf(";; Connection to %s#%d(%s) for %s failed: %s.\n", ip, q.port, ip, text, got[6:])
            else:
                libc.printf(";; communications error to %s#%d: %s\n", ip, q.port, got)
        return
    pending: dict[int, tuple[str, str, int]] = {}
    for ip, name in servers:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.connect(fd, (ip, q.port))
        query.id = rng.getrandbits(16)
        libc.send(fd, query.to_wire())
        pending[fd] = (ip, name, query.id)
    deadline = libc.clock_monotonic() + q.timeout
    while pending:
        left = int((deadline - libc.clock_monotonic()) * 1000)
        ready = libc.poll([(fd, POLLIN) for fd in pending], left) if left > 0 else []
        if not any(ready):
            break
        for fd, events in zip(list(pending), ready, strict=True):
            if not events:
                continue
            ip, name, qid = pending[fd]
            try:
                data = libc.recv(fd, 65535)
            except OSError as e:
                del pending[fd]
                libc.close(fd)
                libc.printf(";; communications error to %s#%d: %s\n", ip, q.port,
                            REASONS.get(e.errno, e.strerror.lower()))
                continue
            if int.from_bytes(data[:2], "big") == qid:
                del pending[fd]
                libc.close(fd)
                yield ip, name, data
    for fd, (ip, _, _) in pending.items():
        libc.close(fd)
        libc.printf(";; communications error to %s#%d: timed out\n", ip, q.port)


def host_main(argv: Sequence[str]) -> int:
    """``host ARGS``: ``argv`` without the program's name; host's exit status."""
    try:
        return host(argv)
    except HostExit as e:
        return e.status
