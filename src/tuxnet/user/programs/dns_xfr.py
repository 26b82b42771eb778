"""Zone transfers out of ``named`` (BIND's lib/ns/xfrout.c): AXFR (RFC 5936) over TCP, and IXFR
(RFC 1995) answered as BIND answers it without a journal: the whole zone, AXFR-style, unless the
client already has the current serial, which gets the SOA alone.

A transfer is the zone's SOA, then every record, then the SOA again, in as many messages of up to
64 KB as it takes (RFC 5936 §2.2); the question is in the first.  Records come name by name in
DNSSEC canonical order (RFC 4034 §6.1), and a name's record sets as the zone file gave them, with
the SOA at the apex leading (BIND keeps that order too, but for some names with three or more
kinds of records).  A zone this server does not serve is NOTAUTH (RFC 5936 §2.2.1), and a client
``allow-transfer`` does not list is REFUSED.
"""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

IN = dns.rdataclass.IN
SOA = dns.rdatatype.SOA
AXFR = dns.rdatatype.AXFR
IXFR = dns.rdatatype.IXFR
MAX_MESSAGE = 65535
HEADER = 12


def zone_records(zone: dns.zone.Zone) -> list[dns.rrset.RRset]:
    """The zone's records in transfer order, each its own one-record set, SOA first and last."""
    soa = zone.get_rrset(zone.origin, SOA)
    out = [soa]
    for name in sorted(zone.nodes):
        node = zone.nodes[name]
        for rdataset in node.rdatasets:
            if rdataset.rdtype == SOA and name == zone.origin:
                continue
            out += [dns.rrset.from_rdata(name, rdataset.ttl, rd) for rd in rdataset]
    return [*out, soa]


def _wire_size(rrset: dns.rrset.RRset, origin: dns.name.Name) -> int:
    """An upper bound on a record's size in a message: its owner in full, its type, class, TTL
    and length, and its data uncompressed (compression only makes it smaller)."""
    return len(rrset.name.to_wire()) + 10 + len(rrset[0].to_digestable(origin))


def transfer(query: dns.message.Message, zone: dns.zone.Zone | None, response: dns.message.Message,
             allowed: bool) -> list[dns.message.Message]:
    """The messages answering a transfer ``query``: ``response`` (its frame: ID, question, AA)
    carrying an error, or filled with the first part of the zone and followed by the rest."""
    q = query.question[0]
    if zone is None:
        response.set_rcode(dns.rcode.NOTAUTH)
        return [response]
    if not allowed:
        response.set_rcode(dns.rcode.REFUSED)
        return [response]
    response.flags |= dns.flags.AA
    records = zone_records(zone)
    if q.rdtype == IXFR and _client_serial(query) is not None:
        serial = records[0][0].serial
        if (_client_serial(query) - serial) % 2**32 < 2**31:  # the client's is not older (RFC 1982)
            records = records[:1]
    messages = [response]
    room = MAX_MESSAGE - len(response.to_wire())
    for rrset in records:
        size = _wire_size(rrset, zone.origin)
        if size > room and messages[-1].answer:
            follow = dns.message.make_response(query)
            follow.flags = response.flags
            follow.question = []
            messages.append(follow)
            room = MAX_MESSAGE - HEADER
        messages[-1].answer.append(rrset)
        room -= size
    return messages


def _client_serial(query: dns.message.Message) -> int | None:
    """The serial an IXFR query's authority section says the client has (RFC 1995 §3)."""
    for rrset in query.authority:
        if rrset.rdtype == SOA and len(rrset):
            return rrset[0].serial
    return None
