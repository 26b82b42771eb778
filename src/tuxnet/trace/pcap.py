"""Classic libpcap capture files.

The writer always produces the nanosecond-resolution variant of the classic
format (magic 0xa1b23c4d, little-endian, version 2.4), which Wireshark,
tcpdump and scapy all read.  Timestamps are integer nanoseconds of virtual
time.  The reader accepts both the microsecond (0xa1b2c3d4) and nanosecond
magic in either byte order.
"""

from __future__ import annotations

import os
import struct
from types import TracebackType
from typing import BinaryIO

__all__ = [
    "DLT_EN10MB",
    "DLT_RAW",
    "MAGIC_NSEC",
    "MAGIC_USEC",
    "PcapWriter",
    "read_pcap",
]

MAGIC_USEC = 0xA1B2C3D4
MAGIC_NSEC = 0xA1B23C4D
DLT_EN10MB = 1
DLT_RAW = 101

_NS_PER_SEC = 1_000_000_000
_FILE_HEADER = struct.Struct("<IHHiIII")
_RECORD_HEADER = struct.Struct("<IIII")
# The upper bits of the link-type field carry FCS information (pcap-savefile(5)).
_LINKTYPE_MASK = 0x03FFFFFF


class PcapWriter:
    """Write frames to a classic pcap file with nanosecond timestamps.

    ``path_or_fileobj`` is a path (the file is created, and closed by
    :meth:`close`) or a binary file object (flushed, but left open, by
    :meth:`close`).
    """

    def __init__(
        self,
        path_or_fileobj: str | os.PathLike[str] | BinaryIO,
        linktype: int = DLT_EN10MB,
        snaplen: int = 262144,
    ) -> None:
        if not 0 <= linktype <= _LINKTYPE_MASK:
            raise ValueError(f"bad link type {linktype}")
        if not 0 < snaplen <= 0xFFFFFFFF:
            raise ValueError(f"bad snapshot length {snaplen}")
        self.linktype = linktype
        self.snaplen = snaplen
        self._owned = isinstance(path_or_fileobj, str | os.PathLike)
        if isinstance(path_or_fileobj, str | os.PathLike):
            self._file: BinaryIO = open(path_or_fileobj, "wb")
        else:
            self._file = path_or_fileobj
        self._closed = False
        self._file.write(_FILE_HEADER.pack(MAGIC_NSEC, 2, 4, 0, 0, snaplen, linktype))

    def write(self, ts_ns: int, frame: bytes | bytearray | memoryview) -> None:
        """Append one frame captured at virtual time ``ts_ns`` (nanoseconds)."""
        if self._closed:
            raise ValueError("write to a closed PcapWriter")
        if ts_ns < 0:
            raise ValueError(f"negative timestamp {ts_ns}")
        sec, nsec = divmod(ts_ns, _NS_PER_SEC)
        if sec > 0xFFFFFFFF:
            raise ValueError(f"timestamp {ts_ns} does not fit in a pcap record")
        data = bytes(frame)
        caplen = min(len(data), self.snaplen)
        self._file.write(_RECORD_HEADER.pack(sec, nsec, caplen, len(data)))
        self._file.write(data[:caplen])

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._owned:
            self._file.close()
        else:
            self._file.flush()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_pcap(path: str | os.PathLike[str] | BinaryIO) -> tuple[int, list[tuple[int, bytes]]]:
    """Read a classic pcap file: ``(linktype, [(ts_ns, frame), ...])``.

    Frames are the captured bytes (``incl_len`` of them); microsecond files
    have their timestamps scaled to nanoseconds.
    """
    if isinstance(path, str | os.PathLike):
        with open(path, "rb") as f:
            data = f.read()
    else:
        data = path.read()
    if len(data) < _FILE_HEADER.size:
        raise ValueError("not a pcap file: short file header")
    for order in "<>":
        (magic,) = struct.unpack_from(order + "I", data)
        if magic in (MAGIC_USEC, MAGIC_NSEC):
            break
    else:
        raise ValueError(f"not a pcap file: magic {data[:4].hex()}")
    scale = 1 if magic == MAGIC_NSEC else 1000
    _, _, _, _, _, _, network = struct.unpack_from(order + "IHHiIII", data)
    record = struct.Struct(order + "IIII")
    frames: list[tuple[int, bytes]] = []
    off = _FILE_HEADER.size
    while off < len(data):
        if off + record.size > len(data):
            raise ValueError(f"truncated pcap record header at offset {off}")
        sec, frac, caplen, _ = record.unpack_from(data, off)
        off += record.size
        if off + caplen > len(data):
            raise ValueError(f"truncated pcap record at offset {off}")
        frames.append((sec * _NS_PER_SEC + frac * scale, data[off : off + caplen]))
        off += caplen
    return network & _LINKTYPE_MASK, frames
