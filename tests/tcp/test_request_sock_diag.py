"""A request socket (a SYN answered, its last ACK not come) as the tools show it: ss -a lists it
in SYN-RECV with its SYN-ACK's timer and retransmissions (``inet_req_diag_fill``), ss without -a
does not (SS_CONN), netstat and /proc/net/tcp show it as ``get_openreq4`` prints it.  The SYN
comes from an address nobody has, so the SYN-ACKs go nowhere."""

from __future__ import annotations

from tcpnet import B_ADDR, TH_SYN, inject, listen_socket, pair, tcp_segment

from tuxnet.user import libc
from tuxnet.user.programs.nettools import netstat
from tuxnet.user.ss import ss_main
from tuxnet.world import NSEC_PER_SEC


def test_a_request_socket_in_ss_netstat_and_proc_net_tcp():
    world, a, b, _ = pair()
    out: dict[str, str] = {}

    def server() -> None:
        listen_socket(B_ADDR, 5001)
        libc.sleep(1.5)  # the SYN at 0, its SYN-ACK at once and again at 1 s
        for name, tool, args in (("ss -tan", ss_main, ["-tan"]), ("ss -tn", ss_main, ["-tn"]),
                                 ("ss -tanoe", ss_main, ["-tanoe"]), ("netstat", netstat, ["-tan"])):
            before = len(b.console)
            libc.waitpid(b.spawn(tool, args, name=name.split()[0]).pid)
            out[name] = "".join(b.console[before:])
        out["proc"] = str(libc.read_file("/proc/net/tcp"))

    b.spawn(server)
    a.spawn(lambda: inject(tcp_segment("10.0.0.99", B_ADDR, 40000, 5001, 1000, 0, TH_SYN), B_ADDR))
    world.run_until(lambda: "proc" in out, timeout=5 * NSEC_PER_SEC)
    assert "SYN-RECV 0      0           10.0.0.2:5001    10.0.0.99:40000" in out["ss -tan"], out["ss -tan"]
    assert "SYN-RECV" not in out["ss -tn"]
    # the SYN came at 30 ms (ARP, then 10 ms of cable) and its SYN-ACK went again at 1.03 s, to wait
    # 2 s: 1.53 s left at 1.5 s, one retransmission; no inode, no shutdown state
    row = next(line for line in out["ss -tanoe"].splitlines() if line.startswith("SYN-RECV"))
    assert row.endswith(" timer:(on,1.530ms,1) ino:0 sk:2"), row  # (the listener is sk:1)
    assert "tcp        0      0 10.0.0.2:5001           10.0.0.99:40000         SYN_RECV   " in out["netstat"]
    line = next(line for line in out["proc"].splitlines() if " 0200000A:1389 6300000A:9C40 " in line)  # 153 ticks
    assert line.split()[3:9] == ["03", "00000000:00000000", "01:00000099", "00000001", "0", "0"], line
    assert line.split()[9:11] == ["0", "0"] and len(line) == 149
