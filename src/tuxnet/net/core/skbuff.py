"""``struct sk_buff``: one packet's bytes with headroom and tailroom (net/core/skbuff.c).

The bytes live in one ``bytearray``; ``head <= data <= tail <= end`` are offsets into it.  A layer
going down ``push``es its header into the headroom, a layer going up ``pull``s its header off, and
``put`` appends at the tail, exactly as ``skb_push``/``skb_pull``/``skb_put`` do.  Header offsets
(``mac_header``, ``network_header``, ``transport_header``) are absolute offsets into ``buf``.
"""

from __future__ import annotations

from typing import Any

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
                                  CHECKSUM_NONE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, None, False)


class SkBuff:
    """A packet buffer.  ``len`` is the number of bytes between ``data`` and ``tail``."""

    __slots__ = (
        "buf", "data", "tail", "end",
        "dev", "sk", "dst", "protocol", "pkt_type", "priority", "mark", "tstamp",
        "mac_header", "network_header", "transport_header", "mac_len",
        "ip_summed", "csum_start", "csum_offset", "gso_size",
        # TCP_SKB_CB(skb): the TCP control block (include/net/tcp.h, struct tcp_skb_cb).
        "seq", "end_seq", "ack_seq", "tcp_flags", "sacked", "skb_mstamp", "tx_count",
        # The remaining scratch space, for other protocols' control blocks (IPCB, FRAG_CB ...).
        "cb",
        # skb_cloned(): the bytes are (or were) shared with a clone, so they are not rewritten.
        "cloned",
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
         self.cb, self.cloned) = _SKB_DEFAULTS

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
        for name in ("dev", "sk", "dst", "protocol", "pkt_type", "priority", "mark", "tstamp",
                     "mac_header", "network_header", "transport_header", "mac_len", "ip_summed",
                     "csum_start", "csum_offset", "gso_size", "seq", "end_seq", "ack_seq", "tcp_flags",
                     "sacked", "skb_mstamp", "tx_count", "cb"):
            setattr(n, name, getattr(self, name))
        return n


# SKB_TRUESIZE(): the memory a buffer costs beyond its data (struct sk_buff + skb_shared_info).
SKB_TRUESIZE_OVERHEAD = 576


def skb_truesize(skb: SkBuff) -> int:
    """``skb->truesize``: the memory a buffer charges to its socket or queue, its bytes plus the
    kernel's per-buffer overhead."""
    return skb.end + SKB_TRUESIZE_OVERHEAD


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
    n.cloned = skb.cloned = True
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

    The bytes grow in place.  A bytearray cannot be resized while a view of it is alive: a clone's
    bytes still in flight, or, under PyPy, any view its collector has not freed yet.  Then the head
    is reallocated with the new bytes, as ``pskb_expand_head`` does for a shared head; whoever holds
    the old bytes keeps them."""
    try:
        skb.buf += data
    except BufferError:
        skb.buf = skb.buf + data
    skb.tail = skb.end = len(skb.buf)


def skb_from_frame(frame: bytes | bytearray | memoryview) -> SkBuff:
    """A received frame as a buffer (what a driver's ``netdev_alloc_skb`` + copy gives)."""
    return SkBuff(bytearray(frame))
