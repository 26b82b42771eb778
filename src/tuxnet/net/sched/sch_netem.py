"""The network emulator (net/sched/sch_netem.c): a qdisc that delays, loses, duplicates,
corrupts and reorders what a device sends, as ``tc qdisc add dev eth0 root netem delay 100ms``.

Each packet draws from the qdisc's own generator (``prandom_u32_state``, seeded from the host's,
so a world's run is repeatable): lost with probability ``loss``, sent twice with ``duplicate`` (the
copy goes through the qdisc again, without being copied again), one bit of its bytes flipped with
``corrupt`` (the checksum completed first, so that the receiver finds the damage), and then either
sent at once, ahead of the delayed ones (``reorder``, for one packet in ``gap``), or given a time
to leave: now plus ``latency``, give or take ``jitter`` (``tabledist``: drawn uniformly, or from
a distribution table that tc hands over, normal, pareto, paretonormal or any other: see
``netem_dist.py``), and with a ``rate`` after the packets before it have had their transmission
time.  Each probability may be correlated with the previous draw (``get_crandom``).  The delayed
packets wait in a queue ordered by their times (``tfifo``); the watchdog runs the device's queue
when the first is due.  With a ``slot`` (TCA_NETEM_SLOT) they leave only in slots, as a Wi-Fi or
DOCSIS link sends in bursts: a slot opens a delay after the last (uniform between ``min_delay``
and ``max_delay``, or ``dist_delay`` give or take ``dist_jitter`` from the slot's own table) and
sends at most ``max_packets`` packets and ``max_bytes`` bytes (``get_slot_next``,
``netem_dequeue``).  Probabilities are fractions of 2^32 - 1, as the kernel keeps them.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from tuxnet.kernel.minmax import INT_MAX
from tuxnet.net.core.dev import NetDevice, Qdisc, qdisc_drop, qdisc_pkt_len, qdisc_run, skb_checksum_help
from tuxnet.net.core.gso import skb_gso_segment
from tuxnet.net.core.skbuff import CHECKSUM_NONE, CHECKSUM_PARTIAL, skb_orphan
from tuxnet.net.ipv4.ip_output import ip_send_check
from tuxnet.net.sched.netem_dist import NETEM_DIST_SCALE
from tuxnet.world import NSEC_PER_SEC

if TYPE_CHECKING:
    from tuxnet.net.core.skbuff import SkBuff



@dataclass
class NetemSlot:
    """``struct tc_netem_slot`` (TCA_NETEM_SLOT), times in ns: a slot every ``min_delay`` to
    ``max_delay`` (uniform), or, with ``dist_jitter``, every ``dist_delay`` give or take it from
    the slot's table; at most ``max_packets`` and ``max_bytes`` in one (0: no limit)."""

    min_delay: int = 0
    max_delay: int = 0
    max_packets: int = 0
    max_bytes: int = 0
    dist_delay: int = 0
    dist_jitter: int = 0


@dataclass
class NetemParams:
    """``struct tc_netem_qopt`` and its attributes as tuxnet keeps them: times in ns, the rate in
    bytes/s, probabilities and correlations in 1/(2^32 - 1), ``dist_table`` the delay
    distribution's table (TCA_NETEM_DELAY_DIST), ``slot`` and ``slot_dist_table`` the slots'
    (TCA_NETEM_SLOT, TCA_NETEM_SLOT_DIST); an empty table or no slot leaves the qdisc's as it
    was."""

    limit: int = 1000
    latency: int = 0
    jitter: int = 0
    loss: int = 0
    gap: int = 0
    duplicate: int = 0
    reorder: int = 0
    corrupt: int = 0
    rate: int = 0
    packet_overhead: int = 0
    cell_size: int = 0
    cell_overhead: int = 0
    delay_corr: int = 0
    loss_corr: int = 0
    dup_corr: int = 0
    reorder_corr: int = 0
    corrupt_corr: int = 0
    dist_table: list[int] = field(default_factory=list, repr=False)
    ecn: bool = False  # a loss marks an ECN-capable packet CE instead
    # a loss model instead of ``loss``: "state" (p13, p31, p32, p23, p14) or "gemodel" (p, r, h, 1-k)
    loss_model: str = ""
    clg: tuple[int, ...] = ()
    slot: NetemSlot | None = None
    slot_dist_table: list[int] = field(default_factory=list, repr=False)


class Crandom:
    """``struct crndstate``: a draw correlated ``rho`` (of 2^32 - 1) with the last one."""

    __slots__ = ("rho", "last")

    def __init__(self, rho: int, prng: random.Random) -> None:
        self.rho = rho
        self.last = prng.getrandbits(32)  # init_crandom


class NetemQdisc(Qdisc):
    """``struct netem_sched_data``: the parameters, the generator and its correlated states, the
    distribution tables, the slot's configuration and state (``slot_config``, ``slot_next``,
    ``packets_left``, ``bytes_left``), the time-ordered queue, and the reordered packets in the
    FIFO ahead of it (``sch->q``)."""

    __slots__ = ("params", "prng", "delay_cor", "loss_cor", "dup_cor", "reorder_cor", "corrupt_cor", "counter",
                 "tfifo", "seq", "t_last", "watchdog", "duplicating", "clg_state", "delay_dist", "slot_dist",
                 "slot_config", "slot_next", "packets_left", "bytes_left")

    def __init__(self, dev: NetDevice, params: NetemParams) -> None:
        super().__init__(dev, params.limit, "netem")
        host = dev.nd_net
        self.prng = random.Random(host.rng.getrandbits(64))  # prandom_seed_state(get_random_u64())
        self.tfifo: list[tuple[int, int, SkBuff]] = []  # (time_to_send, arrival, packet)
        self.seq = 0
        self.t_last = 0  # the latest time_to_send in tfifo (its last packet's, t_last)
        self.duplicating = False
        self.watchdog = host.timer(netem_watchdog, self)
        self.delay_dist: list[int] = []
        self.slot_dist: list[int] = []
        self.slot_config = NetemSlot()
        self.slot_next = 0  # no slots
        self.packets_left = self.bytes_left = 0
        self.change(params)

    def change(self, params: NetemParams) -> None:
        """``netem_change``: the new parameters; the correlated draws start again; a table or a
        slot is replaced only by a new one; the jitter is capped to what ``tabledist`` takes."""
        netem_validate_slot(params.slot)
        if params.dist_table:
            self.delay_dist = params.dist_table
        if params.slot_dist_table:
            self.slot_dist = params.slot_dist_table
        params.jitter = min(abs(params.jitter), INT_MAX)
        if params.slot is not None:
            self.get_slot(params.slot)
        self.params = params
        self.limit = params.limit
        self.counter = 0
        self.clg_state = 1  # TX_IN_GAP_PERIOD, GOOD_STATE
        prng = self.prng
        self.delay_cor = Crandom(params.delay_corr, prng)
        self.loss_cor = Crandom(params.loss_corr, prng)
        self.dup_cor = Crandom(params.dup_corr, prng)
        self.reorder_cor = Crandom(params.reorder_corr, prng)
        self.corrupt_cor = Crandom(params.corrupt_corr, prng)

    def __len__(self) -> int:
        return len(self.q) + len(self.tfifo) + len(self.gso_skb)

    def get_slot(self, c: NetemSlot) -> None:
        """``get_slot``: no limit is INT_MAX packets or bytes; the first slot is open now, if
        there are slots at all (a time of 0 means none: the kernel's clock is never 0, and
        tuxnet's starts there)."""
        self.slot_config = c = replace(c, max_packets=c.max_packets or INT_MAX, max_bytes=c.max_bytes or INT_MAX,
                                       dist_jitter=min(INT_MAX, abs(c.dist_jitter)))
        self.packets_left = c.max_packets
        self.bytes_left = c.max_bytes
        self.slot_next = (self.dev.nd_net.world.now or 1) if c.min_delay | c.max_delay | c.dist_jitter else 0

    def get_slot_next(self, now: int) -> None:
        """``get_slot_next``: the next slot opens a delay from now, uniform between the bounds
        (``mul_u64_u32_shr`` of a ``get_random_u32``) or from the slot's table, with a full
        allowance of packets and bytes."""
        c = self.slot_config
        if not self.slot_dist:
            next_delay = c.min_delay + ((c.max_delay - c.min_delay) * self.prng.getrandbits(32) >> 32)
        else:
            next_delay = self.tabledist(c.dist_delay, c.dist_jitter, None, self.slot_dist)
        self.slot_next = now + next_delay
        self.packets_left = c.max_packets
        self.bytes_left = c.max_bytes

    def get_crandom(self, state: Crandom | None) -> int:
        """``get_crandom``: the next draw, pulled towards the last by the correlation (none
        without a state)."""
        value = self.prng.getrandbits(32)
        if state is None or not state.rho:
            return value
        rho = state.rho + 1
        answer = (value * ((1 << 32) - rho) + state.last * rho) >> 32
        state.last = answer
        return answer

    def loss_event(self) -> bool:
        """``loss_event``: a random loss with ``loss``'s probability, or the loss model's."""
        p = self.params
        if p.loss_model == "state":
            return self.loss_4state()
        if p.loss_model == "gemodel":
            return self.loss_gilb_ell()
        return bool(p.loss) and p.loss >= self.get_crandom(self.loss_cor)

    def loss_4state(self) -> bool:
        """``loss_4state``: the four-state Markov model: 1 sent in a gap, 2 lost in a burst, 3
        lost in a gap (alone), 4 sent in a burst; ``clg`` the transition probabilities a1 (1 to
        2, p13), a2 (2 to 1, p31), a3 (2 to 4, p32), a4 (1 to 3, p14), a5 (4 to 2, p23)."""
        a1, a2, a3, a4, a5 = self.params.clg
        rnd = self.prng.getrandbits(32)
        state = self.clg_state
        if state == 1:
            if rnd < a4:
                self.clg_state = 3
                return True
            if a4 < rnd < a1 + a4:
                self.clg_state = 2
                return True
        elif state == 4:
            if rnd < a5:
                self.clg_state = 2
                return True
        elif state == 2:
            if rnd < a3:
                self.clg_state = 4
            elif a3 < rnd < a2 + a3:
                self.clg_state = 1
            elif a2 + a3 < rnd:
                return True
        else:
            self.clg_state = 1
        return False

    def loss_gilb_ell(self) -> bool:
        """``loss_gilb_ell``: the Gilbert-Elliott model: from good (1) to bad (2) with ``p``, back
        with ``r``; a packet is lost in the good state with 1-k, in the bad one with 1-h."""
        p, r, h, k1 = self.params.clg
        rnd = self.prng.getrandbits
        if self.clg_state == 1:
            if rnd(32) < p:
                self.clg_state = 2
            return rnd(32) < k1
        if rnd(32) < r:
            self.clg_state = 1
        return rnd(32) > h

    def tabledist(self, mu: int, sigma: int, state: Crandom | None, dist: list[int]) -> int:
        """``tabledist``: ``mu`` give or take ``sigma`` (at most INT_MAX), uniformly without a
        table, else ``sigma`` times a random entry of any size of table, in 1/NETEM_DIST_SCALE,
        rounded, and the division truncated toward 0 as C's is."""
        if not sigma:
            return mu
        rnd = self.get_crandom(state)
        if not dist:
            return (rnd % (2 * sigma)) + mu - sigma
        t = dist[rnd % len(dist)]
        x = (sigma % NETEM_DIST_SCALE) * t
        x += NETEM_DIST_SCALE // 2 if x >= 0 else -(NETEM_DIST_SCALE // 2)
        fraction = x // NETEM_DIST_SCALE if x >= 0 else -(-x // NETEM_DIST_SCALE)
        return fraction + (sigma // NETEM_DIST_SCALE) * t + mu

    def packet_time_ns(self, length: int) -> int:
        """``packet_time_ns``: the packet's time on a line of ``rate``, with the overheads and
        the cells they are cut into."""
        p = self.params
        length += p.packet_overhead
        if p.cell_size:
            cells = -(-length // p.cell_size)
            length = cells * (p.cell_size + p.cell_overhead)
        return length * NSEC_PER_SEC // p.rate

    def enqueue(self, skb: SkBuff) -> bool:
        """``netem_enqueue``."""
        p = self.params
        count = 1
        if p.duplicate and not self.duplicating and p.duplicate >= self.get_crandom(self.dup_cor):
            count += 1
        if self.loss_event():
            if p.ecn and ip_ecn_set_ce(skb):
                self.drops += 1  # marked, counted as dropped, sent on
            else:
                count -= 1
        if count == 0:  # lost: counted, and the sender is told it went (__NET_XMIT_BYPASS)
            qdisc_drop(skb, self)
            return True
        if p.latency or p.jitter or p.rate:
            skb_orphan(skb)  # skb_orphan_partial: the socket's charge goes now, not after the delay
        skb2 = skb.copy() if count > 1 else None
        segs: list[SkBuff] = []
        if p.corrupt and p.corrupt >= self.get_crandom(self.corrupt_cor):
            if skb.gso_size:  # netem_segment: the first segment takes the damage
                segs = skb_gso_segment(skb, self.dev.features)
                skb = segs.pop(0)
            shared, skb = skb, skb.copy()  # skb_unshare: the bytes may be shared with a retransmit queue
            skb_orphan(shared)  # (its consume_skb: the sender's charge goes with it, the copy has none)
            if skb.ip_summed == CHECKSUM_PARTIAL:
                skb_checksum_help(skb)
            headlen = skb.tail - skb.data
            skb.buf[skb.data + self.prng.randrange(headlen)] ^= 1 << self.prng.randrange(8)
            skb.ip_summed = CHECKSUM_NONE  # nobody may vouch for these bytes now (the driver's csum_ok)
        if len(self.q) + len(self.tfifo) >= self.limit:
            return qdisc_drop(skb, self)
        if not p.gap or self.counter < p.gap - 1 or p.reorder < self.get_crandom(self.reorder_cor):
            now = self.dev.nd_net.world.now
            delay = self.tabledist(p.latency, p.jitter, self.delay_cor, self.delay_dist)
            if p.rate:
                if self.tfifo:  # the last packet queued is the reference: its time is used up
                    delay = max(0, delay - (self.t_last - now))
                    now = self.t_last
                delay += self.packet_time_ns(qdisc_pkt_len(skb)[0])
            self.counter += 1
            self.seq += 1
            time_to_send = now + delay
            self.t_last = max(self.t_last, time_to_send) if self.tfifo else time_to_send
            heapq.heappush(self.tfifo, (time_to_send, self.seq, skb))  # tfifo_enqueue
        else:
            self.counter = 0  # reordered: ahead of the delayed ones, at once
            self.q.appendleft(skb)
            self.requeues += 1
        for seg in segs:
            self.enqueue(seg)
        if skb2 is not None:  # the copy goes through the qdisc again, and is not copied again
            self.duplicating = True
            try:
                self.enqueue(skb2)
            finally:
                self.duplicating = False
        return True

    def dequeue(self) -> SkBuff | None:
        """``netem_dequeue``: a reordered packet first; else the earliest delayed one if its time
        has come and, with slots, a slot is open (one that opened before the packet was due is
        drawn again from now), counted against the slot's packets and bytes, the next slot drawn
        when either is used up; else the watchdog is set for the later of the two."""
        if self.q:
            return self.q.popleft()
        if not self.tfifo:
            return None
        now = self.dev.nd_net.world.now
        time_to_send = self.tfifo[0][0]
        if self.slot_next and self.slot_next < time_to_send:
            self.get_slot_next(now)
        if time_to_send <= now and self.slot_next <= now:
            skb = heapq.heappop(self.tfifo)[2]
            if self.slot_next:
                self.packets_left -= 1
                self.bytes_left -= qdisc_pkt_len(skb)[0]
                if self.packets_left <= 0 or self.bytes_left <= 0:
                    self.get_slot_next(now)
            return skb
        self.watchdog.mod(max(time_to_send, self.slot_next))  # qdisc_watchdog_schedule_ns
        return None

    def reset(self) -> None:
        """``netem_reset``: the delayed packets are dropped with the rest."""
        super().reset()
        while self.tfifo:
            skb_orphan(heapq.heappop(self.tfifo)[2])
        self.watchdog.delete()

    def destroy(self) -> None:
        super().destroy()
        self.watchdog.shutdown()

    def queue_bytes(self) -> int:
        return super().queue_bytes() + sum(qdisc_pkt_len(skb)[0] for _, _, skb in self.tfifo)


def netem_validate_slot(c: NetemSlot | None) -> None:
    """``validate_slot``: what netem refuses in a slot (with the netlink extack's message)."""
    from tuxnet.net.sched.sch_api import QdiscError

    if c is None:
        return
    if c.min_delay < 0 or c.max_delay < 0:
        raise QdiscError("Error: negative slot delay.")
    if c.min_delay > c.max_delay:
        raise QdiscError("Error: slot min delay greater than max delay.")
    if c.dist_delay < 0 or c.dist_jitter < 0:
        raise QdiscError("Error: negative dist delay.")
    if c.max_packets < 0 or c.max_bytes < 0:
        raise QdiscError("Error: negative slot limit.")


def ip_ecn_set_ce(skb: SkBuff) -> bool:
    """``INET_ECN_set_ce`` for IPv4 (``IP_ECN_set_ce``): an ECN-capable packet's ECN field becomes
    CE, its header checksum adjusted; False for a packet that is not ECN-capable."""
    if skb.protocol != 0x0800 or skb.network_header < 0:
        return False
    nh = skb.network_header
    buf = skb.buf
    if not buf[nh + 1] & 3:
        return False
    buf[nh + 1] |= 3
    ip_send_check(buf, nh)
    return True


def netem_watchdog(q: NetemQdisc) -> None:
    """``qdisc_watchdog``: a delayed packet is due; run the queue."""
    if q.dev.qdisc is q:
        qdisc_run(q)
