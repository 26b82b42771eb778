"""``struct sk_buff``: one packet's bytes with headroom and tailroom (net/core/skbuff.c).

The bytes live in one ``bytearray``; ``head <= data <= tail <= end`` are offsets into it.  A layer
going down ``push``es its header into the headroom, a layer going up ``pull``s its header off, and
``put`` appends at the tail, exactly as ``skb_push``/``skb_pull``/``skb_put`` do.  Header offsets
(``mac_header``, ``network_header``, ``transport_header``) are absolute offsets into ``buf``.

A buffer may also hold page fragments (``skb_shinfo(skb)->frags``): bytes of other storage
after the head's, which ``tail`` counts and ``data_len`` sums.  A fragment is (storage, start,
end, room): a bytearray of the kernel's (another buffer's bytes, which ``tcp_grow_skb``,
``skb_split``, ``pskb_copy`` or GSO took by reference, ``room`` bytes before ``start`` free for
headers; a copy of a plain send's bytes; a received frame's, merged out of order), or a memoryview
of a MSG_ZEROCOPY sender's own memory.  Drivers that gather (NETIF_F_SG) take such a buffer as it
is; for others, and for code that reads one run of bytes, ``skb_linearize`` copies it into one.
A zerocopy send's ``destructor_arg`` holds its ``ubuf_info``, whose completion goes to the
socket's error queue as a ``sock_extended_err`` once no buffer refers to the memory any more
(``msg_zerocopy_realloc``, ``__msg_zerocopy_callback``).
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from tuxnet.kernel.errno import EEXIST, EMSGSIZE, ENOMEM, ENOMSG
from tuxnet.kernel.minmax import min
from tuxnet.kernel.mm import PAGE_SIZE
from tuxnet.kernel.timekeeping import ktime_get_real
from tuxnet.net.core.checksum import csum_block_add, csum_partial
from tuxnet.net.core.net_tstamp import (
    SCM_TSTAMP_SND,
    SKBTX_SW_TSTAMP,
    SOF_TIMESTAMPING_OPT_ID,
    SOF_TIMESTAMPING_OPT_STATS,
    SOF_TIMESTAMPING_OPT_TSONLY,
)
from tuxnet.net.socket import SOCK_STREAM

if TYPE_CHECKING:
    from tuxnet.net.core.sock import Sock

CHECKSUM_NONE = 0
CHECKSUM_UNNECESSARY = 1
CHECKSUM_COMPLETE = 2
CHECKSUM_PARTIAL = 3

PACKET_HOST = 0
PACKET_BROADCAST = 1
PACKET_MULTICAST = 2
PACKET_OTHERHOST = 3
PACKET_OUTGOING = 4
PACKET_LOOPBACK = 5


# The initial value of every SkBuff field after buf/data/tail/end, in the order __init__ stores them.
_SKB_DEFAULTS: tuple[Any, ...] = (None, None, None, 0, PACKET_HOST, 0, 0, 0, -1, -1, -1, 0,
                                  CHECKSUM_NONE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, None, False, False, None, 0, None,
                                  0, 0, 0, 0, None, 0, False, 0, 0)


class SkBuff:
    """A packet buffer.  ``len`` is the number of bytes between ``data`` and ``tail``."""

    err_queue = False  # skb_is_err_queue: not a buffer of an error queue (SockExterrSkb)

    __slots__ = (
        "buf", "data", "tail", "end",
        "dev", "sk", "dst", "protocol", "pkt_type", "priority", "mark", "tstamp",
        "mac_header", "network_header", "transport_header", "mac_len",
        "ip_summed", "csum_start", "csum_offset", "gso_size",
        # TCP_SKB_CB(skb): the TCP control block (include/net/tcp.h, struct tcp_skb_cb).
        "seq", "end_seq", "ack_seq", "tcp_flags", "sacked", "skb_mstamp", "tx_count",
        # The remaining scratch space, for other protocols' control blocks (IPCB, FRAG_CB ...).
        "cb",
        # The bytes are (or were) shared with a clone, so they are not rewritten: True, or, for a
        # queued TCP segment and the clones sent of it, their head's reference (see skb_cloned).
        "cloned",
        # skb->head_frag: the head is a page fragment (a driver's napi_build_skb/netdev_alloc_skb),
        # which skb_try_coalesce may take over as a fragment of another buffer.
        "head_frag",
        # skb_shinfo(skb)->destructor_arg: the ubuf_info of a MSG_ZEROCOPY send (skb_zcopy()).
        "destructor_arg",
        # What the packet charges its socket (sk_wmem_alloc) while it is held, and what gives it
        # back (tcp_wfree): see skb_set_owner_w.
        "truesize", "destructor",
        # skb_shinfo(skb)->tx_flags and ->tskey: the send timestamps asked for, and the key they
        # report (net_tstamp.py); a clone shares them.
        "tx_flags", "tskey",
        # In a TCP receive queue: what the buffer gives back when it is read (sock_rfree), the
        # truesize of the buffer Linux merged it into (tcp_try_coalesce), held by the last part.
        "rcv_charge",
        # skb_shinfo(skb)->nr_frags as a receiver counts it for skb_try_coalesce: the page
        # fragments a local socket's payload is in, or the frames GRO merged beyond the first.
        "nr_frags",
        # skb_shinfo(skb)->frags of a sender's buffer and skb->data_len, their length: bytes of
        # other storage that follow the head's, as (storage, start, end, room), with ``tail``
        # counting them (see the module's docstring).  None and 0 for a buffer that is all head.
        "frags", "data_len",
        # skb->peeked: a datagram a MSG_PEEK read has returned (skb_set_peeked; only an empty
        # one is marked, which a peek at an offset then passes over)
        "peeked",
        # skb->vlan_proto and vlan_tci: the VLAN tag taken out of the bytes on receipt (or to be
        # put in on the way out: if_vlan.py); no protocol, none
        "vlan_proto", "vlan_tci",
    )

    def __init__(self, buf: bytearray, data: int = 0, tail: int | None = None) -> None:
        self.buf = buf
        self.data = data
        self.end = end = len(buf)
        self.tail = end if tail is None else tail
        # One unpacking store of the defaults: a buffer is made per packet, so this is hot.
        (self.dev, self.sk, self.dst, self.protocol, self.pkt_type, self.priority, self.mark, self.tstamp,
         self.mac_header, self.network_header, self.transport_header, self.mac_len,
         self.ip_summed, self.csum_start, self.csum_offset, self.gso_size,
         self.seq, self.end_seq, self.ack_seq, self.tcp_flags, self.sacked, self.skb_mstamp, self.tx_count,
         self.cb, self.cloned, self.head_frag, self.destructor_arg, self.truesize, self.destructor, self.tx_flags,
         self.tskey, self.rcv_charge, self.nr_frags, self.frags, self.data_len, self.peeked, self.vlan_proto,
         self.vlan_tci) = _SKB_DEFAULTS

    def __repr__(self) -> str:
        return f"<SkBuff len={self.len} headroom={self.data} dev={getattr(self.dev, 'name', None)}>"

    @property
    def len(self) -> int:
        return self.tail - self.data

    def __len__(self) -> int:
        return self.tail - self.data

    def headroom(self) -> int:
        """``skb_headroom()``."""
        return self.data

    def tailroom(self) -> int:
        """``skb_tailroom()``."""
        return self.end - self.tail

    def reserve(self, n: int) -> None:
        """``skb_reserve()``: make headroom in an empty buffer."""
        self.data += n
        self.tail += n

    def push(self, n: int) -> int:
        """``skb_push()``: grow the data at the front by ``n``; returns the new ``data`` offset."""
        d = self.data - n
        if d < 0:
            raise ValueError(f"skb_under_panic: push {n} with headroom {self.data}")
        self.data = d
        return d

    def pull(self, n: int) -> int:
        """``skb_pull()``: drop ``n`` bytes from the front; returns the new ``data`` offset."""
        if n > self.tail - self.data:
            raise ValueError(f"pull {n} beyond len {self.len}")
        self.data += n
        return self.data

    def put(self, n: int) -> int:
        """``skb_put()``: grow the data at the tail by ``n``; returns the old ``tail`` offset."""
        t = self.tail
        if t + n > self.end:
            raise ValueError(f"skb_over_panic: put {n} with tailroom {self.end - t}")
        self.tail = t + n
        return t

    def put_data(self, data: bytes | bytearray | memoryview) -> None:
        """``skb_put_data()``: append bytes."""
        t = self.put(len(data))
        self.buf[t:t + len(data)] = data

    def trim(self, length: int) -> None:
        """``skb_trim()``: cut the data to ``length`` bytes."""
        if length < self.tail - self.data:
            self.tail = self.data + length

    def payload(self) -> memoryview:
        """The bytes from ``data`` to ``tail`` without copying."""
        return memoryview(self.buf)[self.data:self.tail]

    def tobytes(self) -> bytes:
        if self.frags is not None:
            return skb_copy_bits(self, 0, self.tail - self.data)
        return bytes(self.buf[self.data:self.tail])

    def reset_network_header(self) -> None:
        self.network_header = self.data

    def reset_transport_header(self) -> None:
        self.transport_header = self.data

    def reset_mac_header(self) -> None:
        self.mac_header = self.data

    def copy(self) -> SkBuff:
        """``skb_copy()``: a private copy of bytes and metadata."""
        n = SkBuff(bytearray(self.buf), self.data, self.tail)
        n.end = self.end
        n.frags, n.data_len = self.frags, self.data_len
        skb_linearize(n)
        for name in ("dev", "sk", "dst", "protocol", "pkt_type", "priority", "mark", "tstamp",
                     "mac_header", "network_header", "transport_header", "mac_len", "ip_summed",
                     "csum_start", "csum_offset", "gso_size", "seq", "end_seq", "ack_seq", "tcp_flags",
                     "sacked", "skb_mstamp", "tx_count", "cb", "vlan_proto", "vlan_tci"):
            setattr(n, name, getattr(self, name))
        return n


# SKB_TRUESIZE(): the memory a buffer costs beyond its data (struct sk_buff + skb_shared_info).
SKB_TRUESIZE_OVERHEAD = 576
# The sizes behind it (x86-64): SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) and
# SKB_DATA_ALIGN(sizeof(struct sk_buff)); and the small-head cache heads up to 640 bytes come from
# (Linux 6.3+, SKB_SMALL_HEAD_CACHE_SIZE).
SKB_SHINFO_SIZE = 320
SKB_STRUCT_SIZE = 256
SKB_SMALL_HEAD_CACHE_SIZE = 640
SMP_CACHE_BYTES = 64
# sk_page_frag(): the page fragment a socket copies sent bytes into, a compound page of 32 KB
# (SKB_FRAG_PAGE_ORDER) when it can be had.
SKB_FRAG_PAGE_SIZE = 32768
# The largest head kmalloc serves from a slab (KMALLOC_MAX_CACHE_SIZE, two pages with SLUB), and
# its caches' sizes up to there.
KMALLOC_MAX_CACHE_SIZE = 2 * PAGE_SIZE
_KMALLOC_SIZES = (8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192)
# SKB_MAX_ALLOC: the largest head __ip_append_data asks for before it puts data in pages.
SKB_MAX_ALLOC = (PAGE_SIZE << 2) - SKB_SHINFO_SIZE


def kmalloc_size_roundup(size: int) -> int:
    """``kmalloc_size_roundup``: what ``kmalloc(size)`` really allocates, the size of the slab
    cache that serves it, or whole pages (a power of two of them) beyond the largest cache."""
    if size > KMALLOC_MAX_CACHE_SIZE:
        return PAGE_SIZE << (-(-size // PAGE_SIZE) - 1).bit_length()
    return _KMALLOC_SIZES[bisect_right(_KMALLOC_SIZES, size - 1)]


def alloc_skb_end(size: int) -> int:
    """``skb_end_offset`` of ``alloc_skb(size)`` (``__alloc_skb`` → ``kmalloc_reserve``): the
    bytes of the head the allocator really gives, less the ``skb_shared_info`` at its end; what
    is beyond ``size`` is the buffer's tailroom."""
    osize = -(-size // SMP_CACHE_BYTES) * SMP_CACHE_BYTES + SKB_SHINFO_SIZE
    if osize <= SKB_SMALL_HEAD_CACHE_SIZE:
        return SKB_SMALL_HEAD_CACHE_SIZE - SKB_SHINFO_SIZE
    return kmalloc_size_roundup(osize) - SKB_SHINFO_SIZE


def alloc_skb_truesize(size: int) -> int:
    """``skb->truesize`` of ``alloc_skb(size)``: its head, with its ``skb_shared_info``, and the
    ``struct sk_buff``."""
    return alloc_skb_end(size) + SKB_SHINFO_SIZE + SKB_STRUCT_SIZE


def skb_truesize(skb: SkBuff) -> int:
    """``skb->truesize``: the memory a buffer charges to its socket or queue, its bytes plus the
    kernel's per-buffer overhead."""
    return skb.end + SKB_TRUESIZE_OVERHEAD


def skb_charged_truesize(skb: SkBuff) -> int:
    """``skb->truesize`` of a packet a socket made: the size its sender's allocation gave it (a
    datagram's, as ``__ip_append_data`` sizes it, which loopback delivers as it is), or, for a
    packet no socket made, ``skb_truesize``."""
    return skb.truesize or skb.end + SKB_TRUESIZE_OVERHEAD


class OwnedBuffer(Protocol):
    """What ``skb_set_owner_w`` and ``skb_orphan`` use of a buffer: an SkBuff, or the packet a
    driver keeps once the SkBuff is gone (a TUN device's, held by fq)."""

    sk: Any
    truesize: int
    destructor: Callable[[Any], None] | None


def skb_set_owner_w(skb: OwnedBuffer) -> None:
    """``skb_set_owner_w``: the packet charges ``skb.truesize`` to its socket's ``sk_wmem_alloc``
    (what TCP Small Queues limits, and what a datagram socket's send buffer holds) until a
    ``skb_release_w`` or ``skb_orphan``.  A socket's packets carry their truesize and a destructor
    (``tcp_wfree``, ``sock_wfree``) that gives the charge back.

    Linux charges a packet from the moment it is made until a device takes it (``loopback_xmit``
    and veth orphan it then) or it is freed.  In tuxnet the charge lasts while something holds
    the packet: a neighbour entry waiting for its address, a qdisc, fq in front of a TUN device.
    From the socket down to those nothing waits, so the send buffer sees the same packets, and no
    drop on the way can leave a charge behind."""
    if skb.destructor is not None:
        skb.sk.sk_wmem_alloc += skb.truesize


def skb_release_w(skb: OwnedBuffer) -> None:
    """The holder passes the packet on (to the driver, or from a neighbour's queue to the
    qdisc): the charge of ``skb_set_owner_w`` goes back, and the destructor stays for a next
    holder."""
    destructor = skb.destructor
    if destructor is not None:
        destructor(skb)


def skb_orphan(skb: OwnedBuffer) -> None:
    """``skb_orphan`` (and the destructor ``kfree_skb`` runs for a dropped packet): the charge
    of ``skb_set_owner_w`` goes back to the socket, and no later holder charges it.  The packet
    keeps ``sk``, for the driver."""
    destructor = skb.destructor
    if destructor is not None:
        skb.destructor = None
        destructor(skb)


def alloc_skb(size: int, headroom: int = 0) -> SkBuff:
    """``alloc_skb()`` + ``skb_reserve(headroom)``: an empty buffer of ``headroom + size`` bytes."""
    buf = bytearray(headroom + size)
    return SkBuff(buf, headroom, headroom)


def skb_clone(skb: SkBuff) -> SkBuff:
    """``skb_clone()``: a new buffer head over the same bytes, ``data`` to ``tail`` (no tailroom).
    Both are marked cloned.  Linux counts the sharers and clears the mark when the clone is
    freed; here the mark stays, so the bytes a clone covers are never rewritten (the buffer may
    still grow past them: the tail part of a split segment takes the next write)."""
    n = SkBuff(skb.buf, skb.data, skb.tail)
    n.end = skb.tail
    n.frags = skb.frags
    n.data_len = skb.data_len
    n.cloned = skb.cloned = True
    n.tx_flags = skb.tx_flags
    n.tskey = skb.tskey
    n.vlan_proto, n.vlan_tci = skb.vlan_proto, skb.vlan_tci
    return n


def alloc_skb_data(data: bytes | bytearray | memoryview, hlen: int, headroom: int) -> SkBuff:
    """``alloc_skb()`` + ``skb_reserve(headroom)`` + ``skb_put(hlen)`` + ``skb_put_data(data)``: a
    packet of ``hlen`` header bytes (zero, for the caller to fill) and a copy of ``data``.  The
    buffer is built at its full size by the copy itself, so the payload bytes are written once,
    not zeroed first (for a 64 KB segment that halves the work)."""
    buf = bytearray(headroom + hlen)
    buf += data
    return SkBuff(buf, headroom)


def skb_add_data(skb: SkBuff, data: bytes | bytearray | memoryview) -> None:
    """``skb_add_data()``: copy ``data`` to the end of the buffer, which grows to hold it (the write
    queue's tail segment, filled as ``tcp_sendmsg`` fills page fragments).

    The bytes grow in place: after the head's, or, in a buffer with page fragments, after its
    last fragment's when that storage is the kernel's and ends there (``skb_can_coalesce``: the
    next bytes of the same page).  A bytearray cannot be resized while a view of it is alive: a
    clone's bytes still in flight, or, under PyPy, any view its collector has not freed yet.  Then
    the head is reallocated with the new bytes, as ``pskb_expand_head`` does for a shared head;
    whoever holds the old bytes keeps them.  Otherwise ``data`` is copied into a fragment of its
    own: after a zerocopy send's pages (``tcp_downgrade_zcopy_pure``), or in a buffer whose
    storage goes on past its tail (the first part of a split: the bytes after are the other's)."""
    frags = skb.frags
    if frags is not None:
        storage, start, end, room = frags[-1]
        if storage.__class__ is bytearray and end == len(storage):
            try:
                storage.extend(data)
            except BufferError:
                pass
            else:
                # (a new list: a clone shares the old one)
                skb.frags = [*frags[:-1], (storage, start, len(storage), room)]
                skb.data_len += len(storage) - end
                skb.tail = skb.end = skb.tail + len(storage) - end
                return
        skb_add_frag(skb, bytearray(data), 0, len(data), 0)
        return
    if skb.tail != len(skb.buf):
        skb_add_frag(skb, bytearray(data), 0, len(data), 0)
        return
    try:
        skb.buf.extend(data)  # (as +=, but PyPy copies a view this way in two thirds of the time)
    except BufferError:
        skb.buf = skb.buf + data
    skb.tail = skb.end = len(skb.buf)


def skb_add_frag(skb: SkBuff, storage: bytearray | memoryview, start: int, end: int, room: int) -> None:
    """``skb_fill_page_desc``, with ``data_len`` and ``len`` grown to match: bytes ``start`` to
    ``end`` of ``storage`` follow the buffer's own, not copied; ``room`` bytes before ``start``
    are free for headers.  The buffer has no tailroom after."""
    frag = (storage, start, end, room)
    frags = skb.frags
    skb.frags = [frag] if frags is None else [*frags, frag]
    skb.data_len += end - start
    skb.tail = skb.end = skb.tail + end - start


def skb_add_frags(skb: SkBuff, frm: SkBuff, start: int, end: int) -> None:
    """Bytes ``start`` to ``end`` of ``frm`` (offsets as its ``data`` and ``tail``) after ``skb``'s
    own, as page fragments of the storage that holds them, not copied and with no room before
    them (``skb_fill_page_desc`` for each, as ``skb_split``, ``skb_shift`` and ``skb_segment``
    take page references)."""
    for storage, first, last in skb_ranges(frm, start, end):
        skb_add_frag(skb, storage, first, last, 0)


def skb_ranges(skb: SkBuff, start: int, end: int) -> list[tuple[bytearray | memoryview, int, int]]:
    """Bytes ``start`` to ``end`` of the buffer (offsets as ``data`` and ``tail``: the head's
    bytes, then its fragments') as runs of the storage that holds them, (storage, first, last),
    in order: what another buffer takes as fragments without copying them."""
    head_end = skb.tail - skb.data_len
    out: list[tuple[bytearray | memoryview, int, int]] = []
    if start < head_end:
        out.append((skb.buf, start, end if end < head_end else head_end))
    if skb.frags is not None and end > head_end:
        pos = head_end
        for storage, fstart, fend, _ in skb.frags:
            if pos >= end:
                break
            nxt = pos + fend - fstart
            if start < nxt:
                out.append((storage, fstart + start - pos if start > pos else fstart,
                            fend - nxt + end if end < nxt else fend))
            pos = nxt
    return out


def skb_views(skb: SkBuff, start: int, end: int) -> list[memoryview]:
    """Bytes ``start`` to ``end`` of the buffer as views, in order (what ``skb_copy_bits``
    copies)."""
    if skb.frags is None:
        return [memoryview(skb.buf)[start:end]]
    return [memoryview(storage)[first:last] for storage, first, last in skb_ranges(skb, start, end)]


def skb_checksum(skb: SkBuff, start: int, end: int, csum: int) -> int:
    """``skb_checksum``: the ones' complement sum of bytes ``start`` to ``end`` (offsets as
    ``data`` and ``tail``), head and fragments alike, added to ``csum``."""
    if skb.frags is None:
        return csum_partial(memoryview(skb.buf)[start:end], csum)
    offset = 0
    for view in skb_views(skb, start, end):
        csum = csum_block_add(csum, csum_partial(view), offset)
        offset += len(view)
    return csum


def skb_copy_bits(skb: SkBuff, offset: int, length: int) -> bytes:
    """``skb_copy_bits``: a copy of ``length`` bytes from ``offset`` past ``data``, head and
    fragments alike."""
    start = skb.data + offset
    if skb.frags is None:
        return bytes(memoryview(skb.buf)[start:start + length])
    return b"".join(skb_views(skb, start, start + length))


def skb_linearize(skb: SkBuff) -> None:
    """``skb_linearize`` → ``__pskb_pull_tail``: the fragments' bytes copied into a new head after
    the head's own (headroom and header offsets kept), for code that reads one run of bytes."""
    frags = skb.frags
    if frags is None:
        return
    buf = skb.buf[:skb.tail - skb.data_len]
    for storage, start, end, _ in frags:
        buf += memoryview(storage)[start:end]
    skb.buf = buf
    skb.tail = skb.end = len(buf)
    skb.frags = None
    skb.data_len = 0


def skb_expand_head(skb: SkBuff, headroom: int) -> None:
    """``skb_expand_head``: at least ``headroom`` bytes before the data, the head copied into a
    new, larger buffer (so a clone stops sharing it) and every offset into it moved along."""
    delta = headroom - skb.data
    if delta <= 0:
        return
    skb.buf = bytearray(delta) + skb.buf
    skb.data += delta
    skb.tail += delta
    skb.end += delta
    for field in ("mac_header", "network_header", "transport_header"):
        if getattr(skb, field) >= 0:
            setattr(skb, field, getattr(skb, field) + delta)
    if skb.ip_summed == CHECKSUM_PARTIAL:
        skb.csum_start += delta
    skb.cloned = False


def __pskb_trim_head(skb: SkBuff, length: int) -> None:
    """``__pskb_trim_head``: drop ``length`` bytes from the front: the head's first, then whole
    fragments, then the front of the next one (whose bytes before its new start are not free)."""
    start = skb.data + length
    head_end = skb.tail - skb.data_len
    if start <= head_end:
        skb.data = start
        return
    skb.data = head_end
    eat = start - head_end
    kept = []
    for frag in skb.frags or ():
        storage, fstart, fend, _ = frag
        if eat >= fend - fstart:
            eat -= fend - fstart
            continue
        kept.append((storage, fstart + eat, fend, 0) if eat else frag)
        eat = 0
    skb.frags = kept or None
    skb.data_len = sum(end - begin for _, begin, end, _ in kept)
    skb.tail = skb.end = head_end + skb.data_len


def pskb_trim(skb: SkBuff, length: int) -> None:
    """``pskb_trim``: keep the first ``length`` bytes, head and fragments alike."""
    new_tail = skb.data + length
    head_end = skb.tail - skb.data_len
    if new_tail <= head_end:
        if skb.frags is not None:
            skb.frags = None
            skb.data_len = 0
            skb.end = head_end
        skb.tail = new_tail
        return
    kept = []
    pos = head_end
    for storage, start, end, room in skb.frags or ():
        if pos >= new_tail:
            break
        take = min(end - start, new_tail - pos)
        kept.append((storage, start, start + take, room))
        pos += take
    skb.frags = kept
    skb.data_len = new_tail - head_end
    skb.tail = skb.end = new_tail


def skb_try_coalesce(to: SkBuff, frm: SkBuff) -> int:
    """``skb_try_coalesce``: add ``frm``'s bytes (``data`` to ``tail``) to the end of ``to``;
    returns how much ``to``'s truesize grew (``delta_truesize``), or -1 when it cannot take them:
    ``to`` is a clone (its bytes are shared) or either holds a zerocopy sender's pages.  Bytes
    that fit ``to``'s tailroom are copied there and cost nothing more: a pure ACK merges for
    free.  This is its first way; a longer payload is left unmerged here (-1), for the second,
    which moves ``frm``'s page fragments into ``to`` without copying them and counts them against
    MAX_SKB_FRAGS as a receiving TCP socket knows them (``skb_coalesce_frags``: the backlog and
    the out-of-order queue; the receive queue charges its merges only, ``tcp_try_coalesce``)."""
    if to.cloned or to.destructor_arg is not None or frm.destructor_arg is not None:
        return -1
    length = frm.tail - frm.data
    if length > to.end - to.tail:
        return -1
    if length:
        view = memoryview(to.buf)
        pos = to.tail
        for piece in skb_views(frm, frm.data, frm.tail):
            view[pos:pos + len(piece)] = piece
            pos += len(piece)
        view.release()
        to.tail = pos
    return 0


def skb_cloned(skb: SkBuff) -> bool:
    """``skb_cloned``: another buffer still shares this one's head.  A queued TCP segment and the
    clones sent of it share a one-element list, their head's reference (``dataref``), which
    ``skb_unclone`` clears; any other clone and what it was cloned from are shared for good."""
    cloned = skb.cloned
    return cloned is True or (cloned.__class__ is list and cloned[0])


def skb_unclone(skb: SkBuff) -> None:
    """``skb_unclone_keeptruesize``: a segment about to be split, trimmed or sent again takes a
    head of its own in Linux (and one being freed lets go of its), so the clones sent of it
    keep the old head to themselves: they are no longer shared.  tuxnet moves no bytes here; the
    segment stays marked as shared, so that sending it again copies (``_tcp_skb_for_xmit``)."""
    cloned = skb.cloned
    if cloned.__class__ is list:
        cloned[0] = False


def skb_from_frame(frame: bytes | bytearray | memoryview) -> SkBuff:
    """A received frame as a buffer (what a driver's ``netdev_alloc_skb`` + copy, or
    ``napi_build_skb`` around its receive buffer, gives: a head in a page fragment)."""
    skb = SkBuff(bytearray(frame))
    skb.head_frag = True
    return skb


# -- MSG_ZEROCOPY: the sender's pages in a buffer, and their completion ---------------------------
# (net/core/skbuff.c, include/linux/skbuff.h, Documentation/networking/msg_zerocopy.rst)

MAX_SKB_FRAGS = 17  # CONFIG_MAX_SKB_FRAGS, and the default of net.core.max_skb_frags
# The truesize of an skb whose head comes from the 640-byte small-head cache (Linux 6.3+), as
# alloc_skb(0)'s does: SKB_TRUESIZE(640 - sizeof(struct skb_shared_info)).
SKB_SMALL_HEAD_TRUESIZE = alloc_skb_truesize(0)

# struct sock_extended_err: ee_origin and ee_code (include/uapi/linux/errqueue.h)
SO_EE_ORIGIN_NONE = 0
SO_EE_ORIGIN_LOCAL = 1
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
SO_EE_ORIGIN_TXSTATUS = 4
SO_EE_ORIGIN_ZEROCOPY = 5
SO_EE_ORIGIN_TIMESTAMPING = SO_EE_ORIGIN_TXSTATUS
SO_EE_CODE_ZEROCOPY_COPIED = 1

_sock_extended_err = struct.Struct("=IBBBBII")


class SockExtendedErr:
    """``struct sock_extended_err``: what an entry of the error queue reports.  ``pack`` gives the
    16 bytes an IP_RECVERR control message starts with, ``unpack`` reads them back."""

    __slots__ = ("ee_errno", "ee_origin", "ee_type", "ee_code", "ee_info", "ee_data")

    def __init__(self, ee_errno: int = 0, ee_origin: int = SO_EE_ORIGIN_NONE, ee_type: int = 0,
                 ee_code: int = 0, ee_info: int = 0, ee_data: int = 0) -> None:
        self.ee_errno = ee_errno
        self.ee_origin = ee_origin
        self.ee_type = ee_type
        self.ee_code = ee_code
        self.ee_info = ee_info
        self.ee_data = ee_data

    def __repr__(self) -> str:
        return (f"<sock_extended_err errno={self.ee_errno} origin={self.ee_origin} type={self.ee_type} "
                f"code={self.ee_code} info={self.ee_info} data={self.ee_data}>")

    def pack(self) -> bytes:
        return _sock_extended_err.pack(self.ee_errno, self.ee_origin, self.ee_type, self.ee_code, 0,
                                       self.ee_info, self.ee_data)

    @classmethod
    def unpack(cls, data: bytes | bytearray | memoryview) -> SockExtendedErr:
        errno, origin, type_, code, _pad, info, ee_data = _sock_extended_err.unpack_from(data)
        return cls(errno, origin, type_, code, info, ee_data)


class SockExterrSkb:
    """A buffer of ``sk_error_queue`` with its ``SKB_EXT_ERR(skb)`` (``struct sock_exterr_skb``):
    the error; for an ICMP error, the address and port the offending datagram went to
    (``addr``/``port``, reported as ``msg_name``), the ICMP message's source (``offender``) and the
    datagram's payload as far as the message quotes it (``payload``) and when it came
    (``tstamp``, 0 if the host did not stamp it); for a send timestamp, the copy of the packet it
    reports (``skb``, None with OPT_TSONLY), whose bytes are the payload, or TCP's statistics
    (``opt_stats``, OPT_STATS).  The socket it is charged
    to (``sk``: its option memory, ``sock_omalloc``, or its receive memory, ``sock_queue_err_skb``),
    what it is charged and what gives that back (``destructor``), or None."""

    __slots__ = ("ee", "addr", "port", "offender", "payload", "tstamp", "sk", "truesize", "destructor", "skb",
                 "opt_stats")

    # skb_is_err_queue (Linux marks an error queue's buffers PACKET_OUTGOING, skb_set_err_queue)
    err_queue = True

    def __init__(self, ee: SockExtendedErr, addr: int = 0, port: int = 0, offender: int = 0,
                 payload: bytes = b"", tstamp: int = 0) -> None:
        self.ee = ee
        self.tstamp = tstamp
        self.addr = addr
        self.port = port
        self.offender = offender
        self.payload = payload
        self.sk: Sock | None = None
        self.truesize = 0
        self.destructor: Callable[[SockExterrSkb], None] | None = None
        self.skb: SkBuff | None = None
        self.opt_stats = False


def sock_omalloc(sk: Sock) -> SockExterrSkb | None:
    """``sock_omalloc(sk, 0)``: an empty buffer charged to the socket's option memory, None when
    that would pass ``net.core.optmem_max`` (the check counts ``SKB_TRUESIZE(0)``)."""
    if sk.sk_omem_alloc + SKB_TRUESIZE_OVERHEAD > sk.host.sysctl["net.core.optmem_max"]:
        return None
    skb = SockExterrSkb(SockExtendedErr())
    skb.sk = sk
    skb.truesize = SKB_SMALL_HEAD_TRUESIZE
    skb.destructor = sock_ofree
    sk.sk_omem_alloc += SKB_SMALL_HEAD_TRUESIZE
    return skb


def sock_ofree(skb: SockExterrSkb) -> None:
    """``sock_ofree``, the destructor of a ``sock_omalloc`` buffer: the memory goes back."""
    sk = skb.sk
    if sk is not None:
        sk.sk_omem_alloc -= skb.truesize
        skb.sk = None


def sock_rmem_free(skb: SockExterrSkb) -> None:
    """``sock_rmem_free``, the destructor of a buffer ``sock_queue_err_skb`` charged."""
    sk = skb.sk
    if sk is not None:
        sk.sk_rmem_alloc -= skb.truesize
        skb.sk = None


def consume_err_skb(skb: SockExterrSkb) -> None:
    """``consume_skb`` of an error queue's buffer: its destructor gives back its charge."""
    if skb.destructor is not None:
        skb.destructor(skb)


def sock_queue_err_skb(sk: Sock, skb: SockExterrSkb) -> int:
    """``sock_queue_err_skb``: queue ``skb`` on the socket's error queue, charged to its receive
    memory, and tell the socket; -ENOMEM when that would reach ``sk_rcvbuf``."""
    if sk.sk_rmem_alloc + skb.truesize >= sk.sk_rcvbuf:
        return -ENOMEM
    skb.sk = sk
    skb.destructor = sock_rmem_free
    sk.sk_rmem_alloc += skb.truesize
    sk.sk_error_queue.append(skb)
    if not sk.sk_dead:
        sk.sk_error_report()
    return 0


# -- send timestamps (SO_TIMESTAMPING) -----------------------------------------------------------

def __skb_tstamp_tx(orig: SkBuff, sk: Sock | None, tstype: int, ack_skb: SkBuff | None = None) -> None:
    """``__skb_tstamp_tx``: a send timestamp of ``orig`` (``tstype``: SCM_TSTAMP_SCHED, _SND or
    _ACK, this one with the ACK that brought it, ``ack_skb``) for its socket's error queue
    (``__skb_complete_tx_timestamp``): ENOMSG from SO_EE_ORIGIN_TIMESTAMPING, the time now, with
    OPT_ID the key (for TCP counted from the byte the option was set at), and a copy of the
    packet as it is now, or, with OPT_TSONLY, no bytes, or a TCP socket's statistics with
    OPT_STATS (``tcp_get_timestamping_opt_stats``).  (``skb_may_tx_timestamp``:
    ``net.core.tstamp_allow_data`` is 1, so any socket may have the bytes.)  A queue that would
    pass the receive buffer drops it."""
    if sk is None:
        return
    tsflags = sk.sk_tsflags
    ee = SockExtendedErr(ENOMSG, SO_EE_ORIGIN_TIMESTAMPING, 0, 0, tstype)
    if tsflags & SOF_TIMESTAMPING_OPT_ID:
        key = orig.tskey
        if sk.sk_type == SOCK_STREAM:
            key -= sk.sk_tskey
        ee.ee_data = key & 0xFFFFFFFF
    err_skb = SockExterrSkb(ee, tstamp=ktime_get_real(sk.host.world))
    if tsflags & SOF_TIMESTAMPING_OPT_TSONLY:
        err_skb.truesize = SKB_SMALL_HEAD_TRUESIZE
        if tsflags & SOF_TIMESTAMPING_OPT_STATS and sk.sk_type == SOCK_STREAM:
            from tuxnet.net.ipv4.tcp import TCP_OPT_STATS_SIZE, tcp_get_timestamping_opt_stats  # (it imports this)

            err_skb.payload = tcp_get_timestamping_opt_stats(sk, orig, ack_skb)
            err_skb.opt_stats = True
            err_skb.truesize = alloc_skb_truesize(TCP_OPT_STATS_SIZE)
    else:
        # skb_clone: the packet from where its data begins now (its link-layer header, once
        # the neighbour layer put it on), and what it knew of its device and headers
        d = orig.data
        copy = SkBuff(bytearray(skb_copy_bits(orig, 0, orig.tail - d)))
        copy.dev = orig.dev
        copy.network_header = orig.network_header - d
        copy.transport_header = orig.transport_header - d
        err_skb.skb = copy
        err_skb.payload = bytes(copy.buf)
        err_skb.truesize = skb_charged_truesize(orig)
    sock_queue_err_skb(sk, err_skb)


def skb_tx_timestamp(skb: SkBuff) -> None:
    """``skb_tx_timestamp``, which a driver calls as it gives a packet to its device: the
    software send timestamp (SCM_TSTAMP_SND), if the packet asked for one."""
    if skb.tx_flags & SKBTX_SW_TSTAMP:
        __skb_tstamp_tx(skb, skb.sk, SCM_TSTAMP_SND)


def is_icmp_err_skb(skb: SockExterrSkb | None) -> bool:
    """``is_icmp_err_skb``."""
    return skb is not None and skb.ee.ee_origin in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6)


def sock_dequeue_err_skb(sk: Sock) -> SockExterrSkb | None:
    """``sock_dequeue_err_skb``: the first entry of the error queue.  ``sk_err`` follows the ICMP
    errors queued: the next one's errno, or none once the last is read; a reader is woken again
    while entries remain."""
    q = sk.sk_error_queue
    if not q:
        return None
    skb = q.popleft()
    skb_next = q[0] if q else None
    icmp_next = is_icmp_err_skb(skb_next)
    if icmp_next:
        sk.sk_err = skb_next.ee.ee_errno
    if is_icmp_err_skb(skb) and not icmp_next:
        sk.sk_err = 0
    if skb_next is not None:
        sk.sk_error_report()
    return skb


def skb_errqueue_purge(q: Any) -> None:
    """``skb_errqueue_purge`` (IP_RECVERR turned off): drop the queued errors, but not zerocopy
    completions and timestamps, which do not depend on IP_RECVERR."""
    keep = []
    for skb in q:
        if skb.ee.ee_origin in (SO_EE_ORIGIN_ZEROCOPY, SO_EE_ORIGIN_TIMESTAMPING):
            keep.append(skb)
        else:
            consume_err_skb(skb)
    q.clear()
    q.extend(keep)


def skb_zcopy_pure(skb: SkBuff) -> bool:
    """``skb_zcopy_pure`` (SKBFL_PURE_ZEROCOPY): every byte of the buffer is a zerocopy sender's,
    its head empty and each fragment a view of the sender's memory."""
    frags = skb.frags
    return (frags is not None and skb.tail - skb.data_len == skb.data
            and all(storage.__class__ is memoryview for storage, _, _, _ in frags))


def skb_pure_zcopy_same(skb1: SkBuff, skb2: SkBuff) -> bool:
    """``skb_pure_zcopy_same``: both buffers pure zerocopy, or neither."""
    return skb_zcopy_pure(skb1) == skb_zcopy_pure(skb2)


class UbufInfoMsgzc:
    """``struct ubuf_info_msgzc``: a MSG_ZEROCOPY send, or a run of sends with consecutive
    notification ids (``id`` to ``id + len - 1``, ``bytelen`` bytes in all).  ``refcnt`` counts the
    sending call and the buffers that refer to the sender's memory; when it drops to nothing the
    completion is queued (``__msg_zerocopy_callback``), with SO_EE_CODE_ZEROCOPY_COPIED if the
    kernel had to copy the memory after all (``zerocopy`` false).  In Linux it lives in the control
    block of the buffer (``skb``) that becomes its notification."""

    __slots__ = ("skb", "id", "len", "bytelen", "zerocopy", "refcnt")

    def __init__(self, skb: SockExterrSkb, id: int, bytelen: int) -> None:
        self.skb = skb
        self.id = id
        self.len = 1
        self.bytelen = bytelen
        self.zerocopy = True
        self.refcnt = 1

    def __repr__(self) -> str:
        return f"<ubuf_info_msgzc id={self.id} len={self.len} refcnt={self.refcnt} zerocopy={self.zerocopy}>"


def msg_zerocopy_alloc(sk: Sock, size: int) -> UbufInfoMsgzc | None:
    """``msg_zerocopy_alloc``: a notification for one send, with the socket's next id
    (``sk_zckey``); None when the socket's option memory is used up."""
    skb = sock_omalloc(sk)
    if skb is None:
        return None
    uarg = UbufInfoMsgzc(skb, sk.sk_zckey, size)
    sk.sk_zckey = (sk.sk_zckey + 1) & 0xFFFFFFFF
    return uarg


def msg_zerocopy_realloc(sk: Sock, size: int, uarg: UbufInfoMsgzc | None) -> UbufInfoMsgzc | None:
    """``msg_zerocopy_realloc``: the notification of a send.  A send that goes into the same buffer
    as the previous one (``uarg``, the tail buffer's), with the next id, extends its notification
    (one more id, one more reference) while it stays under 512 KB; otherwise a new one."""
    if uarg is not None:
        bytelen = uarg.bytelen + size
        if uarg.len == 0xFFFF - 1 or bytelen > 1 << 19:
            # (a few TSO packets at most) TCP can start a new buffer for a new notification
            if sk.sk_type != SOCK_STREAM:
                return None
        else:
            nxt = sk.sk_zckey
            if (uarg.id + uarg.len) & 0xFFFFFFFF == nxt:
                uarg.len += 1
                uarg.bytelen = bytelen
                sk.sk_zckey = (nxt + 1) & 0xFFFFFFFF
                if sk.sk_type == SOCK_STREAM:  # (a corked datagram takes no extra reference)
                    uarg.refcnt += 1
                return uarg
    return msg_zerocopy_alloc(sk, size)


def skb_zerocopy_notify_extend(skb: SockExterrSkb, lo: int, count: int) -> bool:
    """``skb_zerocopy_notify_extend``: a completion of ``count`` ids from ``lo`` on that follow those
    of the notification at the tail of the error queue joins it (its ``ee_data``, the last id,
    moves on)."""
    ee = skb.ee
    old_lo = ee.ee_info
    old_hi = ee.ee_data
    if ((old_hi - old_lo) & 0xFFFFFFFF) + 1 + count >= 1 << 32:
        return False
    if lo != (old_hi + 1) & 0xFFFFFFFF:
        return False
    ee.ee_data = (ee.ee_data + count) & 0xFFFFFFFF
    return True


def __msg_zerocopy_callback(uarg: UbufInfoMsgzc) -> None:
    """``__msg_zerocopy_callback``: nothing refers to the sender's memory any more.  Queue the
    notification (ids ``ee_info`` to ``ee_data``, SO_EE_ORIGIN_ZEROCOPY, errno 0), merged into the
    one at the tail of the error queue when the ids follow on, and report it (POLLERR).  A send
    that was aborted (``len`` 0) and a closed socket get none."""
    skb = uarg.skb
    sk = skb.sk
    if not uarg.len or sk.sk_dead:
        sock_ofree(skb)
        return
    lo = uarg.id
    ee = skb.ee
    ee.ee_errno = 0
    ee.ee_origin = SO_EE_ORIGIN_ZEROCOPY
    ee.ee_info = lo
    ee.ee_data = (lo + uarg.len - 1) & 0xFFFFFFFF
    if not uarg.zerocopy:
        ee.ee_code |= SO_EE_CODE_ZEROCOPY_COPIED
    q = sk.sk_error_queue
    tail = q[-1] if q else None
    if tail is None or tail.ee.ee_origin != SO_EE_ORIGIN_ZEROCOPY or \
            not skb_zerocopy_notify_extend(tail, lo, uarg.len):
        q.append(skb)
    else:
        sock_ofree(skb)
    sk.sk_error_report()


def msg_zerocopy_complete(uarg: UbufInfoMsgzc, success: bool) -> None:
    """``msg_zerocopy_complete``: one reference goes (``success`` false: the memory was copied)."""
    uarg.zerocopy = uarg.zerocopy and success
    uarg.refcnt -= 1
    if not uarg.refcnt:
        __msg_zerocopy_callback(uarg)


def net_zcopy_put(uarg: UbufInfoMsgzc | None) -> None:
    """``net_zcopy_put``: the sending call lets go of its reference."""
    if uarg is not None:
        msg_zerocopy_complete(uarg, True)


def msg_zerocopy_put_abort(uarg: UbufInfoMsgzc | None, have_uref: bool) -> None:
    """``msg_zerocopy_put_abort``: the send failed with nothing sent: its id is given back."""
    if uarg is not None:
        sk = uarg.skb.sk
        sk.sk_zckey = (sk.sk_zckey - 1) & 0xFFFFFFFF
        uarg.len -= 1
        if have_uref:
            msg_zerocopy_complete(uarg, True)


def skb_zcopy_set(skb: SkBuff, uarg: UbufInfoMsgzc) -> None:
    """``skb_zcopy_set``: the buffer refers to the send's memory, and holds a reference."""
    if skb.destructor_arg is None:
        uarg.refcnt += 1
        skb.destructor_arg = uarg


def skb_zcopy_clear(skb: SkBuff, zerocopy_success: bool) -> None:
    """``skb_zcopy_clear``: the buffer is freed (``skb_release_data``), or its pages copied."""
    uarg = skb.destructor_arg
    if uarg is not None:
        skb.destructor_arg = None
        msg_zerocopy_complete(uarg, zerocopy_success)


def skb_zerocopy_clone(nskb: SkBuff, orig: SkBuff) -> None:
    """``skb_zerocopy_clone``: a buffer made from part of another (``skb_split``) refers to the
    same send's memory."""
    uarg = orig.destructor_arg
    if uarg is not None:
        skb_zcopy_set(nskb, uarg)


def skb_orphan_frags_rx(skb: SkBuff) -> None:
    """``skb_orphan_frags_rx`` → ``skb_copy_ubufs``: a packet about to be kept by a receiver (a
    local socket behind the loopback device, a tun reader) must not hold a zerocopy sender's pages,
    which the sender reuses once notified: Linux copies them into kernel pages, and the send's
    notification says SO_EE_CODE_ZEROCOPY_COPIED.  (The packet tuxnet sent was built from the pages
    as it left, ``_tcp_skb_for_xmit``; it took no reference of its own, so only the mark is left
    to make.)"""
    uarg = skb.destructor_arg
    if uarg is not None:
        skb.destructor_arg = None
        uarg.zerocopy = False


def _iov_slices(iov: list[memoryview], pos: int, length: int) -> list[memoryview]:
    """``length`` bytes of the iovecs from byte ``pos`` on, as views (``iov_iter_get_pages``)."""
    out = []
    for view in iov:
        n = len(view)
        if pos >= n:
            pos -= n
            continue
        piece = view[pos:pos + length]
        out.append(piece)
        length -= len(piece)
        pos = 0
        if not length:
            break
    return out


def skb_zerocopy_iter_stream(skb: SkBuff, iov: list[memoryview], pos: int, length: int,
                             uarg: UbufInfoMsgzc) -> tuple[int, int]:
    """``skb_zerocopy_iter_stream`` → ``__zerocopy_sg_from_iter``: append up to ``length`` bytes of
    the caller's iovecs, from byte ``pos`` on, to the buffer as fragments that are the caller's own
    memory, and take a reference to the send's notification.  Returns the bytes appended and the
    memory they pin (whole pages, as if each iovec started a page); or -EEXIST when the buffer
    already holds another notification's pages, -EMSGSIZE when its fragments are all used (each
    piece of an iovec is one: an iovec that fits a page, as the small ones that reach the limit
    do)."""
    orig = skb.destructor_arg
    if orig is not None and orig is not uarg:
        return -EEXIST, 0
    # What plain sends copied into the head counts as one page fragment, as they would be one there.
    nr_frags = len(skb.frags or ()) + (skb.tail - skb.data_len > skb.data)
    copied = truesize = 0
    for view in _iov_slices(iov, pos, length):
        if nr_frags == MAX_SKB_FRAGS:
            break
        skb_add_frag(skb, view, 0, len(view), 0)
        nr_frags += 1
        copied += len(view)
        truesize += -(-len(view) // PAGE_SIZE) * PAGE_SIZE
    if not copied:
        return -EMSGSIZE, 0
    skb_zcopy_set(skb, uarg)
    return copied, truesize
