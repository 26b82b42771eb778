"""The tuxnet command: demo, run, menuos, bench — as a user types them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def tuxnet(*args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tuxnet.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def test_demo_prints_the_programs_and_the_path(tmp_path):
    pcap = tmp_path / "lo.pcap"
    r = tuxnet("demo", "--tcpdump", "--pcap", str(pcap))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert 'recv "hello" from 127.0.0.1:' in out and '\nhi\n' in out
    assert "Flags [S], seq" in out and "Flags [F.]" in out
    for name in ("sys_socketcall() {", "tcp_sendmsg() {", "ip_queue_xmit() {", "loopback_xmit() {",
                 "netif_rx();", "tcp_v4_rcv() {", "tcp_recvmsg() {"):
        assert name in out, name
    assert pcap.stat().st_size > 24


@pytest.mark.parametrize("args", [("demo", "--pcap"), ("demo", "--trace-file"), ("demo", "--chrome"),
                                  ("bench", "hello_replyhi", "--json"), ("bench", "hello_replyhi", "--profile")])
def test_an_output_file_that_cannot_be_written_is_refused_before_anything_runs(tmp_path, args):
    # Not a traceback after the run (for `tuxnet bench --json`, after many minutes): argparse's
    # error at once, naming the file, and nothing run.
    missing = tmp_path / "no-such-dir" / "out"
    r = tuxnet(*args, str(missing), timeout=30)
    assert r.returncode == 2, r.stderr
    assert f"can't open '{missing}'" in r.stderr and "No such file or directory" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


@pytest.mark.parametrize(("args", "message"), [(("--repeat", "0"), "--repeat must be at least 1"),
                                              (("--warmup", "-1"), "--warmup must be 0 or more"),
                                              (("--scale", "-1"), "--scale must be more than 0"),
                                              (("--scale", "nan"), "--scale must be more than 0")])
def test_bench_refuses_run_counts_and_scales_that_make_no_figure(args, message):
    r = tuxnet("bench", "hello_replyhi", *args, timeout=30)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert r.stdout == ""


def test_demo_writes_the_trace_and_its_chrome_json_where_asked(tmp_path):
    trace, chrome = tmp_path / "trace.txt", tmp_path / "trace.json"
    r = tuxnet("demo", "--trace-file", str(trace), "--chrome", str(chrome))
    assert r.returncode == 0, r.stderr
    assert "tcp_sendmsg() {" in trace.read_text()
    events = json.loads(chrome.read_text())["traceEvents"]
    assert any(e.get("name") == "tcp_v4_rcv" for e in events)


def test_run_topology_file():
    r = tuxnet("run", "examples/two_routers.toml")
    assert r.returncode == 0, r.stderr
    assert "3 packets transmitted, 3 received, 0% packet loss" in r.stdout
    assert " 2  10.0.12.2 (10.0.12.2)" in r.stdout
    route = ["10.0.1.1", "10.0.12.1", "10.0.2.254", "10.0.2.1", "10.0.2.1", "10.0.12.2", "10.0.1.254", "10.0.1.1"]
    assert "RR: \t" + "\n\t".join(route) + "\n\n" in r.stdout and "(same route)" in r.stdout


def test_run_the_path_mtu_example():
    r = tuxnet("run", "examples/path_mtu.toml")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert " 1?: [LOCALHOST]                      pmtu 1500" in lines
    assert any(line.startswith(" 2:  10.0.1.254 ") and line.endswith("pmtu 1000") for line in lines)
    assert "     Resume: pmtu 1000 hops 3 back 3 " in lines
    assert "    cache expires 599sec mtu 1000 " in lines


def test_run_reports_the_bad_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[host]]\nname = "a"\n\n[[link]]\na = "a"\nb = "nowhere"\n')
    r = tuxnet("run", str(bad))
    assert r.returncode == 1
    assert f"{bad}:6:" in r.stdout + r.stderr and "nowhere" in r.stdout + r.stderr


def test_run_the_vlan_lab_example():
    """Two VLANs on one switch and a router on a stick, made by the hosts' ``ip`` lists: h2's
    tcpdump sees VLAN 10's pings tagged, and h1 reaches h3 in VLAN 20 through r."""
    r = tuxnet("run", "examples/vlan_lab.toml")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.count("ethertype 802.1Q (0x8100), length 102: vlan 10, p 0, ethertype IPv4 (0x0800)") == 4
    assert "64 bytes from 10.20.0.3: icmp_seq=1 ttl=63" in out and "2 received" in out
    assert "eth0.20@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP>" in out and "vlan protocol 802.1Q id 20" in out


def test_run_reports_a_bad_ip_command_by_its_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[host]]\nname = "a"\nip = ["link add link eth0 name v type vlan id 5000"]\n\n'
                   '[[switch]]\nname = "sw"\n\n[[link]]\na = "a"\nb = "sw"\n')
    r = tuxnet("run", str(bad))
    assert r.returncode == 1
    assert f"{bad}:3: ip 'link add link eth0 name v type vlan id 5000': Error: 8021q: Invalid VLAN id." in (
        r.stdout + r.stderr)


def test_menuos_scripted_session():
    script = "replyhi\nhello\ndns www.example.com\nhttp http://www.example.com/\nquit\n"
    r = tuxnet("menuos", stdin=script)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "MenuOS>>" in out and "\nhi\n" in out
    assert "10.0.3.80" in out and "200 OK" in out and "Hello from www.example.com" in out


def test_bench_profile_writes_statistics_of_the_kernel_path(tmp_path):
    import pstats

    stats_file = tmp_path / "hello.pstats"
    r = tuxnet("bench", "hello_replyhi", "--scale", "0.05", "--profile", str(stats_file))
    assert r.returncode == 0, r.stderr
    assert "exchanges/s under cProfile" in r.stdout and "tottime" in r.stdout
    functions = {f[2] for f in pstats.Stats(str(stats_file)).stats}
    assert {"tcp_v4_rcv", "ip_rcv", "__tcp_transmit_skb", "loopback_xmit"} <= functions
    r = tuxnet("bench", "hello_replyhi", "udp_request_response", "--profile", str(stats_file))
    assert r.returncode == 2 and "--profile takes exactly one benchmark" in r.stderr


def test_bench_bytecodes_counts_the_same_each_run_and_names_the_kernel_path():
    """``--bytecodes`` counts what each function executes: the same count twice (a simulation
    is deterministic), per request, with the UDP path's own functions and files in the lists."""
    first = tuxnet("bench", "udp_request_response", "--scale", "0.01", "--bytecodes")
    second = tuxnet("bench", "udp_request_response", "--scale", "0.01", "--bytecodes")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    head, files, functions = first.stdout.split("\n\n")
    assert head.startswith("udp_request_response: ") and "bytecodes per unit of work" in head and "200 req" in head
    assert "net/ipv4/udp.py" in files and "net/socket.py" in files
    for name in ("udp_sendmsg", "udp_rcv", "udp_recvmsg", "ip_rcv"):
        assert f"  {name} (" in functions, name
    shares = [float(line.split("%")[0]) for line in functions.splitlines()[1:]]
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 100
    r = tuxnet("bench", "hello_replyhi", "udp_request_response", "--bytecodes")
    assert r.returncode == 2 and "--bytecodes takes exactly one benchmark" in r.stderr


def test_bench_quick_run_writes_json(tmp_path):
    report = tmp_path / "bench.json"
    r = tuxnet("bench", "hello_replyhi", "udp_request_response", "--repeat", "1", "--scale", "0.05",
               "--json", str(report))
    assert r.returncode == 0, r.stderr
    assert "hello_replyhi" in r.stdout and "exchanges/s" in r.stdout
    data = json.loads(report.read_text())
    assert data["results"]["hello_replyhi"]["median"] > 0
    assert data["machine"]["cores"] >= 1
    # The machine's speed, read before and after the runs, in the JSON and under the machine line.
    before, after = data["machine"]["speed_check_ms"]
    assert 0 < before < 60_000 and 0 < after < 60_000
    line = r.stdout.splitlines()[1]
    assert line == (f"speed check (a fixed pure-Python loop; more is slower): {before:.0f} ms before, "
                    f"{after:.0f} ms after")


def test_bench_warmup_runs_are_not_counted(tmp_path):
    report = tmp_path / "bench.json"
    r = tuxnet("bench", "udp_request_response", "--warmup", "2", "--repeat", "1", "--scale", "0.01",
               "--json", str(report))
    assert r.returncode == 0, r.stderr
    assert "(runs: 1, after 2 warm-up)" in r.stdout
    assert r.stderr.count("udp_request_response warm-up") == 2 and "udp_request_response run 1/1" in r.stderr
    data = json.loads(report.read_text())
    assert data["warmup"] == 2 and len(data["results"]["udp_request_response"]["runs"]) == 1


def test_bench_scale_prints_each_size_with_its_own_peak_memory(tmp_path):
    report = tmp_path / "bench.json"
    r = tuxnet("bench", "scale_dns_http", "--repeat", "1", "--scale", "0.01", "--json", str(report))
    assert r.returncode == 0, r.stderr
    run = json.loads(report.read_text())["results"]["scale_dns_http"]["runs"][0]["by_hosts"]["10"]
    assert run["peak_scope"] == "run" and run["events"] > 0
    assert 0 < run["rss_start_MB"] <= run["peak_MB"]
    assert (f"      10 hosts {run['value']:>10,.2f} s wall, {run['events_per_s']:>8,.0f} events/s, "
            f"peak RSS {run['peak_MB']:,.0f} MB ({run['rss_start_MB']:,.0f} MB when it started)"
            ) in r.stdout.splitlines()


def test_scale_run_peak_is_the_runs_own():
    """The resident peak a size reports is its own run's, not what the process reached before."""
    import gc
    import resource

    from tuxnet.benchmarks import scale_run

    big = bytearray(400_000_000)
    big[::4096] = bytes(len(range(0, len(big), 4096)))  # touch every page: 400 MB resident
    process_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6
    del big
    gc.collect()  # PyPy frees it only now
    result = scale_run(10)
    if result["peak_scope"] != "run":
        pytest.skip("this kernel does not let a process reset its peak RSS (/proc/self/clear_refs)")
    assert result["rss_start_MB"] <= result["peak_MB"] < process_peak - 300


def test_bench_linux_does_the_course_exchange_as_the_ceiling(tmp_path):
    """``linux_hello_replyhi`` runs the same exchange on this machine's kernel (C programs in a
    namespace of their own, removed afterwards); the table sets tuxnet's rate beside it."""
    from tuxnet.tapnet import netns_unavailable

    report = tmp_path / "bench.json"
    r = tuxnet("bench", "hello_replyhi", "linux_hello_replyhi", "--repeat", "1", "--scale", "0.05",
               "--json", str(report))
    assert r.returncode == 0, r.stderr
    linux = json.loads(report.read_text())["results"]["linux_hello_replyhi"]
    reason = netns_unavailable()
    if reason:
        assert linux["skipped"] == reason
        pytest.skip(reason)
    tux = json.loads(report.read_text())["results"]["hello_replyhi"]["median"]
    assert linux["median"] > 1000 and linux["unit"] == "exchanges/s"
    line = next(x for x in r.stdout.splitlines() if x.lstrip().startswith("hello_replyhi") and "Linux" in x)
    assert line.endswith(f"{tux / linux['median']:.3f} of Linux")
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "tuxnet-hello-" not in left


def test_against_linux_ratios_are_fractions_of_the_kernels_figure():
    from tuxnet.benchmarks import against_linux

    results = {"hello_replyhi": {"median": 1500.0, "unit": "exchanges/s"},
               "linux_hello_replyhi": {"median": 15000.0, "unit": "exchanges/s"},
               "tap_ping_rtt": {"median": 0.04, "unit": "ms"}, "veth_ping_rtt": {"median": 0.005, "unit": "ms"},
               "tap_ping_rtt_spaced": {"median": 0.3, "unit": "ms"},
               "veth_ping_rtt_spaced": {"median": None, "unit": "", "skipped": "needs root"}}
    lines = against_linux(results)
    assert len(lines) == 3  # only pairs with both figures
    assert lines[1].split()[0] == "hello_replyhi" and lines[1].endswith("0.100 of Linux")
    assert lines[2].split()[0] == "tap_ping_rtt" and lines[2].endswith("0.125 of Linux")  # lower RTT is better
    assert against_linux({}) == []


def test_run_the_icmp_redirect_example():
    r = tuxnet("run", "examples/icmp_redirect.toml")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("From 10.0.1.254: icmp_seq=") == 2 and "Redirect Host(New nexthop: 10.0.1.253)" in r.stdout
    assert "3 packets transmitted, 3 received, 0% packet loss" in r.stdout
    assert "10.0.3.2 via 10.0.1.253 dev eth0 src 10.0.1.1 uid 0 \n    cache <redirected> expires 299sec \n" in r.stdout
    assert "6 packets captured\n6 packets received by filter\n0 packets dropped by kernel\n" \
        "net.ipv4.conf.eth0.send_redirects = 1\n" in r.stdout
    # tcpdump on r1: a request in, the redirect back to a, the request out again by the same device
    dumped = [line[16:] for line in r.stdout.split("== r1 ==\n")[1].splitlines()[2:5]]
    assert dumped == ["IP 10.0.1.1 > 10.0.3.2: ICMP echo request, id 1, seq 1, length 64",
                      "IP 10.0.1.254 > 10.0.1.1: ICMP redirect 10.0.3.2 to host 10.0.1.253, length 92",
                      "IP 10.0.1.1 > 10.0.3.2: ICMP echo request, id 1, seq 1, length 64"]


def test_the_issues_targets_are_checked_against_the_medians_at_full_scale():
    from tuxnet.benchmarks import check_targets, targets_lines

    scale_run = {"by_hosts": {10: {"peak_MB": 40.0}, 10000: {"peak_MB": 700.0}}}
    results = {"loopback_bulk": {"median": 1_150.5, "unit": "MB/s"},
               "cable_bulk_10g": {"median": 49.9, "unit": "MB/s"},
               "hello_replyhi": {"median": None, "unit": "", "skipped": "failed"},
               "scale_dns_http": {"median": 57.85, "unit": "s wall for 10000 hosts", "runs": [scale_run]},
               "udp_request_response": {"median": 16_000.0, "unit": "req/s"}}
    targets = check_targets(results, 1.0)
    assert list(targets) == ["loopback_bulk", "cable_bulk_10g", "scale_dns_http"]  # ran, and have one
    assert targets["loopback_bulk"] == {"op": ">=", "bound": 1_000.0, "met": True}
    assert not targets["cable_bulk_10g"]["met"]
    assert targets["scale_dns_http"]["met"] and targets["scale_dns_http"]["peak_MB"] == 700.0
    assert targets_lines(results, targets) == [
        "the issue's targets (2 cores, wall clock, full workloads):",
        "  loopback_bulk              1,150.50 MB/s >= 1,000: met",
        "  cable_bulk_10g                49.90 MB/s >= 50: missed",
        "  scale_dns_http                57.85 s wall for 10000 hosts < 60, peak RSS 700 MB < 4,000 MB: met"]
    # Too much memory misses the scale target however fast the run.
    scale_run["by_hosts"][10000]["peak_MB"] = 4_100.0
    assert not check_targets(results, 1.0)["scale_dns_http"]["met"]
    # A smaller workload is not what the targets are for.
    assert check_targets(results, 0.1) == {} and targets_lines(results, {}) == []


def test_the_table_says_when_the_machines_speed_changed_during_the_run():
    from tuxnet.benchmarks import format_table

    report = {"machine": {"cpu": "x", "cores": 2, "implementation": "CPython", "python": "3.11",
                          "speed_check_ms": [65.0, 100.0]}, "repeat": 3,
              "results": {"udp_request_response": {"median": 16_000.0, "unit": "req/s", "runs": [{}]}}}
    lines = format_table(report).splitlines()
    assert lines[2] == ("  the machine's speed changed by 54 % during the run: its figures compare only with "
                        "runs at the same speed")
    report["machine"]["speed_check_ms"] = [70.0, 65.0]  # within the loop's own jitter
    assert "changed" not in format_table(report)


def test_run_the_iperf_example():
    r = tuxnet("run", "examples/iperf_lossy_link.toml")
    assert r.returncode == 0, r.stderr
    client, _, server = r.stdout.partition("== b ==\n")
    whole = r"\[  1\] 0\.0000-(\d+\.\d+) sec +([\d.]+) MBytes +([\d.]+) Mbits/sec\n"
    c_end, c_amount, _ = re.findall(whole, client)[-1]  # (after the first interval's line)
    (s_end, s_amount, s_rate), = re.findall(whole, server)
    assert c_amount == s_amount and 10 <= float(c_end) <= float(s_end)
    # 1 % loss each way at 20 ms: CUBIC keeps well under the link's 20 Mbit/s, recovering with SACK
    assert 2 < float(s_rate) < 15
    assert int(re.search(r"TcpRetransSegs +(\d+)", client)[1]) > 10
    assert int(re.search(r"TcpExtTCPSackRecovery +(\d+)", client)[1]) > 5


def test_run_the_netem_example():
    """tc's netem on both hosts: the round trip ping sees (80 ms, give or take a's jitter, whose
    normal table reaches 4 sigma either way: 40-120 ms), what iperf gets through, and the frames
    netem lost in tc -s."""
    r = tuxnet("run", "examples/netem_wan.toml")
    assert r.returncode == 0, r.stderr
    rtt = re.search(r"rtt min/avg/max/mdev = ([\d.]+)/([\d.]+)/([\d.]+)/", r.stdout)
    assert 40 < float(rtt[1]) <= float(rtt[2]) <= float(rtt[3]) < 121
    assert "qdisc netem 8001: root refcnt 2 limit 1000 delay 40ms  10ms loss 0.5%" in r.stdout
    dropped = int(re.search(r"dropped (\d+),", r.stdout)[1])
    sent = int(re.search(r"Sent \d+ bytes (\d+) pkt", r.stdout)[1])
    assert 0 < dropped < sent / 50 and re.search(r"0\.0000-1\d\.\d+ sec +[\d.]+ MBytes", r.stdout)


def test_run_the_web_lab_example():
    """The course's DNS and HTTP labs on one network: the name through named's zone (an alias),
    curl's fetch through the router, its whole TCP connection in the client's tcpdump, and the
    server's reply, head and body, in one segment."""
    r = tuxnet("run", "examples/web_lab.toml")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "web.lab.test is an alias for www.lab.test.\nwww.lab.test has address 10.0.2.80\n" in out
    assert "* Connected to www.lab.test (10.0.2.80) port 80 (#0)\n> GET / HTTP/1.1\n> Host: www.lab.test\n" in out
    assert "\n< HTTP/1.1 200 OK\n" in out and "\n<h1>Hello from www.lab.test</h1>\n" in out
    assert "34559*- 2/0/0 CNAME www.lab.test., A 10.0.2.80 (64)" in out
    assert "Flags [P.], seq 1:176, ack 77, win 64, options" in out and "length 175: HTTP: HTTP/1.1 200 OK" in out
    assert "16 packets captured" in out
    assert "\nweb.lab.test.\t\t300\tIN\tCNAME\twww.lab.test.\nwww.lab.test.\t\t300\tIN\tA\t10.0.2.80\n" in out
    assert re.search(r"LISTEN 0 +511 +0\.0\.0\.0:80 ", out)


def test_run_the_dns_recursion_example():
    """A recursive named walks the hierarchy for the client (root, priming it alongside, test. and
    lab.test., then far.test. for the alias's target; without RD, with CD but for the priming
    query, and asking each zone
    only for the next label's NS records, as BIND 9.18 does), and answers the second question
    from its cache with the TTL two seconds lower and no packet upstream; then the client's dig
    +trace makes the same walk itself."""
    r = tuxnet("run", "examples/dns_recursion.toml")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    first = "web.lab.test.\t\t300\tIN\tCNAME\twww.far.test.\nwww.far.test.\t\t300\tIN\tA\t10.0.2.81\n"
    assert first + first.replace("300", "298") in out
    asked = re.findall(r"IP 10\.0\.2\.53\.\d+ > (10\.0\.2\.\d+)\.53: \d+(%?) \[1au\] (\S+ \S+) ", out)
    assert asked == [("10.0.2.10", "%", "NS? test."), ("10.0.2.10", "", "NS? ."), ("10.0.2.11", "%", "NS? lab.test."),
                     ("10.0.2.12", "%", "A? web.lab.test."), ("10.0.2.11", "%", "NS? far.test."),
                     ("10.0.2.12", "%", "A? www.far.test.")]
    assert re.search(r"10\.0\.2\.53\.53 > 10\.0\.1\.1\.\d+: \d+ 2/0/1 CNAME www\.far\.test\., A 10\.0\.2\.81", out)
    assert len(re.findall(r"> 10\.0\.2\.53\.53: \d+\+ \[1au\] A\? web\.lab\.test\.", out)) == 2
    assert "16 packets captured" in out
    # the client's own walk down: dig +trace
    steps = re.findall(r"(?m)^(\S+)\t+\d+\tIN\t(NS|A)\t(\S+)\n;; Received \d+ bytes from ([\d.]+)#53\((\S+)\)", out)
    assert steps == [(".", "NS", "a.root-servers.", "10.0.2.53", "10.0.2.53"),
                     ("test.", "NS", "ns.nic.test.", "10.0.2.10", "a.root-servers"),
                     ("lab.test.", "NS", "ns1.lab.test.", "10.0.2.11", "ns.nic.test"),
                     ("lab.test.", "NS", "ns1.lab.test.", "10.0.2.12", "ns1.lab.test")]
    # the last step's answer, then its authority section (the question had no RD)
    assert "\nwww.lab.test.\t\t300\tIN\tA\t10.0.2.80\nlab.test.\t\t300\tIN\tNS\tns1.lab.test.\n" in out


def test_run_the_dns_transfer_example():
    """A secondary takes its zone from the primary by a transfer (the SOA query, then AXFR over
    TCP, in its tcpdump) and answers for it with authority; the primary refuses the client's
    transfer, the secondary lets host -l list its copy."""
    r = tuxnet("run", "examples/dns_transfer.toml")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert ";; flags: qr aa; QUERY: 1, ANSWER: 2, AUTHORITY: 2, ADDITIONAL: 3" in out
    assert "www.lab.test.\t\t300\tIN\tA\t10.0.2.80\n" in out
    assert "lab.test AXFR\n; (1 server found)\n;; global options: +cmd\n; Transfer failed.\n" in out
    assert "lab.test name server ns2.lab.test.\nns1.lab.test has address 10.0.2.53\n" in out
    assert re.search(r"10\.0\.2\.54\.\d+ > 10\.0\.2\.53\.53: \d+ SOA\? lab\.test\. ", out)
    assert re.search(r"length 28 \d+ AXFR\? lab\.test\. \(26\)", out)
    assert re.search(r"\d+\*- 8/0/0 SOA, NS ns1\.lab\.test\., NS ns2\.lab\.test\., .*, SOA \(209\)", out)
