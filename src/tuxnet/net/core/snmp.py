"""SNMP MIB counters as ``/proc/net/snmp`` and ``/proc/net/netstat`` name them."""

from __future__ import annotations

MIB_FIELDS: dict[str, tuple[str, ...]] = {
    "Ip": (
        "Forwarding", "DefaultTTL", "InReceives", "InHdrErrors", "InAddrErrors", "ForwDatagrams",
        "InUnknownProtos", "InDiscards", "InDelivers", "OutRequests", "OutDiscards", "OutNoRoutes",
        "ReasmTimeout", "ReasmReqds", "ReasmOKs", "ReasmFails", "FragOKs", "FragFails",
        "FragCreates", "OutTransmits",
    ),
    "IpExt": ("InNoRoutes", "InTruncatedPkts", "InMcastPkts", "OutMcastPkts", "InBcastPkts", "OutBcastPkts",
              "InOctets", "OutOctets", "InMcastOctets", "OutMcastOctets", "InBcastOctets", "OutBcastOctets",
              "InCsumErrors", "InNoECTPkts", "InECT1Pkts", "InECT0Pkts", "InCEPkts", "ReasmOverlaps"),
    "Icmp": (
        "InMsgs", "InErrors", "InCsumErrors", "InDestUnreachs", "InTimeExcds", "InParmProbs", "InSrcQuenchs",
        "InRedirects", "InEchos", "InEchoReps", "InTimestamps", "InTimestampReps", "InAddrMasks",
        "InAddrMaskReps", "OutMsgs", "OutErrors", "OutRateLimitGlobal", "OutRateLimitHost", "OutDestUnreachs",
        "OutTimeExcds", "OutParmProbs", "OutSrcQuenchs", "OutRedirects", "OutEchos", "OutEchoReps",
        "OutTimestamps", "OutTimestampReps", "OutAddrMasks", "OutAddrMaskReps",
    ),
    "IcmpMsg": (),
    "Tcp": (
        "RtoAlgorithm", "RtoMin", "RtoMax", "MaxConn", "ActiveOpens", "PassiveOpens", "AttemptFails",
        "EstabResets", "CurrEstab", "InSegs", "OutSegs", "RetransSegs", "InErrs", "OutRsts",
        "InCsumErrors",
    ),
    "TcpExt": (
        "SyncookiesSent", "SyncookiesRecv", "SyncookiesFailed", "EmbryonicRsts", "PruneCalled",
        "RcvPruned", "OfoPruned", "OutOfWindowIcmps", "TW", "TWRecycled", "TWKilled", "PAWSActive", "PAWSEstab",
        "DelayedACKs", "DelayedACKLocked", "DelayedACKLost", "ListenOverflows", "ListenDrops",
        "TCPHPHits", "TCPPureAcks", "TCPHPAcks", "TCPRenoRecovery", "TCPSackRecovery",
        "TCPSACKReneging", "TCPSACKReorder", "TCPRenoReorder", "TCPTSReorder", "TCPFullUndo",
        "TCPPartialUndo", "TCPDSACKUndo", "TCPLossUndo", "TCPLostRetransmit", "TCPRenoFailures",
        "TCPSackFailures", "TCPLossFailures", "TCPFastRetrans", "TCPSlowStartRetrans",
        "TCPTimeouts", "TCPLossProbes", "TCPLossProbeRecovery", "TCPRcvCollapsed", "TCPBacklogCoalesce",
        "TCPDSACKOldSent", "TCPDSACKOfoSent", "TCPDSACKRecv", "TCPDSACKOfoRecv", "TCPAbortOnData",
        "TCPAbortOnClose", "TCPAbortOnMemory", "TCPAbortOnTimeout", "TCPAbortOnLinger",
        "TCPMemoryPressures", "TCPSACKDiscard", "TCPDSACKIgnoredOld", "TCPDSACKIgnoredNoUndo",
        "TCPSpuriousRTOs", "TCPMD5NotFound", "TCPMD5Unexpected", "TCPMD5Failure", "TCPSackShifted",
        "TCPSackMerged", "TCPBacklogDrop", "TCPMinTTLDrop",
        "TCPDeferAcceptDrop", "IPReversePathFilter", "TCPTimeWaitOverflow", "TCPReqQFullDoCookies", "TCPReqQFullDrop",
        "TCPRetransFail", "TCPRcvCoalesce", "TCPOFOQueue", "TCPOFODrop", "TCPOFOMerge",
        "TCPChallengeACK", "TCPSYNChallenge", "TCPFastOpenActive", "TCPFastOpenActiveFail",
        "TCPFastOpenPassive", "TCPFastOpenPassiveFail", "TCPFastOpenListenOverflow", "TCPFastOpenCookieReqd",
        "TCPFastOpenBlackhole", "TCPSpuriousRtxHostQueues", "TCPAutoCorking",
        "TCPFromZeroWindowAdv", "TCPToZeroWindowAdv", "TCPWantZeroWindowAdv", "TCPSynRetrans",
        "TCPOrigDataSent", "TCPKeepAlive", "TCPMTUPFail", "TCPMTUPSuccess", "TCPDelivered", "TCPDeliveredCE",
        "TCPAckCompressed", "TCPZeroWindowDrop",
        "TCPRcvQDrop", "TCPWinProbe", "TCPACKSkippedSynRecv", "TCPACKSkippedPAWS",
        "TCPACKSkippedSeq", "TCPACKSkippedFinWait2", "TCPACKSkippedTimeWait",
        "TCPACKSkippedChallenge", "PAWSOldAck", "TCPRcvQFull", "TCPAbortFailed", "TCPWqueueTooBig",
        "TCPFastOpenPassiveAltKey", "TcpTimeoutRehash", "TCPAORequired", "TCPAOBad", "TCPAOKeyNotFound",
        "TCPAOGood", "TCPAODroppedIcmps",
    ),
    "Udp": ("InDatagrams", "NoPorts", "InErrors", "OutDatagrams", "RcvbufErrors", "SndbufErrors",
            "InCsumErrors", "IgnoredMulti", "MemErrors"),
}


class Mib(dict):
    """One group of counters; unknown names read as 0 and are added on first increment."""

    def __missing__(self, key: str) -> int:
        return 0


class Mibs:
    """All groups of one namespace: ``host.mib.Tcp["ActiveOpens"] += 1``."""

    def __init__(self) -> None:
        for group, names in MIB_FIELDS.items():
            setattr(self, group, Mib.fromkeys(names, 0))
        self.Ip["Forwarding"] = 2
        self.Ip["DefaultTTL"] = 64
        self.Tcp["RtoAlgorithm"] = 1
        self.Tcp["RtoMin"] = 200
        self.Tcp["RtoMax"] = 120000
        self.Tcp["MaxConn"] = -1

    def groups(self) -> dict[str, Mib]:
        return {g: getattr(self, g) for g in MIB_FIELDS}
