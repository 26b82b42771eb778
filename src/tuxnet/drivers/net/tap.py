"""A real Linux TAP device as a tuxnet network device (drivers/net/tun.c seen from user space).

The device is opened with ``/dev/net/tun`` (``IFF_TAP | IFF_NO_PI``) and plain ``fcntl``.  Frames
the Linux side sends are read when the world's real-time loop finds the descriptor readable and go
up through ``eth_type_trans`` and ``netif_rx``; frames tuxnet sends leave through ``ndo_start_xmit``
and a ``write``.  With ``IFF_VNET_HDR`` every frame carries a ``virtio_net_hdr``, and
``TUNSETOFFLOAD`` (TUN_F_CSUM | TUN_F_TSO4) lets both sides skip checksums the header says are
partial and exchange 64 KB TCP segments, as virtio-net does.

Optional seeded fault injection (loss, duplication, reordering) stands in for netem.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
from typing import TYPE_CHECKING, Any

from tuxnet.net.core.dev import (
    ARPHRD_ETHER,
    IFF_BROADCAST,
    IFF_MULTICAST,
    NETDEV_TX_OK,
    NetDevice,
    NetDeviceOps,
    dev_sw_netstats_rx_add,
    netif_rx,
)
from tuxnet.net.core.netdev_features import NETIF_F_HW_CSUM, NETIF_F_SG, NETIF_F_TSO
from tuxnet.net.core.skbuff import (
    CHECKSUM_PARTIAL,
    CHECKSUM_UNNECESSARY,
    SkBuff,
    skb_from_frame,
    skb_tx_timestamp,
    skb_views,
)
from tuxnet.net.ethernet.eth import ETH_HLEN, EthHeaderOps, eth_type_trans

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

# include/uapi/linux/if_tun.h
TUNSETIFF = 0x400454CA
TUNSETOFFLOAD = 0x400454D0
TUNSETVNETHDRSZ = 0x400454D8
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
TUN_F_CSUM = 0x01
TUN_F_TSO4 = 0x02

# include/uapi/linux/virtio_net.h
VIRTIO_NET_HDR_F_NEEDS_CSUM = 1
VIRTIO_NET_HDR_F_DATA_VALID = 2
VIRTIO_NET_HDR_GSO_NONE = 0
VIRTIO_NET_HDR_GSO_TCPV4 = 1
VNET_HDR_LEN = 10
_vnet = struct.Struct("<BBHHHH")

READ_SIZE = 65536 + VNET_HDR_LEN + 64
RX_BUDGET = 256


class TapPriv:
    """The driver's private state: the file descriptor and fault injection."""

    def __init__(self, fd: int, ifname: str, vnet_hdr: bool, loss: float, dup: float, reorder: float) -> None:
        self.fd = fd
        self.ifname = ifname
        self.vnet_hdr = vnet_hdr
        self.loss = loss
        self.dup = dup
        self.reorder = reorder
        self.held_rx: bytes | None = None
        self.held_tx: bytes | None = None
        self.faults = {"dropped_rx": 0, "dropped_tx": 0, "duplicated": 0, "reordered": 0}


def tap_open(ifname: str, vnet_hdr: bool) -> tuple[int, str]:
    """``TUNSETIFF``: attach to (or create) the TAP interface ``ifname``; returns (fd, name)."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    flags = IFF_TAP | IFF_NO_PI | (IFF_VNET_HDR if vnet_hdr else 0)
    try:
        ifr = fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", ifname.encode(), flags))
        if vnet_hdr:
            fcntl.ioctl(fd, TUNSETVNETHDRSZ, struct.pack("i", VNET_HDR_LEN))
            fcntl.ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4)
    except OSError:
        os.close(fd)
        raise
    return fd, ifr[:16].rstrip(b"\0").decode()


def tap_xmit(skb: SkBuff, dev: NetDevice) -> int:
    """``ndo_start_xmit``: write the frame (with its virtio header) to the TAP descriptor."""
    priv: TapPriv = dev.priv
    if skb.tx_flags:
        skb_tx_timestamp(skb)
    # The frame gathered from the head and any page fragments, in one copy with the virtio header.
    frame = skb_views(skb, skb.data, skb.tail)
    if priv.vnet_hdr:
        flags = gso_type = hdr_len = gso_size = csum_start = csum_offset = 0
        if skb.ip_summed == CHECKSUM_PARTIAL:
            flags = VIRTIO_NET_HDR_F_NEEDS_CSUM
            csum_start = skb.csum_start - skb.data
            csum_offset = skb.csum_offset
        if skb.gso_size:
            gso_type = VIRTIO_NET_HDR_GSO_TCPV4
            gso_size = skb.gso_size
            th = skb.transport_header
            hdr_len = th - skb.data + ((skb.buf[th + 12] >> 4) << 2)
        out = b"".join((_vnet.pack(flags, gso_type, hdr_len, gso_size, csum_start, csum_offset), *frame))
    else:
        out = b"".join(frame)
    stats = dev.stats
    if priv.loss or priv.dup or priv.reorder:
        rng = dev.nd_net.rng
        if priv.loss and rng.random() < priv.loss:
            priv.faults["dropped_tx"] += 1
            return NETDEV_TX_OK
        if priv.reorder and priv.held_tx is None and rng.random() < priv.reorder:
            priv.held_tx = out
            priv.faults["reordered"] += 1
            return NETDEV_TX_OK
        if priv.dup and rng.random() < priv.dup:
            _write(priv, out, stats)
            priv.faults["duplicated"] += 1
    _write(priv, out, stats)
    if priv.held_tx is not None:
        held, priv.held_tx = priv.held_tx, None
        _write(priv, held, stats)
    stats.tx_packets += 1
    stats.tx_bytes += skb.tail - skb.data
    return NETDEV_TX_OK


def _write(priv: TapPriv, data: bytes, stats: Any) -> None:
    try:
        os.write(priv.fd, data)
    except BlockingIOError:
        stats.tx_dropped += 1
    except OSError as e:
        if e.errno not in (errno.EIO, errno.EINVAL):
            raise
        stats.tx_errors += 1


def tap_rx(dev: NetDevice, data: bytes) -> None:
    """One frame from the descriptor: strip the virtio header, mark the checksum state, and
    hand it to ``netif_rx`` as a driver's receive path does."""
    priv: TapPriv = dev.priv
    stats = dev.stats
    off = 0
    flags = csum_start = csum_offset = 0
    if priv.vnet_hdr:
        if len(data) < VNET_HDR_LEN:
            stats.rx_length_errors += 1
            stats.rx_errors += 1
            return
        flags, _, _, _, csum_start, csum_offset = _vnet.unpack_from(data)
        off = VNET_HDR_LEN
    if len(data) - off < ETH_HLEN:
        stats.rx_length_errors += 1
        stats.rx_errors += 1
        return
    dev_sw_netstats_rx_add(dev, len(data) - off)
    skb = skb_from_frame(memoryview(data)[off:])
    if flags & VIRTIO_NET_HDR_F_NEEDS_CSUM:
        skb.ip_summed = CHECKSUM_PARTIAL
        skb.csum_start = csum_start
        skb.csum_offset = csum_offset
    elif flags & VIRTIO_NET_HDR_F_DATA_VALID:
        skb.ip_summed = CHECKSUM_UNNECESSARY
    skb.protocol = eth_type_trans(skb, dev)
    netif_rx(skb)


def tap_poll(dev: NetDevice) -> None:
    """The descriptor is readable: read up to a budget of frames (NAPI-style)."""
    priv: TapPriv = dev.priv
    host = dev.nd_net
    host.bh_disable_count += 1
    try:
        for _ in range(RX_BUDGET):
            try:
                data = os.read(priv.fd, READ_SIZE)
            except BlockingIOError:
                break
            if priv.loss or priv.dup or priv.reorder:
                rng = host.rng
                if priv.loss and rng.random() < priv.loss:
                    priv.faults["dropped_rx"] += 1
                    continue
                if priv.reorder and priv.held_rx is None and rng.random() < priv.reorder:
                    priv.held_rx = data
                    priv.faults["reordered"] += 1
                    continue
                if priv.dup and rng.random() < priv.dup:
                    tap_rx(dev, data)
                    priv.faults["duplicated"] += 1
            tap_rx(dev, data)
            if priv.held_rx is not None:
                held, priv.held_rx = priv.held_rx, None
                tap_rx(dev, held)
    finally:
        host.local_bh_enable()


def tap_stop(dev: NetDevice) -> None:
    dev.nd_net.world.remove_reader(dev.priv.fd)


def tap_create(host: Host, ifname: str = "tuxtap%d", *, name: str = "eth0", offload: bool = True,
               loss: float = 0.0, dup: float = 0.0, reorder: float = 0.0, mtu: int = 1500,
               mac: bytes | None = None) -> NetDevice:
    """Open a TAP interface and register it on ``host`` as ``name``.  The world must run in real
    time.  ``offload`` turns on the virtio header with checksum and TSO offloads."""
    fd, real_name = tap_open(ifname, offload)
    if mac is None:
        mac = bytes([0x02, 0x54, 0x58]) + host.rng.getrandbits(24).to_bytes(3, "big")
    features = NETIF_F_SG | (NETIF_F_HW_CSUM | NETIF_F_TSO if offload else 0)
    dev = NetDevice(name, NetDeviceOps(tap_xmit, ndo_stop=tap_stop), type=ARPHRD_ETHER, mtu=mtu,
                    dev_addr=mac, flags=IFF_BROADCAST | IFF_MULTICAST, tx_queue_len=1000,
                    features=features, header_ops=EthHeaderOps)
    dev.priv = TapPriv(fd, real_name, offload, loss, dup, reorder)
    host.register_netdevice(dev)
    host.world.add_reader(fd, lambda: tap_poll(dev))
    return dev


def tap_close(dev: NetDevice) -> None:
    """Close the descriptor (the kernel removes a non-persistent interface)."""
    host = dev.nd_net
    if dev.flags & 1:
        host.dev_close(dev)
    else:
        tap_stop(dev)
    os.close(dev.priv.fd)
