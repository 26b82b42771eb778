"""The token bucket filter (net/sched/sch_tbf.c): a shaper.

Tokens are nanoseconds of transmission time at ``rate``; the bucket holds at most ``buffer``
(the burst's worth).  A packet leaves when the bucket holds its transmission time
(``psched_l2t_ns``), and with a ``peakrate`` when a second bucket of ``mtu`` at that rate does
too; otherwise the qdisc's watchdog is set for the moment the tokens will be there, and the
attempt counts as an overlimit.  The packets wait in a byte FIFO of ``limit`` bytes; a packet
larger than the burst can never leave and is dropped on arrival, as Linux drops it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.kernel.minmax import max, min
from tuxnet.net.core.dev import NetDevice, Qdisc, qdisc_drop, qdisc_pkt_len, qdisc_run
from tuxnet.net.core.gso import skb_gso_segment
from tuxnet.world import NSEC_PER_SEC

if TYPE_CHECKING:
    from tuxnet.net.core.skbuff import SkBuff


class TbfQdisc(Qdisc):
    """``struct tbf_sched_data`` with its child bfifo: rates in bytes/s, buffers in ns."""

    __slots__ = ("rate", "peakrate", "buffer", "mtu", "tokens", "ptokens", "t_c", "backlog", "max_size",
                 "watchdog")

    def __init__(self, dev: NetDevice, limit: int, rate: int, buffer: int, peakrate: int = 0,
                 mtu: int = 0) -> None:
        super().__init__(dev, limit, "tbf")
        self.backlog = 0  # bytes queued
        self.watchdog = dev.nd_net.timer(tbf_watchdog, self)
        self.change(limit, rate, buffer, peakrate, mtu)

    def change(self, limit: int, rate: int, buffer: int, peakrate: int = 0, mtu: int = 0) -> None:
        """``tbf_change``: new parameters, and full buckets."""
        self.limit = limit
        self.rate = rate
        self.peakrate = peakrate
        self.buffer = buffer
        self.mtu = mtu
        self.tokens = buffer
        self.ptokens = mtu
        self.t_c = self.dev.nd_net.world.now
        # The largest packet the buckets can ever let through (psched_ns_t2l).
        self.max_size = buffer * rate // NSEC_PER_SEC
        if peakrate:
            self.max_size = min(self.max_size, mtu * peakrate // NSEC_PER_SEC)

    def enqueue(self, skb: SkBuff) -> bool:
        """``tbf_enqueue``: a GSO packet too big for the bucket is cut into its segments, each
        queued on its own (``tbf_segment``: taken if any of them is); any other packet too big,
        or without room in ``limit`` bytes, is dropped."""
        length = qdisc_pkt_len(skb)[0]
        if length > self.max_size:
            if not skb.gso_size:
                return qdisc_drop(skb, self)
            taken = False
            for seg in skb_gso_segment(skb, self.dev.features):
                taken |= self.enqueue(seg)
            return taken
        if self.backlog + length > self.limit:
            return qdisc_drop(skb, self)
        self.q.append(skb)
        self.backlog += length
        return True

    def dequeue(self) -> SkBuff | None:
        """``tbf_dequeue``: the head packet if the buckets hold its time, else arm the watchdog."""
        if not self.q:
            return None
        skb = self.q[0]
        length = qdisc_pkt_len(skb)[0]
        now = self.dev.nd_net.world.now
        elapsed = min(now - self.t_c, self.buffer)
        ptoks = 0
        if self.peakrate:
            ptoks = min(elapsed + self.ptokens, self.mtu) - length * NSEC_PER_SEC // self.peakrate
        toks = min(elapsed + self.tokens, self.buffer) - length * NSEC_PER_SEC // self.rate
        if toks >= 0 and ptoks >= 0:
            self.q.popleft()
            self.backlog -= length
            self.t_c = now
            self.tokens = toks
            self.ptokens = ptoks
            return skb
        self.watchdog.mod(now + max(-toks, -ptoks))  # qdisc_watchdog_schedule_ns
        self.overlimits += 1
        return None

    def reset(self) -> None:
        """``tbf_reset``: the packets are dropped, the buckets full again."""
        super().reset()
        self.backlog = 0
        self.tokens = self.buffer
        self.ptokens = self.mtu
        self.t_c = self.dev.nd_net.world.now
        self.watchdog.delete()

    def destroy(self) -> None:
        """``tbf_destroy``: the watchdog stops with the qdisc."""
        super().destroy()
        self.watchdog.shutdown()

    def queue_bytes(self) -> int:
        return self.backlog + sum(qdisc_pkt_len(skb)[0] for skb in self.gso_skb)


def tbf_watchdog(q: TbfQdisc) -> None:
    """``qdisc_watchdog``: the tokens are there; run the queue again."""
    if q.dev.qdisc is q:
        qdisc_run(q)
