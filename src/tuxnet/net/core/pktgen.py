"""A packet generator in the kernel (net/core/pktgen.c), for loading a link to saturation.

Like pktgen's ``xmit_mode queue_xmit``, it keeps the device's queue filled through
``dev_queue_xmit`` (topping it up every ``poll`` ns to ``depth`` frames), so the driver always has
the next frame ready: the offered load is as much as the medium can take.  Frames are Ethernet II
with the IEEE local experimental ethertype 0x88B5 and a sequence number, ``pkt_size`` octets
without the FCS (pktgen's ``pkt_size``, at least 60).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.net.core.dev import dev_queue_xmit
from tuxnet.net.core.skbuff import alloc_skb
from tuxnet.net.ethernet.eth import ETH_HLEN, ETH_ZLEN, eth_header

if TYPE_CHECKING:
    from tuxnet.net.core.dev import NetDevice

ETH_P_802_EX1 = 0x88B5


class Pktgen:
    """Load ``dev`` with frames to ``dst_mac``; ``count`` 0 means until ``stop``."""

    def __init__(self, dev: NetDevice, dst_mac: bytes, pkt_size: int = ETH_ZLEN, count: int = 0,
                 depth: int = 32, poll: int = 1_000_000) -> None:
        if pkt_size < ETH_ZLEN or pkt_size > dev.mtu + ETH_HLEN:
            raise ValueError(f"pkt_size {pkt_size} outside {ETH_ZLEN}..{dev.mtu + ETH_HLEN}")
        self.dev = dev
        self.dst_mac = bytes(dst_mac)
        self.pkt_size = pkt_size
        self.count = count
        self.depth = depth
        self.poll = poll
        self.sofar = 0
        self.running = False
        host = dev.nd_net
        self.timer = host.timer(self._fill, None)

    def start(self) -> None:
        """``pktgen_run``."""
        self.running = True
        self._fill(None)

    def stop(self) -> None:
        """``pktgen_stop``."""
        self.running = False
        self.timer.delete()

    def _fill(self, _: object) -> None:
        dev = self.dev
        q = dev.qdisc
        while self.running and len(q) < self.depth and (not self.count or self.sofar < self.count):
            skb = alloc_skb(self.pkt_size - ETH_HLEN, ETH_HLEN)
            skb.put_data(self.sofar.to_bytes(4, "big") + bytes(self.pkt_size - ETH_HLEN - 4))
            eth_header(skb, dev, ETH_P_802_EX1, self.dst_mac, None)
            skb.dev = dev
            self.sofar += 1
            dev_queue_xmit(skb)
        if self.running and (not self.count or self.sofar < self.count):
            self.timer.mod(dev.nd_net.world.now + self.poll)
        else:
            self.running = False
