"""Tests of the packetdrill script parser."""

import os
import re
from pathlib import Path

import pytest

from tuxnet.packetdrill.ast import (
    Array,
    BinOp,
    Call,
    CodeEvent,
    Command,
    CommandEvent,
    Ellipsis_,
    Event,
    IcmpEchoed,
    Int,
    IpEncapsulation,
    IpInfo,
    PacketEvent,
    Str,
    Struct,
    StructField,
    Symbol,
    SyscallEvent,
    TcpOption,
)
from tuxnet.packetdrill.parser import PacketdrillSyntaxError, parse_file, parse_script

PACKETDRILL_DIR = Path(
    os.environ.get(
        "TUXNET_PACKETDRILL_DIR",
        Path(__file__).resolve().parents[2].parent / "shared/conformance/packetdrill",
    )
)
SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"


def _scripts(directory: Path) -> list:
    if not directory.is_dir():
        reason = f"packetdrill scripts not found in {directory} (set TUXNET_PACKETDRILL_DIR)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="missing")]
    return [pytest.param(p, id=str(p.relative_to(directory))) for p in sorted(directory.rglob("*.pkt"))]


# A line that starts with an event time: 0, +0, +.1, 1.5, *, +.1~+.2, +0...0.1
_EVENT_LINE = re.compile(r"\s*(?:\*|\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?=[\s~.]|$)")


def _event_lines(text: str) -> list[int]:
    """Independent of the parser: the numbers of the lines that start with a time."""
    return [
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if not line.lstrip().startswith("//") and _EVENT_LINE.match(line)
    ]


@pytest.mark.parametrize("path", _scripts(PACKETDRILL_DIR))
def test_shared_suite_parses(path: Path) -> None:
    script = parse_file(path)
    assert [event.line for event in script.events] == _event_lines(path.read_text())


@pytest.mark.parametrize("path", _scripts(SCRIPTS_DIR))
def test_own_scripts_parse(path: Path) -> None:
    script = parse_file(path)
    assert script.events
    assert [event.line for event in script.events] == _event_lines(path.read_text())


def _event(text: str) -> Event:
    (event,) = parse_script(text).events
    return event


def _packet(text: str) -> PacketEvent:
    action = _event(text).action
    assert isinstance(action, PacketEvent)
    return action


def _syscall(text: str) -> SyscallEvent:
    action = _event(text).action
    assert isinstance(action, SyscallEvent)
    return action


# --- times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "time_type", "start", "end"),
    [
        ("0", "absolute", 0, None),
        ("1", "absolute", 1_000_000, None),
        ("0.25", "absolute", 250_000, None),
        (".5", "absolute", 500_000, None),
        ("+0", "relative", 0, None),
        ("+.1", "relative", 100_000, None),
        ("+1.5", "relative", 1_500_000, None),
        ("+.000001", "relative", 1, None),
        ("+0.0000019", "relative", 1, None),
        ("*", "any", 0, None),
        ("0.1~0.2", "range", 100_000, 200_000),
        ("+.3~+.303", "relative_range", 300_000, 303_000),
        ("+1.2~+1.240", "relative_range", 1_200_000, 1_240_000),
    ],
)
def test_event_times(text: str, time_type: str, start: int, end: int | None) -> None:
    event = _event(f"{text} > . 1:1(0) ack 1")
    assert (event.time_type, event.time_usecs, event.time_end_usecs) == (time_type, start, end)


def test_event_lines_and_comments() -> None:
    script = parse_script(
        "// header\n"
        "/* a block\n"
        "   comment */\n"
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3 // trailing\n"
        "\n"
        "+0 close(3) /* inline */ = 0\n"
    )
    assert [e.line for e in script.events] == [4, 6]
    assert [e.action for e in script.events] == [
        SyscallEvent("socket", [Ellipsis_(), Symbol("SOCK_STREAM"), Symbol("IPPROTO_TCP")], Int(3)),
        SyscallEvent("close", [Int(3)], Int(0)),
    ]


# --- packets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("S", "S"),
        ("S.", "S."),
        ("P.", "P."),
        (".", "."),
        ("F.", "F."),
        ("FP.", "FP."),
        ("R", "R"),
        ("R.", "R."),
        ("SEW", "SEW"),
        ("SE.", "SE."),
        ("E.", "E."),
        ("-", ""),
    ],
)
def test_tcp_flags(flags: str, expected: str) -> None:
    assert _packet(f"+0 < {flags} 0:0(0) win 100").flags == expected


def test_tcp_packet_fields() -> None:
    packet = _packet("+.1 < P. 1:2001(2000) ack 1 win 257 urg 5")
    assert packet == PacketEvent(
        direction="<",
        protocol="tcp",
        flags="P.",
        seq_start=1,
        seq_end=2001,
        payload_len=2000,
        ack=1,
        win=257,
        urg=5,
        options=[],
    )


def test_tcp_packet_minimal_has_no_ack_window_or_options() -> None:
    packet = _packet("+0 > R 1:1(0)")
    assert (packet.direction, packet.flags, packet.ack, packet.win, packet.urg) == (
        ">",
        "R",
        None,
        None,
        None,
    )
    assert packet.options == []


def test_tcp_options_syn() -> None:
    packet = _packet("+0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>")
    assert packet.options == [
        TcpOption("mss", value=1460),
        TcpOption("sackOK"),
        TcpOption("TS", ts_val=100, ts_ecr=0),
        TcpOption("nop"),
        TcpOption("wscale", value=8),
    ]
    assert [o.kind_number for o in packet.options] == [2, 4, 8, 1, 3]


def test_tcp_options_sack_blocks() -> None:
    packet = _packet("+0 < . 1:1(0) ack 1 win 257 <sack 2001:3001 6001:7001 8001:9001,nop,nop>")
    assert packet.options == [
        TcpOption("sack", sack_blocks=[(2001, 3001), (6001, 7001), (8001, 9001)]),
        TcpOption("nop"),
        TcpOption("nop"),
    ]


def test_tcp_options_not_checked() -> None:
    assert _packet("+0 > S. 0:0(0) ack 1 <...>").options is None


def test_tcp_options_fast_open_md5_eol() -> None:
    packet = _packet("+0 > S 0:0(0) <FO,FO abcd1234,FO 12345678,FOEXP 00ff,md5 0011aabb,eol>")
    assert packet.options == [
        TcpOption("FO", data=b""),
        TcpOption("FO", data=bytes.fromhex("abcd1234")),
        TcpOption("FO", data=bytes.fromhex("12345678")),
        TcpOption("FOEXP", data=b"\x00\xff"),
        TcpOption("md5", data=bytes.fromhex("0011aabb")),
        TcpOption("eol"),
    ]
    assert [o.kind_number for o in packet.options] == [34, 34, 34, 254, 19, 0]


@pytest.mark.parametrize(
    ("text", "info"),
    [
        ("[ect0]", IpInfo(ecn="ect0")),
        ("[ect1]", IpInfo(ecn="ect1")),
        ("[noecn]", IpInfo(ecn="noecn")),
        ("[ce]", IpInfo(ecn="ce")),
        ("[ect01]", IpInfo(ecn="ect01")),
        ("(tos 0x10)", IpInfo(tos=0x10)),
        ("[ttl 64]", IpInfo(ttl=64)),
        ("[flowlabel 0x12345]", IpInfo(flow_label=0x12345)),
        ("(ect0, flowlabel 0x1)", IpInfo(ecn="ect0", flow_label=1)),
    ],
)
def test_ip_info(text: str, info: IpInfo) -> None:
    assert _packet(f"+0 > {text} P. 1:1001(1000) ack 1").ip_info == info


def test_ports_and_encapsulation() -> None:
    packet = _packet("+0 < ipv4 192.0.2.2 > 192.168.0.1: [ect0] 8080>9090 S 0:0(0) win 100")
    assert packet.encapsulation == [IpEncapsulation(4, "192.0.2.2", "192.168.0.1")]
    assert (packet.ip_info, packet.src_port, packet.dst_port) == (IpInfo(ecn="ect0"), 8080, 9090)
    packet = _packet("+0 > ipv6 (ttl 3) fd::1 > fd::2: . 1:1(0) ack 1")
    assert packet.encapsulation == [IpEncapsulation(6, "fd::1", "fd::2", IpInfo(ttl=3))]


def test_udp_packets() -> None:
    assert _packet("+0 < udp (100)") == PacketEvent("<", "udp", payload_len=100)
    packet = _packet("+0 > (tos 0x4) udp 53>1024 (12)")
    assert (packet.protocol, packet.ip_info, packet.src_port, packet.dst_port, packet.payload_len) == (
        "udp",
        IpInfo(tos=4),
        53,
        1024,
        12,
    )
    assert packet.flags is None


def test_icmp_packets() -> None:
    packet = _packet("+0 < icmp unreachable frag_needed mtu 1400 [1:1461(1460)]")
    assert packet == PacketEvent(
        "<",
        "icmp",
        icmp_type="unreachable",
        icmp_code="frag_needed",
        icmp_mtu=1400,
        icmp_echoed=IcmpEchoed("tcp", 1460, 1),
    )
    packet = _packet("+0 > icmp unreachable port_unreachable [udp (100)]")
    assert (packet.icmp_code, packet.icmp_mtu, packet.icmp_echoed) == (
        "port_unreachable",
        None,
        IcmpEchoed("udp", 100),
    )
    packet = _packet("+0 < icmp echo_reply id 7")
    assert (packet.icmp_type, packet.icmp_code, packet.icmp_echo_id) == ("echo_reply", None, 7)


# --- system calls and expressions -------------------------------------------------------


def test_syscall_simple() -> None:
    call = _syscall("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3")
    assert call == SyscallEvent("socket", [Ellipsis_(), Symbol("SOCK_STREAM"), Symbol("IPPROTO_TCP")], Int(3))
    assert _syscall("+0 getpid() = 42").args == []


def test_syscall_errno_and_note() -> None:
    call = _syscall("+0 read(4, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)")
    assert (call.result, call.errno_name, call.note) == (
        Int(-1),
        "EAGAIN",
        "Resource temporarily unavailable",
    )
    call = _syscall("+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation   now in\tprogress)")
    assert (call.errno_name, call.note) == ("EINPROGRESS", "Operation now in progress")
    call = _syscall("+0 fcntl(3, F_GETFL) = 0x2 (flags O_RDWR)")
    assert (call.result, call.errno_name, call.note) == (Int(2), None, "flags O_RDWR")
    call = _syscall("+0 sendto(4, NULL, 1, MSG_FASTOPEN, ..., ...) = -1")
    assert (call.args[1], call.result, call.errno_name, call.note) == (Symbol("NULL"), Int(-1), None, None)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("+0...0.100 read(4, ..., 2000) = 2000", 0, 100_000),
        ("+.1...0.200 read(4, ..., 2000) = 2000", 100_000, 200_000),
        ("+.002 ... 0.004 connect(4, ..., ...) = 0", 2_000, 4_000),
        ("0.1...0.3 accept(3, ..., ...) = 4", 100_000, 300_000),
    ],
)
def test_blocking_syscall_end_time(text: str, start: int, end: int) -> None:
    event = _event(text)
    assert isinstance(event.action, SyscallEvent)
    assert (event.time_usecs, event.action.end_usecs) == (start, end)


def test_integers_symbols_and_bitwise_or() -> None:
    call = _syscall("+0 f(0xffffffff, -5, O_RDWR|O_NONBLOCK, A|B|C) = 0")
    assert call.args == [
        Int(0xFFFFFFFF),
        Int(-5),
        BinOp("|", Symbol("O_RDWR"), Symbol("O_NONBLOCK")),
        BinOp("|", BinOp("|", Symbol("A"), Symbol("B")), Symbol("C")),
    ]


def test_strings_and_arrays() -> None:
    call = _syscall('+0 f("abc", "a" "b", "GET "..., [], [1], [1, 2], [IP_PMTUDISC_DONT]) = 0')
    assert call.args == [
        Str("abc"),
        Str("ab"),
        Str("GET ", open_ended=True),
        Array([]),
        Array([Int(1)]),
        Array([Int(1), Int(2)]),
        Array([Symbol("IP_PMTUDISC_DONT")]),
    ]


def test_sockaddr_and_linger_structs() -> None:
    call = _syscall(
        '+0 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")}, 16) = 0'
    )
    sockaddr = call.args[1]
    assert sockaddr == Struct(
        [
            StructField("sa_family", Symbol("AF_INET")),
            StructField("sin_port", Call("htons", [Int(8080)])),
            StructField("sin_addr", Call("inet_addr", [Str("192.0.2.1")])),
        ]
    )
    assert isinstance(sockaddr, Struct)
    assert sockaddr.get("sin_port") == Call("htons", [Int(8080)])
    assert sockaddr.get("sin6_port") is None
    call = _syscall("+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0")
    assert call.args[3] == Struct([StructField("onoff", Int(1)), StructField("linger", Int(0))])


def test_poll_and_epoll_structs() -> None:
    call = _syscall("+0 poll([{fd=4,\n events=POLLIN|POLLOUT,\n revents=POLLOUT}], 1, 1000) = 1")
    assert call.args[0] == Array(
        [
            Struct(
                [
                    StructField("fd", Int(4)),
                    StructField("events", BinOp("|", Symbol("POLLIN"), Symbol("POLLOUT"))),
                    StructField("revents", Symbol("POLLOUT")),
                ]
            )
        ]
    )
    call = _syscall("+0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0")
    assert call.args[1] == Struct([StructField("events", Int(0)), StructField("ptr", Int(0))])


def test_msghdr_iovec_and_cmsg() -> None:
    call = _syscall(
        "+0 recvmsg(3, {msg_name(...)=...,\n"
        "               msg_iov(2)=[{..., 1000}, {iov_base=..., iov_len=5}],\n"
        "               msg_flags=0,\n"
        "               msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=9000}]},"
        " MSG_DONTWAIT) = 1005"
    )
    assert call.args[1] == Struct(
        [
            StructField("msg_name", Ellipsis_(), arg=Ellipsis_()),
            StructField(
                "msg_iov",
                Array(
                    [
                        Struct([StructField(None, Ellipsis_()), StructField(None, Int(1000))]),
                        Struct([StructField("iov_base", Ellipsis_()), StructField("iov_len", Int(5))]),
                    ]
                ),
                arg=Int(2),
            ),
            StructField("msg_flags", Int(0)),
            StructField(
                "msg_control",
                Array(
                    [
                        Struct(
                            [
                                StructField("cmsg_level", Symbol("SOL_TCP")),
                                StructField("cmsg_type", Symbol("TCP_CM_INQ")),
                                StructField("cmsg_data", Int(9000)),
                            ]
                        )
                    ]
                ),
            ),
        ]
    )
    assert call.args[2] == Symbol("MSG_DONTWAIT")
    assert call.result == Int(1005)


# --- commands, code and the script as a whole ----------------------------------------------


def test_commands_and_code() -> None:
    script = parse_script(
        "`../common/defaults.sh\n"
        "sysctl -q net.ipv4.tcp_ecn=1`\n"
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
        "+0 `tc qdisc replace dev tun0 root pfifo limit 0`\n"
        "+0 %{ assert tcpi_snd_cwnd == 10, '%d' % {1: tcpi_snd_cwnd}[1] }%\n"
        "+.1 %{\n"
        "assert tcpi_ca_state == TCP_CA_Open\n"
        "}%\n"
        "`/tmp/sysctl_restore_${PPID}.sh`\n",
        "x.pkt",
    )
    assert script.filename == "x.pkt"
    assert script.init_command == Command("../common/defaults.sh\nsysctl -q net.ipv4.tcp_ecn=1", 1)
    assert script.cleanup_command == Command("/tmp/sysctl_restore_${PPID}.sh", 9)
    assert [e.line for e in script.events] == [3, 4, 5, 6]
    assert script.events[1].action == CommandEvent("tc qdisc replace dev tun0 root pfifo limit 0")
    assert script.events[2].action == CodeEvent("assert tcpi_snd_cwnd == 10, '%d' % {1: tcpi_snd_cwnd}[1]")
    assert script.events[3].action == CodeEvent("\nassert tcpi_ca_state == TCP_CA_Open\n")


def test_options() -> None:
    script = parse_script(
        "--tolerance_usecs=10000\n"
        "--strict_segments\n"
        "--local_ip=fd::1\n"
        "--remote_ip=192.0.2.1\n"
        "--ip_version=ipv4-mapped-ipv6\n"
        '--define=CC="reno"\n'
        '--name="a b"\n'
        "0 close(3) = 0\n"
    )
    assert script.options == {
        "tolerance_usecs": "10000",
        "strict_segments": "",
        "local_ip": "fd::1",
        "remote_ip": "192.0.2.1",
        "ip_version": "ipv4-mapped-ipv6",
        "define": 'CC="reno"',
        "name": "a b",
    }
    assert (script.init_command, script.cleanup_command) == (None, None)


def test_parse_file(tmp_path: Path) -> None:
    path = tmp_path / "t.pkt"
    path.write_text("0 close(3) = 0\n+0 close(3) = -1 EBADF (Bad file descriptor)\n")
    script = parse_file(path)
    assert script.filename == str(path)
    assert [e.line for e in script.events] == [1, 2]


# --- errors ----------------------------------------------------------------------------------

_GOOD = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"


_ERRORS = [
    (_GOOD + "+0 bind(3, ..., ... = 0\n", 2, "parse error at '=': expected ',' or ')' in the argument list"),
    (_GOOD + "+0 close(3)\n+0 close(4) = 0\n", 2, "parse error at '+': expected '=' and the expected result"),
    (_GOOD + "+0 < X 0:0(0) win 10\n", 2, "semantic error: unknown TCP flag 'X'"),
    (_GOOD + "+0 < S 0:0(1) win 10\n", 2, "semantic error: inconsistent TCP sequence numbers"),
    (_GOOD + "+0 < S 0:0(0) win 70000\n", 2, "semantic error: TCP window value out of range"),
    (_GOOD + "+0 < S 0:0 win 10\n", 2, "parse error at 'win': expected '(' and the payload length"),
    (
        _GOOD + "\n+0 < S 0:0(0) <mss 1000\n+0 > S. 0:0(0) ack 1\n",
        3,
        "expected ',' or '>' after a TCP option",
    ),
    (_GOOD + "+0 < S 0:0(0) <foo 3>\n", 2, "parse error at 'foo': expected a TCP option"),
    (
        _GOOD + "+0 < S 0:0(0) <FO abc>\n",
        2,
        "semantic error: TCP fast open cookie has an odd number of digits",
    ),
    (_GOOD + "+0 < S 0:0(0) <FO zz>\n", 2, "semantic error: TCP fast open cookie 'zz' is not a valid hex"),
    (_GOOD + "+0 < S 0:0(0) <...>\n", 2, "<...> for TCP options can only be used with outbound packets"),
    (_GOOD + "* close(3) = 0\n", 2, "event time <star> can only be used with outbound packets"),
    (_GOOD + "+.1~+.2 < . 1:1(0) ack 1\n", 2, "event time range can only be used with outbound packets"),
    (_GOOD + "+.3~+.2 > . 1:1(0) ack 1\n", 2, "semantic error: time range is backwards"),
    (_GOOD + "+.1~.2 > . 1:1(0) ack 1\n", 2, "expected '+' and the end of the relative time range"),
    (_GOOD + "-1 close(3) = 0\n", 2, "semantic error: negative time"),
    (_GOOD + "+0 < [ect01] . 1:1(0) ack 1\n", 2, "[ect01] can only be used with outbound packets"),
    (_GOOD + "+0 < [ect0] udp (10)\n", 2, "ECN can only be used with TCP packets"),
    (_GOOD + "+0 < gre: . 1:1(0) ack 1\n", 2, "GRE and MPLS encapsulation are not supported"),
    (
        _GOOD + "+0 read(3, ..., 10) = -1 EAGAIN\n+0 close(3) = 0\n",
        2,
        "expected '(' and a description of EAGAIN",
    ),
    (
        _GOOD + "+0 read(3, ..., 10) = -1 EAGAIN (Resource\n+0 close(3) = 0\n",
        2,
        "expected ')' to close the note",
    ),
    (_GOOD + "+0 f(3, 1.5) = 0\n", 2, "parse error at '1.5': expected an expression"),
    (_GOOD + "+0 f({fd=4, events=POLLIN) = 0\n", 2, "expected ',' or '}' in the brace expression"),
    (_GOOD + "+0 hello\n", 2, "parse error at '': unexpected end of file, expected '(' after hello"),
    (_GOOD + "+0 %{ x = 1\n+0 close(3) = 0\n", 2, "parse error at '%{': unterminated code block"),
    (_GOOD + "+0 `ls\n", 2, "parse error at '`': unterminated command"),
    (_GOOD + "/* never\nclosed\n", 2, "parse error at '/*': unterminated comment"),
    (_GOOD + '+0 write(3, "abc, 3) = 3\n', 2, "parse error at '\"': unterminated string"),
    (_GOOD + "bogus line\n", 2, "parse error at 'bogus': expected an event time"),
    (_GOOD + "--late_option=1\n", 2, "options must come first in the script"),
    (_GOOD + "`echo middle`\n+0 close(3) = 0\n", 2, "must be the first (init) or the last (cleanup)"),
    ("--tolerance_usecs=1000\n`init`\n", 2, "unexpected end of file, expected at least one event"),
    (_GOOD + "+0 close(3) =\n", 2, "unexpected end of file, expected an expression"),
    ("--x=\n0 close(3) = 0\n", 1, "expected an option value"),
    (_GOOD + "+0 < [tos 0x100] . 1:1(0) ack 1\n", 2, "semantic error: tos out of range"),
    (
        _GOOD + "+0 < [bogus] . 1:1(0) ack 1\n",
        2,
        "expected noecn, ect0, ect1, ect01, ce, tos, flowlabel or ttl",
    ),
]


@pytest.mark.parametrize(("text", "line", "message"), _ERRORS, ids=[message for _, _, message in _ERRORS])
def test_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(PacketdrillSyntaxError) as info:
        parse_script(text, "bad.pkt")
    assert info.value.line == line
    assert info.value.filename == "bad.pkt"
    assert str(info.value).startswith(f"bad.pkt:{line}: ")
    assert message in str(info.value)


def test_error_message_format() -> None:
    with pytest.raises(PacketdrillSyntaxError) as info:
        parse_script(_GOOD + "+0 bind(3, ..., ... = 0\n", "t.pkt")
    assert str(info.value) == "t.pkt:2: parse error at '=': expected ',' or ')' in the argument list"
    assert info.value.message == "parse error at '=': expected ',' or ')' in the argument list"


def test_error_on_next_line_is_reported_on_the_unfinished_statement() -> None:
    with pytest.raises(PacketdrillSyntaxError) as info:
        parse_script(_GOOD + "+0 < S 0:0(0) <mss 1000\n+0 > S. 0:0(0) ack 1\n", "t.pkt")
    assert str(info.value) == (
        "t.pkt:2: parse error at '+': expected ',' or '>' after a TCP option (the next token is on line 3)"
    )
