"""Packet sockets (net/packet/af_packet.c): frames as a device sends and receives them.

``socket(AF_PACKET, SOCK_RAW, htons(proto))`` reads whole frames, link-layer header first;
``SOCK_DGRAM`` reads them from the network header, the link-layer source in the address.  The
protocol (``ETH_P_ALL`` for every frame) and ``bind`` to one device choose what a socket hears: a
hook beside the protocols' (``dev_add_pack``, in ``ptype_all`` for ``ETH_P_ALL``, which also sees
what the host sends, as ``PACKET_OUTGOING``, the sender's own packets left out, and never a
multicast's copy looped back to its sender, PACKET_LOOPBACK).  A socket sends a
frame as it is (``SOCK_RAW``) or has the device's header put in front (``SOCK_DGRAM``: the
destination from the address, ``dev_hard_header``), straight to ``dev_queue_xmit``.

Addresses are Python's for AF_PACKET: ``(ifname, proto[, pkttype[, hatype[, addr]]])``, the kernel's
``struct sockaddr_ll`` within (``SockaddrLl``).  ``PACKET_ADD_MEMBERSHIP`` with
``PACKET_MR_PROMISC`` puts the device in promiscuous mode while the socket holds it;
``PACKET_STATISTICS`` reads (and clears) the frames queued and dropped.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import TYPE_CHECKING, Any

from tuxnet.kernel.errno import (
    EAGAIN,
    EALREADY,
    EBADF,
    EINVAL,
    EMSGSIZE,
    ENETDOWN,
    ENOBUFS,
    ENODEV,
    ENOIOCTLCMD,
    ENOMEM,
    ENOPROTOOPT,
    ENOSPC,
    ENXIO,
    EOPNOTSUPP,
    ESOCKTNOSUPPORT,
)
from tuxnet.kernel.sched import current
from tuxnet.kernel.timekeeping import ktime_get_real
from tuxnet.net.core.datagram import copy_to_msg
from tuxnet.net.core.dev import (
    ETH_P_ALL,
    IFF_UP,
    NET_XMIT_CN,
    PacketType,
    __dev_direct_xmit,
    dev_queue_xmit,
    dev_set_allmulti,
    dev_set_promiscuity,
)
from tuxnet.net.core.filter import __get_filter, bpf_prog_run
from tuxnet.net.core.skbuff import (
    CHECKSUM_PARTIAL,
    CHECKSUM_UNNECESSARY,
    PACKET_LOOPBACK,
    PACKET_OUTGOING,
    SkBuff,
    alloc_skb,
)
from tuxnet.net.core.sock import SOCK_RCVTSTAMP, Sock, SockoptInt, lock_sock, release_sock
from tuxnet.net.ipv4.af_inet import sock_no_accept, sock_no_listen
from tuxnet.net.ipv4.datagram import __skb_wait_for_datagram, datagram_poll
from tuxnet.net.socket import (
    AF_PACKET,
    MSG_ERRQUEUE,
    MSG_OOB,
    MSG_PEEK,
    MSG_TRUNC,
    SIOCINQ,
    SIOCOUTQ,
    SOCK_DGRAM,
    SOCK_RAW,
    KernelSockaddr,
    Msghdr,
    ProtoOps,
    Socket,
    put_cmsg,
    put_cmsg_timestamp,
    sock_register,
)

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.dev import NetDevice

SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_DROP_MEMBERSHIP = 2
PACKET_STATISTICS = 6
PACKET_AUXDATA = 8
PACKET_COPY_THRESH = 7
PACKET_VERSION = 10
PACKET_RESERVE = 12
PACKET_LOSS = 14
PACKET_TIMESTAMP = 17
PACKET_TX_HAS_OFF = 19
PACKET_FANOUT = 18
PACKET_QDISC_BYPASS = 20
PACKET_ROLLOVER_STATS = 21
PACKET_FANOUT_DATA = 22
PACKET_IGNORE_OUTGOING = 23
# fanout modes and flags (include/uapi/linux/if_packet.h)
PACKET_FANOUT_HASH = 0
PACKET_FANOUT_LB = 1
PACKET_FANOUT_CPU = 2
PACKET_FANOUT_ROLLOVER = 3
PACKET_FANOUT_RND = 4
PACKET_FANOUT_QM = 5
PACKET_FANOUT_CBPF = 6
PACKET_FANOUT_EBPF = 7
PACKET_FANOUT_FLAG_ROLLOVER = 0x1000
PACKET_FANOUT_FLAG_UNIQUEID = 0x2000
PACKET_FANOUT_FLAG_IGNORE_OUTGOING = 0x4000
PACKET_FANOUT_FLAG_DEFRAG = 0x8000
PACKET_FANOUT_MAX = 1 << 16
_fanout_args = struct.Struct("=HHI")  # struct fanout_args: id, type and flags, max_num_members
TPACKET_V3 = 2
# the options of the TPACKET rings alone (tpacket_rcv, tpacket_snd): kept and read back, having
# nothing else to act on, as for any socket without a ring; each an int of exactly four octets
# (a flag read back as 0 or 1)
_RING_OPTIONS = {PACKET_COPY_THRESH: "copy_thresh", PACKET_VERSION: "tp_version", PACKET_RESERVE: "tp_reserve",
                 PACKET_LOSS: "tp_loss", PACKET_TIMESTAMP: "tp_tstamp", PACKET_TX_HAS_OFF: "tp_tx_has_off"}
_RING_FLAGS = (PACKET_LOSS, PACKET_TX_HAS_OFF)
# struct tpacket_auxdata's tp_status bits (include/uapi/linux/if_packet.h)
TP_STATUS_USER = 0x1
TP_STATUS_CSUMNOTREADY = 0x8
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
TP_STATUS_CSUM_VALID = 0x80
PACKET_MR_MULTICAST = 0
PACKET_MR_PROMISC = 1
PACKET_MR_ALLMULTI = 2
PACKET_MR_UNICAST = 3

_packet_mreq = struct.Struct("=iHH8s")  # struct packet_mreq: ifindex, type, alen, address
_tpacket_stats = struct.Struct("=II")  # struct tpacket_stats: packets, drops
_tpacket_auxdata = struct.Struct("=IIIHHHH")  # struct tpacket_auxdata: status, len, snaplen, mac, net, vlan tci, tpid


class SockaddrLl(KernelSockaddr):
    """``struct sockaddr_ll``: the protocol (host order here), the device, its hardware type, the
    kind of packet and a link-layer address."""

    __slots__ = ("protocol", "ifindex", "hatype", "pkttype", "addr")

    def __init__(self, protocol: int, ifindex: int, hatype: int = 0, pkttype: int = 0, addr: bytes = b"") -> None:
        self.protocol = protocol
        self.ifindex = ifindex
        self.hatype = hatype
        self.pkttype = pkttype
        self.addr = addr


def packet_addr_to_kernel(addr: Any) -> SockaddrLl | int:
    """CPython's ``getsockaddrarg`` for AF_PACKET and ``move_addr_to_kernel``: ``(ifname, proto[,
    pkttype[, hatype[, addr]]])``, the device found by its name (ENODEV: none of that name)."""
    if not isinstance(addr, tuple) or not 2 <= len(addr) <= 5:
        return -EINVAL
    ifname, proto, *rest = addr
    pkttype = rest[0] if len(rest) > 0 else 0
    hatype = rest[1] if len(rest) > 1 else 0
    lladdr = rest[2] if len(rest) > 2 else b""
    if not isinstance(ifname, str) or not all(isinstance(v, int) and not isinstance(v, bool)
                                              for v in (proto, pkttype, hatype)):
        return -EINVAL
    if not isinstance(lladdr, bytes | bytearray) or len(lladdr) > 8 or not 0 <= proto <= 0xFFFF:
        return -EINVAL
    dev = current().host.devices.get(ifname)
    if dev is None:
        return -ENODEV
    return SockaddrLl(proto, dev.ifindex, hatype, pkttype, bytes(lladdr))


class PacketSock(Sock):
    """``struct packet_sock``: the protocol it hears (``num``), the device it is bound to (0: any),
    its hook, its memberships (devices it put in promiscuous mode, addresses it added to their
    filters), and what it counted."""

    __slots__ = ("num", "ifindex", "prot_hook", "mclist", "tp_packets", "tp_drops", "auxdata", "copy_thresh",
                 "tp_version", "tp_reserve", "tp_loss", "tp_tstamp", "tp_tx_has_off", "ignore_outgoing",
                 "qdisc_bypass", "fanout", "rollover")

    def __init__(self, host: Host, family: int, type: int, protocol: int) -> None:
        super().__init__(host, None, family, type, protocol)
        self.sk_receive_queue: deque[Any] = deque()
        self.num = protocol
        self.ifindex = 0
        self.prot_hook: PacketType | None = None
        # the memberships (struct packet_mclist, newest first): [ifindex, type, address, count]
        self.mclist: list[list[Any]] = []
        self.tp_packets = 0
        self.tp_drops = 0
        self.auxdata = False  # PACKET_AUXDATA: a struct tpacket_auxdata with each frame read
        self.copy_thresh = self.tp_version = self.tp_reserve = self.tp_loss = self.tp_tstamp = 0
        self.tp_tx_has_off = 0
        self.ignore_outgoing = False  # PACKET_IGNORE_OUTGOING: a tap that hears no frame sent
        self.qdisc_bypass = False  # PACKET_QDISC_BYPASS: frames sent straight to the driver (po->xmit)
        self.fanout: PacketFanout | None = None  # PACKET_FANOUT: the group the socket hears through
        self.rollover: list[int] | None = None  # struct packet_rollover: num, num_huge, num_failed


class PacketFanout:
    """``struct packet_fanout``: a group of packet sockets, one namespace's by its id, each frame
    heard by one of its members (``arr``), chosen as its mode says; the group's own hook
    (``prot_hook``: the first member's protocol and device) stands for theirs."""

    __slots__ = ("host", "id", "type", "flags", "arr", "max_num_members", "rr_cur", "prot_hook", "bpf_prog",
                 "ignore_outgoing")

    def __init__(self, sk: PacketSock, id: int, type: int, flags: int, max_num_members: int,
                 ignore_outgoing: bool) -> None:
        self.host = sk.host
        self.id = id
        self.type = type
        self.flags = flags
        self.arr: list[PacketSock] = []
        self.max_num_members = max_num_members
        self.rr_cur = 0
        self.bpf_prog: list[tuple[int, int, int, int]] | None = None
        self.ignore_outgoing = ignore_outgoing  # PACKET_FANOUT_FLAG_IGNORE_OUTGOING
        hook = sk.prot_hook
        self.prot_hook = PacketType(hook.type, packet_rcv_fanout, hook.dev, "packet_rcv_fanout")
        self.prot_hook.af_packet_priv = self


def packet_create(host: Host, sock: Socket, protocol: int) -> int:
    """``packet_create``: a SOCK_RAW or SOCK_DGRAM socket hearing ``protocol`` (network order,
    as ``htons(ETH_P_ALL)`` gives it) on every device."""
    if sock.type not in (SOCK_RAW, SOCK_DGRAM):
        return -ESOCKTNOSUPPORT
    if not isinstance(protocol, int) or not 0 <= protocol <= 0xFFFF:
        return -EINVAL
    sk = PacketSock(host, AF_PACKET, sock.type, int.from_bytes(protocol.to_bytes(2, "little"), "big"))
    sock.ops = packet_ops
    sock.sk = sk
    sk.sk_socket = sock
    if sk.num:
        register_prot_hook(sk)
    return 0


def register_prot_hook(sk: PacketSock) -> None:
    """``register_prot_hook``: hear ``sk.num`` on the bound device (``dev_add_pack``)."""
    host = sk.host
    dev = host.dev_by_index.get(sk.ifindex) if sk.ifindex else None
    pt = PacketType(sk.num, packet_rcv_tap if sk.num == ETH_P_ALL else packet_rcv, dev, "packet_rcv")
    pt.af_packet_priv = sk
    sk.prot_hook = pt
    host.dev_add_pack(pt)


def unregister_prot_hook(sk: PacketSock) -> None:
    """``unregister_prot_hook``: off its hook, or out of its fanout group (``__fanout_unlink``:
    the last member takes its place, and a group left empty goes)."""
    if sk.fanout is not None:
        f = sk.fanout
        arr = f.arr
        i = arr.index(sk)
        arr[i] = arr[-1]
        arr.pop()
        sk.fanout = None
        if not arr:
            sk.host.dev_remove_pack(f.prot_hook)
            del sk.host.fanout_list[f.id]
        sk.prot_hook = None
    elif sk.prot_hook is not None:
        sk.host.dev_remove_pack(sk.prot_hook)
        sk.prot_hook = None


def fanout_add(sk: PacketSock, id: int, type_flags: int, max_num_members: int) -> int:
    """``fanout_add`` (PACKET_FANOUT): join group ``id`` of this namespace, or make it, in mode
    ``type_flags & 0xff`` with the flags above; a socket must hear a protocol, and the group's
    mode, protocol and device must be its; at most ``max_num_members`` (256 by default).  With
    PACKET_FANOUT_FLAG_UNIQUEID (and id 0) the group gets an id no other has."""
    type, flags = type_flags & 0xFF, type_flags >> 8
    if type not in range(PACKET_FANOUT_HASH, PACKET_FANOUT_EBPF + 1) or (
            type == PACKET_FANOUT_ROLLOVER and type_flags & PACKET_FANOUT_FLAG_ROLLOVER):
        return -EINVAL
    if sk.fanout is not None:
        return -EALREADY
    groups = sk.host.fanout_list
    if type_flags & PACKET_FANOUT_FLAG_UNIQUEID:
        if id:
            return -EINVAL
        id = next((i for i in range(PACKET_FANOUT_MAX) if i not in groups), -1)
        if id < 0:
            return -ENOMEM
        flags &= ~(PACKET_FANOUT_FLAG_UNIQUEID >> 8)  # (ephemeral: the group does not keep it)
    match = groups.get(id)
    if match is not None:
        if match.flags != flags or max_num_members and max_num_members != match.max_num_members:
            return -EINVAL
    elif max_num_members > PACKET_FANOUT_MAX or sk.prot_hook is None:
        return -EINVAL  # (a group made for a socket that hears nothing goes at once)
    else:
        match = PacketFanout(sk, id, type, flags, max_num_members or 256,
                             bool(type_flags & PACKET_FANOUT_FLAG_IGNORE_OUTGOING))
    hook = sk.prot_hook
    if hook is None or match.type != type or match.prot_hook.type != hook.type or match.prot_hook.dev is not hook.dev:
        return -EINVAL
    if len(match.arr) >= match.max_num_members:
        return -ENOSPC
    sk.host.dev_remove_pack(hook)
    if not match.arr:
        groups[id] = match
        sk.host.dev_add_pack(match.prot_hook)
    sk.fanout = match
    if type == PACKET_FANOUT_ROLLOVER or type_flags & PACKET_FANOUT_FLAG_ROLLOVER:
        sk.rollover = [0, 0, 0]
    match.arr.append(sk)  # (__fanout_link)
    return 0


def packet_rcv_has_room(sk: PacketSock, skb: SkBuff) -> bool:
    """``__packet_rcv_has_room``: the frame fits the socket's receive buffer."""
    return sk.sk_rmem_alloc + skb.tail - skb.data <= sk.sk_rcvbuf


def fanout_demux_rollover(f: PacketFanout, skb: SkBuff, idx: int, try_self: bool) -> int:
    """``fanout_demux_rollover``: ``idx`` if it has room (and may be tried), else the next member
    after it that has (a rollover, counted in the first's PACKET_ROLLOVER_STATS)."""
    arr = f.arr
    num = len(arr)
    po = arr[idx]
    if try_self and packet_rcv_has_room(po, skb):
        return idx
    i = idx
    while True:
        if i != idx and packet_rcv_has_room(arr[i], skb):
            if po.rollover is not None:
                po.rollover[0] += 1
            return i
        i = i + 1 if i + 1 < num else 0
        if i == idx:
            break
    if po.rollover is not None:
        po.rollover[2] += 1
    return idx


def fanout_demux_hash(f: PacketFanout, skb: SkBuff) -> int:
    """``fanout_demux_hash``: the flow's hash, the same both ways (``__skb_get_hash_symmetric``,
    keyed with the namespace's secret as the kernel keys it with a boot-time one), scaled to the
    members."""
    buf = skb.buf
    nh = skb.network_header
    if skb.protocol != 0x0800 or nh < 0:
        return 0
    saddr, daddr = buf[nh + 12:nh + 16], buf[nh + 16:nh + 20]
    proto = buf[nh + 9]
    ports = b""
    if proto in (6, 17):
        th = nh + (buf[nh] & 15) * 4
        ports = bytes(buf[th:th + 4])
        if (daddr, ports[2:]) < (saddr, ports[:2]):
            ports = ports[2:] + ports[:2]
    ends = sorted((bytes(saddr), bytes(daddr)))
    h = f.host.tcp_hashinfo.keyed_hash(int.from_bytes(ends[0], "big"), int.from_bytes(ends[1], "big"),
                                       int.from_bytes(ports or bytes(4), "big"), proto)
    return ((h & 0xFFFFFFFF) * len(f.arr)) >> 32  # (reciprocal_scale)


def packet_rcv_fanout(skb: SkBuff, dev: NetDevice, pt: PacketType, how: Any) -> int:
    """``packet_rcv_fanout``: the group's hook hands the frame to one member, as the mode
    chooses: in turn (LB), by flow (HASH), by CPU (tuxnet's one: the first), at random (RND), by
    the device's queue (QM: the first, each device has one), the first with room (ROLLOVER), or
    by the group's classic BPF program's result (CBPF); with the ROLLOVER flag, on to the next
    with room when the chosen one has none.  A tap's group hears no frame its members send
    (``match_fanout_group``), nor any, with PACKET_FANOUT_FLAG_IGNORE_OUTGOING."""
    f = pt.af_packet_priv
    num = len(f.arr)
    if not num:
        return 0
    if how == PACKET_OUTGOING and (f.ignore_outgoing or isinstance(skb.sk, PacketSock) and skb.sk.fanout is f):
        return 0
    mode = f.type
    if mode == PACKET_FANOUT_LB:
        f.rr_cur += 1
        idx = f.rr_cur % num
    elif mode == PACKET_FANOUT_RND:
        idx = f.host.rng.randrange(num)
    elif mode == PACKET_FANOUT_ROLLOVER:
        idx = fanout_demux_rollover(f, skb, 0, False)
    elif mode == PACKET_FANOUT_CBPF:
        prog = f.bpf_prog
        idx = bpf_prog_run(prog, skb, skb.data, skb.tail) % num if prog is not None else 0
    elif mode in (PACKET_FANOUT_CPU, PACKET_FANOUT_QM, PACKET_FANOUT_EBPF):
        idx = 0
    else:
        idx = fanout_demux_hash(f, skb)
    if f.flags & (PACKET_FANOUT_FLAG_ROLLOVER >> 8):
        idx = fanout_demux_rollover(f, skb, idx, True)
    po = f.arr[idx]
    return po.prot_hook.func(skb, dev, po.prot_hook, how)


def fanout_set_data(sk: PacketSock, optval: bytes) -> int:
    """``fanout_set_data`` (PACKET_FANOUT_DATA): a CBPF group's program (its instructions, as
    SO_ATTACH_FILTER takes them); an EBPF group's would be an eBPF program's fd, and there are
    none (``bpf_prog_get_type``: EBADF for a closed fd, EINVAL for any other); no other mode
    takes data."""
    f = sk.fanout
    if f.type == PACKET_FANOUT_CBPF:
        prog = __get_filter(sk, optval)
        if isinstance(prog, int):
            return prog
        f.bpf_prog = prog
        return 0
    if f.type == PACKET_FANOUT_EBPF:
        if len(optval) != 4:
            return -EINVAL
        fd = int.from_bytes(optval, "little", signed=True)
        return -EINVAL if current().files.get(fd) is not None else -EBADF
    return -EINVAL


def packet_rcv_tap(skb: SkBuff, dev: NetDevice, pt: PacketType, pkttype: int) -> None:
    """The hook of an ``ETH_P_ALL`` socket, a tap: every frame the device receives, and (as
    PACKET_OUTGOING) every one it sends but this socket's own (``skb_loop_sk``)."""
    sk = pt.af_packet_priv
    if pkttype == PACKET_OUTGOING and (skb.sk is sk or sk.ignore_outgoing):
        return
    __packet_rcv(sk, skb, dev, pkttype)


def packet_rcv(skb: SkBuff, dev: NetDevice, pt: PacketType, orig_dev: Any) -> int:
    """The hook of a socket hearing one protocol: the frames of it the device receives."""
    __packet_rcv(pt.af_packet_priv, skb, dev, skb.pkt_type)
    return 0


def __packet_rcv(sk: PacketSock, skb: SkBuff, dev: NetDevice, pkttype: int) -> None:
    """``packet_rcv``: the socket's filter (``run_filter``) passes the frame, or cuts it to what it
    keeps; then a copy of the frame (from its link-layer header for SOCK_RAW, its network
    header for SOCK_DGRAM) and its ``sockaddr_ll`` (the device, its type, the kind of packet, the
    protocol, the link-layer source) queue on the socket, or are dropped and counted when its
    receive buffer is full.  What PACKET_AUXDATA tells of the frame is kept with it: its length
    before the filter cut it, where its network header is, its checksum's state, the VLAN tag the
    core took out of it."""
    if pkttype == PACKET_LOOPBACK:
        return  # a multicast's looped-back copy (dev_loopback_xmit): its sending was seen already
    buf = skb.buf
    mac = skb.mac_header if skb.mac_header >= 0 else skb.data
    hlen = dev.hard_header_len
    start = mac if sk.sk_type == SOCK_RAW else mac + hlen
    end = skb.tail
    if sk.sk_filter is not None:  # run_filter: none of it, or as much as the filter keeps
        # the filter reads the packet type of the copy it is given (dev_queue_xmit_nit's clone
        # of an outgoing packet is PACKET_OUTGOING: SKF_AD_PKTTYPE, libpcap's "outbound")
        saved, skb.pkt_type = skb.pkt_type, pkttype
        try:
            keep = bpf_prog_run(sk.sk_filter, skb, start, end)
        finally:
            skb.pkt_type = saved
        if not keep:
            return
        end = min(end, start + keep)
    origlen = skb.tail - start
    data = bytes(buf[start:end])
    truesize = len(data) + 256  # (a copy's head and its shared info)
    sk.tp_packets += 1
    if sk.sk_rmem_alloc + truesize > sk.sk_rcvbuf:
        sk.tp_drops += 1
        sk.sk_drops += 1
        return
    source = bytes(buf[mac + 6:mac + 12]) if hlen >= 14 else b""
    sll = SockaddrLl(skb.protocol, dev.ifindex, dev.type, pkttype, source)
    sk.sk_rmem_alloc += truesize
    # its time (the arrival's, or now for one going out), for SO_TIMESTAMP(NS)
    stamp = skb.tstamp if skb.tstamp and pkttype != PACKET_OUTGOING else ktime_get_real(sk.host.world)
    status = TP_STATUS_USER
    if skb.ip_summed == CHECKSUM_PARTIAL:
        status |= TP_STATUS_CSUMNOTREADY
    elif pkttype != PACKET_OUTGOING and skb.ip_summed == CHECKSUM_UNNECESSARY:
        status |= TP_STATUS_CSUM_VALID
    if skb.vlan_proto:
        status |= TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID
    net = skb.network_header - start if skb.network_header >= start else 0
    aux = (status, origlen, len(data), 0, net, skb.vlan_tci, skb.vlan_proto)
    sk.sk_receive_queue.append((data, sll, truesize, stamp, aux))
    sk.sk_data_ready()


def packet_recvmsg(sock: Socket, msg: Msghdr, size: int, flags: int) -> bytes | int:
    """``packet_recvmsg``: the first frame queued, cut to ``size`` (MSG_TRUNC in ``msg_flags``,
    and with MSG_TRUNC in ``flags`` its real length), from its ``sockaddr_ll``, with its time if
    the socket asked (SO_TIMESTAMP, SO_TIMESTAMPNS) and its ``tpacket_auxdata`` (PACKET_AUXDATA)."""
    sk = sock.sk
    if flags & MSG_OOB:
        return -EINVAL
    if flags & MSG_ERRQUEUE:
        return -EAGAIN  # (nothing goes to a packet socket's error queue here: no send timestamps)
    lock_sock(sk)
    try:
        waited = __skb_wait_for_datagram(sk, flags)
        if waited is not None:
            return waited or copy_to_msg(msg, [])
        data, sll, truesize, stamp, aux = sk.sk_receive_queue[0]
        if not flags & MSG_PEEK:
            sk.sk_receive_queue.popleft()
            sk.sk_rmem_alloc -= truesize
        if len(data) > size:
            msg.msg_flags |= MSG_TRUNC
        dev = sk.host.dev_by_index.get(sll.ifindex)
        msg.msg_name = (dev.name if dev is not None else "", sll.protocol, sll.pkttype, sll.hatype, sll.addr)
        copied = copy_to_msg(msg, [memoryview(data)[:size]])
        if sk.sk_flags & SOCK_RCVTSTAMP:
            put_cmsg_timestamp(msg, sk, stamp)
        if sk.auxdata:
            put_cmsg(msg, SOL_PACKET, PACKET_AUXDATA, _tpacket_auxdata.pack(*aux))
        if flags & MSG_TRUNC:
            if copied.__class__ is int:
                return len(data) if copied >= 0 else copied
            return copied + bytes(len(data) - len(copied))
        return copied
    finally:
        release_sock(sk)


def packet_sendmsg(sock: Socket, msg: Msghdr, size: int) -> int:
    """``packet_snd``: a frame out of the device the address names (or the bound one): as it is
    for SOCK_RAW, behind the device's header to the address's link-layer destination for
    SOCK_DGRAM.  ENXIO without a device, ENETDOWN when it is down, EMSGSIZE past its MTU."""
    sk = sock.sk
    host = sk.host
    name = msg.msg_name
    if name is None:
        ifindex, proto, daddr = sk.ifindex, sk.num, None
    elif isinstance(name, SockaddrLl):
        ifindex, proto, daddr = name.ifindex, name.protocol, name.addr
    else:
        return -EINVAL
    dev = host.dev_by_index.get(ifindex)
    if dev is None:
        return -ENXIO
    if not dev.flags & IFF_UP:
        return -ENETDOWN
    data = b"".join(bytes(b) for b in msg.msg_iov)
    hlen = dev.hard_header_len
    reserve = hlen if sk.sk_type == SOCK_RAW else 0
    if len(data) > dev.mtu + reserve:
        return -EMSGSIZE
    if sk.sk_type == SOCK_RAW and len(data) < hlen:
        return -EINVAL  # dev_validate_header: shorter than the device's header
    skb = alloc_skb(len(data) + hlen, 16)
    if sk.sk_type == SOCK_DGRAM:
        if daddr is None or len(daddr) < dev.addr_len:
            daddr = dev.broadcast if daddr is None else daddr
        skb.put_data(bytes(daddr[:6]) + bytes(dev.dev_addr) + proto.to_bytes(2, "big"))
    skb.put_data(data)
    skb.mac_header = skb.data
    skb.network_header = skb.data + hlen
    skb.dev = dev
    skb.sk = sk
    skb.protocol = proto or int.from_bytes(bytes(skb.buf[skb.data + 12:skb.data + 14]), "big")
    skb.priority = sk.sk_priority
    skb.mark = sk.sk_mark
    err = (__dev_direct_xmit if sk.qdisc_bypass else dev_queue_xmit)(skb)
    if err > 0 and err != NET_XMIT_CN:
        return -ENOBUFS  # (net_xmit_errno: a qdisc or a driver that dropped it)
    return size


def packet_bind(sock: Socket, addr: Any) -> int:
    """``packet_bind``: hear the address's protocol (0: keep the socket's) on its device only
    (index 0: every device)."""
    sk = sock.sk
    if not isinstance(addr, SockaddrLl):
        return -EINVAL
    if sk.fanout is not None:
        return -EINVAL  # (a member of a fanout group stays as it joined)
    if addr.ifindex and addr.ifindex not in sk.host.dev_by_index:
        return -ENODEV
    unregister_prot_hook(sk)
    sk.ifindex = addr.ifindex
    if addr.protocol:
        sk.num = addr.protocol
    if sk.num:
        register_prot_hook(sk)
    return 0


def packet_getname(sock: Socket, peer: int) -> Any:
    """``packet_getname``: the bound device (its name, type and address) and protocol; a packet
    socket has no peer (EOPNOTSUPP)."""
    if peer:
        return -EOPNOTSUPP
    sk = sock.sk
    dev = sk.host.dev_by_index.get(sk.ifindex)
    if dev is None:
        return ("", sk.num, 0, 0, b"")
    return (dev.name, sk.num, 0, dev.type, bytes(dev.dev_addr))


def packet_release(sock: Socket) -> int:
    """``packet_release``: the hook off, the memberships given back, the queue freed."""
    sk = sock.sk
    if sk is not None:
        sock.sk = None
        unregister_prot_hook(sk)
        for ifindex, kind, addr, _ in sk.mclist:  # (packet_flush_mclist)
            dev = sk.host.dev_by_index.get(ifindex)
            if dev is not None:
                packet_dev_mc(dev, kind, addr, -1)
        sk.mclist.clear()
        sk.sk_receive_queue.clear()
        sk.sk_rmem_alloc = 0
    return 0


def packet_dev_mc(dev: NetDevice, kind: int, addr: bytes, what: int) -> int:
    """``packet_dev_mc``: a membership given to (``what`` 1) or taken from (-1) the device: a
    multicast or unicast address in its filter (of the device's address length, EINVAL
    otherwise), promiscuous or all-multicast mode; another kind does nothing."""
    if kind in (PACKET_MR_MULTICAST, PACKET_MR_UNICAST):
        if len(addr) != dev.addr_len:
            return -EINVAL
        table = dev.mc_list if kind == PACKET_MR_MULTICAST else dev.uc_list
        table[addr] = table.get(addr, 0) + what  # (dev_mc_add, dev_uc_add and their _del)
        if table[addr] <= 0:
            del table[addr]
    elif kind == PACKET_MR_PROMISC:
        dev_set_promiscuity(dev, what)
    elif kind == PACKET_MR_ALLMULTI:
        dev_set_allmulti(dev, what)
    return 0


def packet_mc_add(sk: PacketSock, ifindex: int, kind: int, addr: bytes) -> int:
    """``packet_mc_add``: a membership, counted when the socket has it already."""
    dev = sk.host.dev_by_index.get(ifindex)
    if dev is None:
        return -ENODEV
    if len(addr) > dev.addr_len:
        return -EINVAL
    for ml in sk.mclist:
        if ml[:3] == [ifindex, kind, addr]:
            ml[3] += 1
            return 0
    ml = [ifindex, kind, addr, 1]
    sk.mclist.insert(0, ml)
    err = packet_dev_mc(dev, kind, addr, 1)
    if err:
        sk.mclist.remove(ml)
    return err


def packet_mc_drop(sk: PacketSock, ifindex: int, kind: int, addr: bytes) -> int:
    """``packet_mc_drop``: one use of a membership fewer, the last giving it back; 0 even for one
    the socket has not."""
    for ml in sk.mclist:
        if ml[:3] == [ifindex, kind, addr]:
            ml[3] -= 1
            if not ml[3]:
                sk.mclist.remove(ml)
                dev = sk.host.dev_by_index.get(ifindex)
                if dev is not None:
                    packet_dev_mc(dev, kind, addr, -1)
            break
    return 0


def packet_setsockopt(sock: Socket, level: int, optname: int, optval: Any) -> int:
    """``packet_setsockopt``: PACKET_ADD_MEMBERSHIP/DROP_MEMBERSHIP with a ``struct packet_mreq``
    (16 octets at least, its address as long as it says); PACKET_AUXDATA (an int);
    PACKET_IGNORE_OUTGOING (0 or 1: the tap hears no frame the host sends); the ring's options,
    kept; other options are not there (ENOPROTOOPT, as an unknown option)."""
    sk = sock.sk
    if level != SOL_PACKET:
        return -ENOPROTOOPT
    if isinstance(optval, int):
        optval = optval.to_bytes(4, "little", signed=True)
    if not isinstance(optval, bytes | bytearray):
        return -EINVAL
    if optname == PACKET_AUXDATA:
        if len(optval) < 4:
            return -EINVAL
        sk.auxdata = bool(int.from_bytes(optval[:4], "little"))
        return 0
    if optname == PACKET_FANOUT:
        if len(optval) not in (4, _fanout_args.size):
            return -EINVAL
        id, type_flags, max_num_members = _fanout_args.unpack(bytes(optval).ljust(_fanout_args.size, b"\0"))
        return fanout_add(sk, id, type_flags, max_num_members)
    if optname == PACKET_FANOUT_DATA:
        if sk.fanout is None:
            return -EINVAL
        return fanout_set_data(sk, bytes(optval))
    if optname in (PACKET_ADD_MEMBERSHIP, PACKET_DROP_MEMBERSHIP):
        if len(optval) < _packet_mreq.size:
            return -EINVAL
        given = bytes(optval[:24]).ljust(24, b"\0")  # (struct packet_mreq_max: 32 octets of address)
        ifindex, kind, alen = struct.unpack_from("=iHH", given)
        if len(optval) < alen + 8:
            return -EINVAL
        addr = given[8:8 + alen]
        if optname == PACKET_ADD_MEMBERSHIP:
            return packet_mc_add(sk, ifindex, kind, addr)
        return packet_mc_drop(sk, ifindex, kind, addr)
    if optname in _RING_OPTIONS or optname in (PACKET_IGNORE_OUTGOING, PACKET_QDISC_BYPASS):
        if len(optval) != 4:
            return -EINVAL
        val = int.from_bytes(optval, "little", signed=True)
        if optname == PACKET_QDISC_BYPASS:
            sk.qdisc_bypass = bool(val)
            return 0
        if optname == PACKET_IGNORE_OUTGOING:
            if val not in (0, 1):
                return -EINVAL
            sk.ignore_outgoing = bool(val)
            return 0
        if optname == PACKET_VERSION and not 0 <= val <= TPACKET_V3:
            return -EINVAL
        if optname == PACKET_RESERVE and val < 0:
            return -EINVAL  # (an unsigned int above INT_MAX)
        setattr(sk, _RING_OPTIONS[optname], int(bool(val)) if optname in _RING_FLAGS else val)
        return 0
    return -ENOPROTOOPT


def packet_getsockopt(sock: Socket, level: int, optname: int, optlen: int | None = None) -> int | bytes:
    """``packet_getsockopt``: PACKET_STATISTICS, the frames heard (the dropped ones counted in
    both) and dropped since the last read, which clears them; PACKET_AUXDATA."""
    sk = sock.sk
    if level == SOL_PACKET and optname == PACKET_AUXDATA:
        return SockoptInt(sk.auxdata)
    if level == SOL_PACKET and optname in _RING_OPTIONS:
        return SockoptInt(getattr(sk, _RING_OPTIONS[optname]))
    if level == SOL_PACKET and optname == PACKET_IGNORE_OUTGOING:
        return SockoptInt(sk.ignore_outgoing)
    if level == SOL_PACKET and optname == PACKET_QDISC_BYPASS:
        return SockoptInt(sk.qdisc_bypass)
    if level == SOL_PACKET and optname == PACKET_FANOUT:
        f = sk.fanout
        return SockoptInt(f.id | f.type << 16 | f.flags << 24 if f is not None else 0)
    if level == SOL_PACKET and optname == PACKET_ROLLOVER_STATS:
        if sk.rollover is None:
            return -EINVAL
        return struct.pack("=3Q", *sk.rollover)  # struct tpacket_rollover_stats
    if level != SOL_PACKET or optname != PACKET_STATISTICS:
        return -ENOPROTOOPT
    stats = _tpacket_stats.pack(sk.tp_packets, sk.tp_drops)
    sk.tp_packets = sk.tp_drops = 0
    return stats


def packet_ioctl(sock: Socket, cmd: int, arg: Any) -> int:
    """``packet_ioctl``: SIOCINQ, the size of the next frame; SIOCOUTQ, nothing held."""
    if cmd == SIOCINQ:
        q = sock.sk.sk_receive_queue
        return len(q[0][0]) if q else 0
    if cmd == SIOCOUTQ:
        return 0
    return -ENOIOCTLCMD


def packet_no_connect(sock: Socket, addr: Any, flags: int) -> int:
    return -EOPNOTSUPP


def packet_shutdown(sock: Socket, how: int) -> int:
    return -EOPNOTSUPP


packet_ops = ProtoOps(
    "packet_ops", family=AF_PACKET, release=packet_release, bind=packet_bind, connect=packet_no_connect,
    accept=sock_no_accept, getname=packet_getname, poll=lambda sock: datagram_poll(sock.sk), ioctl=packet_ioctl,
    listen=sock_no_listen, shutdown=packet_shutdown, setsockopt=packet_setsockopt, getsockopt=packet_getsockopt,
    sendmsg=packet_sendmsg, recvmsg=packet_recvmsg,
)

sock_register(AF_PACKET, packet_create, packet_addr_to_kernel)
