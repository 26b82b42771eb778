"""MenuOS and the course's final project: a scripted session reproduces the course's transcript
(replyhi, hello, dns, http), the trace shows the DNS query leaving through UDP, IP and ARP, and
unmodified standard-library and dnspython clients work across routers."""

from __future__ import annotations

import http.client
import io
import re
import subprocess
import sys
from typing import Any

import dns.message
import dns.query
import pytest
from apps_support import run

from tuxnet.socket import stdlib
from tuxnet.user.etc import install_base_files
from tuxnet.user.programs.final_project import INDEX_HTML, final_project
from tuxnet.user.programs.http import httpd
from tuxnet.user.programs.menuos import MENUOS_CONFIG, menuos_main, run_session
from tuxnet.user.programs.nettools import mac_text
from tuxnet.world import NSEC_PER_SEC, World


def session(script: str, seed: int = 0) -> tuple[int, str, dict[str, Any]]:
    """Run MenuOS in the final-project network on ``script``: exit status, terminal, nodes."""
    out = io.StringIO()
    world = World(seed=seed)
    net = final_project(world, echo=out)
    status = run_session(world, net["menuos"], MENUOS_CONFIG, io.StringIO(script), out)
    return status, out.getvalue(), net


def test_scripted_session_reproduces_the_course_transcript() -> None:
    status, text, net = session("replyhi\nhello\ndns www.example.com\nhttp http://www.example.com/\nquit\n")
    assert status == 0
    mac = mac_text(net["menuos"].dev("eth0").dev_addr)
    boot, _, rest = text.partition("*     *")
    assert boot == ("Bring up interface:lo\nBring up interface:eth0\nList all interfaces:\n"
                    "interface:lo\nIp Address 127.0.0.1\nDevice lo -> Ethernet 00:00:00:00:00:00\n"
                    f"interface:eth0\nIp Address 10.0.2.15\nDevice eth0 -> Ethernet {mac}\n"
                    "Default gateway 10.0.2.2\n")
    transcript = rest[rest.index("MenuOS>>"):]
    transcript = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", transcript)
    assert transcript == (
        "MenuOS>>replyhi\nreplyhi - Reply hi TCP Service\nPlease input hello...\n"
        "MenuOS>>hello\nhello - Hello TCP Client\n"
        'recv "hello" from 127.0.0.1:PORT\nsend "hi" to 127.0.0.1:PORT\nhi\n'
        "MenuOS>>dns www.example.com\ndns - DNS Query: dns NAME [-t TYPE]\n"
        "www.example.com is an alias for web.example.com.\nweb.example.com has address 10.0.3.80\n"
        "MenuOS>>http http://www.example.com/\nhttp - HTTP Client: http URL\n"
        f"HTTP/1.1 200 OK\n{INDEX_HTML}"
        "MenuOS>>quit\nquit - Quit from MenuOS\n")


def test_help_version_wrong_commands_and_end_of_input() -> None:
    status, text, _ = session("help\nversion\nfly\n\n")
    assert status == 0
    assert "help - Menu List:\nMenu List:\nhelp - Menu List:\nversion - MenuOS V1.0(Based on Linux 3.18.6)\n" in text
    for cmd in ("quit", "replyhi", "hello", "ping", "traceroute", "tracepath", "arping", "tcpdump", "kill", "dns",
                "http", "ifconfig", "route", "arp", "netstat", "ss", "nstat", "ip", "sysctl", "tc", "trace"):
        assert f"\n{cmd} - " in text, cmd
    assert "MenuOS>>fly\nThis is a wrong cmd!\n" in text
    assert text.endswith("MenuOS>>\nMenuOS>>\n")  # an empty line, then end of input ends the shell


def test_a_second_replyhi_and_a_hello_without_one_say_what_failed() -> None:
    """The course's programs print their own errors (``Bind Error,FILE:LINE`` when the port is
    taken, ``Connect Error,FILE:LINE`` when no one listens) and the shell goes on."""
    status, text, _ = session("hello\nreplyhi\nreplyhi\nhello\nquit\n")
    assert status == 0 and "Traceback" not in text
    assert re.search(r"MenuOS>>hello\nhello - Hello TCP Client\nConnect Error,hello\.py:\d+\n", text)
    assert re.search(r"MenuOS>>replyhi\nreplyhi - Reply hi TCP Service\nPlease input hello\.\.\.\n"
                     r"(MenuOS>>)?Bind Error,hello\.py:\d+\n", text)
    assert text.count('recv "hello" from 127.0.0.1:') == 1
    assert text.endswith("hi\nMenuOS>>quit\nquit - Quit from MenuOS\n")


def test_menuos_main_runs_the_shell_on_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdin", io.StringIO("dns -g www\nquit\n"))
    monkeypatch.setattr(sys, "stdout", out)
    assert menuos_main(["--seed", "3"]) == 0
    assert "MenuOS>>dns -g www\n" in out.getvalue()
    assert "www.example.com is an alias for web.example.com\nweb.example.com has address 10.0.3.80\n" in \
        out.getvalue()


def test_menuos_reads_a_script_piped_to_stdin() -> None:
    script = "replyhi\nhello\ndns www.example.com\nhttp http://www.example.com/\nquit\n"
    proc = subprocess.run([sys.executable, "-c", "import sys; from tuxnet.user.programs.menuos import menuos_main; "
                           "sys.exit(menuos_main(sys.argv[1:]))"], input=script, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.index("MenuOS>>hello\nhello - Hello TCP Client\n") < out.index("\nhi\nMenuOS>>dns www.example.com\n")
    assert "web.example.com has address 10.0.3.80\nMenuOS>>http http://www.example.com/\n" in out
    assert "HTTP/1.1 200 OK\n<html>" in out and out.endswith("quit - Quit from MenuOS\n")


def _subsequence(names: list[str], wanted: list[str]) -> bool:
    it = iter(names)
    return all(any(n == w for n in it) for w in wanted)


def test_trace_shows_the_query_leaving_through_udp_ip_and_arp() -> None:
    status, text, _ = session("trace on\ndns www.example.com\ntrace off\nhttp http://www.example.com/\nquit\n")
    assert status == 0
    off = text.index("\ntrace off\n")
    traced = text[text.index("# tracer: function_graph"):off]
    calls = re.findall(r"\|\s+menuos \| (\S+)\s+\|\s+(\w+)\(\)", traced)
    dns_task = [f for task, f in calls if task.startswith("dns-")]
    assert _subsequence(dns_task, ["sys_socketcall", "sys_connect", "ip_route_output_key", "sys_socketcall",
                                   "sys_send", "sys_sendto", "sock_sendmsg", "inet_sendmsg", "udp_sendmsg",
                                   "ip_make_skb", "udp_send_skb", "ip_send_skb", "ip_local_out", "ip_output",
                                   "ip_finish_output2", "__ipv4_neigh_lookup_noref", "__neigh_create",
                                   "neigh_resolve_output", "arp_solicit", "arp_send", "arp_xmit",
                                   "dev_queue_xmit"]), dns_task
    softirq = [f for task, f in calls if task == "<idle>-0"]
    assert _subsequence(softirq, ["arp_rcv", "arp_process", "neigh_update", "dev_queue_xmit",  # the query, released
                                  "ip_rcv", "ip_local_deliver", "udp_rcv", "udp_queue_rcv_skb"])
    assert _subsequence(dns_task, ["arp_send", "sys_poll", "sys_recv", "udp_recvmsg", "sys_close"])
    after = text[off:]
    assert "HTTP/1.1 200 OK" in after and not re.search(r"\|\s+menuos \|", after)  # tracing is off


def test_net_tools_show_the_kernel_state() -> None:
    _, text, net = session("replyhi\ndns www.example.com\nifconfig\nroute\narp\nnetstat -atn\nquit\n")
    gw_mac = mac_text(net["gw"].dev("eth0").dev_addr)
    # net-tools 2.10's layout (tests/apps/test_ifconfig_vs_linux.py compares it with the real tool)
    assert "eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500\n" \
           "        inet 10.0.2.15  netmask 255.255.255.0  broadcast 10.0.2.255\n" \
           f"        ether {mac_text(net['menuos'].dev('eth0').dev_addr)}  txqueuelen 1000  (Ethernet)\n" in text
    assert "lo: flags=73<UP,LOOPBACK,RUNNING>  mtu 65536\n        inet 127.0.0.1  netmask 255.0.0.0\n" \
           "        loop  txqueuelen 1000  (Local Loopback)\n" in text
    assert re.search(r"default +10\.0\.2\.2 +0\.0\.0\.0 +UG +0 +0 +0 eth0", text)  # (no name for it)
    assert re.search(r"10\.0\.2\.0 +0\.0\.0\.0 +255\.255\.255\.0 +U +0 +0 +0 eth0", text)
    assert re.search(rf"10\.0\.2\.2 +ether +{gw_mac} +C +eth0", text)
    assert re.search(r"tcp +0 +0 127\.0\.0\.1:5001 +0\.0\.0\.0:\* +LISTEN", text)


def test_ping_and_traceroute_from_menuos() -> None:
    _, text, _ = session("ping www\ntraceroute -n www.example.com\nquit\n")
    assert "PING www (10.0.3.80) 56(84) bytes of data." in text
    assert "4 packets transmitted, 4 received, 0% packet loss" in text
    assert re.search(r"\n 1  10\.0\.2\.2 .*\n 2  10\.0\.3\.80 ", text)


def test_dnspython_queries_across_the_router() -> None:
    world = World()
    net = final_project(world)
    menuos = net["menuos"]
    menuos.ip_addr_add("eth0", "10.0.2.15/24")
    menuos.ip_route_add("default", via="10.0.2.2")

    @stdlib
    def ask() -> tuple[Any, Any]:
        q = dns.message.make_query("mail.example.com", "A")
        return dns.query.udp(q, "10.0.3.53", timeout=3), dns.query.tcp(q, "10.0.3.53", timeout=3)

    udp, tcp = run(world, menuos, ask)
    assert udp.answer[0][0].address == tcp.answer[0][0].address == "10.0.3.25"


def test_http_client_unmodified_across_two_routers() -> None:
    world = World(seed=5)
    client, server = world.add_host("client"), world.add_host("server")
    r1, r2 = world.add_router("r1"), world.add_router("r2")
    world.connect(client, r1, a_addr="192.168.1.2/24", b_addr="192.168.1.1/24", delay="2ms")
    world.connect(r1, r2, a_addr="172.16.0.1/30", b_addr="172.16.0.2/30", rate="10mbit", delay="10ms")
    world.connect(r2, server, a_addr="192.168.2.1/24", b_addr="192.168.2.80/24", delay="2ms")
    client.ip_route_add("default", via="192.168.1.1")
    r1.ip_route_add("192.168.2.0/24", via="172.16.0.2")
    r2.ip_route_add("192.168.1.0/24", via="172.16.0.1")
    server.ip_route_add("default", via="192.168.2.1")
    install_base_files(client, hosts={"192.168.2.80": ["server.example.net", "server"]})
    page = "".join(f"line {i} of a page that takes several segments\n" for i in range(300))
    server.files["/var/www/index.html"] = page
    server.spawn(httpd)

    @stdlib
    def fetch() -> tuple[Any, ...]:
        conn = http.client.HTTPConnection("server.example.net", timeout=10)
        conn.request("GET", "/index.html")
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return resp.status, resp.getheader("Server"), body, resp.version

    t0 = world.now
    status, server_header, body, version = run(world, client, fetch)
    assert (status, version) == (200, 11) and server_header.startswith("tuxnet-httpd")
    assert body == page.encode()
    assert r1.mib.Ip["ForwDatagrams"] > 10 and r2.mib.Ip["ForwDatagrams"] > 10
    assert world.now - t0 > 3 * 28_000_000  # at least three round trips of 28 ms


def test_ip_and_sysctl_at_the_prompt() -> None:
    """The settings a lesson changes, changed and read back from MenuOS's prompt."""
    status, text, _ = session("sysctl -w net.ipv4.conf.all.rp_filter=1\nsysctl net.ipv4.conf.eth0.rp_filter\n"
                              "ip route get 10.0.3.80\nquit\n")
    assert status == 0
    assert "\nnet.ipv4.conf.all.rp_filter = 1\n" in text and "\nnet.ipv4.conf.eth0.rp_filter = 0\n" in text
    assert "\n10.0.3.80 via 10.0.2.2 dev eth0 src 10.0.2.15 uid 0 \n" in text


class TypedTerminal(io.StringIO):
    """A terminal at which each line is typed after a pause: reading it moves ``clock`` on."""

    def __init__(self, lines: list[tuple[float, str]]) -> None:
        super().__init__()
        self.lines = lines
        self.now = 0.0

    def isatty(self) -> bool:
        return True

    def readline(self, size: int | None = -1) -> str:
        if not self.lines:
            return ""
        pause, line = self.lines.pop(0)
        self.now += pause
        return line

    def clock(self) -> float:
        return self.now


def test_at_a_terminal_the_time_taken_to_type_passes_on_the_machines() -> None:
    # As on the course's QEMU guest: the FIN exchange of the closed HTTP connection is over by the
    # time the user types `ss`, the connection sits in TIME-WAIT, and 60 s later it is gone.
    terminal = TypedTerminal([(1.0, "http http://www.example.com/\n"), (2.0, "ss -tan\n"), (30.0, "ss -tan\n"),
                              (31.0, "ss -tan\n"), (1.0, "quit\n")])
    out = io.StringIO()
    world = World()
    net = final_project(world, echo=out)
    assert run_session(world, net["menuos"], MENUOS_CONFIG, terminal, out, clock=terminal.clock) == 0
    _, *tables = out.getvalue().split("ss - Show sockets: ss -tuan [-i] [-m] [-p] [-o] [-e]\n")
    conn = r"10\.0\.2\.15:\d+ +10\.0\.3\.80:80"
    assert re.search(r"TIME-WAIT +0 +0 +" + conn, tables[0]), tables[0]
    assert re.search(r"TIME-WAIT +0 +0 +" + conn, tables[1]), tables[1]
    assert not re.search(conn, tables[2].partition("MenuOS>>")[0]), tables[2]
    # 65 s of typing passed on the machines, and the commands took their own time besides.
    assert 64 * NSEC_PER_SEC < world.now < 66 * NSEC_PER_SEC


def test_lines_from_a_pipe_follow_one_another_at_once() -> None:
    # A script's session takes only its commands' own time, the same on every run.
    _, first, _ = session("http http://www.example.com/\nss -tan\nquit\n")
    _, second, _ = session("http http://www.example.com/\nss -tan\nquit\n")
    assert first == second
    assert re.search(r"FIN-WAIT-1 +0 +1 +10\.0\.2\.15:\d+ +10\.0\.3\.80:80", first)


def test_net_tools_take_an_interface_and_arp_a_and_refuse_changes_plainly() -> None:
    """ifconfig shows an interface and changes one (its MTU here); arp and route only show."""
    _, text, net = session("ping -c 1 10.0.2.2\nifconfig eth0\nifconfig eth9\nifconfig eth0 mtu 1400\n"
                           "ifconfig eth0\narp -an\narp -d 10.0.2.2\nroute add default gw 10.0.2.3\nroute -n\nquit\n")
    one = text[text.index("MenuOS>>ifconfig eth0\n"):text.index("MenuOS>>ifconfig eth9")]
    assert "eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500\n" in one and "lo: flags" not in one
    # net-tools' words for a device that does not exist
    assert "MenuOS>>ifconfig eth9\nifconfig - Show network interfaces\n" \
           "eth9: error fetching interface information: Device not found\n" in text
    assert "MenuOS>>ifconfig eth0 mtu 1400\nifconfig - Show network interfaces\nMenuOS>>" in text
    assert "eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1400\n" in text
    gw_mac = mac_text(net["gw"].dev("eth0").dev_addr)
    assert f"arp - Show the ARP cache\n? (10.0.2.2) at {gw_mac} [ether] on eth0\nMenuOS>>" in text
    assert "arp: -d 10.0.2.2: this arp only shows; change it with `ip neigh`\n" in text
    assert "route: add default gw 10.0.2.3: this route only shows; change it with `ip route`\n" in text
    assert re.search(r"route -n\nroute - Show the routing table\nKernel IP routing table\n", text)
    # nothing was changed: the gateway is still 10.0.2.2
    assert re.search(r"0\.0\.0\.0 +10\.0\.2\.2 +0\.0\.0\.0 +UG", text)


def test_tcpdump_in_the_background_and_kill() -> None:
    """``tcpdump`` runs as a background job, printing the hello/replyhi exchange on lo as it
    happens; ``kill -INT`` (Ctrl-C's signal) ends it with its counts, plain ``kill`` (SIGTERM) too."""
    status, text, _ = session("tcpdump -n -i lo tcp port 5001\nreplyhi\nhello\nkill -INT 2\n"
                              "tcpdump -n -c 5 udp port 53\ndns www.example.com\nkill 5\n"
                              "kill 2\nkill -s FOO 3\nkill\nkill x\nquit\n")
    assert status == 0
    lines = text.splitlines()
    start = lines.index("MenuOS>>tcpdump -n -i lo tcp port 5001")
    assert lines[start + 2] == "[1] 2"
    assert lines[start + 3:start + 5] == [
        "MenuOS>>tcpdump: verbose output suppressed, use -v[v]... for full protocol decode",
        "listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes"]
    exchange = [line for line in lines if " IP 127.0.0.1." in line]
    assert len(exchange) == 10 and "> 127.0.0.1.5001: Flags [S], " in exchange[0]
    # the lines come as the packets do: the server's "recv" after the data segment and its ACK
    recv = next(i for i, line in enumerate(lines) if line.startswith('recv "hello"'))
    assert "Flags [P.], seq 1:6" in lines[recv - 2] and "Flags [.], ack 6" in lines[recv - 1]
    stop = lines.index("MenuOS>>kill -INT 2")
    # the line it may have been printing ended; on lo the filter passed each frame twice (going out,
    # coming in) and the kernel counted both, though tcpdump printed it once
    assert lines[stop + 2:stop + 6] == ["MenuOS>>", "10 packets captured", "20 packets received by filter",
                                        "0 packets dropped by kernel"]
    # the second job (number 1 again, the first being done) hears the DNS query and its answer on
    # eth0; SIGTERM ends it before its count
    assert "\n[1] 5\n" in text
    assert sum(" > 10.0.3.53.53: " in line or " 10.0.3.53.53 > " in line for line in lines) == 2
    stop = lines.index("MenuOS>>kill 5")
    assert lines[stop + 2:stop + 6] == ["MenuOS>>", "2 packets captured", "2 packets received by filter",
                                        "0 packets dropped by kernel"]
    assert "kill: (2): No such process" in lines
    assert "kill: FOO: invalid signal specification" in lines
    assert "usage: kill [-s SIGNAL | -SIGNAL] PID..." in lines
    assert "kill: failed to parse argument: 'x'" in lines


def test_the_shell_splits_words_runs_jobs_and_hangs_them_up() -> None:
    """Quotes keep a word's spaces, ``&`` (a word, or a word's end) makes any program a job,
    ``kill %N`` names one, pipes and lists are refused with a reason, and at the end of the input
    the jobs still running get SIGHUP (tcpdump printing its counts, as its cleanup does)."""
    status, text, _ = session("ss -tan 'sport = :5001'\nsysctl -a | grep rmem\nping -c 1 10.0.2.2; version\n"
                              "ping -c 2 -i 5 10.0.2.2&\nping -c 1 10.0.3.80\nkill %1\nkill %3\ncat '/etc/hosts\n"
                              "tcpdump -n -i eth0 icmp &\nping -c 1 10.0.3.80\n")
    assert status == 0 and "Traceback" not in text
    lines = text.splitlines()
    at = lines.index("MenuOS>>ss -tan 'sport = :5001'")
    assert lines[at + 2] == "State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess"
    refusal = "menuos: pipes, redirections and lists are a shell's; MenuOS runs one command"
    assert lines[lines.index("MenuOS>>sysctl -a | grep rmem") + 1] == refusal
    assert lines[lines.index("MenuOS>>ping -c 1 10.0.2.2; version") + 1] == refusal
    at = lines.index("MenuOS>>ping -c 2 -i 5 10.0.2.2&")
    assert lines[at + 2] == "[1] 3"
    at = lines.index("MenuOS>>kill %3")
    assert lines[at + 2] == "kill: %3: no such job"
    assert lines[lines.index("MenuOS>>cat '/etc/hosts") + 1] == "menuos: No closing quotation"
    # the ping job sent its first probe while the next ping ran, and went at kill %1 (SIGTERM)
    # before its second; the tcpdump job is [1] again
    assert "64 bytes from 10.0.2.2: icmp_seq=1" in text and "--- 10.0.2.2 ping statistics ---" not in text
    assert "\n[1] 5\n" in text
    assert sum(" ICMP echo re" in line for line in lines) == 2
    assert lines[-3:] == ["2 packets captured", "2 packets received by filter", "0 packets dropped by kernel"]


def test_dns_of_an_address_asks_for_its_pointer_as_host_does() -> None:
    status, text, _ = session("dns 10.0.3.80\ndns 10.0.3.99\ndns -t A 10.0.3.80\nquit\n")
    assert status == 0
    assert ("MenuOS>>dns 10.0.3.80\ndns - DNS Query: dns NAME [-t TYPE]\n"
            "80.3.0.10.in-addr.arpa domain name pointer web.example.com.\n") in text
    assert "Host 99.3.0.10.in-addr.arpa not found: 3(NXDOMAIN)\n" in text
    assert "Host 10.0.3.80 not found: 5(REFUSED)\n" in text  # (asked for as a name: no such zone)


def test_arping_and_tracepath() -> None:
    status, text, _ = session("arping -I eth0 10.0.2.2\ntracepath -n 10.0.3.53\nquit\n")
    assert status == 0
    assert "Sent 4 probes (1 broadcast(s))\nReceived 4 response(s)\n" in text  # four unless told
    assert " 2:  10.0.3.53 " in text and "     Resume: pmtu 1500 hops 2 back 2 \n" in text
