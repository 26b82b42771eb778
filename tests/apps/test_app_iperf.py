"""iperf (2.1.8's TCP test) on simulated networks: its reports in iperf's words and units, the
bytes each side counts, the figures a link's rate allows, and its errors."""

from __future__ import annotations

import io
import re

import pytest

from tuxnet.topology import load_topology
from tuxnet.user.programs.iperf import byte_atoi, byte_snprintf
from tuxnet.world import NSEC_PER_SEC

LINK = """\
seed = 1
{duration}
[[host]]
name = "a"

[[host]]
name = "b"

[[link]]
a = "a"
b = "b"
a_addr = "10.0.0.1/24"
b_addr = "10.0.0.2/24"
rate = "{rate}"
delay = "5ms"

[[run]]
host = "b"
cmd = "iperf -s"

[[run]]
host = "a"
cmd = "{client}"
at = "100ms"
"""

REPORT = r"\[  1\] (\d+\.\d{4})-(\d+\.\d{4}) sec  +([\d.]+) (\w?Byte)s  +([\d.]+) (\w?bit)s/sec\n"


def run(client: str, rate: str = "100mbit", duration: str | None = "7s") -> tuple[str, str]:
    """The client's and the server's output, from a run of the two over one link."""
    net = load_topology("iperf.toml", text=LINK.format(client=client, rate=rate,
                                                       duration=f'duration = "{duration}"' if duration else ""))
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
    ("iperf -c 10.0.0.2 -u", "iperf: -u: tuxnet's iperf has no UDP (TCP, one stream)\n"),
])
def test_errors_are_iperfs(client: str, says: str) -> None:
    out, _ = run(client, duration="5s")
    assert says in out, out


def test_without_a_duration_the_run_ends_when_the_server_waits_for_its_next_client() -> None:
    net = load_topology("iperf.toml", text=LINK.format(client="iperf -c 10.0.0.2 -t 2", rate="100mbit", duration=""))
    net.start()
    net.run()
    # the client's 2 s from 0.1 s, then the last of its data, its FIN and the server's report
    assert 2.1 * NSEC_PER_SEC < net.world.now < 2.5 * NSEC_PER_SEC
    server = net.world.hosts["b"].output()
    assert len(re.findall(REPORT, server)) == 1 and server.endswith("Mbits/sec\n")


def test_a_second_server_on_the_port_says_bind_failed() -> None:
    # the client's [[run]] made a second server on b
    text = LINK.format(client="iperf -s", rate="10mbit", duration='duration = "1s"')
    net = load_topology("two.toml", text=text.replace('host = "a"\ncmd = "iperf -s"', 'host = "b"\ncmd = "iperf -s"'))
    net.start()
    net.run()
    assert net.world.hosts["b"].output().count("bind failed: Address already in use\n") == 1


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
    assert [byte_atoi(s) for s in ("100", "64K", "64k", "1M", "2g", "1.5K")] == \
        [100, 65536, 65536, 1 << 20, 2 << 30, 1536]
    with pytest.raises(ValueError):
        byte_atoi("-1M")


def test_iperf_runs_from_a_topology_file(tmp_path) -> None:
    from tuxnet.topology import run_topology_file

    path = tmp_path / "iperf.toml"
    path.write_text(LINK.format(client="iperf -c 10.0.0.2 -n 1M", rate="10mbit", duration='duration = "3s"'))
    out = io.StringIO()
    assert run_topology_file(str(path), out) == 0
    assert out.getvalue().count("1.00 MBytes") == 2
