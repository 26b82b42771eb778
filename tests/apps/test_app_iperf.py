"""iperf (2.1.8's TCP and UDP tests) on simulated networks: its reports in iperf's words and units,
the bytes each side counts, the figures a link's rate allows, the datagrams on the wire, and its
errors."""

from __future__ import annotations

import io
import re
import struct

import pytest
from scapy.layers.inet import UDP
from scapy.utils import rdpcap

from procs import run_main
from topologies import TWO_HOSTS
from tuxnet.topology import add_router, load_topology
from tuxnet.user.programs.iperf import byte_atoi, byte_snprintf, iperf_main, parse, rate_atoi
from tuxnet.world import NSEC_PER_SEC, World

LINK = """\
seed = 1
{duration}""" + TWO_HOSTS + """rate = "{rate}"
delay = "{delay}"
loss = {loss}
{link}
[[run]]
host = "b"
cmd = "{server}"

[[run]]
host = "a"
cmd = "{client}"
at = "100ms"
{extra}"""


def topology(client: str, server: str = "iperf -s", rate: str = "100mbit", delay: str = "5ms",
             duration: str | None = None, loss: float = 0.0, link: str = "", extra: str = "") -> str:
    """Two hosts on one link, iperf's ``server`` on b and ``client`` on a (``link``: more of the
    link's settings; ``duration`` None: the run ends with its programs)."""
    return LINK.format(client=client, server=server, rate=rate, delay=delay, loss=loss, link=link, extra=extra,
                       duration=f'duration = "{duration}"' if duration else "")

REPORT = r"\[  1\] (\d+\.\d{4})-(\d+\.\d{4}) sec  +([\d.]+) (\w?Byte)s  +([\d.]+) (\w?bit)s/sec\n"


def run(client: str, rate: str = "100mbit", duration: str | None = "7s") -> tuple[str, str]:
    """The client's and the server's output, from a run of the two over one link."""
    net = load_topology("iperf.toml", text=topology(client, rate=rate, duration=duration))
    net.start()
    net.run()
    net.close()
    return net.world.hosts["a"].output(), net.world.hosts["b"].output()


def test_a_timed_run_reports_intervals_and_the_whole_in_iperfs_words() -> None:
    client, server = run("iperf -c 10.0.0.2 -t 5 -i 1")
    head = ("------------------------------------------------------------\n"
            "Client connecting to 10.0.0.2, TCP port 5001\n"
            "TCP window size: 16.0 KByte (default)\n"
            "------------------------------------------------------------\n")
    assert client.startswith(head), client
    # icwnd/mss/irtt from TCP_INFO: the initial window, the MSS of a 1500-byte MTU with
    # timestamps, and an RTT of the SYN: 10 ms there and back, and an ARP exchange first.
    m = re.search(r"\[  1\] local 10\.0\.0\.1 port (\d+) connected with 10\.0\.0\.2 port 5001 "
                  r"\(icwnd/mss/irtt=10/1448/(\d+)\)\n\[ ID\] Interval       Transfer     Bandwidth\n", client)
    assert m and 20_000 <= int(m[2]) < 21_000, client
    lines = re.findall(REPORT, client)
    assert [(b, e) for b, e, *_ in lines[:5]] == [(f"{i}.0000", f"{i + 1}.0000") for i in range(5)]
    begin, end, amount, unit, rate, bits = lines[5]
    assert begin == "0.0000" and 5.0 <= float(end) < 5.1 and unit == "M" + "Byte" and bits == "Mbit"
    # 100 Mbit/s of Ethernet carries 94.9 Mbit/s of TCP payload (1448 of each 1538 octets)
    assert 90.0 < float(rate) < 95.0
    assert server.startswith("------------------------------------------------------------\n"
                             "Server listening on TCP port 5001\n"
                             "TCP window size:  128 KByte (default)\n"
                             "------------------------------------------------------------\n"
                             f"[  1] local 10.0.0.2 port 5001 connected with 10.0.0.1 port {m[1]} "), server
    (_, s_end, s_amount, s_unit, s_rate, _), = re.findall(REPORT, server)
    assert (s_amount, s_unit) == (amount, unit) and 90.0 < float(s_rate) < 95.0
    assert float(s_end) > float(end) - 0.1  # the server reads to the end of what the client wrote


def test_an_amount_is_sent_to_the_byte_and_the_window_asked_for_is_what_linux_grants() -> None:
    client, server = run("iperf -c 10.0.0.2 -n 3M -w 64K -l 100K")
    # SO_SNDBUF of 64 KB: Linux doubles it
    assert "TCP window size:  128 KByte (WARNING: requested 64.0 KByte)\n" in client
    (_, _, amount, unit, _, _), = re.findall(REPORT, client)
    (_, _, s_amount, s_unit, _, _), = re.findall(REPORT, server)
    assert (amount, unit) == (s_amount, s_unit) == ("3.00", "MByte")


def test_the_units_follow_f_and_a_slow_link_reads_in_kbits() -> None:
    client, server = run("iperf -c 10.0.0.2 -t 3 -f k", rate="1mbit", duration="6s")
    (_, _, _, unit, rate, bits), = re.findall(REPORT, client)
    assert (unit, bits) == ("KByte", "Kbit")
    # The client counts what it wrote, which the socket's buffer took faster than the link at
    # first (as iperf's client counts); the server counts what came, at the link's rate.
    (_, _, _, _, s_rate, _), = re.findall(REPORT, server)
    assert 900 < float(s_rate) < 1000 < float(rate)
    # adaptive (the default): under 1,000 Kbit/s reads in Kbits
    _, server = run("iperf -c 10.0.0.2 -t 3", rate="1mbit", duration="6s")
    assert re.findall(REPORT, server)[0][5] == "Kbit"


@pytest.mark.parametrize(("client", "says"), [
    ("iperf -c 10.0.0.9 -t 1", "tcp connect failed: No route to host\n"
                               "[  1] local 0.0.0.0 port 0 connected with 10.0.0.9 port 5001\n"),
    ("iperf -c 10.0.0.2 -p 5002 -t 1", "tcp connect failed: Connection refused\n"
                                      "[  1] local 0.0.0.0 port 0 connected with 10.0.0.2 port 5002\n"),
    ("iperf -c nowhere.invalid", "nowhere.invalid: Unknown host\n"),
    ("iperf -c 10.0.0.2 -t abc", "ERROR: -t value of 'abc' not recognized\n"),
    ("iperf -c 10.0.0.2 -n lots", "Invalid value for -n amount of 'lots'\n"),
    ("iperf -c", "iperf: option requires an argument -- c\nUsage: iperf [-s|-c host] [options]\n"),
    ("iperf", "Usage: iperf [-s|-c host] [options]\nTry `iperf --help' for more information.\n"),
    ("iperf -c 10.0.0.2 -P 2", "iperf: -P: tuxnet's iperf has no parallel streams (TCP or UDP, one stream)\n"),
    ("iperf -c 10.0.0.2 -i 5000", "Too large value of '5000' for -i interval, max is 4294.967295\n"),
    ("iperf -c 10.0.0.2 -u -i abc", "Invalid value of 'abc' for -i interval\n"),
    ("iperf -c 10.0.0.2 -t 1_0", "ERROR: -t value of '1_0' not recognized\n"),   # strtod's number, not Python's
    ("iperf -c 10.0.0.2 -p 5002 -t 0", "WARNING: client will send traffic forever or until an external signal "
                                      "(e.g. SIGINT or SIGTERM) occurs to stop it\n"),  # TCP too: no end
])
def test_errors_are_iperfs(client: str, says: str) -> None:
    out, _ = run(client, duration="5s")
    assert says in out, out


def test_without_a_duration_the_run_ends_when_the_server_waits_for_its_next_client() -> None:
    net = load_topology("iperf.toml", text=topology("iperf -c 10.0.0.2 -t 2"))
    net.start()
    net.run()
    # the client's 2 s from 0.1 s, then the last of its data, its FIN and the server's report
    assert 2.1 * NSEC_PER_SEC < net.world.now < 2.5 * NSEC_PER_SEC
    server = net.world.hosts["b"].output()
    assert len(re.findall(REPORT, server)) == 1 and server.endswith("Mbits/sec\n")


def test_without_a_duration_a_udp_run_ends_when_the_server_waits_for_datagrams() -> None:
    # the server reads from its socket, with no peer: it waits for its next client
    net = load_topology("udp.toml", text=topology("iperf -c 10.0.0.2 -u -t 2", server="iperf -s -u", delay="1ms"))
    net.start()
    net.run()
    assert 2.1 * NSEC_PER_SEC < net.world.now < 2.6 * NSEC_PER_SEC
    assert len(re.findall(UDP_REPORT, net.world.hosts["b"].output())) == 1


def test_a_second_server_on_the_port_says_bind_failed() -> None:
    # the client's [[run]] made a second server on b
    text = topology("iperf -s", rate="10mbit", duration="1s")
    net = load_topology("two.toml", text=text.replace('host = "a"\ncmd = "iperf -s"', 'host = "b"\ncmd = "iperf -s"'))
    net.start()
    net.run()
    assert net.world.hosts["b"].output().count("listener bind failed: Address already in use\n") == 1


def test_an_unknown_option_is_skipped_with_a_word() -> None:
    out, _ = run("iperf -Q -c 10.0.0.2 -t 1", duration="3s")
    assert out.startswith("iperf: invalid option -- Q\n----") and len(re.findall(REPORT, out)) == 1


@pytest.mark.parametrize(("value", "fmt", "text"), [
    # as iperf 2.1.8 printed them on this machine (bench notes: `iperf -c 127.0.0.1 -i 0.5`)
    (1.84 * 2**30, "A", "1.84 GByte"), (855 * 2**20, "A", " 855 MByte"), (16384, "A", "16.0 KByte"),
    (131072, "A", " 128 KByte"), (15.8e9 / 8, "a", "15.8 Gbit"), (426e6 / 8, "a", " 426 Mbit"),
    (0, "A", "0.000 Byte"), (1000 * 2**20, "M", "1000 MByte"), (999.6, "A", "1000 Byte"),
])
def test_byte_snprintf_keeps_four_places(value: float, fmt: str, text: str) -> None:
    assert byte_snprintf(value, fmt) == text


def test_byte_atoi_reads_iperfs_suffixes() -> None:
    # upper case 1024-based, lower case 1000-based, as this machine's iperf 2.1.8 counted -n 1m
    # (1,000,000 bytes), -n 1M (1,048,576) and -n 100k -l 10k (100,000) on loopback
    assert [byte_atoi(s) for s in ("100", "64K", "64k", "1M", "1m", "2g", "2G", "1.5K")] == \
        [100, 65536, 64000, 1 << 20, 10**6, 2 * 10**9, 2 << 30, 1536]
    with pytest.raises(ValueError):
        byte_atoi("-1M")


def test_iperf_runs_from_a_topology_file(tmp_path) -> None:
    from tuxnet.topology import run_topology_file

    path = tmp_path / "iperf.toml"
    path.write_text(topology("iperf -c 10.0.0.2 -n 1M", rate="10mbit", duration="3s"))
    out = io.StringIO()
    assert run_topology_file(str(path), out) == 0
    assert out.getvalue().count("1.00 MBytes") == 2


# -- UDP (iperf -u) ----------------------------------------------------------------------------------

RULE = "-" * 60
UDP_REPORT = (r"\[  1\] (\d+\.\d{4})-(\d+\.\d{4}) sec  +([\d.]+) (\w?Byte)s  +([\d.]+) (\w?bit)s/sec"
              r"  +([\d.]+) ms (\d+)/(\d+) \(([^)]*)%\)\n")
CLIENT_REPORT = r"\[  1\] (\d+\.\d{4})-(\d+\.\d{4}) sec  +([\d.]+) (\w?Byte)s  +([\d.]+) (\w?bit)s/sec\n"


def udp_run(client: str, server: str = "iperf -s -u", rate: str = "100mbit", delay: str = "1ms",
            duration: str = "4s", loss: float = 0.0, link: str = "", extra: str = ""):
    """A network of the two hosts after a run of ``client`` on a against ``server`` on b (``link``:
    more of the link's settings)."""
    net = load_topology("udp.toml", text=topology(client, server, rate, delay, duration, loss, link, extra))
    net.start()
    net.run()
    net.close()
    return net


def capture(node: str, pcap) -> str:
    return f'\n[[capture]]\nnode = "{node}"\ndev = "eth0"\npcap = "{pcap}"\n'


def datagrams(pcap, dport: int = 5001) -> list[tuple[float, bytes]]:
    """The UDP payloads to ``dport`` in a capture, read by scapy, with their capture times."""
    return [(float(p.time), bytes(p[UDP].payload)) for p in rdpcap(str(pcap)) if UDP in p and p[UDP].dport == dport]


def seqno(payload: bytes) -> int:
    """iperf 2's 64-bit sequence number: its low 32 bits first, its high 32 bits at byte 12."""
    low, high = struct.unpack_from("!I", payload, 0)[0], struct.unpack_from("!I", payload, 12)[0]
    value = low | high << 32
    return value - (1 << 64) if value >> 63 else value


def test_udp_paces_at_the_rate_asked_and_both_sides_report_in_iperfs_words() -> None:
    net = udp_run("iperf -c 10.0.0.2 -u -t 2 -b 5M -i 1", server="iperf -s -u -i 1")
    client, server = net.world.hosts["a"].output(), net.world.hosts["b"].output()
    # 5M is 5 * 1024 * 1024 bits a second: 1470-byte datagrams 2243.04 us apart
    assert client.startswith(f"{RULE}\nClient connecting to 10.0.0.2, UDP port 5001\n"
                             "Sending 1470 byte datagrams, IPG target: 2243.04 us (kalman adjust)\n"
                             f"UDP buffer size:  208 KByte (default)\n{RULE}\n"), client
    m = re.search(r"\[  1\] local 10\.0\.0\.1 port (\d+) connected with 10\.0\.0\.2 port 5001\n"
                  r"\[ ID\] Interval       Transfer     Bandwidth\n", client)
    assert m, client
    lines = re.findall(CLIENT_REPORT, client)
    assert [(b, e) for b, e, *_ in lines[:2]] == [("0.0000", "1.0000"), ("1.0000", "2.0000")]
    _, end, amount, unit, rate, bits = lines[2]
    assert 2.0 <= float(end) < 2.01 and (unit, bits) == ("MByte", "Mbit")
    assert 5.1 < float(rate) < 5.4, client  # 5.24 Mbit/s, and the last datagram
    sent = int(re.search(r"\[  1\] Sent (\d+) datagrams\n", client)[1])
    # the server's report reaches the client, which prints it under its own heads
    tail = client[client.index("[  1] Server Report:\n"):]
    assert tail.startswith("[  1] Server Report:\n[ ID] Interval       Transfer     Bandwidth        Jitter   "
                           "Lost/Total Datagrams\n"), client
    (s_begin, s_end, s_amount, s_unit, _, _, _, lost, total, pct), = re.findall(UDP_REPORT, tail)
    # The numbers 1 .. the last one's, which is negated; the client counts the end of the test too.
    assert (lost, pct, int(total)) == ("0", "0", sent - 1) and (s_amount, s_unit) == (amount, unit)
    assert server.startswith(f"{RULE}\nServer listening on UDP port 5001\nUDP buffer size:  208 KByte (default)\n"
                             f"{RULE}\n[  1] local 10.0.0.2 port 5001 connected with 10.0.0.1 port {m[1]}\n"
                             "[ ID] Interval       Transfer     Bandwidth        Jitter   Lost/Total Datagrams\n")
    reports = re.findall(UDP_REPORT, server)
    assert [(b, e) for b, e, *_ in reports[:2]] == [("0.0000", "1.0000"), ("1.0000", "2.0000")]
    assert sum(int(r[8]) for r in reports[:2]) <= int(total) and reports[-1][:2] == (s_begin, s_end)
    # the line the client printed is the server's own
    assert tail.splitlines()[2] in server.splitlines()


def test_udp_datagrams_carry_iperfs_header_and_n_sends_that_many_bytes(tmp_path) -> None:
    net = udp_run("iperf -c 10.0.0.2 -u -n 100K -b 10M", extra=capture("b", tmp_path / "b.pcap"))
    client = net.world.hosts["a"].output()
    sent = datagrams(tmp_path / "b.pcap")
    data = [(t, p) for t, p in sent if seqno(p) > 0]
    # -n 100K: 69 full datagrams and one of 970 bytes, numbered 1 to 70, their send times in order
    assert [seqno(p) for _, p in data] == list(range(1, 71))
    assert sum(len(p) for _, p in data) == 100 * 1024 and {len(p) for _, p in data[:69]} == {1470}
    stamps = [struct.unpack_from("!II", p, 4) for _, p in data]
    assert stamps == sorted(stamps)
    # then the last datagram, numbered -71: 0xffffffb9 and the high word all ones
    last = [p for _, p in sent if seqno(p) < 0]
    assert seqno(last[0]) == -71 and last[0][:4] == b"\xff\xff\xff\xb9" and last[0][12:16] == b"\xff" * 4
    # the test header (struct client_hdr_v1, client_hdrext) in every datagram: its flags (the
    # 64-bit numbers, the extension, a 76-byte header), one thread, the port, the amount, version 2.1.8
    # and the default rate's 1048576 (-b given: 10 * 1048576); then iperf's '0123456789' pattern
    for _, p in sent:
        assert struct.unpack_from("!IIIIIi", p, 16) == (0x48010098, 1, 5001, 0, 0, 100 * 1024)
        assert struct.unpack_from("!II4xI", p, 52) == (0x00020001, 0x00080003, 10 * 1048576)
        assert p[160:170] == b"0123456789"
    # The client counts the last datagram, as 2.1.8 does, and one more datagram than it sent.
    assert re.search(r"\[  1\] 0\.0000-\d\.\d{4} sec   101 KBytes .*\n\[  1\] Sent 72 datagrams\n", client), client
    assert "[  1] Server Report:" in client and " 0/71 (0%)\n" in client


def test_udp_server_report_datagram_is_iperfs(tmp_path) -> None:
    net = udp_run("iperf -c 10.0.0.2 -u -n 14700 -b 10M", extra=capture("a", tmp_path / "a.pcap"))
    acks = [p for p in rdpcap(str(tmp_path / "a.pcap")) if UDP in p and p[UDP].sport == 5001]
    assert acks, net.output()
    ack = bytes(acks[0][UDP].payload)
    # a zeroed UDP_datagram, then struct server_hdr: flags (version 1, 64-bit counts), the bytes
    # (10 datagrams of the test and the last one), the time, no errors, 11 datagrams
    assert len(ack) == 128 and ack[:16] == bytes(16)
    flags, len1, len2, _, _, errors, outoforder, total = struct.unpack_from("!8I", ack, 16)
    assert (flags, len1, len2, errors, outoforder, total) == (0x88000000, 0, 11 * 1470, 0, 0, 11)
    assert struct.unpack_from("!3I", ack, 116) == (0, 0, 0)  # the counts' high words
    assert "15.8 KBytes" in net.world.hosts["a"].output().split("Server Report:")[1]


def test_udp_over_a_lossy_link_the_server_counts_what_the_link_lost(tmp_path) -> None:
    net = udp_run("iperf -c 10.0.0.2 -u -t 2 -b 5M", loss=0.05,
                  extra=capture("a", tmp_path / "a.pcap") + capture("b", tmp_path / "b.pcap"))
    client, server = net.world.hosts["a"].output(), net.world.hosts["b"].output()
    (_, _, _, _, _, _, _, lost, total, pct), = re.findall(UDP_REPORT, server)
    # What a sent and b did not get, by sequence number (the last datagrams too: a lost one is a
    # gap the server counts, up to the one that reached it)
    out = {abs(seqno(p)) for _, p in datagrams(tmp_path / "a.pcap")}
    came = {abs(seqno(p)) for _, p in datagrams(tmp_path / "b.pcap")}
    missing = [n for n in out - came if n <= int(total)]
    assert int(lost) == len(missing) > 20
    # and the cable's own count: every frame it lost in this run was a datagram of the test
    assert int(lost) == net.world.links[0].stats.lost
    assert pct == "%.2g" % (100 * int(lost) / int(total))
    assert f" {lost}/{total} ({pct}%)\n" in client.split("Server Report:")[1]


BOTTLENECK = """\
seed = 1
duration = "5s"
[[host]]
name = "a"
routes = ["default via 10.0.1.254"]

[[router]]
name = "r"

[[host]]
name = "b"
routes = ["default via 10.0.2.254"]

[[link]]
a = "a"
b = "r"
a_addr = "10.0.1.1/24"
b_addr = "10.0.1.254/24"
rate = "100mbit"
delay = "1ms"

[[link]]
a = "r"
b = "b"
a_addr = "10.0.2.254/24"
b_addr = "10.0.2.1/24"
rate = "20mbit"
delay = "1ms"

[[run]]
host = "r"
cmd = "tc qdisc replace dev eth1 root pfifo limit 8"

[[run]]
host = "b"
cmd = "iperf -s -u"

[[run]]
host = "a"
cmd = "iperf -c 10.0.2.1 -u -t 2 -b 40M"
at = "100ms"
"""


def test_udp_faster_than_the_bottleneck_loses_what_the_routers_queue_drops() -> None:
    net = load_topology("bottleneck.toml", text=BOTTLENECK)
    net.start()
    net.run()
    client, server = net.world.hosts["a"].output(), net.world.hosts["b"].output()
    (_, _, _, _, rate, bits, _, lost, total, pct), = re.findall(UDP_REPORT, server)
    drops = net.world.hosts["r"].dev("eth1").qdisc.drops
    sent = int(re.search(r"Sent (\d+) datagrams", client)[1])
    # 40M offered to a 20 Mbit/s link behind an 8-packet queue: about half is dropped there, the
    # server counts each drop as a gap, and receives what the link carries
    assert int(lost) == drops and int(total) == sent - 1
    assert 0.45 < drops / int(total) < 0.6 and pct in ("54", "53", "55")
    assert bits == "Mbit" and 18.5 < float(rate) < 20.0
    assert f" {lost}/{total} ({pct}%)\n" in client


def test_udp_jitter_is_rfc_1889s_over_the_transit_times(tmp_path) -> None:
    # 2M into a 1 Mbit/s link: the socket's buffer holds the client back, the queue comes and goes
    net = udp_run("iperf -c 10.0.0.2 -u -t 2 -b 2M", rate="1mbit", duration="8s",
                  extra=capture("b", tmp_path / "b.pcap"))
    server = net.world.hosts["b"].output()
    (*_, jitter, lost, total, _), = re.findall(UDP_REPORT, server)
    # J += (|D| - J) / 16 over transit = arrival - the send time in the datagram, from the capture
    # (whose times are the hosts' wall clock, as the datagrams' are)
    j = last = 0.0
    for t, p in datagrams(tmp_path / "b.pcap"):
        sec, usec = struct.unpack_from("!II", p, 4)
        transit = (t - sec) - usec / 1e6
        j += (abs(transit - last) - j) / 16
        last = transit
        if seqno(p) < 0:
            break
    assert float(jitter) > 1.0 and abs(float(jitter) - j * 1e3) < 0.002, (jitter, j)
    assert lost == "0"


def test_udp_server_takes_clients_one_after_another() -> None:
    extra = '\n[[run]]\nhost = "a"\ncmd = "iperf -c 10.0.0.2 -u -t 0.5"\nat = "2s"\n'
    net = udp_run("iperf -c 10.0.0.2 -u -t 0.5", extra=extra)
    server = net.world.hosts["b"].output()
    assert server.count("Server listening on UDP port 5001") == 1
    assert re.findall(r"\[  (\d)\] local 10\.0\.0\.2 port 5001 connected", server) == ["1", "2"]
    assert len(re.findall(r"\[  [12]\] 0\.0000-0\.5\d{3} sec .* 0/\d+ \(0%\)\n", server)) == 2
    assert net.world.hosts["a"].output().count("Server Report:") == 2


def test_udp_without_a_server_the_client_gives_up_as_iperf_does() -> None:
    net = udp_run("iperf -c 10.0.0.2 -u -t 0.3 -p 5002")
    client = net.world.hosts["a"].output()
    # ICMP port unreachable: each read of the report fails; the warning names the socket's descriptor
    assert "read failed: Connection refused\n" in client
    assert client.endswith("[  3] WARNING: did not receive ack of last datagram after 10 tries.\n"), client
    assert "Server Report" not in client


@pytest.mark.parametrize(("client", "says"), [
    ("iperf -c 10.0.0.2 -u -b 0", "ERROR: IPG delay target of inf secs too large (max value is 60 secs)\n"),
    ("iperf -c 10.0.0.2 -u -b abc", "ERROR: IPG delay target of inf secs too large (max value is 60 secs)\n"),
    ("iperf -c 10.0.0.2 -u -b 1.5x", "ERROR: IPG delay target of 11760.0 secs too large (max value is 60 secs)\n"),
    ("iperf -c 10.0.0.2 -u -b 100", "ERROR: IPG delay target of 117.6 secs too large (max value is 60 secs)\n"),
    ("iperf -c 10.0.0.2 -b 1M", "iperf: -b: tuxnet's iperf has no TCP rate limit (-b goes with -u)\n"),
    ("iperf -c 10.0.0.2 -u -b 10M,1M", "iperf: -b: tuxnet's iperf has no varying rate (RATE,STDDEV)\n"),
    ("iperf -c 10.0.0.2 -u -d", "iperf: -d: tuxnet's iperf has no a dual test (TCP or UDP, one stream)\n"),
    ("iperf -c 10.0.0.2 -u -l 70000", "iperf: -l: tuxnet's iperf sends UDP datagrams of 16 to 65507 bytes\n"),
])
def test_udp_bad_rates_get_iperfs_error(client: str, says: str) -> None:
    out = udp_run(client, duration="1s").world.hosts["a"].output()
    assert out == says


@pytest.mark.parametrize(("rate", "ipg"), [
    # as iperf 2.1.8 printed them on this machine (`iperf -c 127.0.0.1 -u -b RATE`)
    ("1M", "11215.21"), ("1m", "11760.00"), ("1k", "11760000.00"), ("1K", "11484375.00"), ("2G", "5.48"),
    ("1g", "11.76"), ("100M", "112.15"), ("0.5M", "22430.42"), ("5e3", "2352000.00"), ("-5", "0.00"),
    ("1000pps", "1000.00"), ("1mpps", "1.00"), ("100kpps", "10.00"),
])
def test_udp_rates_read_as_iperf_reads_them(rate: str, ipg: str) -> None:
    opts = parse(["-c", "h", "-u", "-b", rate])
    assert f"{opts.ipg_ns() / 1e3:.2f}" == ipg


def test_rate_atoi_reads_c_numbers() -> None:
    assert [rate_atoi(s) for s in ("1M", "1m", "1k", "1K", "2G", "1g", "0.5M", "5e3", "1.5x", "abc", "-5")] == \
        [1 << 20, 10**6, 1000, 1024, 2 << 30, 10**9, 1 << 19, 5000, 1, 0, -5]


def test_intervals_are_whole_microseconds_and_100_us_at_least() -> None:
    # as this machine's iperf 2.1.8 (built with fast sampling) says it on `iperf -c ... -i 0.00001`
    opts = parse(["-c", "h", "-u", "-i", "0.00001"])
    assert opts.interval == 0.0001
    assert opts.warnings == "WARNING: interval too small, increasing to 0.1000 milliseconds.\n"
    assert parse(["-c", "h", "-i", "0.0000015"]).interval == 0.0001 and parse(["-c", "h", "-i", "0.5"]).interval == 0.5


def test_udp_late_datagrams_are_out_of_order_and_not_lost(tmp_path) -> None:
    net = udp_run("iperf -c 10.0.0.2 -u -t 1 -b 20M", duration="3s", link="reorder = 0.05",
                  extra=capture("b", tmp_path / "b.pcap"))
    server = net.world.hosts["b"].output()
    m = re.search(r"\[  1\] 0\.0000-[\d.]+ sec  (\d+) datagrams received out-of-order\n", server)
    # the datagrams that came after one with a higher number, as b's capture saw them
    late, top = 0, 0
    for _, p in datagrams(tmp_path / "b.pcap"):
        n = abs(seqno(p))
        late += n < top
        top = max(top, n)
        if seqno(p) < 0:
            break
    (*_, lost, total, _), = re.findall(UDP_REPORT, server)
    assert m and int(m[1]) == late > 10, server
    assert lost == "0"  # each one left a gap, which iperf takes back when the datagram comes


def test_a_failed_connection_reports_and_exits_0_as_2_1_8_does() -> None:
    """The client thread reports the failure and ends; iperf's main returns 0."""
    world = World(seed=1)
    host = add_router(world, "h")
    out, status = run_main(world, host, iperf_main, ["-c", "127.0.0.1", "-p", "1", "-t", " 2"])
    assert status == 0 and "tcp connect failed: Connection refused\n" in out


@pytest.mark.parametrize("port, shown", [("5001x", 5001), ("abc", 0), ("70000", 4464), (" 80", 80), ("+3", 3),
                                         ("0x10", 0)])
def test_the_port_is_read_as_2_1_8_reads_it(port: str, shown: int) -> None:
    """``-p``: atoi of the text before any "-", cut to 16 bits (this machine's iperf 2.1.8 says
    "TCP port 5001" for 5001x, 0 for abc, 4464 for 70000), and the connection tried to it."""
    world = World(seed=1)
    host = add_router(world, "h")
    out, status = run_main(world, host, iperf_main, ["-c", "127.0.0.1", "-p", port, "-t", "1"])
    assert status == 0 and f"Client connecting to 127.0.0.1, TCP port {shown}\n" in out
    assert "tcp connect failed: Connection refused\n" in out


def test_a_port_range_is_refused_for_want_of_parallel_streams() -> None:
    world = World(seed=1)
    host = add_router(world, "h")
    out, status = run_main(world, host, iperf_main, ["-c", "127.0.0.1", "-p", "5001-5002"])
    assert status == 1 and "no port range" in out
