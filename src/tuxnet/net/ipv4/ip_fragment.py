"""IPv4 reassembly (net/ipv4/ip_fragment.c, net/ipv4/inet_fragment.c; RFC 791 section 3.2).

``ip_defrag`` files each fragment in the queue (``ipq``) of its datagram, keyed by source,
destination, identification and protocol.  As Linux does since 4.19:

- a fragment that overlaps data already queued kills the whole queue (RFC 5722's rule, which
  Linux applies to IPv4 too) and counts ReasmOverlaps; an exact duplicate is just dropped;
- a non-last fragment is cut to a multiple of 8 octets, and one that is then empty kills the
  queue, as do a last fragment that disagrees with the known end and data past the end;
- a datagram that would exceed 65,535 octets is refused when it completes ("Oversized IP packet");
- the queue dies ``ipfrag_time`` (30 s) after its first fragment arrived (ReasmTimeout); if that
  first fragment was the one at offset 0, the sender gets ICMP time exceeded, fragment
  reassembly time exceeded (RFC 792);
- while the fragments held cost more than ``ipfrag_high_thresh`` octets of memory
  (``skb->truesize``), new fragments are refused (``inet_frag_find`` returns nothing).

Counters: ReasmReqds per fragment, ReasmOKs per datagram rebuilt, ReasmFails per failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.kernel.compiler import notrace
from tuxnet.kernel.minmax import max
from tuxnet.net.core.skbuff import CHECKSUM_NONE, SkBuff, alloc_skb, skb_truesize
from tuxnet.net.ipv4.icmp import ICMP_EXC_FRAGTIME, ICMP_TIME_EXCEEDED, icmp_send
from tuxnet.net.ipv4.ip_options import InetSkbParm, ipcb_opt
from tuxnet.net.ipv4.ip_output import IP_DF, IP_MF, IP_OFFSET, MAX_HEADER, ip_send_check

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.world import Timer

NSEC_PER_SEC = 1_000_000_000
IPQ_SIZE = 208  # sizeof(struct ipq), charged to the memory limit with the fragments (inet_frag_alloc)
IP_MAX_LEN = 65535

INET_FRAG_FIRST_IN = 0x01
INET_FRAG_LAST_IN = 0x02
INET_FRAG_COMPLETE = 0x04

IPFRAG_OK = 0
IPFRAG_DUP = 1
IPFRAG_OVERLAP = 2

class Ipq:
    """``struct ipq``: the fragments of one datagram so far, as runs of contiguous data."""

    __slots__ = ("fqdir", "key", "frags", "len", "meat", "flags", "timer", "iif", "mem", "max_size",
                 "max_df_size", "head")

    def __init__(self, fqdir: FragDir, key: tuple[int, int, int, int]) -> None:
        self.fqdir = fqdir
        self.key = key
        self.frags: list[tuple[int, int, bytes]] = []  # (offset, end, data), sorted by offset
        self.len = 0  # the datagram's payload length, once known
        self.meat = 0  # octets received
        self.flags = 0
        self.iif = 0
        self.mem = IPQ_SIZE
        self.max_size = 0
        self.max_df_size = 0
        self.head: SkBuff | None = None  # the fragment at offset 0 (its header goes in the result)
        self.timer: Timer = fqdir.host.timer(ip_expire, self)


class FragDir:
    """``struct fqdir``: a namespace's reassembly queues and the memory they hold."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.queues: dict[tuple[int, int, int, int], Ipq] = {}
        self.mem = 0

    @property
    def high_thresh(self) -> int:
        return self.host.sysctl["net.ipv4.ipfrag_high_thresh"]

    @property
    def timeout(self) -> int:
        return self.host.sysctl["net.ipv4.ipfrag_time"] * NSEC_PER_SEC


def ip4_frags(host: Host) -> FragDir:
    """The namespace's ``fqdir`` (``ipv4_frags_init_net``), made on first use."""
    fqdir = getattr(host, "ipv4_fqdir", None)
    if fqdir is None:
        fqdir = host.ipv4_fqdir = FragDir(host)
    return fqdir


def inet_frag_find(fqdir: FragDir, key: tuple[int, int, int, int]) -> Ipq | None:
    """``inet_frag_find``: the queue for ``key``, created (its timer armed) if need be; nothing
    while the memory held is over ``ipfrag_high_thresh``."""
    high = fqdir.high_thresh
    if not high or fqdir.mem > high:
        return None
    q = fqdir.queues.get(key)
    if q is None:
        q = Ipq(fqdir, key)
        fqdir.queues[key] = q
        fqdir.mem += q.mem
        q.timer.mod(fqdir.host.world.now + fqdir.timeout)
    return q


def inet_frag_kill(q: Ipq) -> None:
    """``inet_frag_kill`` + ``inet_frag_destroy``: unhash the queue and free what it holds."""
    q.timer.delete()
    fqdir = q.fqdir
    if fqdir.queues.get(q.key) is q:
        del fqdir.queues[q.key]
        fqdir.mem -= q.mem
    q.flags |= INET_FRAG_COMPLETE
    q.frags = []
    q.head = None


def inet_frag_queue_insert(q: Ipq, offset: int, end: int, data: bytes) -> int:
    """``inet_frag_queue_insert``: IPFRAG_OK, IPFRAG_DUP for data inside what we have, or
    IPFRAG_OVERLAP for a partial overlap (RFC 5722 section 4)."""
    frags = q.frags
    i = len(frags)
    while i and frags[i - 1][0] >= end:
        i -= 1
    # frags[:i] start before ``end``; any of them ending after ``offset`` intersects.
    run_start = run_end = -1
    for f_off, f_end, _ in frags[:i]:
        if f_end <= offset:
            continue
        if run_start < 0:
            run_start = f_off
        elif f_off != run_end:
            return IPFRAG_OVERLAP
        run_end = f_end
    if run_start >= 0:
        if run_start <= offset and end <= run_end:
            return IPFRAG_DUP
        return IPFRAG_OVERLAP
    frags.insert(i, (offset, end, data))
    return IPFRAG_OK


def ip_frag_queue(host: Host, q: Ipq, skb: SkBuff) -> SkBuff | None:
    """``ip_frag_queue``: file one fragment; the rebuilt datagram when it was the last piece."""
    if q.flags & INET_FRAG_COMPLETE:
        return None
    buf = skb.buf
    nh = skb.network_header
    ihl = (buf[nh] & 0x0F) * 4
    frag_off = (buf[nh + 6] << 8) | buf[nh + 7]
    flags = frag_off & ~IP_OFFSET
    offset = (frag_off & IP_OFFSET) << 3
    end = offset + skb.tail - nh - ihl
    if not flags & IP_MF:
        # The final fragment: nothing may lie beyond it, and the end may not change.
        if end < q.len or (q.flags & INET_FRAG_LAST_IN and end != q.len):
            return _discard(host, q)
        q.flags |= INET_FRAG_LAST_IN
        q.len = end
    else:
        end &= ~7
        if end > q.len:
            if q.flags & INET_FRAG_LAST_IN:
                return _discard(host, q)  # data beyond the end: corrupt
            q.len = end
    if end == offset:
        return _discard(host, q)
    data = bytes(buf[nh + ihl:nh + ihl + end - offset])
    err = inet_frag_queue_insert(q, offset, end, data)
    if err == IPFRAG_DUP:
        return None
    if err == IPFRAG_OVERLAP:
        host.mib.IpExt["ReasmOverlaps"] += 1
        return _discard(host, q)
    if skb.dev is not None:
        q.iif = skb.dev.ifindex
    q.meat += end - offset
    size = skb_truesize(skb)
    q.mem += size
    q.fqdir.mem += size
    if offset == 0:
        q.flags |= INET_FRAG_FIRST_IN
        q.head = skb
    fragsize = skb.tail - nh
    q.max_size = max(q.max_size, fragsize)
    if frag_off & IP_DF:
        q.max_df_size = max(q.max_df_size, fragsize)
    if q.flags & (INET_FRAG_FIRST_IN | INET_FRAG_LAST_IN) == INET_FRAG_FIRST_IN | INET_FRAG_LAST_IN \
            and q.meat == q.len:
        return ip_frag_reasm(host, q, skb)
    return None


def _discard(host: Host, q: Ipq) -> None:
    """``discard_qp``: kill the queue and count the failure."""
    inet_frag_kill(q)
    host.mib.Ip["ReasmFails"] += 1


@notrace
def ip_frag_max_size(ipcb: object) -> int:
    """``IPCB(skb)->frag_max_size`` of a packet's control block: 0 for a datagram that came
    whole."""
    return ipcb.frag_max_size if ipcb.__class__ is InetSkbParm else 0


def ip_frag_reasm(host: Host, q: Ipq, last: SkBuff) -> SkBuff | None:
    """``ip_frag_reasm``: one datagram from the first fragment's header and all the data."""
    head = q.head
    hb = head.buf
    nh = head.network_header
    ihl = (hb[nh] & 0x0F) * 4
    length = ihl + q.len
    frags = q.frags
    inet_frag_kill(q)
    if length > IP_MAX_LEN:
        host.mib.Ip["ReasmFails"] += 1  # "Oversized IP packet from ..."
        return None
    skb = alloc_skb(length, MAX_HEADER)
    skb.put_data(hb[nh:nh + ihl])
    for _, _, data in frags:
        skb.put_data(data)
    buf = skb.buf
    d = skb.data
    buf[d + 2] = length >> 8
    buf[d + 3] = length & 0xFF
    # IPSKB_FRAG_PMTU: keep DF when every fragment carried it at the largest size seen.
    frag_off = IP_DF if q.max_df_size and q.max_df_size == q.max_size else 0
    buf[d + 6] = frag_off >> 8
    buf[d + 7] = 0
    ip_send_check(buf, d)
    skb.network_header = d
    skb.transport_header = d + ihl
    skb.data = d + ihl
    skb.dev = last.dev
    skb.dst = last.dst
    skb.protocol = last.protocol
    skb.pkt_type = last.pkt_type
    skb.ip_summed = CHECKSUM_NONE
    skb.tstamp = last.tstamp
    skb.cb = InetSkbParm(ipcb_opt(head), max(q.max_df_size, q.max_size))  # the first fragment's IPCB
    host.mib.Ip["ReasmOKs"] += 1
    return skb


def ip_expire(q: Ipq) -> None:
    """``ip_expire``: the reassembly timer ran out.  Counts ReasmFails and ReasmTimeout; an end host
    that saw the first fragment sends ICMP time exceeded (fragment reassembly time exceeded)."""
    if q.flags & INET_FRAG_COMPLETE:
        return
    host = q.fqdir.host
    head = q.head
    inet_frag_kill(q)
    host.mib.Ip["ReasmFails"] += 1
    host.mib.Ip["ReasmTimeout"] += 1
    if head is None:
        return
    dev = host.dev_by_index.get(q.iif)
    if dev is None:
        return
    head.dev = dev
    icmp_send(host, head, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0)


def ip_defrag(host: Host, skb: SkBuff) -> SkBuff | None:
    """``ip_defrag``: queue a fragment; the whole datagram when it completes, else None."""
    mib = host.mib.Ip
    mib["ReasmReqds"] += 1
    buf = skb.buf
    nh = skb.network_header
    key = (int.from_bytes(buf[nh + 12:nh + 16], "big"), int.from_bytes(buf[nh + 16:nh + 20], "big"),
           (buf[nh + 4] << 8) | buf[nh + 5], buf[nh + 9])
    q = inet_frag_find(ip4_frags(host), key)
    if q is None:
        mib["ReasmFails"] += 1
        return None
    return ip_frag_queue(host, q, skb)
