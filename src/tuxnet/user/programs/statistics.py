"""``netstat -s`` (net-tools' statistics.c): the counters of ``/proc/net/snmp`` and
``/proc/net/netstat``, group by group in the files' order, each a sentence where net-tools has one.

Each known counter is printed always, only when not 0, never (settings: ``DefaultTTL``, the
``Rto*``), or in one of ICMP's histograms (8 columns in, under its title, when not 0).  A counter
net-tools has no sentence for is printed as ``Name: value`` when not 0, indented as the line before
it was; so are the groups it has no table for (``IcmpMsg``, ``UdpLite``, ``IpExt``).  ``-t``, ``-u``
and ``-w`` keep the tables of TCP (Tcp, TcpExt), UDP (Udp) and raw IP (Ip, Icmp) and drop the other
tables; the groups without one stay.  The sentences, and which counters print when, were read off
net-tools 2.10's ``netstat -s`` given each counter in turn (``tests/apps/test_app_netstat.py``
checks them against this machine's netstat reading the same files).
"""

from __future__ import annotations

from tuxnet.kernel.sched import current
from tuxnet.net.ipv4.proc import netstat_seq_show, snmp_seq_show
from tuxnet.user import libc

__all__ = ["STATISTICS", "netstat_statistics"]

NEVER, ALWAYS, NONZERO, IN_HISTOGRAM, OUT_HISTOGRAM = range(5)
_INDENT = {NEVER: 4, ALWAYS: 4, NONZERO: 4, IN_HISTOGRAM: 8, OUT_HISTOGRAM: 8}
_TITLES = {IN_HISTOGRAM: "ICMP input histogram:", OUT_HISTOGRAM: "ICMP output histogram:"}
# the tables -t, -u and -w keep
_SELECTED_BY = {"t": ("Tcp", "TcpExt"), "u": ("Udp",), "w": ("Ip", "Icmp")}

STATISTICS: dict[str, dict[str, tuple[int, str]]] = {
    "Ip": {
        "DefaultTTL": (NEVER, ""),
        "InReceives": (ALWAYS, "{} total packets received"),
        "InHdrErrors": (NONZERO, "{} with invalid headers"),
        "InAddrErrors": (NONZERO, "{} with invalid addresses"),
        "ForwDatagrams": (ALWAYS, "{} forwarded"),
        "InUnknownProtos": (NONZERO, "{} with unknown protocol"),
        "InDiscards": (ALWAYS, "{} incoming packets discarded"),
        "InDelivers": (ALWAYS, "{} incoming packets delivered"),
        "OutRequests": (ALWAYS, "{} requests sent out"),
        "OutDiscards": (NONZERO, "{} outgoing packets dropped"),
        "OutNoRoutes": (NONZERO, "{} dropped because of missing route"),
        "ReasmTimeout": (NONZERO, "{} fragments dropped after timeout"),
        "ReasmReqds": (NONZERO, "{} reassemblies required"),
        "ReasmOKs": (NONZERO, "{} packets reassembled ok"),
        "ReasmFails": (NONZERO, "{} packet reassemblies failed"),
        "FragOKs": (NONZERO, "{} outgoing packets fragmented ok"),
        "FragFails": (NONZERO, "{} outgoing packets failed fragmentation"),
        "FragCreates": (NONZERO, "{} fragments created"),
    },
    "Icmp": {
        "InMsgs": (ALWAYS, "{} ICMP messages received"),
        "InErrors": (ALWAYS, "{} input ICMP message failed"),
        "InDestUnreachs": (IN_HISTOGRAM, "destination unreachable: {}"),
        "InTimeExcds": (IN_HISTOGRAM, "timeout in transit: {}"),
        "InParmProbs": (IN_HISTOGRAM, "wrong parameters: {}"),
        "InSrcQuenchs": (IN_HISTOGRAM, "source quenches: {}"),
        "InRedirects": (IN_HISTOGRAM, "redirects: {}"),
        "InEchos": (IN_HISTOGRAM, "echo requests: {}"),
        "InEchoReps": (IN_HISTOGRAM, "echo replies: {}"),
        "InTimestamps": (IN_HISTOGRAM, "timestamp request: {}"),
        "InTimestampReps": (IN_HISTOGRAM, "timestamp reply: {}"),
        "InAddrMasks": (IN_HISTOGRAM, "address mask request: {}"),
        "InAddrMaskReps": (IN_HISTOGRAM, "address mask replies: {}"),
        "OutMsgs": (ALWAYS, "{} ICMP messages sent"),
        "OutErrors": (ALWAYS, "{} ICMP messages failed"),
        "OutDestUnreachs": (OUT_HISTOGRAM, "destination unreachable: {}"),
        "OutTimeExcds": (OUT_HISTOGRAM, "time exceeded: {}"),
        "OutParmProbs": (OUT_HISTOGRAM, "wrong parameters: {}"),
        "OutSrcQuenchs": (OUT_HISTOGRAM, "source quench: {}"),
        "OutRedirects": (OUT_HISTOGRAM, "redirect: {}"),
        "OutEchos": (OUT_HISTOGRAM, "echo requests: {}"),
        "OutEchoReps": (OUT_HISTOGRAM, "echo replies: {}"),
        "OutTimestamps": (OUT_HISTOGRAM, "timestamp requests: {}"),
        "OutTimestampReps": (OUT_HISTOGRAM, "timestamp replies: {}"),
        "OutAddrMasks": (OUT_HISTOGRAM, "address mask requests: {}"),
        "OutAddrMaskReps": (OUT_HISTOGRAM, "address mask replies: {}"),
    },
    "Tcp": {
        "RtoAlgorithm": (NEVER, ""),
        "RtoMin": (NEVER, ""),
        "RtoMax": (NEVER, ""),
        "MaxConn": (NEVER, ""),
        "ActiveOpens": (ALWAYS, "{} active connection openings"),
        "PassiveOpens": (ALWAYS, "{} passive connection openings"),
        "AttemptFails": (ALWAYS, "{} failed connection attempts"),
        "EstabResets": (ALWAYS, "{} connection resets received"),
        "CurrEstab": (ALWAYS, "{} connections established"),
        "InSegs": (ALWAYS, "{} segments received"),
        "OutSegs": (ALWAYS, "{} segments sent out"),
        "RetransSegs": (ALWAYS, "{} segments retransmitted"),
        "InErrs": (ALWAYS, "{} bad segments received"),
        "OutRsts": (ALWAYS, "{} resets sent"),
    },
    "Udp": {
        "InDatagrams": (ALWAYS, "{} packets received"),
        "NoPorts": (ALWAYS, "{} packets to unknown port received"),
        "InErrors": (ALWAYS, "{} packet receive errors"),
        "OutDatagrams": (ALWAYS, "{} packets sent"),
        "RcvbufErrors": (ALWAYS, "{} receive buffer errors"),
        "SndbufErrors": (ALWAYS, "{} send buffer errors"),
    },
    "TcpExt": {
        "SyncookiesSent": (NONZERO, "{} SYN cookies sent"),
        "SyncookiesRecv": (NONZERO, "{} SYN cookies received"),
        "SyncookiesFailed": (NONZERO, "{} invalid SYN cookies received"),
        "EmbryonicRsts": (NONZERO, "{} resets received for embryonic SYN_RECV sockets"),
        "PruneCalled": (NONZERO, "{} packets pruned from receive queue because of socket buffer overrun"),
        "RcvPruned": (NONZERO, "{} packets pruned from receive queue"),
        "OfoPruned": (NONZERO, "{} packets dropped from out-of-order queue because of socket buffer overrun"),
        "OutOfWindowIcmps": (NONZERO, "{} ICMP packets dropped because they were out-of-window"),
        "LockDroppedIcmps": (NONZERO, "{} ICMP packets dropped because socket was locked"),
        "TW": (NONZERO, "{} TCP sockets finished time wait in fast timer"),
        "TWRecycled": (NONZERO, "{} time wait sockets recycled by time stamp"),
        "PAWSActive": (NONZERO, "{} active connections rejected because of time stamp"),
        "PAWSEstab": (NONZERO, "{} packets rejected in established connections because of timestamp"),
        "DelayedACKs": (NONZERO, "{} delayed acks sent"),
        "DelayedACKLocked": (NONZERO, "{} delayed acks further delayed because of locked socket"),
        "DelayedACKLost": (NONZERO, "Quick ack mode was activated {} times"),
        "ListenOverflows": (NONZERO, "{} times the listen queue of a socket overflowed"),
        "ListenDrops": (NONZERO, "{} SYNs to LISTEN sockets dropped"),
        "TCPHPHits": (ALWAYS, "{} packet headers predicted"),
        "TCPPureAcks": (NONZERO, "{} acknowledgments not containing data payload received"),
        "TCPHPAcks": (NONZERO, "{} predicted acknowledgments"),
        "TCPRenoRecovery": (NONZERO, "{} times recovered from packet loss due to fast retransmit"),
        "TCPSACKReorder": (NONZERO, "Detected reordering {} times using SACK"),
        "TCPRenoReorder": (NONZERO, "Detected reordering {} times using reno fast retransmit"),
        "TCPTSReorder": (NONZERO, "Detected reordering {} times using time stamp"),
        "TCPFullUndo": (NONZERO, "{} congestion windows fully recovered without slow start"),
        "TCPPartialUndo": (NONZERO, "{} congestion windows partially recovered using Hoe heuristic"),
        "TCPLossUndo": (NONZERO, "{} congestion windows recovered without slow start after partial ack"),
        "TCPRenoFailures": (NONZERO, "{} timeouts after reno fast retransmit"),
        "TCPLossFailures": (NONZERO, "{} timeouts in loss state"),
        "TCPFastRetrans": (NONZERO, "{} fast retransmits"),
        "TCPSlowStartRetrans": (NONZERO, "{} retransmits in slow start"),
        "TCPRcvCollapsed": (NONZERO, "{} packets collapsed in receive queue due to low socket buffer"),
        "TCPAbortOnData": (NONZERO, "{} connections reset due to unexpected data"),
        "TCPAbortOnClose": (NONZERO, "{} connections reset due to early user close"),
        "TCPAbortOnMemory": (NONZERO, "{} connections aborted due to memory pressure"),
        "TCPAbortOnTimeout": (NONZERO, "{} connections aborted due to timeout"),
        "TCPAbortOnLinger": (NONZERO, "{} connections aborted after user close in linger timeout"),
        "TCPAbortFailed": (NONZERO, "{} times unable to send RST due to no memory"),
        "TCPMemoryPressures": (NONZERO, "TCP ran low on memory {} times"),
    },
}


def netstat_statistics(protos: set[str]) -> int:
    """``netstat -s`` with the protocols of ``-t``/``-u``/``-w`` (none: all)."""
    host = current().host
    text = snmp_seq_show(host.mib) + netstat_seq_show(host.mib)
    lines = text.splitlines()
    keep = {group for flag in protos for group in _SELECTED_BY.get(flag, ())} if protos else set(STATISTICS)
    state = ALWAYS
    for names_line, values_line in zip(lines[::2], lines[1::2], strict=True):
        group, _, names = names_line.partition(":")
        table = STATISTICS.get(group)
        if table is not None:
            state = ALWAYS  # a table's group starts its own lines, kept or not
            if group not in keep:
                continue
        # a group split over several pairs of lines (IcmpMsg) has its title once per pair
        libc.printf("%s:\n", group)
        for name, value_text in zip(names.split(), values_line.partition(":")[2].split(), strict=True):
            value = int(value_text)
            kind, sentence = (table or {}).get(name, (None, ""))
            if kind is None:
                if value:
                    libc.printf("%*s%s: %d\n", _INDENT[state], "", name, value)
                continue
            if kind == NEVER:
                continue
            if kind in _TITLES and state != kind:
                libc.printf("%*s%s\n", _INDENT[state], "", _TITLES[kind])
            if value or kind == ALWAYS:
                libc.printf("%*s%s\n", _INDENT[kind], "", sentence.format(value))
            state = kind if kind in _TITLES else ALWAYS
    return 0
