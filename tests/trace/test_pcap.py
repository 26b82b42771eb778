"""PcapWriter and read_pcap, judged by scapy's reader and the real tcpdump."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tuxnet.trace.pcap import DLT_EN10MB, DLT_RAW, MAGIC_NSEC, MAGIC_USEC, PcapWriter, read_pcap

FRAMES = [
    (0, b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x06" + bytes(28)),
    (1, b"\xff" * 60),
    (43_200_000_000_001, bytes(range(256)) * 6),
    (1_700_000_000_123_456_789, b"\x00" * 14),
]


def _write(path: Path, frames: list[tuple[int, bytes]], **kwargs: int) -> None:
    with PcapWriter(path, **kwargs) as w:
        for ts, frame in frames:
            w.write(ts, frame)


def test_file_header_is_nanosecond_little_endian(tmp_path: Path) -> None:
    path = tmp_path / "h.pcap"
    _write(path, [])
    header = path.read_bytes()
    assert len(header) == 24
    assert struct.unpack("<IHHiIII", header) == (MAGIC_NSEC, 2, 4, 0, 0, 262144, DLT_EN10MB)
    assert header[:4] == bytes.fromhex("4d3cb2a1")


def test_record_layout(tmp_path: Path) -> None:
    path = tmp_path / "r.pcap"
    _write(path, [(3_000_000_123, b"abc")])
    data = path.read_bytes()
    assert struct.unpack_from("<IIII", data, 24) == (3, 123, 3, 3)
    assert data[40:] == b"abc"


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "rt.pcap"
    _write(path, FRAMES, linktype=DLT_RAW)
    assert read_pcap(path) == (DLT_RAW, FRAMES)
    assert read_pcap(str(path)) == (DLT_RAW, FRAMES)
    with open(path, "rb") as f:
        assert read_pcap(f) == (DLT_RAW, FRAMES)


def test_accepts_bytearray_and_memoryview(tmp_path: Path) -> None:
    path = tmp_path / "mv.pcap"
    with PcapWriter(path) as w:
        w.write(1, bytearray(b"one"))
        w.write(2, memoryview(b"xtwox")[1:4])
    assert read_pcap(path)[1] == [(1, b"one"), (2, b"two")]


def test_snaplen_truncates_but_keeps_original_length(tmp_path: Path) -> None:
    path = tmp_path / "snap.pcap"
    _write(path, [(7, bytes(100))], snaplen=64)
    data = path.read_bytes()
    assert struct.unpack_from("<I", data, 16) == (64,)
    assert struct.unpack_from("<IIII", data, 24) == (0, 7, 64, 100)
    assert read_pcap(path)[1] == [(7, bytes(64))]


def test_file_object_is_left_open(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with PcapWriter(buf) as w:
        w.write(5, b"frame")
    assert not buf.closed
    buf.seek(0)
    assert read_pcap(buf) == (DLT_EN10MB, [(5, b"frame")])


def test_close_is_idempotent_and_final(tmp_path: Path) -> None:
    w = PcapWriter(tmp_path / "c.pcap")
    w.close()
    w.close()
    with pytest.raises(ValueError):
        w.write(0, b"late")


@pytest.mark.parametrize("ts", [-1, (1 << 32) * 1_000_000_000])
def test_unrepresentable_timestamps_are_refused(tmp_path: Path, ts: int) -> None:
    with PcapWriter(tmp_path / "t.pcap") as w, pytest.raises(ValueError):
        w.write(ts, b"x")


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize(("magic", "scale"), [(MAGIC_USEC, 1000), (MAGIC_NSEC, 1)])
def test_reads_both_resolutions_and_byte_orders(
    tmp_path: Path, order: str, magic: int, scale: int
) -> None:
    data = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, 101)
    data += struct.pack(order + "IIII", 12, 345, 2, 60) + b"hi"
    path = tmp_path / "foreign.pcap"
    path.write_bytes(data)
    assert read_pcap(path) == (101, [(12_000_000_000 + 345 * scale, b"hi")])


def test_rejects_garbage(tmp_path: Path) -> None:
    path = tmp_path / "bad.pcap"
    path.write_bytes(b"\x00" * 24)
    with pytest.raises(ValueError):
        read_pcap(path)
    path.write_bytes(b"\xd4\xc3\xb2\xa1")
    with pytest.raises(ValueError):
        read_pcap(path)
    _write(path, [(1, b"abcdef")])
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(ValueError):
        read_pcap(path)


def test_scapy_reads_our_nanosecond_files(tmp_path: Path) -> None:
    scapy_utils = pytest.importorskip("scapy.utils")
    path = tmp_path / "scapy.pcap"
    _write(path, FRAMES)
    reader = scapy_utils.RawPcapReader(str(path))
    try:
        assert reader.nano
        assert reader.linktype == DLT_EN10MB
        records = list(reader)
    finally:
        reader.close()
    assert [data for data, _ in records] == [frame for _, frame in FRAMES]
    assert [meta.sec * 1_000_000_000 + meta.usec for _, meta in records] == [ts for ts, _ in FRAMES]
    packets = scapy_utils.rdpcap(str(path))
    assert [int(p.time * 1_000_000_000) for p in packets] == [ts for ts, _ in FRAMES]
    assert [bytes(p) for p in packets] == [frame for _, frame in FRAMES]


def test_reads_scapy_microsecond_files(tmp_path: Path) -> None:
    scapy_all = pytest.importorskip("scapy.all")
    path = tmp_path / "usec.pcap"
    pkt = scapy_all.Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01") / scapy_all.IP()
    pkt.time = 1234.5
    scapy_all.wrpcap(str(path), [pkt])
    assert read_pcap(path) == (DLT_EN10MB, [(1_234_500_000_000, bytes(pkt))])


def test_tcpdump_reads_our_files(tmp_path: Path) -> None:
    tcpdump = shutil.which("tcpdump")
    if tcpdump is None:
        pytest.skip("tcpdump is not installed (apt-get install tcpdump)")
    path = tmp_path / "td.pcap"
    _write(path, [(43_200_000_000_000 + 999, FRAMES[0][1]), (43_201_123_456_789, FRAMES[0][1])])
    result = subprocess.run(
        [tcpdump, "-nn", "-r", str(path)], capture_output=True, text=True, check=True,
        env={**os.environ, "TZ": "UTC"},
    )
    assert "link-type EN10MB (Ethernet), snapshot length 262144" in result.stderr
    stamps = [line.split(" ", 1)[0] for line in result.stdout.splitlines()]
    assert stamps == ["12:00:00.000000", "12:00:01.123456"]
