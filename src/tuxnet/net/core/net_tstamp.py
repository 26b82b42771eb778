"""SO_TIMESTAMPING's flags (include/uapi/linux/net_tstamp.h), the kinds of send timestamp
(include/uapi/linux/errqueue.h) and the marks a packet carries for them (``skb_shinfo(skb)->
tx_flags``, include/linux/skbuff.h).

What to record: a packet's send time as the queueing layer takes it (TX_SCHED), as the driver
gives it to the device (TX_SOFTWARE), when the peer acknowledged its last byte (TX_ACK, TCP), and
a received packet's arrival (RX_SOFTWARE).  What to report: software times (SOFTWARE); tuxnet's
devices have no hardware clock, so the hardware flags record nothing.  How: a key per send
(OPT_ID, for TCP the byte's offset), without the packet's bytes (OPT_TSONLY), with the packet's
device and addresses (OPT_CMSG), received packets' times only when RX_SOFTWARE asks (OPT_RX_FILTER).
"""

from __future__ import annotations

SOF_TIMESTAMPING_TX_HARDWARE = 1 << 0
SOF_TIMESTAMPING_TX_SOFTWARE = 1 << 1
SOF_TIMESTAMPING_RX_HARDWARE = 1 << 2
SOF_TIMESTAMPING_RX_SOFTWARE = 1 << 3
SOF_TIMESTAMPING_SOFTWARE = 1 << 4
SOF_TIMESTAMPING_SYS_HARDWARE = 1 << 5
SOF_TIMESTAMPING_RAW_HARDWARE = 1 << 6
SOF_TIMESTAMPING_OPT_ID = 1 << 7
SOF_TIMESTAMPING_TX_SCHED = 1 << 8
SOF_TIMESTAMPING_TX_ACK = 1 << 9
SOF_TIMESTAMPING_OPT_CMSG = 1 << 10
SOF_TIMESTAMPING_OPT_TSONLY = 1 << 11
SOF_TIMESTAMPING_OPT_STATS = 1 << 12
SOF_TIMESTAMPING_OPT_PKTINFO = 1 << 13
SOF_TIMESTAMPING_OPT_TX_SWHW = 1 << 14
SOF_TIMESTAMPING_BIND_PHC = 1 << 15
SOF_TIMESTAMPING_OPT_ID_TCP = 1 << 16
SOF_TIMESTAMPING_OPT_RX_FILTER = 1 << 17
SOF_TIMESTAMPING_TX_COMPLETION = 1 << 18
SOF_TIMESTAMPING_LAST = SOF_TIMESTAMPING_TX_COMPLETION
SOF_TIMESTAMPING_MASK = (SOF_TIMESTAMPING_LAST << 1) - 1
# The flags a send may ask for in a control message (SO_TIMESTAMPING at SOL_SOCKET).
SOF_TIMESTAMPING_TX_RECORD_MASK = (SOF_TIMESTAMPING_TX_HARDWARE | SOF_TIMESTAMPING_TX_SOFTWARE
                                   | SOF_TIMESTAMPING_TX_SCHED | SOF_TIMESTAMPING_TX_ACK
                                   | SOF_TIMESTAMPING_TX_COMPLETION)
# sock_recv_cmsgs: the report flags that put a timestamp on reads (TSFLAGS_ANY)
TSFLAGS_ANY = SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_RAW_HARDWARE
# sockcm_cookie.tsflags: the send gave its own key (SCM_TS_OPT_ID)
SOCKCM_FLAG_TS_OPT_ID = 1 << 31

# ee_info of a send timestamp in the error queue (enum, include/uapi/linux/errqueue.h)
SCM_TSTAMP_SND = 0
SCM_TSTAMP_SCHED = 1
SCM_TSTAMP_ACK = 2

# skb_shinfo(skb)->tx_flags
SKBTX_HW_TSTAMP = 1 << 0
SKBTX_SW_TSTAMP = 1 << 1
SKBTX_IN_PROGRESS = 1 << 2
SKBTX_COMPLETION_TSTAMP = 1 << 3
SKBTX_SCHED_TSTAMP = 1 << 6
SKBTX_ANY_SW_TSTAMP = SKBTX_SW_TSTAMP | SKBTX_SCHED_TSTAMP
SKBTX_ANY_TSTAMP = SKBTX_HW_TSTAMP | SKBTX_ANY_SW_TSTAMP | SKBTX_COMPLETION_TSTAMP
