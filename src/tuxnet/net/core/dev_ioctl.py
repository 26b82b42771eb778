"""Device requests any socket takes (net/core/dev_ioctl.c): a ``struct ifreq`` names the device
and carries the value, as the bytes a C program passes (16 bytes of name, then the union of the
value: a ``struct sockaddr``, a short of flags, an int).  ``sock_do_ioctl`` sends here what the
protocol's ``ioctl`` does not know; the IPv4 address requests go to ``devinet_ioctl`` first, from
``inet_ioctl``."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import EADDRNOTAVAIL, EFAULT, EINVAL, ENODEV, ENOTTY
from tuxnet.net.core.dev import ARPHRD_ETHER, NetDevice, dev_change_flags, dev_get_flags, dev_set_mtu

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

# include/uapi/linux/sockios.h
SIOCGIFNAME = 0x8910
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
SIOCGIFADDR = 0x8915
SIOCSIFADDR = 0x8916
SIOCGIFDSTADDR = 0x8917
SIOCSIFDSTADDR = 0x8918
SIOCGIFBRDADDR = 0x8919
SIOCSIFBRDADDR = 0x891A
SIOCGIFNETMASK = 0x891B
SIOCSIFNETMASK = 0x891C
SIOCGIFMETRIC = 0x891D
SIOCGIFMTU = 0x8921
SIOCSIFMTU = 0x8922
SIOCSIFHWADDR = 0x8924
SIOCGIFHWADDR = 0x8927
SIOCGIFINDEX = 0x8933
SIOCGIFTXQLEN = 0x8942

# what inet_ioctl sends to devinet_ioctl (the rest of the device requests come here)
DEVINET_IOCTLS = frozenset((SIOCGIFADDR, SIOCGIFBRDADDR, SIOCGIFNETMASK, SIOCGIFDSTADDR, SIOCSIFADDR, SIOCSIFBRDADDR,
                            SIOCSIFNETMASK, SIOCSIFDSTADDR, SIOCSIFFLAGS))

IFNAMSIZ = 16
IFREQ_SIZE = 40  # struct ifreq on a 64-bit machine: the name and a 24-byte union
_ushort = struct.Struct("=H")  # (ifr_flags is a short: its bits as they are)
_int = struct.Struct("=i")
_sockaddr_in = struct.Struct("=H2s4s8x")  # family, port (network order), address


def ifreq_name(ifr: bytes) -> str:
    """The device name an ifreq holds (up to its NUL, at most IFNAMSIZ - 1 characters)."""
    return bytes(ifr[:IFNAMSIZ - 1]).split(b"\0", 1)[0].decode(errors="replace")


def ifreq(name: str, value: bytes = b"") -> bytes:
    """A ``struct ifreq`` of ``name`` and the union's bytes ``value``."""
    return name.encode()[:IFNAMSIZ - 1].ljust(IFNAMSIZ, b"\0") + value.ljust(IFREQ_SIZE - IFNAMSIZ, b"\0")


def ifreq_sockaddr_in(ifr: bytes) -> tuple[int, int]:
    """(family, address) of the ``struct sockaddr_in`` in an ifreq's union."""
    family, _, addr = _sockaddr_in.unpack_from(ifr, IFNAMSIZ)
    return family, int.from_bytes(addr, "big")


def sockaddr_in(family: int, addr: int, port: int = 0) -> bytes:
    """A ``struct sockaddr_in`` of ``addr`` and ``port`` (0 for an ifreq's union)."""
    return _sockaddr_in.pack(family, port.to_bytes(2, "big"), addr.to_bytes(4, "big"))


def ifreq_flags(ifr: bytes) -> int:
    return _ushort.unpack_from(ifr, IFNAMSIZ)[0]


def ifreq_int(ifr: bytes) -> int:
    return _int.unpack_from(ifr, IFNAMSIZ)[0]


def dev_ifsioc_locked(dev: NetDevice, cmd: int) -> bytes:
    """``dev_ifsioc_locked``: the value of a request that only reads the device."""
    if cmd == SIOCGIFFLAGS:
        return _ushort.pack(dev_get_flags(dev) & 0xFFFF)
    if cmd == SIOCGIFMETRIC:
        return _int.pack(0)
    if cmd == SIOCGIFMTU:
        return _int.pack(dev.mtu)
    if cmd == SIOCGIFHWADDR:
        addr = dev.dev_addr if dev.addr_len else b""
        return struct.pack("=H14s", dev.type, addr)
    if cmd == SIOCGIFINDEX:
        return _int.pack(dev.ifindex)
    return _int.pack(dev.tx_queue_len)  # SIOCGIFTXQLEN


def dev_set_mac_address(dev: NetDevice, ifr: bytes) -> int:
    """``dev_set_mac_address`` → ``eth_mac_addr``: an Ethernet device takes a unicast address
    of its own type (EINVAL for another family, EADDRNOTAVAIL for a group or zero address)."""
    family, = struct.unpack_from("=H", ifr, IFNAMSIZ)
    if family != dev.type or dev.type != ARPHRD_ETHER:
        return -EINVAL
    addr = bytes(ifr[IFNAMSIZ + 2:IFNAMSIZ + 2 + dev.addr_len])
    if addr[0] & 1 or not any(addr):
        return -EADDRNOTAVAIL
    dev.dev_addr = addr
    return 0


def dev_ioctl(host: Host, cmd: int, arg: Any) -> int | bytes:
    """``dev_ioctl``: the request on the device the ifreq names (ENODEV when there is none), its
    answer as the ifreq filled in (bytes), or 0 for a change; ENOTTY for a request it does not
    know.  The changes need CAP_NET_ADMIN, which tuxnet's programs have."""
    if cmd not in _GET and cmd not in (SIOCSIFFLAGS, SIOCSIFMTU, SIOCSIFHWADDR):
        return -ENOTTY
    if not isinstance(arg, bytes | bytearray) or len(arg) < IFREQ_SIZE:
        return -EFAULT
    name = ifreq_name(arg)
    dev = host.devices.get(name.partition(":")[0])  # (an alias's requests are its device's)
    if dev is None:
        return -ENODEV
    if cmd in _GET:
        return ifreq(name, dev_ifsioc_locked(dev, cmd))
    if cmd == SIOCSIFFLAGS:
        return dev_change_flags(dev, ifreq_flags(arg))
    if cmd == SIOCSIFMTU:
        return dev_set_mtu(dev, ifreq_int(arg))
    return dev_set_mac_address(dev, arg)


_GET = (SIOCGIFFLAGS, SIOCGIFMETRIC, SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFINDEX, SIOCGIFTXQLEN)
