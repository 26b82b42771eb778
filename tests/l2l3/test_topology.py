"""Networks from TOML files, the Python building API, and the same run giving the same bytes."""

from __future__ import annotations

import io
import re

import pytest
from netlab import run, tshark_problems

from topologies import TWO_HOSTS
from tuxnet.topology import TopologyError, load_topology, parse_rate, parse_time, run_topology_file
from tuxnet.user.programs.ping import ping_main
from tuxnet.user.programs.traceroute import traceroute_main
from tuxnet.world import World, msecs, secs

TOPOLOGY = """\
# a -- sw1 -- r1 -- r2 -- b
seed = 5

[[host]]
name = "a"
routes = ["default via 10.0.1.254"]

[[host]]
name = "c"
routes = ["default via 10.0.1.254"]

[[host]]
name = "b"
routes = ["default via 10.0.3.254"]

[[router]]
name = "r1"
routes = ["10.0.3.0/24 via 10.0.2.2"]

[[router]]
name = "r2"
routes = ["10.0.1.0/24 via 10.0.2.1"]

[[switch]]
name = "sw1"

[[link]]
a = "a"
b = "sw1"
a_addr = "10.0.1.1/24"
rate = "100mbit"
delay = "20us"

[[link]]
a = "c"
b = "sw1"
a_addr = "10.0.1.2/24"

[[link]]
a = "r1"
b = "sw1"
a_addr = "10.0.1.254/24"

[[link]]
a = "r1"
b = "r2"
a_addr = "10.0.2.1/24"
b_addr = "10.0.2.2/24"
rate = "10mbit"
delay = "1ms"

[[link]]
a = "r2"
b = "b"
a_addr = "10.0.3.254/24"
b_addr = "10.0.3.2/24"

[[run]]
host = "a"
cmd = "ping -c 2 10.0.3.2"
at = "10ms"

[[run]]
host = "c"
cmd = "traceroute -n 10.0.3.2"
at = "5s"

[[capture]]
node = "r1"
pcap = "{pcap}"
"""


def test_a_topology_file_builds_and_runs(tmp_path, tshark):
    path = tmp_path / "net.toml"
    pcap = tmp_path / "r1.pcap"
    path.write_text(TOPOLOGY.format(pcap=pcap))
    out = io.StringIO()
    assert run_topology_file(str(path), out) == 0
    text = out.getvalue()
    assert "== a ==\nPING 10.0.3.2 (10.0.3.2) 56(84) bytes of data.\n" in text
    assert "64 bytes from 10.0.3.2: icmp_seq=2 ttl=62 time=" in text
    assert "2 packets transmitted, 2 received, 0% packet loss" in text
    assert "== c ==\ntraceroute to 10.0.3.2 (10.0.3.2), 30 hops max, 60 byte packets\n 1  10.0.1.254  " in text
    assert " 3  10.0.3.2  " in text
    assert tshark_problems(tshark, pcap) == []


def test_a_capture_is_stamped_with_the_hosts_wall_clock(tmp_path):
    """A ``[[capture]]``'s pcap has the hosts' date (2015-02-06, as their ``date``, dig's WHEN and
    a tcpdump ``-w`` on them have it), which this machine's tcpdump reads back with ``-tttt``."""
    import shutil
    import subprocess

    from tuxnet.trace.pcap import read_pcap

    path, pcap = tmp_path / "net.toml", tmp_path / "r1.pcap"
    path.write_text(TOPOLOGY.format(pcap=pcap))
    assert run_topology_file(str(path), io.StringIO()) == 0
    first = read_pcap(pcap)[1][0][0]
    assert first // 1_000_000_000 == 1_423_180_800  # 2015-02-06 00:00:00 UTC, and the world's first second
    if shutil.which("tcpdump") is None:
        pytest.skip("no tcpdump to read the file back")
    out = subprocess.run(["tcpdump", "-r", str(pcap), "-n", "-tttt", "-c", "1"], capture_output=True, text=True,
                         env={"TZ": "UTC"}).stdout
    assert out.startswith("2015-02-06 00:00:00."), out


def test_the_same_topology_and_seed_give_identical_pcaps(tmp_path):
    pcaps = []
    for i in range(2):
        path = tmp_path / f"net{i}.toml"
        pcaps.append(tmp_path / f"r1-{i}.pcap")
        path.write_text(TOPOLOGY.format(pcap=pcaps[-1]))
        assert run_topology_file(str(path), io.StringIO()) == 0
    assert pcaps[0].read_bytes() == pcaps[1].read_bytes()
    path = tmp_path / "other-seed.toml"
    other = tmp_path / "r1-seed6.pcap"
    path.write_text(TOPOLOGY.format(pcap=other).replace("seed = 5", "seed = 6"))
    assert run_topology_file(str(path), io.StringIO()) == 0
    assert other.read_bytes() != pcaps[0].read_bytes(), "another seed: other IP identifications"


@pytest.mark.parametrize(("old", "new", "at", "message"), [
    ('b = "sw1"', 'b = "sw9"', 'b = "sw9"', "unknown node 'sw9'"),
    ('rate = "100mbit"', 'rate = "100 furlongs"', 'rate = "100 furlongs"', "bad rate '100 furlongs'"),
    ('name = "sw1"', 'name = "sw1"\nports = 4', "ports = 4", "unknown key 'ports'"),
    ('name = "c"', 'name = "a"', 'name = "a"', "'a' is defined twice"),
    ('cmd = "ping -c 2 10.0.3.2"', 'cmd = "pong 10.0.3.2"', 'cmd = "pong', "unknown program 'pong'"),
    ('"10.0.3.0/24 via 10.0.2.2"', '"10.0.3.0/24 via 10.9.2.2"', "via 10.9.2.2", "Nexthop has invalid gateway"),
    ('name = "sw1"', 'name = "sw1"\n\n[[hub]]\nname = "hub1"\ndelay = 0', "[[hub]]",
     "propagation delay must be positive"),
    ('delay = "1ms"', 'delay = 1.5', "delay = 1.5", "delay has the wrong type"),
    ('delay = "1ms"', 'delay = 10', "delay = 10", 'delay = 10: a time needs its unit, as "10s" or "10ms"'),
    ('seed = 5', 'seed = 5\nduration = 10', "duration = 10", "a time needs its unit"),
    ('delay = "1ms"', 'delay = "1ms"\nmtu = 0', "mtu = 0", "mtu = 0: an Ethernet device's MTU is 68 to 65535"),
    ('delay = "1ms"', 'delay = "1ms"\nmtu = 100000', "mtu = 100000", "MTU is 68 to 65535"),
    ('name = "c"', 'name = ""', 'name = ""', "name must not be empty"),
    ('delay = "1ms"', 'delay = "1ms"\nloss = 1.5', "loss = 1.5", "loss = 1.5: a probability is 0 to 1 (1 % is 0.01)"),
    ('delay = "1ms"', 'delay = "1ms"\nreorder = -0.1', "reorder = -0.1", "a probability is 0 to 1"),
    ('cmd = "ping -c 2 10.0.3.2"', 'cmd = "ping -c 2 \\"10.0.3.2"', 'cmd = "ping -c 2 \\"10', "No closing quotation"),
    ('name = "c"', 'name = "c"\nsysctl = {"net.ipv4.ip_forward" = 1, "net.ipv4.tcp_rmem" = "x 2"}',
     '"net.ipv4.tcp_rmem" = "x 2"', 'setting key "net.ipv4.tcp_rmem": Invalid argument'),
    ('routes = ["default via 10.0.3.254"]', 'routes = ["default via 10.0.3.254"]\n[host.sysctl]\n'
     '"net.ipv4.ip_forward" = 1\n"net.ipv4.tcp_rmem" = "x 2"', '"net.ipv4.tcp_rmem" = "x 2"',
     'setting key "net.ipv4.tcp_rmem": Invalid argument'),
])
def test_errors_name_the_line(tmp_path, old, new, at, message):
    text = TOPOLOGY.format(pcap=tmp_path / "x.pcap")
    assert old in text
    text = text.replace(old, new, 1)
    line = max(i for i, s in enumerate(text.splitlines(), 1) if at in s)
    with pytest.raises(TopologyError) as info:
        load_topology("net.toml", text=text)
    assert str(info.value).startswith(f"net.toml:{line}: "), str(info.value)
    assert message in str(info.value)


def test_a_syntax_error_names_the_line():
    with pytest.raises(TopologyError, match=r"^net.toml:4: .*line 4"):
        load_topology("net.toml", text='seed = 1\n\n[[host]]\nname = "a\n')


def test_a_file_that_is_not_text_is_named_not_a_traceback(tmp_path):
    path = tmp_path / "net.toml"
    path.write_bytes(b'seed = 1\n\xff\xfe')
    with pytest.raises(TopologyError, match=rf"^{re.escape(str(path))}: not a topology file: byte 9 is not UTF-8"):
        load_topology(path)


def test_run_topology_file_reports_a_bad_file(tmp_path):
    out = io.StringIO()
    assert run_topology_file(str(tmp_path / "missing.toml"), out) == 1
    assert out.getvalue().startswith("tuxnet: ") and "missing.toml" in out.getvalue()


def test_units():
    assert parse_rate("10mbit") == 10_000_000 and parse_rate("1gbit") == 10**9 and parse_rate(9600) == 9600
    assert parse_rate("1mbps") == 8_000_000, "tc: bps is bytes per second"
    assert parse_time("50us") == 50_000 and parse_time("1.5s") == 1_500_000_000 and parse_time(7) == 7
    with pytest.raises(ValueError):
        parse_time("soon")


def test_python_api_builds_the_same_network():
    world = World(seed=3)
    a, b = world.add_host("a"), world.add_host("b")
    r = world.add_router("r")
    hub = world.add_hub("hub0", rate="10mbit", delay="2us")
    sw = world.add_switch("sw0", ageing_time="10s")
    link = world.connect(a, hub, a_addr="10.0.1.1/24")
    assert link.medium is hub and link.a.name == "eth0" and link.b is None
    assert world.connect(hub, r, b_addr="10.0.1.254/24").a is None
    world.connect(r, sw, a_addr="10.0.2.254/24")
    world.connect(b, sw, a_addr="10.0.2.1/24", rate="1gbit")
    a.ip_route_add("default", via="10.0.1.254")
    b.ip_route_add("default", via="10.0.2.254")
    assert sw.bridge.ageing_time == secs(10)
    assert [d.name for d in sw.host.devices.values()] == ["lo", "p1", "p2"]
    world.run_for(msecs(10))
    assert run(world, a, ping_main, ["-c", "1", "10.0.2.1"]) == 0
    assert "ttl=63" in a.output()
    assert run(world, a, traceroute_main, ["-n", "-q", "1", "10.0.2.1"]) == 0
    assert a.output().splitlines()[-2].startswith(" 1  10.0.1.254  ")
    with pytest.raises(ValueError, match="two hubs"):
        world.connect(hub, world.add_hub("hub1"))
    with pytest.raises(ValueError, match="no IP addresses"):
        world.connect(a, sw, b_addr="10.0.9.9/24")
    with pytest.raises(ValueError, match="share its rate"):
        world.connect(b, hub, rate="1gbit")



def test_ethtool_runs_from_a_topology_file(tmp_path):
    path = tmp_path / "nic.toml"
    path.write_text(TWO_HOSTS + '''
[[run]]
host = "b"
cmd = "ethtool -C eth0 rx-usecs 50 rx-frames 8"

[[run]]
host = "b"
cmd = "ethtool -c eth0"
at = "1ms"
''')
    out = io.StringIO()
    assert run_topology_file(str(path), out) == 0
    expected = "== b ==\nCoalesce parameters for eth0:\nAdaptive RX: off  TX: n/a\n\nrx-usecs: 50\nrx-frames: 8\n"
    assert expected in out.getvalue()


def test_a_tcpdump_without_a_count_ends_with_the_run(tmp_path):
    # tcpdump waits for frames nothing is left to send once ping has ended: the run ends there
    path = tmp_path / "dump.toml"
    path.write_text(TWO_HOSTS + '''
[[run]]
host = "b"
cmd = "tcpdump icmp"

[[run]]
host = "a"
cmd = "ping -c 2 10.0.0.2"
at = "1ms"
''')
    out = io.StringIO()
    assert run_topology_file(str(path), out) == 0
    dumped = out.getvalue().split("== b ==\n")[1].splitlines()
    assert [line[16:] for line in dumped[2:6]] == [
        f"IP 10.0.0.{a} > 10.0.0.{b}: ICMP echo {kind}, id 1, seq {seq}, length 64"
        for seq in (1, 2) for a, b, kind in ((1, 2, "request"), (2, 1, "reply"))]


def test_a_run_that_reaches_its_limit_says_why(tmp_path):
    """Without a duration a run waits for its programs (a server waiting for clients, a capture
    waiting for packets, excepted); ping without -c never finishes, so the run stops at its
    24-hour limit, with ping's statistics (SIGINT), and says what to do."""
    path = tmp_path / "t.toml"
    run = '[[run]]\nhost = "a"\ncmd = "ping -i 1000 10.0.0.2"\n'
    path.write_text(TWO_HOSTS.replace("[[link]]", run + "[[link]]"))
    out = io.StringIO()
    assert run_topology_file(str(path), out) == 0
    lines = out.getvalue().splitlines()
    assert "87 packets transmitted, 87 received, 0% packet loss, time 86000000ms" in lines
    assert lines[-2].startswith("(world time 86400.000 s")
    assert lines[-1].startswith("(the run stopped at its 24-hour limit with programs still going:")
    path.write_text(TWO_HOSTS.replace("[[link]]", run.replace("ping", "ping -c 2") + "[[link]]"))
    out = io.StringIO()
    assert run_topology_file(str(path), out) == 0 and "24-hour limit" not in out.getvalue()
