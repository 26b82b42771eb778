"""Packet capture on a device, as ``tcpdump -i DEV`` does it: a ``ptype_all`` tap that sees every
frame leaving (``dev_queue_xmit_nit``) and arriving (``__netif_receive_skb``), its VLAN tag put
back where the core took it out, written to a pcap file (stamped with the host's wall clock, as a
tcpdump on it would stamp them) and/or printed as tcpdump lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

from tuxnet.kernel.timekeeping import ktime_get_real
from tuxnet.net.core.dev import ETH_P_ALL, IFF_LOOPBACK, NetDevice, PacketType
from tuxnet.net.core.if_vlan import vlan_frame
from tuxnet.net.core.skbuff import PACKET_LOOPBACK, PACKET_OUTGOING, SkBuff
from tuxnet.trace.pcap import PcapWriter
from tuxnet.trace.tcpdump import TcpdumpPrinter


class Capture:
    """Capture frames on ``dev`` (every device of the host when None)."""

    def __init__(self, host: Any, dev: str | None = None, *, pcap: str | IO[bytes] | None = None,
                 tcpdump: IO[str] | Callable[[str], None] | None = None, link_level: bool = False,
                 verbose: bool = False) -> None:
        self.host = host
        self.dev: NetDevice | None = host.dev(dev) if dev else None
        self.writer = PcapWriter(pcap) if pcap is not None else None
        self.printer = TcpdumpPrinter(link_level=link_level, verbose=verbose) if tcpdump is not None else None
        self._out = tcpdump
        self.frames: list[tuple[int, bytes, str]] = []
        self.keep = False
        self._pt = PacketType(ETH_P_ALL, self._tap, dev=self.dev, name="packet_rcv")
        host.dev_add_pack(self._pt)

    def _tap(self, skb: SkBuff, dev: NetDevice, pt: PacketType, direction: int) -> int:
        if direction != PACKET_OUTGOING and dev.flags & IFF_LOOPBACK or direction == PACKET_LOOPBACK:
            return 0  # lo: each packet once, as it leaves; a multicast's copy for us, never (packet_rcv)
        start = skb.data if direction == PACKET_OUTGOING else skb.mac_header
        frame = bytes(skb.buf[start:skb.tail])
        if skb.vlan_proto:  # the tag the core took out, back in (as libpcap does from PACKET_AUXDATA)
            frame = vlan_frame(frame, skb.vlan_proto, skb.vlan_tci)
        now = self.host.world.now
        if self.keep:
            self.frames.append((now, frame, dev.name))
        if self.writer is not None:  # (the host's wall clock, as the kernel stamps a captured packet)
            self.writer.write(ktime_get_real(self.host.world), frame)
        if self.printer is not None:
            line = self.printer.format(now, frame)
            if callable(self._out):
                self._out(line)
            else:
                self._out.write(line + "\n")
        return 0

    def close(self) -> None:
        self.host.dev_remove_pack(self._pt)
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
