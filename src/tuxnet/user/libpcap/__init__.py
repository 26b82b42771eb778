"""libpcap's filter compiler, rebuilt: ``pcap_compile`` turns a pcap-filter(7) expression into the
classic BPF program libpcap 1.10 makes of it, instruction for instruction, and ``bpf_dump`` prints
it as ``tcpdump -d``/``-dd``/``-ddd`` do.

The modules follow libpcap's files: scanner.py (scanner.l), grammar.py (grammar.y, with lalr.py
building Bison's tables), gencode.py and primitives.py (gencode.c), optimize.py (optimize.c,
with ``icode_to_fcode``), nametoaddr.py and bpf_image.py (bpf_image.c, bpf_dump.c)."""

from __future__ import annotations

from collections.abc import Callable

from .bpf_image import bpf_dump, bpf_image
from .gencode import DLT_EN10MB, DLT_LINUX_SLL2, DLT_RAW, FilterError, gen_retblk
from .grammar import Parser
from .optimize import bpf_optimize, icode_to_fcode
from .primitives import PrimitiveCompiler

__all__ = ["DLT_EN10MB", "DLT_LINUX_SLL2", "DLT_RAW", "PCAP_NETMASK_UNKNOWN", "FilterError", "bpf_dump",
           "bpf_image", "pcap_compile"]

PCAP_NETMASK_UNKNOWN = 0xFFFFFFFF


def pcap_compile(expression: str, *, optimize: bool = True, netmask: int = PCAP_NETMASK_UNKNOWN,
                 snaplen: int = 262144, linktype: int = DLT_EN10MB,
                 resolve_host: Callable[[str], list[int] | None] | None = None,
                 resolve_port: Callable[[str, str], int | None] | None = None,
                 resolve_proto: Callable[[str], int | None] | None = None,
                 resolve_net: Callable[[str], int | None] | None = None, savefile: bool = False,
                 special_vlan_handling: bool = False) -> list[tuple[int, int, int, int]]:
    """pcap_compile: the BPF program (``struct sock_filter``s as ``(code, jt, jf, k)``) that
    accepts ``snaplen`` bytes of the packets ``expression`` matches, or FilterError in libpcap's
    words.  ``resolve_host(name)`` gives a host's IPv4 addresses (host-order ints) or None;
    ``resolve_port(name, "tcp"|"udp")`` a service's port or None; ``resolve_proto(name)`` an IP
    protocol's number and ``resolve_net(name)`` a network's, or None (without a resolver, every
    name is unknown); ``netmask`` is the capture device's, which ``ip broadcast`` needs;
    ``savefile`` says the program is for a capture file's frames, which have no packet metadata
    (``inbound``, ``ifindex``).  ``special_vlan_handling`` (BPF_SPECIAL_VLAN_HANDLING, which
    libpcap sets for a live capture when the kernel's SO_BPF_EXTENSIONS reach the VLAN loads)
    compiles ``vlan`` to read the tag the kernel took out of the frame as well as one still in
    it; without it, as for a capture file, ``vlan`` reads the tag in the bytes."""
    if snaplen == 0:
        raise FilterError("snaplen of 0 rejects all packets")
    cs = PrimitiveCompiler(linktype, snaplen, netmask, resolve_host, resolve_port, resolve_proto, resolve_net,
                           savefile, special_vlan_handling)
    Parser(cs).parse(expression)
    root = cs.root if cs.root is not None else gen_retblk(snaplen)
    if optimize:
        root = bpf_optimize(root)
        if root.s.code == 0x06 and root.s.k == 0:
            raise FilterError("expression rejects all packets")
    return icode_to_fcode(root)
