"""Bridge and port objects (net/bridge/br_if.c, br_private.h): ``br_add_bridge``, ``br_add_if``.

A tuxnet switch is a Linux bridge without a host behind it: its ports are the devices of a
namespace of their own, each port's ``rx_handler`` is ``br_handle_frame``, and frames addressed
to the bridge itself (its ports' own addresses) have no stack above to go to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuxnet.net.core.dev import dev_set_promiscuity

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.bridge.br_fdb import FdbEntry
    from tuxnet.net.core.dev import NetDevice
    from tuxnet.world import Timer

BR_STATE_DISABLED = 0
BR_STATE_LISTENING = 1
BR_STATE_LEARNING = 2
BR_STATE_FORWARDING = 3
BR_STATE_BLOCKING = 4

BR_HAIRPIN_MODE = 0x1
BR_LEARNING = 0x20
BR_FLOOD = 0x40
BR_BCAST_FLOOD = 0x4000

BR_DEFAULT_AGEING_TIME = 300 * 1_000_000_000  # BR_DEFAULT_AGEING_TIME: 300 s


class PortStats:
    """Per-port frame counters: what came in and what became of it, and what went out."""

    __slots__ = ("rx_frames", "tx_frames", "forwarded", "flooded", "filtered", "dropped", "local")

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)


class NetBridgePort:
    """``struct net_bridge_port``."""

    __slots__ = ("br", "dev", "port_no", "state", "flags", "stats")

    def __init__(self, br: NetBridge, dev: NetDevice, port_no: int) -> None:
        self.br = br
        self.dev = dev
        self.port_no = port_no
        self.state = BR_STATE_FORWARDING
        self.flags = BR_LEARNING | BR_FLOOD | BR_BCAST_FLOOD
        self.stats = PortStats()

    def __repr__(self) -> str:
        return f"<NetBridgePort {self.port_no} {self.dev.name}>"


class NetBridge:
    """``struct net_bridge``: the ports and the forwarding database."""

    def __init__(self, host: Host, name: str) -> None:
        from tuxnet.net.bridge.br_fdb import br_fdb_cleanup

        self.host = host
        self.name = name
        self.ports: list[NetBridgePort] = []
        self.fdb: dict[bytes, FdbEntry] = {}
        self.ageing_time = BR_DEFAULT_AGEING_TIME
        self.gc_work: Timer = host.timer(br_fdb_cleanup, self)

    def __repr__(self) -> str:
        return f"<NetBridge {self.name} on {self.host.name}: {len(self.ports)} ports>"

    def port(self, name: str) -> NetBridgePort:
        for p in self.ports:
            if p.dev.name == name:
                return p
        raise ValueError(f"{self.name}: no port {name!r}")


def br_add_bridge(host: Host, name: str = "br0") -> NetBridge:
    """``br_add_bridge`` and ``br_dev_open``: the first ageing pass runs 100 ms later."""
    br = NetBridge(host, name)
    br.gc_work.mod(host.world.now + 100_000_000)
    return br


def br_add_if(br: NetBridge, dev: NetDevice) -> NetBridgePort:
    """``br_add_if``: enslave ``dev``: promiscuous, ``rx_handler`` set, its address a local entry."""
    from tuxnet.net.bridge.br_fdb import br_fdb_add_local
    from tuxnet.net.bridge.br_input import br_handle_frame

    if dev.rx_handler is not None:
        raise ValueError(f"{dev.name} is already enslaved")
    p = NetBridgePort(br, dev, len(br.ports) + 1)
    br.ports.append(p)
    dev_set_promiscuity(dev, 1)
    dev.rx_handler_data = p
    dev.rx_handler = br_handle_frame
    br_fdb_add_local(br, p, dev.dev_addr)
    return p
