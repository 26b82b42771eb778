"""Odd and malformed frames never raise out of the stack: each is dropped and counted."""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_lo_host
from tuxnet.net.core.checksum import csum_fold, csum_partial, csum_tcpudp_magic
from tuxnet.net.ethernet.eth import eth_rx_frame

ETH = b"\0" * 12 + b"\x08\x00"
WORLD, HOST = make_lo_host(seed=11)
LO = HOST.dev("lo")
# Frames put on lo from outside the stack carry no route, so 127/8 would be martian, as with a
# packet socket on Linux (checked on this machine's kernel): allowed, as there, by route_localnet.
HOST.sysctl.set("net.ipv4.conf.lo.route_localnet", 1)


def inject(frame: bytes) -> None:
    eth_rx_frame(LO, frame)
    WORLD.run_for(1_000_000)


def ip_header(payload_len: int, proto: int = 6, ihl: int = 5, version: int = 4, tot_len: int | None = None,
              good_csum: bool = True, src: str = "127.0.0.2", dst: str = "127.0.0.1", options: bytes = b"") -> bytes:
    if options:
        options += bytes(-len(options) % 4)
        ihl = 5 + len(options) // 4
    tot = ihl * 4 + payload_len if tot_len is None else tot_len
    h = bytearray(struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, tot, 1, 0, 64, proto, 0,
                              bytes(map(int, src.split("."))), bytes(map(int, dst.split(".")))))
    h += options or (b"\0" * (ihl * 4 - 20) if ihl > 5 else b"")
    c = csum_fold(csum_partial(bytes(h)))
    h[10:12] = struct.pack("!H", c if good_csum else c ^ 0x1234)
    return bytes(h)


def tcp_segment(sport=40000, dport=5555, flags=0x02, doff=5, opts=b"", good_csum=True, payload=b"") -> bytes:
    seg = bytearray(struct.pack("!HHIIHHHH", sport, dport, 1, 0, (doff << 12) | flags, 1000, 0, 0)) + opts + payload
    c = csum_tcpudp_magic(0x7F000002, 0x7F000001, len(seg), 6, csum_partial(bytes(seg)))
    seg[16:18] = struct.pack("!H", c if good_csum else c ^ 0x00FF)
    return bytes(seg)


def counters() -> dict:
    m = HOST.mib
    return {"hdr": m.Ip["InHdrErrors"], "ipcsum": m.IpExt["InCsumErrors"], "trunc": m.IpExt["InTruncatedPkts"],
            "tcperr": m.Tcp["InErrs"], "tcpcsum": m.Tcp["InCsumErrors"], "rst": m.Tcp["OutRsts"],
            "rxdrop": LO.stats.rx_dropped, "runt": LO.stats.rx_length_errors,
            "proto": m.Ip["InUnknownProtos"], "udperr": m.Udp["InErrors"]}


def test_each_kind_of_damage_is_counted_where_linux_counts_it():
    cases = [
        (b"\x01\x02", "runt"),                                                    # shorter than Ethernet's header
        (ETH + b"\x45", "hdr"),                                                   # truncated IP header
        (ETH + ip_header(20, version=6) + tcp_segment(), "hdr"),                  # not IPv4
        (ETH + ip_header(20, ihl=4) + tcp_segment(), "hdr"),                      # IHL below 5
        (ETH + ip_header(20, good_csum=False) + tcp_segment(), "ipcsum"),          # bad header checksum
        (ETH + ip_header(20, tot_len=400) + tcp_segment(), "trunc"),              # claims more than it has
        (ETH + ip_header(20, tot_len=12) + tcp_segment(), "hdr"),                 # total length below the header
        (ETH + ip_header(20) + tcp_segment(good_csum=False), "tcpcsum"),           # bad TCP checksum
        (ETH + ip_header(20) + tcp_segment(doff=3), "tcperr"),                     # data offset below 5
        (ETH + ip_header(24) + tcp_segment(doff=6, opts=b"\x02\x09\xff\xff"), "rst"),  # bad option length: RST
        (b"\0" * 12 + b"\x88\xb5" + b"junk", "rxdrop"),                           # unknown ethertype
        (ETH + ip_header(4, proto=200) + b"abcd", "proto"),                        # unknown IP protocol
        (ETH + ip_header(4, proto=17) + b"abcd", "udperr"),                        # UDP shorter than its header
        (ETH + ip_header(8, proto=17, options=bytes((7, 2, 4, 0))) + bytes(8), "hdr"),  # record route too short
        (ETH + ip_header(8, proto=17, options=bytes((68, 8, 9, 0xF0)) + bytes(4)) + bytes(8), "hdr"),  # TS overflow
        (ETH + ip_header(8, proto=17, options=bytes((1, 7, 9))) + bytes(8), "hdr"),  # option past the header
    ]
    for frame, counter in cases:
        before = counters()
        inject(frame)
        after = counters()
        changed = {k for k in after if after[k] != before[k]}
        assert counter in changed, (frame.hex(), counter, before, after)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=0, max_size=200))
def test_random_frames_never_raise(frame):
    inject(frame)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flags=st.integers(0, 255), doff=st.integers(0, 15), opts=st.binary(max_size=40),
       payload=st.binary(max_size=64), dport=st.sampled_from([5555, 9, 0]))
def test_random_tcp_headers_behind_a_valid_ip_header_never_raise(flags, doff, opts, payload, dport):
    seg = tcp_segment(dport=dport, flags=flags, doff=doff, opts=opts, payload=payload)
    inject(ETH + ip_header(len(seg)) + seg)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=20, max_size=120))
def test_random_ip_payloads_with_valid_header_never_raise(body):
    for proto in (1, 6, 17):
        inject(ETH + ip_header(len(body), proto=proto) + body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(options=st.binary(min_size=1, max_size=40), kind=st.sampled_from(["echo", "udp", "tcp"]),
       source_route=st.booleans())
def test_random_ip_options_never_raise(options, kind, source_route):
    """Any options before an echo request (answered with them echoed), a datagram to a closed
    port (an ICMP error echoing them) or a SYN (a reset echoing them): dropped and counted, or
    answered; source routes both refused and followed."""
    HOST.sysctl.set("net.ipv4.conf.all.accept_source_route", int(source_route))
    if kind == "echo":
        body = bytearray(struct.pack("!BBHHH", 8, 0, 0, 7, 1) + b"fuzz")
        body[2:4] = struct.pack("!H", csum_fold(csum_partial(bytes(body))))
        proto, body = 1, bytes(body)
    elif kind == "udp":
        proto, body = 17, struct.pack("!HHHH", 40000, 9, 8, 0)
    else:
        proto, body = 6, tcp_segment(dport=9)
    before = counters()["hdr"]
    inject(ETH + ip_header(len(body), proto=proto, options=options) + body)
    assert counters()["hdr"] - before in (0, 1)
