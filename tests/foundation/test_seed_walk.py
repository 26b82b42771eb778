"""The seed article's walk: hello/replyhi over loopback, traced and captured."""

from __future__ import annotations

import hashlib
import subprocess

from scapy.all import IP, TCP, Ether, rdpcap

from conftest import make_lo_host
from tuxnet.trace.capture import Capture
from tuxnet.trace.ftrace import FunctionTracer
from tuxnet.user.programs.hello import hello, replyhi

SEND_CHAIN = ["sys_socketcall", "sys_sendto", "sock_sendmsg", "tcp_sendmsg", "tcp_write_xmit", "tcp_transmit_skb",
              "ip_queue_xmit", "ip_local_out", "dst_output", "ip_output", "ip_finish_output", "ip_finish_output2",
              "dev_queue_xmit", "loopback_xmit", "netif_rx"]
RECV_CHAIN = ["ip_rcv", "ip_rcv_finish", "ip_local_deliver", "ip_local_deliver_finish", "tcp_v4_rcv",
              "tcp_v4_do_rcv", "tcp_recvmsg"]


def _subsequence(needle: list[str], hay: list[str]) -> bool:
    it = iter(hay)
    return all(any(x == y for y in it) for x in needle)


def run_exchange(seed: int = 0, pcap: str | None = None, trace: bool = False):
    world, host = make_lo_host(seed)
    cap = Capture(host, "lo", pcap=pcap) if pcap else None
    host.spawn(replyhi, count=1)
    world.run(until=1000)
    tracer = FunctionTracer(world).start() if trace else None
    client = host.spawn(hello)
    world.run()
    if tracer:
        tracer.stop()
    if cap:
        cap.close()
    return world, host, client, tracer


def test_exchange_prints_what_the_course_prints():
    world, host, client, _ = run_exchange()
    out = host.output().splitlines()
    assert out[0].startswith('recv "hello" from 127.0.0.1:')
    assert out[1].startswith('send "hi" to 127.0.0.1:')
    assert out[2] == "hi"
    assert client.result == b"hi"
    assert host.mib.Tcp["ActiveOpens"] == 1 and host.mib.Tcp["PassiveOpens"] == 1
    assert host.mib.Tcp["CurrEstab"] == 0
    assert host.mib.Ip["InHdrErrors"] == 0


def test_trace_contains_the_seed_send_and_receive_chains_in_order():
    _, _, _, tracer = run_exchange(trace=True)
    called = tracer.called()
    send_at = called.index("tcp_sendmsg")
    assert _subsequence(SEND_CHAIN, called), "send chain missing or out of order"
    assert _subsequence(RECV_CHAIN, called[send_at:]), "receive chain missing or out of order"
    text = tracer.text()
    assert "sys_socketcall() {" in text and "loopback_xmit() {" in text and "netif_rx();" in text


def test_pcap_is_clean_for_tshark_and_scapy(tmp_path, tshark):
    pcap = tmp_path / "hello.pcap"
    run_exchange(pcap=str(pcap))
    fields = subprocess.run(
        [tshark, "-r", str(pcap), "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
         "-T", "fields", "-e", "ip.checksum.status", "-e", "tcp.checksum.status", "-e", "tcp.flags.str",
         "-e", "tcp.len", "-e", "_ws.expert.severity", "-e", "_ws.malformed"],
        capture_output=True, text=True, check=True).stdout.splitlines()
    rows = [line.split("\t") for line in fields]
    assert len(rows) == 10
    for ip_ok, tcp_ok, _, _, severity, malformed in rows:
        assert ip_ok == "1" and tcp_ok == "1", rows  # 1 = good (0 bad, 2 unverified)
        assert malformed == ""
        # chat (SYN) and note (FIN) items only: no expert warning (0x600000) or error (0x800000)
        assert all(int(x) < 0x600000 for x in severity.split(",") if x), rows
    flags = [r[2].replace("·", "") for r in rows]
    assert flags[0] == "S" and flags[1] == "AS" and flags[2] == "A"
    data = [(r[2], int(r[3])) for r in rows if int(r[3]) > 0]
    assert [n for _, n in data] == [5, 2]
    assert sum(1 for f in flags if "F" in f) == 2
    # scapy, independently, decodes our segments to the fields we meant
    pkts = rdpcap(str(pcap))
    syn = pkts[0]
    assert syn.haslayer(Ether) and syn[IP].src == "127.0.0.1" and syn[IP].ttl == 64 and syn[IP].flags == "DF"
    assert syn[TCP].dport == 5001 and syn[TCP].flags == "S"
    opts = dict((k, v) for k, v in syn[TCP].options)
    assert opts["MSS"] == 65495 and opts["WScale"] == 10 and "SAckOK" in opts and opts["Timestamp"][1] == 0
    hello_seg = next(p for p in pkts if bytes(p[TCP].payload) == b"hello")
    assert hello_seg[TCP].seq == syn[TCP].seq + 1 and hello_seg[TCP].flags == "PA"
    assert hello_seg[IP].len == 20 + 32 + 5


def test_same_seed_same_trace_and_pcap(tmp_path):
    a, b = tmp_path / "a.pcap", tmp_path / "b.pcap"
    _, _, _, ta = run_exchange(seed=7, pcap=str(a), trace=True)
    _, _, _, tb = run_exchange(seed=7, pcap=str(b), trace=True)
    assert ta.text() == tb.text()
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    c = tmp_path / "c.pcap"
    run_exchange(seed=8, pcap=str(c))
    assert c.read_bytes() != a.read_bytes()


def test_tracing_off_installs_nothing():
    import sys

    world, host = make_lo_host()
    tracer = FunctionTracer(world)
    assert sys.getprofile() is None
    tracer.start()
    assert sys.getprofile() is not None
    tracer.stop()
    assert sys.getprofile() is None
