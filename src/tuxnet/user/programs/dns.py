"""DNS programs (RFC 1034, RFC 1035): ``named``, an authoritative name server that can forward
what it is not authoritative for, or resolve it from root hints (``dns_resolver``), and ``dns``,
the course's lookup command.

``named`` serves zones loaded from RFC 1035 master files (dnspython's zone parser) over UDP and
TCP on port 53.  Lookups follow RFC 1034 §4.3.2: referrals at zone cuts, CNAME chains followed
inside the served zones, wildcards (RFC 4592), NXDOMAIN and NODATA answered with the zone's SOA
whose TTL is the negative-caching TTL (RFC 2308 §3), and additional-section addresses for NS and MX
targets (and, to a question without RD, the zone's NS records, as BIND's ``minimal-responses
no-auth-recursive`` gives them).  Zone transfers (``dns_xfr``) go over TCP.  Every message is
compressed as BIND compresses (``dns_wire``).  A UDP answer larger than 512 octets, or than the
EDNS payload the query advertises (RFC 6891 §6.2.5), is truncated with TC set.  A query that
carries an NSID option gets the server's identifier back in one, when it has one (RFC 5001 §2.2;
BIND's ``server-id``).  Malformed queries get FORMERR when their header can be read and are
dropped otherwise; responses are never answered.  Who may ask what is ``dns_acl``'s.

Each TCP connection (RFC 7766) and each forwarded or resolved UDP query is served by a forked
child (the children share the resolver's cache, as BIND's threads do), so a slow client or a slow
upstream holds up nobody else; TCP connections close after BIND's 30 s initial and idle timeouts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

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
import dns.zone

from tuxnet.kernel.sched import current
from tuxnet.kernel.siphash import siphash
from tuxnet.net.socket import AF_INET, POLLIN, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_STREAM
from tuxnet.user import libc
from tuxnet.user.nameser import EDNS_COOKIE, EDNS_NSID, mkquery
from tuxnet.user.programs.dig import reverse_name
from tuxnet.user.programs.dns_acl import Access
from tuxnet.user.programs.dns_resolver import Resolver, load_hints
from tuxnet.user.programs.dns_wire import to_wire
from tuxnet.user.programs.dns_xfr import secondary, transfer
from tuxnet.user.resolv import ResolverError, ResState, recv_exact, res_mkquery, res_ninit, res_nsend

DNS_PORT = 53
UDP_PAYLOAD_NO_EDNS = 512          # RFC 1035 §4.2.1
OUR_EDNS_PAYLOAD = 1232            # the DNS flag day 2020 value BIND and others default to
TCP_INITIAL_TIMEOUT = 30.0         # BIND tcp-initial-timeout
TCP_IDLE_TIMEOUT = 30.0            # BIND tcp-idle-timeout
TCP_CLIENTS = 150                  # BIND tcp-clients
RECURSIVE_CLIENTS = 1000           # BIND recursive-clients
ANSWER_CACHE_SIZE = 4096           # authoritative answers kept ready on the wire
COOKIE_VERSION = 1                 # the server cookie's layout (RFC 9018 §4.2)
MAX_CHAIN = 16                     # CNAMEs followed in one answer (loop protection, RFC 1034 §3.6.2)
SOL_SOCKET = 1
SO_REUSEADDR = 2
LISTEN_BACKLOG = 128

IN = dns.rdataclass.IN
SOA = dns.rdatatype.SOA
NS = dns.rdatatype.NS
CNAME = dns.rdatatype.CNAME
A = dns.rdatatype.A
AAAA = dns.rdatatype.AAAA
ANY = dns.rdatatype.ANY
MX = dns.rdatatype.MX
SRV = dns.rdatatype.SRV
_TRANSFERS = (dns.rdatatype.AXFR, dns.rdatatype.IXFR)
_WILD = dns.name.Name((b"*",))


def load_zone(text: str, origin: str, filename: str = "<string>") -> dns.zone.Zone:
    """A zone from RFC 1035 master-file text, names kept absolute; the origin must have its SOA
    and NS records (dnspython's ``check_origin``).  A syntax error names ``filename`` and a line."""
    return dns.zone.from_text(text, origin=origin, relativize=False, check_origin=True, filename=filename)


class Authority:
    """The zones a server is authoritative for, and the RFC 1034 §4.3.2 lookup in them."""

    def __init__(self, zones: Iterable[dns.zone.Zone]) -> None:
        self.zones = {z.origin: z for z in zones}

    def covers(self, query: dns.message.Message) -> bool:
        """Whether the query's name is in one of the zones."""
        return len(query.question) == 1 and self.zone_for(query.question[0].name) is not None

    def zone_for(self, name: dns.name.Name) -> dns.zone.Zone | None:
        """The zone nearest to ``name``: the longest origin ``name`` is a subdomain of."""
        best = None
        for origin, zone in self.zones.items():
            if name.is_subdomain(origin) and (best is None or len(origin) > len(best.origin)):
                best = zone
        return best

    @staticmethod
    def _cut(zone: dns.zone.Zone, name: dns.name.Name) -> dns.name.Name | None:
        """The highest zone cut (NS records below the apex) at or above ``name`` (step 3b)."""
        labels = len(name) - len(zone.origin)
        for i in range(labels - 1, -1, -1):
            ancestor = name.split(len(name) - i)[1]
            node = zone.get_node(ancestor)
            if node is not None and node.get_rdataset(IN, NS) is not None:
                return ancestor
        return None

    @staticmethod
    def _exists(zone: dns.zone.Zone, name: dns.name.Name) -> bool:
        """A node or an empty non-terminal (a name with descendants but no records, RFC 8020)."""
        return name in zone.nodes or any(n.is_subdomain(name) for n in zone.nodes)

    def _wildcard(self, zone: dns.zone.Zone, name: dns.name.Name) -> Any:
        """The wildcard node that synthesizes ``name`` (RFC 4592 §3.3.1): ``*`` below the closest
        encloser, if there is one."""
        encloser = name.parent()
        while encloser != zone.origin and not self._exists(zone, encloser):
            encloser = encloser.parent()
        return zone.get_node(_WILD.concatenate(encloser))

    @staticmethod
    def _negative_soa(zone: dns.zone.Zone) -> dns.rrset.RRset:
        """The SOA for the authority section of a negative answer, its TTL the lesser of its own
        and its MINIMUM field (RFC 2308 §3)."""
        soa = zone.get_rdataset(zone.origin, SOA)
        rrset = dns.rrset.RRset(zone.origin, IN, SOA)
        rrset.update(soa)
        rrset.ttl = min(soa.ttl, soa[0].minimum)
        return rrset

    @staticmethod
    def _add(section: list[dns.rrset.RRset], owner: dns.name.Name, rdataset: Any) -> None:
        for rrset in section:
            if rrset.name == owner and rrset.rdtype == rdataset.rdtype:
                return
        rrset = dns.rrset.RRset(owner, IN, rdataset.rdtype)
        rrset.update(rdataset)
        section.append(rrset)

    def _additional(self, response: dns.message.Message, targets: Iterable[dns.name.Name]) -> None:
        """Step 6: addresses of NS, MX and SRV targets that are in our zones."""
        for target in targets:
            zone = self.zone_for(target)
            node = zone.get_node(target) if zone is not None else None
            if node is None:
                continue
            for rdtype in (A, AAAA):
                rds = node.get_rdataset(IN, rdtype)
                if rds is not None:
                    self._add(response.additional, target, rds)

    @staticmethod
    def _targets(rdataset: Any) -> list[dns.name.Name]:
        if rdataset.rdtype == NS:
            return [rd.target for rd in rdataset]
        if rdataset.rdtype == MX:
            return [rd.exchange for rd in rdataset]
        if rdataset.rdtype == SRV:
            return [rd.target for rd in rdataset]
        return []

    def lookup(self, response: dns.message.Message, qname: dns.name.Name, qtype: int, with_ns: bool = False) -> bool:
        """Fill ``response`` from the zones; False when ``qname`` is in none of them.  With
        ``with_ns`` (a question without RD: BIND's ``minimal-responses no-auth-recursive``) an
        answer also carries its zone's NS records and their addresses."""
        zone = self.zone_for(qname)
        if zone is None:
            return False
        response.flags |= dns.flags.AA
        seen: set[dns.name.Name] = set()
        name = qname
        while True:
            seen.add(name)
            cut = self._cut(zone, name)
            if cut is not None:
                # Step 3b: a referral to the child zone's servers, with glue; not authoritative.
                if name == qname:
                    response.flags &= ~dns.flags.AA
                ns = zone.get_node(cut).get_rdataset(IN, NS)
                self._add(response.authority, cut, ns)
                self._additional(response, self._targets(ns))
                return True
            node = zone.get_node(name)
            if node is None and not self._exists(zone, name):
                node = self._wildcard(zone, name)
                if node is None:
                    response.set_rcode(dns.rcode.NXDOMAIN)
                    self._add(response.authority, zone.origin, self._negative_soa(zone))
                    return True
            rdatasets = [] if node is None else [r for r in node.rdatasets if r.rdclass == IN]
            if qtype == ANY:
                matched = rdatasets
            else:
                matched = [r for r in rdatasets if r.rdtype == qtype]
            if matched:
                for rds in matched:
                    self._add(response.answer, name, rds)
                    if qtype != ANY:  # BIND adds no addresses to an ANY answer
                        self._additional(response, self._targets(rds))
                apex_ns = zone.get_rdataset(zone.origin, NS)
                if with_ns and apex_ns is not None and not (name == zone.origin and qtype in (NS, ANY)):
                    self._add(response.authority, zone.origin, apex_ns)
                    self._additional(response, self._targets(apex_ns))
                return True
            cname = next((r for r in rdatasets if r.rdtype == CNAME), None)
            if cname is None:
                # NODATA (RFC 2308 §2.2): NOERROR, no answer, the SOA in the authority section.
                self._add(response.authority, zone.origin, self._negative_soa(zone))
                return True
            # Step 3a: the alias, then the lookup goes on with its target.
            self._add(response.answer, name, cname)
            name = cname[0].target
            zone = self.zone_for(name)
            if zone is None or name in seen or len(seen) >= MAX_CHAIN:
                return True


def formerr(wire: bytes) -> bytes | None:
    """A FORMERR answer to a query that cannot be parsed (RFC 1035 §4.1.1): the header's ID,
    opcode and RD, QR set, no sections.  None when even the header is missing, or when the message
    is itself a response (answering responses could loop between servers)."""
    if len(wire) < 12 or wire[2] & 0x80:
        return None
    flags = 0x8000 | (wire[2] & 0x79) << 8 | dns.rcode.FORMERR
    return wire[:2] + flags.to_bytes(2, "big") + bytes(8)


def client_cookie(query: dns.message.Message) -> bytes | None:
    """The client cookie a query's COOKIE option carries (RFC 7873 §4), or None."""
    for option in query.options:
        if option.otype == EDNS_COOKIE:
            return option.to_wire()[:8]
    return None


def server_cookie(secret: bytes, client: bytes, client_ip: str, now: int) -> bytes:
    """The interoperable server cookie of RFC 9018 §4: version 1, three reserved octets, the time
    in seconds, then SipHash-2-4 under the server's secret of the client cookie, those eight
    octets and the client's address (§4.4), as BIND makes it."""
    head = bytes([COOKIE_VERSION, 0, 0, 0]) + (now & 0xFFFFFFFF).to_bytes(4, "big")
    digest = siphash(client + head + bytes(map(int, client_ip.split("."))),
                     int.from_bytes(secret[:8], "little"), int.from_bytes(secret[8:], "little"))
    return head + digest.to_bytes(8, "little")


class NameServer:
    """The answering logic shared by the UDP loop and the TCP children."""

    def __init__(self, zones: Iterable[dns.zone.Zone], forwarders: Sequence[str] = (),
                 resolver: Resolver | None = None, access: Access | None = None,
                 server_id: bytes | None = None) -> None:
        self.authority = Authority(zones)
        self.server_id = server_id  # the NSID given to a query that asks (RFC 5001 §2.2), if any
        self.forwarders = list(forwarders)
        self.resolver = None if self.forwarders else resolver
        self.access = access or Access()
        self.pending: set[dns.name.Name] = set()  # secondary zones without a copy yet
        self.cookie_secret = current().host.rng.getrandbits(128).to_bytes(16, "little")
        # Answers from our own (static) zones depend on nothing but the query after its ID, so
        # they are kept on the wire and sent again with the new ID, as NSD precompiles answers.
        self.answers: dict[tuple[bytes, bool], bytes] = {}

    def zone_changed(self) -> None:
        """A secondary zone was transferred or dropped: no kept answer holds any more."""
        self.answers.clear()

    def cached(self, wire: bytes, tcp: bool) -> bytes | None:
        """A kept answer to ``wire`` with ``wire``'s ID, or None."""
        answer = self.answers.get((wire[2:], tcp))
        return None if answer is None else wire[:2] + answer

    def keep(self, query: dns.message.Message, response: dns.message.Message, wire: bytes, tcp: bool,
             answer: bytes) -> None:
        """Keep an answer, unless it carries a server cookie (made for that client, then), or
        the server looks names up elsewhere or restricts who may ask (then what it answers, RA
        included, depends on the client and on its cache), or a set of several records, which
        each answer orders anew (``order random``)."""
        if client_cookie(query) is not None or self.recursive or not self.access.open:
            return
        if any(len(rrset) > 1 for section in (response.answer, response.authority, response.additional)
               for rrset in section):
            return
        if len(self.answers) >= ANSWER_CACHE_SIZE:
            self.answers.clear()
        self.answers[(wire[2:], tcp)] = answer[2:]

    def _response(self, query: dns.message.Message) -> dns.message.Message:
        """The response's frame: the query's ID, question and RD, our EDNS when it has EDNS, and
        its DO bit copied (RFC 3225 §3)."""
        response = dns.message.make_response(query, our_payload=OUR_EDNS_PAYLOAD)
        if response.edns >= 0 and query.ednsflags & dns.flags.DO:
            response.ednsflags |= dns.flags.DO
        return response

    @property
    def recursive(self) -> bool:
        """Whether names outside the zones are looked up (forwarded, or resolved from hints)."""
        return bool(self.forwarders) or self.resolver is not None

    def servfail(self, query: dns.message.Message) -> dns.message.Message:
        """SERVFAIL: the server cannot answer now (too many queries being forwarded)."""
        response = self._response(query)
        response.set_rcode(dns.rcode.SERVFAIL)
        return response

    def answer(self, query: dns.message.Message, client_ip: str) -> dns.message.Message | None:
        """The response from our zones, or None when the query must be looked up elsewhere
        (``query_recurse``): what the client at ``client_ip`` may have, as BIND's
        ``allow-query``, ``allow-recursion`` and ``allow-query-cache`` say."""
        response = self._response(query)
        if not self.access.may_query(client_ip):
            return self._prohibited(response)
        if len(query.question) == 1 and any(query.question[0].name.is_subdomain(o) for o in self.pending):
            response.set_rcode(dns.rcode.SERVFAIL)  # a secondary zone not transferred yet
            return response
        if query.edns > 0:
            response.set_rcode(dns.rcode.BADVERS)  # RFC 6891 §6.1.3
            return response
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        q = query.question[0]
        if q.rdclass != IN or q.rdtype in _TRANSFERS:  # (a transfer is over TCP: ``respond``)
            response.set_rcode(dns.rcode.REFUSED)
            return response
        if self.authority.lookup(response, q.name, q.rdtype, with_ns=not query.flags & dns.flags.RD):
            return response
        if self.recursive and query.flags & dns.flags.RD and self.access.may_recurse(client_ip):
            return None
        if self.resolver is not None and self.access.may_query_cache(client_ip):
            # no recursion asked for: what the cache holds (BIND's allow-query-cache)
            rcode, response.answer, response.authority, response.additional = self.resolver.cached(q.name, q.rdtype)
            response.set_rcode(rcode)
            return response
        if not self.recursive:
            response.set_rcode(dns.rcode.REFUSED)  # no recursion at all (BIND: recursion no)
            return response
        return self._prohibited(response)

    @staticmethod
    def _prohibited(response: dns.message.Message) -> dns.message.Message:
        """REFUSED by an address match list, and why, as BIND says it: Extended DNS Error 18,
        Prohibited (RFC 8914 §4.19)."""
        response.set_rcode(dns.rcode.REFUSED)
        if response.edns >= 0:
            response.use_edns(0, response.ednsflags, response.payload, response.request_payload,
                              [dns.edns.EDEOption(dns.edns.EDECode.PROHIBITED)])
        return response

    def query_recurse(self, query: dns.message.Message) -> dns.message.Message:
        """A name outside the zones, as BIND's ``ns_query_recurse`` looks it up: through the
        forwarders when there are some (``forward only``), else iteratively from the root hints
        (``dns_resolver``); not authoritative, SERVFAIL when it cannot be had."""
        if self.resolver is None:
            return self.forward(query)
        q = query.question[0]
        response = self._response(query)
        rcode, answer, authority = self.resolver.resolve(q.name, q.rdtype)
        response.set_rcode(rcode)
        response.answer = answer
        response.authority = authority
        response.additional = self.resolver.additional(answer)
        return response

    def forward(self, query: dns.message.Message) -> dns.message.Message:
        """Ask the forwarders (UDP, TCP when truncated, glibc's timeouts) and relay their answer,
        not authoritative; SERVFAIL when none answers."""
        response = self._response(query)
        q = query.question[0]
        state = ResState(nameservers=self.forwarders)
        upstream = mkquery(current().host.rng.getrandbits(16), q.name.to_text(), q.rdtype, OUR_EDNS_PAYLOAD)
        try:
            answer = dns.message.from_wire(res_nsend(state, [upstream])[0].wire)
        except Exception:  # noqa: BLE001 - no answer (ResolverError), or one dnspython rejects
            return self.servfail(query)
        response.set_rcode(answer.rcode())
        response.answer = answer.answer
        response.authority = answer.authority
        response.additional = answer.additional
        return response

    def encode(self, query: dns.message.Message, response: dns.message.Message, tcp: bool, client_ip: str) -> bytes:
        """The response on the wire; over UDP no larger than 512 octets, or than the query's EDNS
        payload (at most ours), truncated with TC set when it does not fit, its names compressed
        as BIND compresses them (``dns_wire``).  A query with a
        client cookie gets it back with our server cookie (RFC 7873 §5.2); one with an NSID
        option our NSID when we have one (RFC 5001 §2.2), before the cookie as BIND's
        ``ns_client_addopt`` orders them, unless its EDNS version is one we answer BADVERS (BIND's
        ``process_opt`` reads the options only after that check).  RA says whether this client may have
        recursion."""
        if self.recursive and self.access.may_recurse(client_ip):
            response.flags |= dns.flags.RA
        ours = []
        if self.server_id is not None and query.edns == 0 and any(o.otype == EDNS_NSID for o in query.options):
            ours.append(dns.edns.GenericOption(EDNS_NSID, self.server_id))
        cookie = client_cookie(query)
        if cookie is not None:
            ours.append(dns.edns.GenericOption(EDNS_COOKIE, cookie + server_cookie(
                self.cookie_secret, cookie, client_ip, int(libc.time()))))
        if ours and response.edns >= 0:
            response.use_edns(0, response.ednsflags, response.payload, response.request_payload,
                              [*ours, *response.options])
        if tcp:
            limit = 65535
        elif query.edns >= 0:
            limit = max(UDP_PAYLOAD_NO_EDNS, min(query.payload, OUR_EDNS_PAYLOAD))
        else:
            limit = UDP_PAYLOAD_NO_EDNS
        return to_wire(response, limit, prefer_truncation=True, rng=current().host.rng)

    def parse(self, wire: bytes) -> dns.message.Message | bytes | None:
        """The query in ``wire``; or the FORMERR to send back (bytes); or None to drop it."""
        if len(wire) < 12 or wire[2] & 0x80:
            return None
        try:
            return dns.message.from_wire(wire)
        except Exception:  # noqa: BLE001 - whatever dnspython rejects is a format error
            return formerr(wire)

    def respond(self, wire: bytes, tcp: bool, client_ip: str) -> bytes | list[bytes] | None:
        """Answer one query entirely (forwarding inline): the bytes to send back (the messages
        of a zone transfer, over TCP), or None."""
        kept = self.cached(wire, tcp)
        if kept is not None:
            return kept
        query = self.parse(wire)
        if not isinstance(query, dns.message.Message):
            return query
        if tcp and len(query.question) == 1 and query.question[0].rdtype in _TRANSFERS and query.opcode() == 0:
            zone = self.authority.zones.get(query.question[0].name)
            first, *rest = transfer(query, zone, self._response(query), self.access.may_transfer(client_ip))
            return [self.encode(query, first, tcp, client_ip), *(to_wire(m, rng=current().host.rng) for m in rest)]
        response = self.answer(query, client_ip)
        if response is None:
            return self.encode(query, self.query_recurse(query), tcp, client_ip)
        out = self.encode(query, response, tcp, client_ip)
        self.keep(query, response, wire, tcp, out)
        return out


def _serve_tcp(server: NameServer, listen_fd: int, udp_fd: int, conn: int, client_ip: str,
               counter: list[int]) -> None:
    """A TCP client (RFC 7766): length-prefixed queries answered in order until the client closes
    or does not complete a query within the initial (first query) or idle timeout."""
    libc.close(listen_fd)
    libc.close(udp_fd)
    try:
        timeout = TCP_INITIAL_TIMEOUT
        while True:
            deadline = libc.clock_monotonic() + timeout
            head = recv_exact(conn, 2, deadline)
            if head is None:
                return
            length = int.from_bytes(head, "big")
            wire = recv_exact(conn, length, deadline) if length else None
            if wire is None:
                return
            out = server.respond(wire, True, client_ip)
            for message in [out] if isinstance(out, bytes) else out or []:
                data = len(message).to_bytes(2, "big") + message
                while data:
                    data = data[libc.send(conn, data):]
            timeout = TCP_IDLE_TIMEOUT
    except OSError:
        return
    finally:
        counter[0] -= 1
        libc.close(conn)


def _forward_udp(server: NameServer, listen_fd: int, udp_fd: int, query: dns.message.Message,
                 client: tuple[str, int], counter: list[int]) -> None:
    """A forked child that looks one UDP query up elsewhere (``query_recurse``) and answers from
    the server's socket."""
    libc.close(listen_fd)
    try:
        _reply(udp_fd, server.encode(query, server.query_recurse(query), False, client[0]), client)
    finally:
        counter[0] -= 1
        libc.close(udp_fd)


def named(zones: Mapping[str, str], *, addr: str = "0.0.0.0", port: int = DNS_PORT,
          forwarders: Sequence[str] = (), hints: str | None = None, qname_minimization: str = "relaxed",
          access: Access | None = None, secondaries: Mapping[str, Sequence[str]] | None = None,
          announce: bool = True, server_id: str | None = None) -> None:
    """The name server: ``zones`` maps each origin to the path of its master file in the host's
    file table; ``forwarders`` are asked (with RD) for names outside them, or without forwarders
    such names are resolved from the root hints in the file ``hints`` (asking with
    ``qname_minimization``, as BIND's option of that name says); ``access`` says who may ask
    what (BIND's defaults: anyone may query, recursion for localnets and localhost);
    ``secondaries`` maps each secondary zone's origin to its primaries' addresses; it says what
    it serves when ``announce``; ``server_id`` is what it answers an NSID option with (BIND's
    ``server-id``; None: no NSID).  Runs until killed."""
    loaded = []
    for origin, path in zones.items():
        text = libc.read_file(path)
        loaded.append(load_zone(text.decode() if isinstance(text, bytes) else text, origin))
    resolver = None
    if hints is not None:
        text = libc.read_file(hints)
        resolver = Resolver(load_hints(text.decode() if isinstance(text, bytes) else text, hints),
                            qname_minimization=qname_minimization)
    server = NameServer(loaded, forwarders, resolver, access, None if server_id is None else server_id.encode())
    for origin, primaries in (secondaries or {}).items():
        name = dns.name.from_text(origin)
        server.pending.add(name)
        libc.fork(secondary, server.authority.zones, server.pending, name, list(primaries), server.zone_changed)
    udp = libc.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)
    libc.bind(udp, (addr, port))
    tcp = libc.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)
    libc.setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, 1)
    libc.bind(tcp, (addr, port))
    libc.listen(tcp, LISTEN_BACKLOG)
    if announce:
        libc.printf("named: serving %s on %s:%d%s\n", ", ".join(zones) or "no zones", addr, port,
                    f", forwarding to {', '.join(forwarders)}" if forwarders else
                    ", resolving from root hints" if resolver else "")
    tcp_clients = [0]
    forwarding = [0]
    while True:
        revents = libc.poll([(udp, POLLIN), (tcp, POLLIN)], -1)
        if revents[0]:
            _drain_udp(server, udp, tcp, forwarding)
        if revents[1]:
            _accept_tcp(server, tcp, udp, tcp_clients)


def _drain_udp(server: NameServer, udp: int, tcp: int, forwarding: list[int]) -> None:
    while True:
        try:
            wire, client = libc.recvfrom(udp, 65535)
        except BlockingIOError:
            return
        except OSError:
            continue
        kept = server.cached(wire, False)
        if kept is not None:
            _reply(udp, kept, client)
            continue
        query = server.parse(wire)
        if not isinstance(query, dns.message.Message):
            if query is not None:
                _reply(udp, query, client)
            continue
        response = server.answer(query, client[0])
        if response is None and forwarding[0] < RECURSIVE_CLIENTS:
            forwarding[0] += 1
            libc.fork(_forward_udp, server, tcp, udp, query, client, forwarding, name="named")
            continue
        if response is None:
            _reply(udp, server.encode(query, server.servfail(query), False, client[0]), client)
            continue
        out = server.encode(query, response, False, client[0])
        server.keep(query, response, wire, False, out)
        _reply(udp, out, client)


def _reply(udp: int, wire: bytes, client: tuple[str, int]) -> None:
    """Send an answer; one that cannot be sent (no route back, say) is dropped."""
    try:
        libc.sendto(udp, wire, 0, client)
    except OSError:
        return


def _accept_tcp(server: NameServer, tcp: int, udp: int, tcp_clients: list[int]) -> None:
    while True:
        try:
            conn, peer = libc.accept(tcp)
        except BlockingIOError:
            return
        except ConnectionAbortedError:
            continue
        if tcp_clients[0] >= TCP_CLIENTS:
            libc.close(conn)
            continue
        tcp_clients[0] += 1
        libc.fork(_serve_tcp, server, tcp, udp, conn, peer[0], tcp_clients, name="named")
        libc.close(conn)


# -- the dns command ----------------------------------------------------------------------------

def _describe(rrset: dns.rrset.RRset) -> list[str]:
    """``host``-style lines for the records of an answer."""
    owner = rrset.name.to_text(omit_final_dot=True)
    lines = []
    for rd in rrset:
        t = rrset.rdtype
        if t == A:
            lines.append(f"{owner} has address {rd.address}")
        elif t == AAAA:
            lines.append(f"{owner} has IPv6 address {rd.address}")
        elif t == CNAME:
            lines.append(f"{owner} is an alias for {rd.target}")
        elif t == MX:
            lines.append(f"{owner} mail is handled by {rd.preference} {rd.exchange}")
        elif t == NS:
            lines.append(f"{owner} name server {rd.target}")
        elif t == dns.rdatatype.PTR:
            lines.append(f"{owner} domain name pointer {rd.target}")
        elif t == dns.rdatatype.TXT:
            lines.append(f"{owner} descriptive text {rd.to_text()}")
        else:
            lines.append(f"{owner} has {dns.rdatatype.to_text(t)} record {rd.to_text()}")
    return lines


def dns_lookup(name: str, rdtype: str = "A", server: str | None = None) -> int:
    """The course's ``dns`` command: build a query for ``name`` (absolute), send it over UDP to
    ``server`` (the first nameserver of /etc/resolv.conf by default; TCP if the answer is
    truncated) and print the answer as ``host`` does.  Returns 0 when records came back."""
    state = res_ninit()
    if server is not None:
        state.nameservers = [server]
    state.nameservers = state.nameservers[:1]
    try:
        qtype = dns.rdatatype.from_text(rdtype)
        query = res_mkquery(state, name, qtype)
    except (dns.exception.DNSException, ValueError) as e:
        libc.printf("dns: %s\n", e)
        return 2
    try:
        answer = dns.message.from_wire(res_nsend(state, [query], any_rcode=True)[0].wire)
    except ResolverError:
        libc.printf(";; connection timed out; no servers could be reached\n")
        return 1
    except Exception as e:  # noqa: BLE001 - an answer the resolver took and dnspython rejects
        libc.printf(";; the answer does not parse: %s\n", e)
        return 1
    rcode = answer.rcode()
    if rcode != dns.rcode.NOERROR:
        libc.printf("Host %s not found: %d(%s)\n", name, rcode, dns.rcode.to_text(rcode))
        return 1
    if not answer.answer:
        libc.printf("%s has no %s record\n", name, dns.rdatatype.to_text(qtype))
        return 1
    for rrset in answer.answer:
        for line in _describe(rrset):
            libc.printf("%s\n", line)
    return 0


def dns_main(argv: Sequence[str]) -> int:
    """``dns [-t TYPE] [@SERVER] NAME``: our own query (the course's lab 6), of an address's PTR
    record when NAME is an address and no type is asked for, as ``host`` does;
    ``dns -g NAME``: gethostbyname(3); ``dns -a NAME``: getaddrinfo(3).  ``argv`` is the
    arguments, without the program's name."""
    args = list(argv)
    rdtype = ""
    server = None
    mode = "query"
    names = []
    while args:
        arg = args.pop(0)
        if arg == "-t" and args:
            rdtype = args.pop(0).upper()
        elif arg == "-g":
            mode = "gethostbyname"
        elif arg == "-a":
            mode = "getaddrinfo"
        elif arg.startswith("@"):
            server = arg[1:]
        else:
            names.append(arg)
    if len(names) != 1:
        libc.printf("usage: dns [-t TYPE] [@SERVER] NAME | dns -g NAME | dns -a NAME\n")
        return 2
    name = names[0]
    if mode == "gethostbyname":
        try:
            h = libc.gethostbyname(name)
        except OSError as e:
            libc.printf("gethostbyname: %s: %s\n", name, e.strerror)
            return 1
        for alias in h.h_aliases:
            libc.printf("%s is an alias for %s\n", alias, h.h_name)
        for a in h.h_addr_list:
            libc.printf("%s has address %s\n", h.h_name, a)
        return 0
    if mode == "getaddrinfo":
        try:
            infos = libc.getaddrinfo(name, None, 0, SOCK_STREAM)
        except OSError as e:
            libc.printf("getaddrinfo: %s: %s\n", name, e.strerror)
            return 1
        for family, _, _, _, sockaddr in infos:
            libc.printf("%s has %s address %s\n", name, "IPv4" if family == AF_INET else "IPv6", sockaddr[0])
        return 0
    if not rdtype:  # (as host: an address's name under in-addr.arpa, asked for its PTR record)
        reverse = reverse_name(name) if name.count(".") == 3 else None
        name, rdtype = (reverse.rstrip("."), "PTR") if reverse is not None else (name, "A")
    return dns_lookup(name, rdtype, server)

