"""pcap-common.c's mapping between the link types a capture file records (LINKTYPE_*, the same on
every platform) and the ones libpcap compiles for (DLT_*, whose numbers differ between systems
for a few: raw IP is LINKTYPE_RAW 101 in a file and DLT_RAW 12 on Linux)."""

from __future__ import annotations

from .gencode import DLT_RAW

LINKTYPE_RAW = 101


def linktype_to_dlt(linktype: int) -> int:
    """``linktype_to_dlt``: the DLT a file's link type stands for (most are the same number)."""
    return DLT_RAW if linktype == LINKTYPE_RAW else linktype
