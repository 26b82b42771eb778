"""libpcap's ``bpf_filter`` (bpf_filter.c): a compiled program run in user space, on a frame read
from a capture file (``pcap_offline_filter``).  It is the kernel's classic BPF machine
(``tuxnet.net.core.filter.bpf_run``) with no skb behind the bytes: a load outside the captured
bytes, or at a negative (ancillary) offset, rejects the frame."""

from __future__ import annotations

from tuxnet.net.core.filter import Insn, bpf_run


def bpf_filter(insns: list[Insn], frame: bytes, wirelen: int) -> int:
    """What the program returns for ``frame`` (the captured bytes) whose length on the wire was
    ``wirelen`` (what ``ld #len`` reads): 0 rejects it."""
    return bpf_run(insns, memoryview(frame), 0, wirelen, None)
