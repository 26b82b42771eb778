"""Typed syntax tree of a packetdrill script.

The nodes mirror the grammar of Google's packetdrill (``parser.y``); the parser in
:mod:`tuxnet.packetdrill.parser` builds them. Times are integers in microseconds, exactly
as packetdrill stores them.

A script is a list of options, an optional init command, events and an optional cleanup
command::

    --tolerance_usecs=10000              Script.options
    `../common/defaults.sh`              Script.init_command
        0 socket(...) = 3                Event(action=SyscallEvent)
       +0 < S 0:0(0) win 1000            Event(action=PacketEvent)
       +0 `sysctl -q net.ipv4.x=1`       Event(action=CommandEvent)
       +0 %{ assert tcpi_rto > 0 }%      Event(action=CodeEvent)
    `/tmp/cleanup.sh`                    Script.cleanup_command
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

TimeType: TypeAlias = Literal["absolute", "relative", "any", "range", "relative_range"]
Direction: TypeAlias = Literal["<", ">"]
Protocol: TypeAlias = Literal["tcp", "udp", "icmp"]


# --- expressions (system call arguments and results) -------------------------------------


@dataclass
class Int:
    """An integer literal: ``3``, ``-1``, ``0xffffffff``."""

    value: int


@dataclass
class Ellipsis_:
    """``...``: any value (an argument the executor fills in, or a result not checked)."""


@dataclass
class Symbol:
    """A bare word: ``SOCK_STREAM``, ``O_NONBLOCK``, ``NULL``, ``EPOLLIN``."""

    name: str


@dataclass
class Str:
    """A double-quoted string, its text kept as written (escapes are not processed).

    Adjacent strings are concatenated. ``open_ended`` is true for ``"abc"...``.
    """

    value: str
    open_ended: bool = False


@dataclass
class Array:
    """``[1]``, ``[]``, ``[{fd=4, events=POLLIN}]``."""

    items: list[Expr]


@dataclass
class StructField:
    """One element of a ``{...}`` expression.

    ``name`` is None for a positional element (``{..., 1000}`` is an iovec with two
    positional elements). ``arg`` holds the parenthesised length of ``msg_iov(1)=...`` or
    ``msg_name(...)=...``.
    """

    name: str | None
    value: Expr
    arg: Expr | None = None


@dataclass
class Struct:
    """A brace expression: sockaddr, msghdr, iovec, pollfd, epoll_event, linger, cmsg...

    All of them are kept generically as an ordered list of fields, e.g.
    ``{events=POLLIN, fd=4}`` is ``Struct([StructField("events", Symbol("POLLIN")),
    StructField("fd", Int(4))])``.
    """

    fields: list[StructField]

    def get(self, name: str) -> Expr | None:
        """The value of the field called ``name``, or None if there is none."""
        for f in self.fields:
            if f.name == name:
                return f.value
        return None


@dataclass
class Call:
    """A function-like expression: ``htons(8080)``, ``inet_addr("192.0.2.1")``."""

    name: str
    args: list[Expr]


@dataclass
class BinOp:
    """A binary expression; packetdrill only has bitwise or: ``O_RDWR|O_NONBLOCK``."""

    op: str
    left: Expr
    right: Expr


Expr: TypeAlias = Int | Ellipsis_ | Symbol | Str | Array | Struct | Call | BinOp


# --- packets -------------------------------------------------------------------------------

TCP_OPTION_KINDS: dict[str, int] = {
    "eol": 0,
    "nop": 1,
    "mss": 2,
    "wscale": 3,
    "sackOK": 4,
    "sack": 5,
    "TS": 8,
    "md5": 19,
    "FO": 34,
    "FOEXP": 254,
}


@dataclass
class TcpOption:
    """One TCP option of a packet, named as in the script.

    ``kind`` is one of the keys of :data:`TCP_OPTION_KINDS`:

    - ``mss N`` and ``wscale N``: ``value`` is N;
    - ``sack L:R L:R ...``: ``sack_blocks`` lists the (L, R) pairs;
    - ``TS val X ecr Y``: ``ts_val`` and ``ts_ecr``;
    - ``FO [cookie]``, ``FOEXP [cookie]`` and ``md5 digest``: ``data`` holds the bytes given
      in hex (empty for a fast open cookie request);
    - ``nop``, ``eol``, ``sackOK``: no data.
    """

    kind: str
    value: int | None = None
    sack_blocks: list[tuple[int, int]] = field(default_factory=list)
    ts_val: int | None = None
    ts_ecr: int | None = None
    data: bytes | None = None

    @property
    def kind_number(self) -> int:
        """The option kind as carried on the wire (FOEXP is kind 254 with magic 0xF989)."""
        return TCP_OPTION_KINDS[self.kind]


@dataclass
class IpInfo:
    """The IP-level part of a packet: ``[ect0]``, ``(tos 0x10)``, ``[ttl 64]``,
    ``(ect0, flowlabel 0x1234)``.

    ``ecn`` is one of ``noecn``, ``ect0``, ``ect1``, ``ce`` or ``ect01`` (outbound packets
    only: either ECT codepoint is accepted). IpInfo() fields not written are None.
    """

    ecn: str | None = None
    tos: int | None = None
    flow_label: int | None = None
    ttl: int | None = None


@dataclass
class IpEncapsulation:
    """An outer IP header written before the packet: ``ipv4 192.0.2.1 > 192.168.0.1:``."""

    version: Literal[4, 6]
    src: str
    dst: str
    ip_info: IpInfo | None = None


@dataclass
class IcmpEchoed:
    """What an ICMP error quotes: ``[1:1001(1000)]`` (tcp), ``[udp (100)]``, ``[raw (20)]``."""

    protocol: Literal["tcp", "udp", "raw"]
    payload_len: int
    seq_start: int | None = None


@dataclass
class PacketEvent:
    """A packet injected (``<``) into, or expected (``>``) from, the stack under test.

    TCP: ``flags`` is the flag string as written (``"S"``, ``"S."``, ``"P."``, ``"."``,
    ``"SEW"``...; ``-`` gives ``""``); the segment is ``seq_start:seq_end(payload_len)``;
    ``ack``, ``win`` and ``urg`` are None when not written; ``options`` is None for ``<...>``
    (options not checked) and ``[]`` when no options are written.

    UDP: ``payload_len`` is the N of ``udp (N)``.

    ICMP: ``icmp_type`` and ``icmp_code`` are the words written (``unreachable``,
    ``frag_needed``); ``icmp_mtu``, ``icmp_echo_id`` and ``icmp_echoed`` are optional.

    All: ``ip_info`` is the ``[ect0]``/``(tos 0x..)`` part (None if absent), ``src_port`` and
    ``dst_port`` come from an explicit ``8080>9090``, ``encapsulation`` lists outer IP headers.
    """

    direction: Direction
    protocol: Protocol
    ip_info: IpInfo | None = None
    encapsulation: list[IpEncapsulation] = field(default_factory=list)
    src_port: int | None = None
    dst_port: int | None = None
    flags: str | None = None
    seq_start: int | None = None
    seq_end: int | None = None
    payload_len: int | None = None
    ack: int | None = None
    win: int | None = None
    urg: int | None = None
    options: list[TcpOption] | None = field(default_factory=list)
    icmp_type: str | None = None
    icmp_code: str | None = None
    icmp_mtu: int | None = None
    icmp_echo_id: int | None = None
    icmp_echoed: IcmpEchoed | None = None


# --- other actions -------------------------------------------------------------------------


@dataclass
class SyscallEvent:
    """``[...END] name(args) = result [ERRNO (note)]``.

    ``end_usecs`` is set for a blocking call (``+0...0.100 read(...)``): the time the call
    returns, measured from the same origin as the event's start time (the previous event
    for a relative time, the start of the script for an absolute one). ``errno_name`` is the
    expected errno (``EAGAIN``) and ``note`` the free text in parentheses after it (or after
    the result alone, as in ``= 0x2 (flags O_RDWR)``).
    """

    name: str
    args: list[Expr]
    result: Expr
    end_usecs: int | None = None
    errno_name: str | None = None
    note: str | None = None


@dataclass
class CommandEvent:
    """A timed shell command: ``+0 `tc qdisc add ...```; the text between the backquotes."""

    command: str


@dataclass
class CodeEvent:
    """A ``%{ ... }%`` Python snippet; spaces and tabs around it are stripped, as packetdrill
    does, the rest (newlines included) is kept verbatim."""

    code: str


Action: TypeAlias = PacketEvent | SyscallEvent | CommandEvent | CodeEvent


@dataclass
class Event:
    """One timed line of the script.

    ``time_type`` is ``absolute`` (``0.1``), ``relative`` (``+.1``), ``any`` (``*``),
    ``range`` (``0.1~0.2``) or ``relative_range`` (``+.1~+.2``). ``time_usecs`` is the
    (start) time, ``time_end_usecs`` the end of a range. ``line`` is the line of the time.
    """

    line: int
    time_type: TimeType
    time_usecs: int
    time_end_usecs: int | None
    action: Action


@dataclass
class Command:
    """The untimed init or cleanup command of a script: the text between the backquotes."""

    command: str
    line: int


@dataclass
class Script:
    """A whole script.

    ``options`` maps each ``--name=value`` line to its value (``""`` for a bare ``--name``
    flag; the quotes of a ``"quoted value"`` are removed).
    """

    filename: str
    options: dict[str, str]
    init_command: Command | None
    events: list[Event]
    cleanup_command: Command | None
