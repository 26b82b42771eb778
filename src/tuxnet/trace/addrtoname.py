"""What tcpdump prints for an address or a port when it is not told ``-n`` (addrtoname.c).

An IPv4 address is the name ``gethostbyaddr`` gives it (``getname``: /etc/hosts, then a PTR
query), asked once per address, its number when there is none; ``-N`` keeps the name's first
label.  A TCP or UDP port is the first name ``/etc/services`` gives it for that protocol
(``init_servarray``, read once at the start).  An Ethernet address is the name ``/etc/ethers``
gives it, ``Broadcast`` for ff:ff:ff:ff:ff:ff (``init_etherarray``), else its digits and the
name of its vendor's OUI, ``(oui Unknown)`` for one tcpdump does not know (``etheraddr_string``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

__all__ = ["OUI_NAMES", "AddrToName"]

# oui.c's oui_values: the vendors tcpdump 4.99 names, read off its -e output for each of the
# 2^24 OUIs (tests/l2l3/test_tcpdump_program.py checks each against this machine's tcpdump)
OUI_NAMES = {
    0x000000: "Ethernet",
    0x00000C: "Cisco",
    0x00005E: "IANA",
    0x000081: "Nortel Networks SONMP",
    0x0000F8: "Cisco bridged",
    0x00049F: "Freescale",
    0x0004EA: "HP-Labs",
    0x001018: "Broadcom",
    0x00120F: "IEEE 802.3 Private",
    0x0012BB: "ANSI/TIA",
    0x0015AD: "Netronome",
    0x001B21: "DCBX",
    0x002320: "Nicira Networks",
    0x002481: "HP",
    0x0080C2: "Ethernet bridged",
    0x009069: "Juniper",
    0x00A03E: "ATM Forum",
    0x00E004: "PMC-Sierra",
    0x00E02F: "DOCSIS Spanning Tree",
    0x080007: "Appletalk",
    0x080009: "Hewlett-Packard",
    0x5C16C7: "Big Switch Networks",
    0x748771: "Infoblox Inc",
    0xA42305: "Open Networking Lab",
    0xB0D2F5: "Vello Systems",
    0xD0F0DB: "Ericsson",
}

_BROADCAST = b"\xff" * 6


def _hex(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


class AddrToName:
    """addrtoname.c's tables for one tcpdump run without ``-n``.

    ``gethostbyaddr`` maps a dotted address to its name, or None; ``services`` are
    ``/etc/services``' (name, port, protocol) entries in the file's order; ``ethers`` maps
    6-byte addresses to the names ``/etc/ethers`` gives them; ``strip_domain`` is ``-N``.
    """

    def __init__(self, gethostbyaddr: Callable[[str], str | None], services: Iterable[tuple[str, int, str]],
                 ethers: Mapping[bytes, str] | None = None, *, strip_domain: bool = False) -> None:
        self._gethostbyaddr = gethostbyaddr
        self._strip_domain = strip_domain
        self._hosts: dict[bytes, str] = {}
        self._ports: dict[str, dict[int, str]] = {"tcp": {}, "udp": {}}
        for name, port, proto in services:
            table = self._ports.get(proto)
            if table is not None:
                table.setdefault(port, name)
        self._ether: dict[bytes, str] = {_BROADCAST: "Broadcast", **(ethers or {})}

    def ipaddr(self, raw: bytes) -> str:
        """``ipaddr_string``: the host's name, or its dotted number."""
        name = self._hosts.get(raw)
        if name is None:
            text = ".".join(str(b) for b in raw)
            name = self._gethostbyaddr(text) or text
            if self._strip_domain and name != text:
                name = name.split(".", 1)[0]
            self._hosts[raw] = name
        return name

    def tcpport(self, port: int) -> str:
        """``tcpport_string``."""
        return self._ports["tcp"].get(port) or str(port)

    def udpport(self, port: int) -> str:
        """``udpport_string``."""
        return self._ports["udp"].get(port) or str(port)

    def etheraddr(self, raw: bytes) -> str:
        """``etheraddr_string``."""
        name = self._ether.get(raw)
        if name is None:
            oui = int.from_bytes(raw[:3], "big")
            name = f"{_hex(raw)} (oui {OUI_NAMES.get(oui, 'Unknown')})"
            self._ether[raw] = name
        return name
