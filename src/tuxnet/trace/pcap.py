"""Classic libpcap capture files.

The writer produces the nanosecond-resolution variant of the classic format
(magic 0xa1b23c4d, little-endian, version 2.4), which Wireshark, tcpdump and
scapy all read, or, as tcpdump ``-w`` writes, the microsecond one
(0xa1b2c3d4).  Timestamps are integer nanoseconds of virtual time.  The reader
accepts both magics in either byte order.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from types import TracebackType
from typing import BinaryIO

__all__ = [
    "DLT_EN10MB",
    "DLT_RAW",
    "MAGIC_NSEC",
    "MAGIC_USEC",
    "MAXIMUM_SNAPLEN",
    "PcapError",
    "PcapReader",
    "PcapWriter",
    "read_pcap",
]

MAGIC_USEC = 0xA1B2C3D4
MAGIC_NSEC = 0xA1B23C4D
DLT_EN10MB = 1
DLT_RAW = 101
MAXIMUM_SNAPLEN = 262144  # pcap-int.h: the largest snapshot length libpcap keeps

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
        snaplen: int = MAXIMUM_SNAPLEN,
        *,
        nanosecond: bool = True,
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
        self._unit = 1 if nanosecond else 1000
        self._file.write(_FILE_HEADER.pack(MAGIC_NSEC if nanosecond else MAGIC_USEC, 2, 4, 0, 0, snaplen, linktype))

    def write(self, ts_ns: int, frame: bytes | bytearray | memoryview) -> None:
        """Append one frame captured at virtual time ``ts_ns`` (nanoseconds)."""
        if self._closed:
            raise ValueError("write to a closed PcapWriter")
        if ts_ns < 0:
            raise ValueError(f"negative timestamp {ts_ns}")
        sec, nsec = divmod(ts_ns, _NS_PER_SEC)
        if sec > 0xFFFFFFFF:
            raise ValueError(f"timestamp {ts_ns} does not fit in a pcap record")
        self.write_record(sec, nsec // self._unit, frame, len(frame))

    def write_record(self, sec: int, frac: int, data: bytes | bytearray | memoryview, length: int) -> None:
        """Append one record as it stands: its time in seconds and the file's fraction (nano- or
        microseconds), the captured bytes (cut to the snapshot length) and the length on the wire
        (``pcap_dump``)."""
        data = bytes(data)
        caplen = min(len(data), self.snaplen)
        self._file.write(_RECORD_HEADER.pack(sec, frac, caplen, length))
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


class PcapError(ValueError):
    """A capture file libpcap would not read, in libpcap's words (sf-pcap.c)."""


class PcapReader:
    """A classic pcap file read record by record, as libpcap's ``pcap_open_offline`` and
    ``pcap_next_ex`` read it: the file header at once (``linktype``, ``snaplen``, ``nanosecond``),
    then each record as ``(ts_ns, captured bytes, length on the wire)``.  A file libpcap would
    refuse, or a record it would stop at, raises PcapError with libpcap's message."""

    def __init__(self, fileobj: BinaryIO) -> None:
        self._file = fileobj
        magic = fileobj.read(4)
        if len(magic) < 4:
            raise PcapError(f"truncated dump file; tried to read 4 file header bytes, only got {len(magic)}")
        for order in "<>":
            (value,) = struct.unpack(order + "I", magic)
            if value in (MAGIC_USEC, MAGIC_NSEC):
                break
        else:
            raise PcapError("unknown file format")
        rest = fileobj.read(_FILE_HEADER.size - 4)
        if len(rest) < _FILE_HEADER.size - 4:
            raise PcapError(f"truncated dump file; tried to read {_FILE_HEADER.size} file header bytes, "
                            f"only got {len(rest)}")
        major, _, _, _, snaplen, network = struct.unpack(order + "HHiIII", rest)
        if major < 2:
            raise PcapError("archaic pcap savefile format")
        self.nanosecond = value == MAGIC_NSEC
        self.linktype = network & _LINKTYPE_MASK
        # pcap_check_header: a snapshot length of 0 or past the largest is read as the largest
        self.snaplen = snaplen if 0 < snaplen <= MAXIMUM_SNAPLEN else MAXIMUM_SNAPLEN
        self._record = struct.Struct(order + "IIII")

    def __iter__(self) -> Iterator[tuple[int, bytes, int]]:
        scale = 1 if self.nanosecond else 1000
        size = self._record.size
        while True:
            header = self._file.read(size)
            if not header:
                return
            if len(header) < size:
                raise PcapError(f"truncated dump file; tried to read {size} header bytes, only got {len(header)}")
            sec, frac, caplen, length = self._record.unpack(header)
            if caplen > MAXIMUM_SNAPLEN:
                raise PcapError(f"invalid packet capture length {caplen}, bigger than maximum of {MAXIMUM_SNAPLEN}")
            data = self._file.read(caplen)
            if len(data) < caplen:
                raise PcapError(f"truncated dump file; tried to read {caplen} captured bytes, only got {len(data)}")
            yield sec * _NS_PER_SEC + frac * scale, data, length


def read_pcap(path: str | os.PathLike[str] | BinaryIO) -> tuple[int, list[tuple[int, bytes]]]:
    """Read a classic pcap file: ``(linktype, [(ts_ns, frame), ...])``.

    Frames are the captured bytes (``incl_len`` of them); microsecond files
    have their timestamps scaled to nanoseconds.
    """
    if isinstance(path, str | os.PathLike):
        with open(path, "rb") as f:
            return read_pcap(f)
    reader = PcapReader(path)
    return reader.linktype, [(ts, frame) for ts, frame, _ in reader]
