"""The command-line programs (ip, ss, nstat, sysctl, tc, ethtool, ping, traceroute, tracepath, arping,
tcpdump, iperf, net-tools, nc, curl, dig, host, nslookup, dns, http, named and httpd) and the MenuOS shell, given
any command line: each says what is wrong, as the real one would, and none dies of an uncaught
exception (``World.run`` raises ProcessError for a program that does)."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuxnet.user.ethtool import ethtool_main
from tuxnet.user.iproute import ip_main
from tuxnet.user.nstat import nstat_main
from tuxnet.user.programs import nettools
from tuxnet.user.programs.arping import arping_main
from tuxnet.user.programs.cat import cat_main
from tuxnet.user.programs.curl import curl_main
from tuxnet.user.programs.dig import dig_main
from tuxnet.user.programs.dns import dns_main
from tuxnet.user.programs.final_project import final_project
from tuxnet.user.programs.host import host_main
from tuxnet.user.programs.http import http_main, httpd_main
from tuxnet.user.programs.iperf import iperf_main
from tuxnet.user.programs.menuos import MENUOS_CONFIG, run_session
from tuxnet.user.programs.named import named_main
from tuxnet.user.programs.nc import nc_main
from tuxnet.user.programs.nslookup import nslookup_main
from tuxnet.user.programs.ping import ping_main
from tuxnet.user.programs.tcpdump import tcpdump_main
from tuxnet.user.programs.tracepath import tracepath_main
from tuxnet.user.programs.traceroute import traceroute_main
from tuxnet.user.ss import ss_main
from tuxnet.user.sysctl import sysctl_main
from tuxnet.user.tc import tc_main
from tuxnet.world import NSEC_PER_SEC, World

PROGRAMS = {"ip": ip_main, "ss": ss_main, "nstat": nstat_main, "sysctl": sysctl_main, "tc": tc_main,
            "ethtool": ethtool_main, "ping": ping_main, "traceroute": traceroute_main, "iperf": iperf_main,
            "tracepath": tracepath_main, "arping": arping_main, "ifconfig": nettools.ifconfig,
            "route": nettools.route, "arp": nettools.arp, "netstat": nettools.netstat,
            "tcpdump": tcpdump_main, "cat": cat_main, "nc": nc_main, "curl": curl_main, "dig": dig_main,
            "dns": dns_main, "host": host_main, "nslookup": nslookup_main, "http": http_main, "named": named_main,
            "httpd": httpd_main}
# Words the programs know, numbers and addresses good and bad, and odd strings.
WORDS = ["addr", "add", "del", "change", "replace", "show", "route", "link", "set", "dev", "eth0", "eth9", "lo", "up",
         "down", "mtu", "1500", "0", "-1", "99999999999", "10.0.0.1/24", "10.0.0.2", "10.0.0.300", "0.0.0.0/0",
         "default", "via", "neigh", "lladdr", "00:11:22:33:44:55", "table", "local", "main", "metric", "src", "get",
         "flush", "all", "help", "qdisc", "root", "tbf", "pfifo", "rate", "1mbit", "burst", "limit", "latency", "-s",
         "-n", "-t", "-u", "-a", "-l", "-i", "-m", "-c", "-C", "-k", "-K", "gro", "tso", "on", "off", "rx-usecs",
         "state", "established", "net.ipv4.tcp_rmem", "net.ipv4.ip_forward=1", "net.ipv4.tcp_rmem=1 2", "-w", "-p",
         "-q", "-W", "-M", "do", "-f", "k", "-D", "5001", "mtu", "lock", "advmss", "initcwnd", "prohibit", "blackhole",
         "1e9", "", "\x00", "ÿ", "-", "--", "=", "a" * 40, "-R", "-T", "-I", "tsonly", "tsandaddr", "tsprespec", "-b",
         "-V", "10.0.0.2/44444", "host", "port", "net", "and", "or", "not", "(", ")", "icmp", "tcp", "udp", "arp",
         "dst", "-e", "-v", "-S", "0x50", "080", "10.0.0.0/8", "tcp[13]", "-o", "/proc/net/tcp", "/proc/net/",
         "/proc/net/sockstat", "/etc/hosts", "netem", "delay", "10ms", "1%", "200%", "reorder", "gap", "duplicate",
         "corrupt", "distribution", "normal", "loss", "random", "sport", ":80", "dport", "dst", "src", "-br",
         "http://10.0.0.2/", "http://10.0.0.2:80/x", "https://x/", "http://[::1]/", "http://a..b/", "-L", "-I",
         "-sS", "-H", "X-A: b", "-d", "a=1", "-X", "%{http_code}", "--max-time", "--max-redirs", "@10.0.0.2",
         "@nowhere", "+short",
         "+tcp", "+norec", "+trace", "+qr", "AXFR", "ixfr=1", "-l", "+time=1", "+tries=0", "+noall", "+answer", "-x",
         "MX", "ANY", "CH", "www.test", "a..b", "-g", "-type=MX", "-vc", "-retry=0", "-h", "-W", "-R", "-T", "-a", "-C",
         "/var/www", "/etc/bind/named.conf", "-N", "-z", "-lk", "7000", "1-3", "-1",
         "rule", "ipproto", "uidrange", "uid", "throw", "broadcast", "1000-2000", "5-", "lookup", "pref",
         # digits to Python, none to C's isdigit(): int() refuses "²" and reads "٣"
         "²", "٣", "1²", "+time=²", "-timeout=٣", "limit", "rx-usecs", ":²", "-p"]
ARGV = st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=6)), max_size=7)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(PROGRAMS)), argv=ARGV)
def test_a_program_given_any_command_line_ends_or_waits_without_dying(name: str, argv: list[str]) -> None:
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="10mbit", delay="1ms", a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    try:
        a.spawn(PROGRAMS[name], argv, name=name)
        world.run_for(5 * NSEC_PER_SEC)
    finally:
        world.close()


# Numbers with characters Python calls digits and C does not ("²": str.isdigit() said yes, int()
# refused it, and the program died): each program must refuse them as its C original does.
NOT_DIGITS = [("dig", ["+time=²", "@10.0.0.2", "x"]), ("dig", ["-p", "1²", "@10.0.0.2", "x"]),
              ("nslookup", ["-timeout=²", "x", "10.0.0.2"]), ("nslookup", ["-port=٣", "x", "10.0.0.2"]),
              ("named", ["-p", "²"]), ("ethtool", ["-C", "eth0", "rx-usecs", "²"]),
              ("ss", ["-n", "dport", "=", ":²"]),
              ("tc", ["qdisc", "add", "dev", "eth0", "root", "netem", "limit", "²"]),
              ("ping", ["-c", "²", "10.0.0.2"]), ("traceroute", ["-m", "²", "10.0.0.2"]),
              ("tcpdump", ["-s", "²", "-d"]), ("ip", ["route", "add", "1.2.3.0/24", "dev", "eth0", "metric", "²"])]


@pytest.mark.parametrize("name, argv", NOT_DIGITS, ids=[f"{n} {' '.join(a)}" for n, a in NOT_DIGITS])
def test_a_number_of_unicode_digits_is_refused_not_a_crash(name: str, argv: list[str]) -> None:
    world = World(seed=1)
    a, b = world.add_host("a"), world.add_host("b")
    world.connect(a, b, rate="10mbit", delay="1ms", a_addr="10.0.0.1/24", b_addr="10.0.0.2/24")
    try:
        proc = a.spawn(PROGRAMS[name], argv, name=name)
        world.run_for(20 * NSEC_PER_SEC)
        assert not proc.alive and proc.exception is None
        assert (proc.result if proc.exit_code == 0 else proc.exit_code) != 0, a.output()
    finally:
        world.close()


COMMANDS = ["help", "version", "replyhi", "hello", "ping -c 1", "traceroute -n", "dns", "dns -t MX", "http",
            "http -I", "ifconfig", "route", "arp -a", "netstat", "ss -tuan", "nstat", "ip addr", "ip route get",
            "sysctl -w", "tc qdisc show", "trace on", "trace off", "trace full", "fly"]
ARGS = ["www", "www.example.com", "http://www.example.com/", "http://10.0.3.80:80/x", "@10.0.3.53", "10.0.3.80",
        "-g", "-a", "-v", "POST", "HEAD", '"', "'", "\\", "\t", "x" * 300, "-", "ÿ", "1"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.tuples(st.sampled_from(COMMANDS), st.lists(st.sampled_from(ARGS), max_size=3)),
                      min_size=1, max_size=4))
def test_the_menuos_shell_given_any_commands_runs_to_quit(lines: list[tuple[str, list[str]]]) -> None:
    script = "".join(" ".join([cmd, *args]) + "\n" for cmd, args in lines) + "quit\n"
    out = io.StringIO()
    world = World(seed=1)
    try:
        net = final_project(world, echo=out)
        assert run_session(world, net["menuos"], MENUOS_CONFIG, io.StringIO(script), out) == 0
        assert out.getvalue().endswith("quit - Quit from MenuOS\n")
    finally:
        world.close()
