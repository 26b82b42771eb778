"""Parser for packetdrill scripts.

A hand-written tokenizer and recursive-descent parser for the language of Google's
packetdrill (its ``lexer.l`` and ``parser.y``). It produces the syntax tree of
:mod:`tuxnet.packetdrill.ast` and performs the same semantic checks packetdrill does while
parsing (sequence ranges agree with payload lengths, ``*`` and time ranges only on outbound
packets, values in range...). It depends on nothing else in tuxnet.

Errors are reported as packetdrill reports them::

    script.pkt:12: parse error at ')': expected an expression
    script.pkt:14: semantic error: inconsistent TCP sequence numbers and payload size

Differences from packetdrill: option values are taken verbatim up to
the next blank (so ``--ip_version=ipv4-mapped-ipv6`` is accepted), the note after a result
may hold any text up to the closing parenthesis on the same line, and brace expressions are
parsed generically as ordered fields (see :class:`~tuxnet.packetdrill.ast.Struct`); the
errno name after a result must be on the line where the result ends. GRE and MPLS
encapsulation and the fuzzing extension are not supported.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

from tuxnet.packetdrill.ast import (
    TCP_OPTION_KINDS,
    Action,
    Array,
    BinOp,
    Call,
    CodeEvent,
    Command,
    CommandEvent,
    Direction,
    Ellipsis_,
    Event,
    Expr,
    IcmpEchoed,
    Int,
    IpEncapsulation,
    IpInfo,
    PacketEvent,
    Script,
    Str,
    Struct,
    StructField,
    Symbol,
    SyscallEvent,
    TcpOption,
    TimeType,
)

__all__ = ["PacketdrillSyntaxError", "parse_file", "parse_script"]


class PacketdrillSyntaxError(Exception):
    """A script that packetdrill would refuse; ``str()`` is ``FILE:LINE: message``."""

    def __init__(self, filename: str, line: int, message: str) -> None:
        super().__init__(f"{filename}:{line}: {message}")
        self.filename = filename
        self.line = line
        self.message = message


def parse_script(text: str, filename: str = "<script>") -> Script:
    """Parse the text of a packetdrill script; ``filename`` is used in error messages."""
    return _Parser(text, filename).parse()


def parse_file(path: str | Path) -> Script:
    """Read and parse the packetdrill script at ``path``."""
    return parse_script(Path(path).read_text(), str(path))


# --- tokenizer -----------------------------------------------------------------------------

_HEX4 = r"[0-9a-fA-F]{1,4}"
_IPV4 = r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+"
# Sequence ranges such as 1:1001 must not read as IPv6 addresses, so an address either has
# all eight groups or a "::".
_IPV6 = (
    rf"(?:{_HEX4}:){{7}}{_HEX4}"
    rf"|(?:{_HEX4}(?::{_HEX4})*)?::(?:(?:{_HEX4}:)*(?:{_IPV4}|{_HEX4}))?"
)

# Candidates in packetdrill's (flex) order: the longest match wins, the first on a tie.
_TOKEN_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (kind, re.compile(pattern))
    for kind, pattern in [
        ("comment", r"//[^\n]*"),
        ("comment", r"/\*(?:[^*]|\*(?!/))*\*/"),
        ("code", r"%\{(?:[^}]|\}(?!%))*\}%"),
        ("ellipsis", r"\.\.\."),
        ("option", r"--[A-Za-z0-9_]+"),
        ("float", r"-?[0-9]*\.[0-9]+"),
        ("int", r"-?[0-9]+"),
        ("int", r"0x[0-9a-fA-F]+"),
        ("word", r"[A-Za-z0-9_]+"),
        ("string", r'"(?:\\[\s\S]|[^"\\])*"'),
        ("backquote", r"`(?:\\[\s\S]|[^`\\])*`"),
        ("ipv4", _IPV4),
        ("ipv6", _IPV6),
    ]
]
_BLANKS = re.compile(r"[ \t\r\n\f\v]+")
_UNTERMINATED = {"/*": "comment", "%{": "code block", '"': "string", "`": "command"}


@dataclass
class _Token:
    kind: str  # code, ellipsis, option, float, int, word, string, backquote, ipv4, ipv6, punct, eof
    text: str  # as written in the script
    start: int  # offset of the first character
    end: int  # offset after the last character
    line: int  # line of the first character
    end_line: int  # line of the last character


class _Tokenizer:
    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset)

    def token(self, kind: str, start: int, end: int) -> _Token:
        return _Token(
            kind, self.text[start:end], start, end, self.line_of(start), self.line_of(max(start, end - 1))
        )

    def tokens(self) -> list[_Token]:
        text = self.text
        out: list[_Token] = []
        pos = 0
        while True:
            blank = _BLANKS.match(text, pos)
            if blank:
                pos = blank.end()
            if pos >= len(text):
                out.append(self.token("eof", pos, pos))
                return out
            kind, end = self.longest_match(pos)
            if kind == "option" and text.startswith("=", end):
                end = self.option_value_end(end + 1)
            if kind != "comment":
                out.append(self.token(kind, pos, end))
            pos = end

    def longest_match(self, pos: int) -> tuple[str, int]:
        best_kind, best_end = "", pos
        for kind, pattern in _TOKEN_PATTERNS:
            m = pattern.match(self.text, pos)
            if m and m.end() > best_end and (kind != "ipv6" or _is_ipv6(m.group())):
                best_kind, best_end = kind, m.end()
        if best_kind:
            return best_kind, best_end
        for opener, what in _UNTERMINATED.items():
            if self.text.startswith(opener, pos):
                raise PacketdrillSyntaxError(
                    self.filename, self.line_of(pos), f"parse error at '{opener}': unterminated {what}"
                )
        return "punct", pos + 1

    def option_value_end(self, pos: int) -> int:
        """The end of a ``--name=value`` option value: the next blank outside quotes."""
        text = self.text
        start = pos
        while pos < len(text) and not text[pos].isspace():
            if text[pos] in '"`':
                close = text.find(text[pos], pos + 1)
                if close < 0:
                    raise PacketdrillSyntaxError(
                        self.filename, self.line_of(pos), f"parse error at '{text[pos]}': unterminated quote"
                    )
                pos = close
            pos += 1
        if pos == start:
            raise PacketdrillSyntaxError(
                self.filename, self.line_of(start), "parse error at '=': expected an option value"
            )
        return pos


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


# --- parser --------------------------------------------------------------------------------

_FUNCTIONS = frozenset({"htons", "inet_addr", "inet6_addr"})
_ECN = frozenset({"noecn", "ect0", "ect1", "ect01", "ce"})
_TCP_FLAGS = frozenset("FSRPUEWA.")
_SIMPLE_TCP_OPTIONS = frozenset({"nop", "eol", "sackOK"})
_HEX_BLOB = re.compile(r"[0-9a-fA-F]*")


class _Parser:
    def __init__(self, text: str, filename: str) -> None:
        self.filename = filename
        self.source = text
        self.toks = _Tokenizer(text, filename).tokens()
        self.pos = 0
        self.statement_start = 0

    # -- token helpers

    def peek(self, ahead: int = 0) -> _Token:
        return self.toks[min(self.pos + ahead, len(self.toks) - 1)]

    def advance(self) -> _Token:
        tok = self.toks[self.pos]
        if tok.kind != "eof":
            self.pos += 1
        return tok

    def is_punct(self, ch: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == "punct" and tok.text == ch

    def is_word(self, *words: str) -> bool:
        tok = self.peek()
        return tok.kind == "word" and (not words or tok.text in words)

    def accept(self, ch: str) -> bool:
        if self.is_punct(ch):
            self.advance()
            return True
        return False

    def expect(self, ch: str, message: str) -> _Token:
        if not self.is_punct(ch):
            raise self.error(message)
        return self.advance()

    def expect_word(self, word: str, message: str) -> _Token:
        if not self.is_word(word):
            raise self.error(message)
        return self.advance()

    def integer(self, what: str) -> tuple[int, _Token]:
        tok = self.peek()
        if tok.kind != "int":
            raise self.error(f"expected {what}")
        self.advance()
        return int(tok.text, 0) if tok.text.startswith("0x") else int(tok.text), tok

    def error(self, message: str, tok: _Token | None = None) -> PacketdrillSyntaxError:
        """A parse error at ``tok``, by default the current token.

        A statement normally fits on one line, so when the current token starts a new line
        in the middle of a statement (or is the end of the file), the error is reported on
        the line where the unfinished statement stops.
        """
        if tok is None:
            tok = self.peek()
            line = tok.line
            previous = self.toks[self.pos - 1] if self.pos > 0 else None
            unfinished = self.pos > self.statement_start or tok.kind == "eof"
            if previous is not None and unfinished and tok.line > previous.end_line:
                line = previous.end_line
                if tok.kind != "eof":
                    message = f"{message} (the next token is on line {tok.line})"
        else:
            line = tok.line
        if tok.kind == "eof":
            message = f"unexpected end of file, {message}"
        shown = tok.text if len(tok.text) <= 40 else tok.text[:37] + "..."
        return PacketdrillSyntaxError(self.filename, line, f"parse error at '{shown}': {message}")

    def semantic(self, line: int, message: str) -> PacketdrillSyntaxError:
        return PacketdrillSyntaxError(self.filename, line, f"semantic error: {message}")

    def check_bits(self, value: int, bits: int, tok: _Token, what: str) -> int:
        if not 0 <= value < (1 << bits):
            raise self.semantic(tok.line, f"{what} out of range")
        return value

    # -- script

    def parse(self) -> Script:
        options: dict[str, str] = {}
        while self.peek().kind == "option":
            name, _, value = self.advance().text[2:].partition("=")
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            options[name] = value
        init_command = self.untimed_command()
        events: list[Event] = []
        while self.at_event_time():
            self.statement_start = self.pos
            events.append(self.event())
        self.statement_start = self.pos
        cleanup_command = self.untimed_command()
        tok = self.peek()
        if cleanup_command is not None and tok.kind != "eof":
            raise self.error(
                "a command without a time must be the first (init) or the last (cleanup) statement",
                self.toks[self.pos - 1],
            )
        if tok.kind == "option":
            raise self.error("options must come first in the script")
        if tok.kind != "eof":
            raise self.error("expected an event time, such as '0', '+.1', '0.1~0.2' or '*'")
        if not events:
            raise self.error("expected at least one event")
        return Script(self.filename, options, init_command, events, cleanup_command)

    def untimed_command(self) -> Command | None:
        if self.peek().kind != "backquote":
            return None
        tok = self.advance()
        return Command(tok.text[1:-1], tok.line)

    def at_event_time(self) -> bool:
        tok = self.peek()
        return tok.kind in ("int", "float") or (tok.kind == "punct" and tok.text in "+*")

    # -- events

    def event(self) -> Event:
        line = self.peek().line
        time_type: TimeType
        end: int | None = None
        if self.accept("*"):
            time_type, start = "any", 0
        elif self.accept("+"):
            time_type, start = "relative", self.time()
            if self.accept("~"):
                self.expect("+", "expected '+' and the end of the relative time range")
                time_type, end = "relative_range", self.time()
        else:
            time_type, start = "absolute", self.time()
            if self.accept("~"):
                time_type, end = "range", self.time()
        action = self.action()
        if end is not None and end < start:
            raise self.semantic(line, "time range is backwards")
        outbound = isinstance(action, PacketEvent) and action.direction == ">"
        if time_type == "any" and not outbound:
            raise self.semantic(line, "event time <star> can only be used with outbound packets")
        if end is not None and not outbound:
            raise self.semantic(line, "event time range can only be used with outbound packets")
        return Event(line, time_type, start, end, action)

    def time(self) -> int:
        """A time in seconds (``1``, ``.25``, ``0.100``), returned in microseconds."""
        tok = self.peek()
        if tok.kind not in ("int", "float") or tok.text.startswith("0x"):
            raise self.error("expected a time in seconds")
        self.advance()
        if tok.text.startswith("-"):
            raise self.semantic(tok.line, "negative time")
        return int(Decimal(tok.text) * 1_000_000)

    def action(self) -> Action:
        tok = self.peek()
        if tok.kind == "punct" and tok.text in "<>":
            return self.packet()
        if tok.kind in ("word", "ellipsis"):
            return self.syscall()
        if tok.kind == "backquote":
            self.advance()
            return CommandEvent(tok.text[1:-1])
        if tok.kind == "code":
            self.advance()
            return CodeEvent(tok.text[2:-2].strip(" \t"))
        raise self.error("expected a packet, a system call, a `command` or %{ code }% after the time")

    # -- packets

    def packet(self) -> PacketEvent:
        direction_tok = self.advance()
        direction: Direction = "<" if direction_tok.text == "<" else ">"
        encapsulation: list[IpEncapsulation] = []
        while self.is_word("ipv4", "ipv6", "gre", "GREv0", "mpls"):
            if self.is_word("gre", "GREv0", "mpls"):
                raise self.error("GRE and MPLS encapsulation are not supported")
            encapsulation.append(self.encapsulation())
        ip_info = self.opt_ip_info()
        if ip_info is not None and ip_info.ecn == "ect01" and direction == "<":
            raise self.semantic(direction_tok.line, "[ect01] can only be used with outbound packets")
        if self.is_word("udp"):
            packet = self.udp(direction)
            if ip_info is not None and ip_info.ecn is not None:
                raise self.semantic(direction_tok.line, "ECN can only be used with TCP packets")
        elif self.is_word("icmp"):
            packet = self.icmp(direction)
        else:
            packet = self.tcp(direction)
        packet.ip_info = ip_info
        packet.encapsulation = encapsulation
        return packet

    def encapsulation(self) -> IpEncapsulation:
        version: Literal[4, 6] = 4 if self.advance().text == "ipv4" else 6
        ip_info = self.opt_ip_info()
        kind = f"ipv{version}"
        if self.peek().kind != kind:
            raise self.error(f"expected an IPv{version} source address")
        src = self.advance().text
        self.expect(">", "expected '>' between the source and destination addresses")
        if self.peek().kind != kind:
            raise self.error(f"expected an IPv{version} destination address")
        dst = self.advance().text
        self.expect(":", "expected ':' after the outer IP header")
        return IpEncapsulation(version, src, dst, ip_info)

    def opt_ip_info(self) -> IpInfo | None:
        """``(tos_spec)``, ``[flowlabel N]``, ``[ttl N]`` or ``(tos_spec, flowlabel N)``."""
        if not (self.is_punct("(") or self.is_punct("[")):
            return None
        close = ")" if self.advance().text == "(" else "]"
        info = IpInfo()
        if self.is_word(*_ECN) or self.is_word("tos"):
            if self.is_word("tos"):
                self.advance()
                tos, tok = self.integer("a TOS value such as 0x10")
                info.tos = self.check_bits(tos, 8, tok, "tos")
            else:
                info.ecn = self.advance().text
            if self.accept(","):
                info.flow_label = self.flow_label()
        elif self.is_word("ttl"):
            self.advance()
            ttl, tok = self.integer("a TTL")
            info.ttl = self.check_bits(ttl, 8, tok, "ttl")
        elif self.is_word("flowlabel"):
            info.flow_label = self.flow_label()
        else:
            raise self.error("expected noecn, ect0, ect1, ect01, ce, tos, flowlabel or ttl")
        self.expect(close, f"expected '{close}' to close the IP information")
        return info

    def flow_label(self) -> int:
        self.expect_word("flowlabel", "expected 'flowlabel'")
        label, tok = self.integer("a flow label")
        return self.check_bits(label, 20, tok, "flowlabel")

    def opt_ports(self) -> tuple[int | None, int | None]:
        if self.peek().kind != "int" or not self.is_punct(">", 1):
            return None, None
        src, src_tok = self.integer("a source port")
        self.advance()
        dst, dst_tok = self.integer("a destination port")
        return self.check_bits(src, 16, src_tok, "src port"), self.check_bits(dst, 16, dst_tok, "dst port")

    def tcp(self, direction: Direction) -> PacketEvent:
        src_port, dst_port = self.opt_ports()
        flags = self.tcp_flags()
        seq_start, seq_end, payload_len = self.sequence()
        packet = PacketEvent(
            direction,
            "tcp",
            src_port=src_port,
            dst_port=dst_port,
            flags=flags,
            seq_start=seq_start,
            seq_end=seq_end,
            payload_len=payload_len,
        )
        if self.is_word("ack"):
            self.advance()
            ack, tok = self.integer("an ack sequence number")
            packet.ack = self.check_bits(ack, 32, tok, "TCP ack sequence number")
        if self.is_word("win"):
            self.advance()
            win, tok = self.integer("a window value")
            packet.win = self.check_bits(win, 16, tok, "TCP window value")
        if self.is_word("urg"):
            self.advance()
            urg, tok = self.integer("an urgent pointer")
            packet.urg = self.check_bits(urg, 16, tok, "urg_ptr value")
        if self.is_punct("<"):
            opening = self.advance()
            packet.options = self.tcp_options()
            if packet.options is None and direction == "<":
                raise self.semantic(
                    opening.line, "<...> for TCP options can only be used with outbound packets"
                )
        return packet

    def tcp_flags(self) -> str:
        tok = self.peek()
        if self.accept("."):
            return "."
        if self.accept("-"):
            return ""
        if tok.kind != "word":
            raise self.error("expected TCP flags such as S, S., P., F. or R")
        self.advance()
        flags = tok.text + ("." if self.accept(".") else "")
        unknown = set(flags) - _TCP_FLAGS
        if unknown:
            raise self.semantic(tok.line, f"unknown TCP flag '{sorted(unknown)[0]}' in '{flags}'")
        return flags

    def sequence(self) -> tuple[int, int, int]:
        """``start:end(length)``."""
        start, start_tok = self.integer("a sequence range such as 1:1001(1000)")
        self.expect(":", "expected ':' in the sequence range")
        end, end_tok = self.integer("the end of the sequence range")
        self.expect("(", "expected '(' and the payload length")
        length, length_tok = self.integer("the payload length")
        self.expect(")", "expected ')' after the payload length")
        self.check_bits(start, 32, start_tok, "TCP start sequence number")
        self.check_bits(end, 32, end_tok, "TCP end sequence number")
        self.check_bits(length, 16, length_tok, "TCP payload size")
        if end != start + length:
            raise self.semantic(start_tok.line, "inconsistent TCP sequence numbers and payload size")
        return start, end, length

    def tcp_options(self) -> list[TcpOption] | None:
        """The options after ``<``: None for ``<...>``."""
        if self.peek().kind == "ellipsis":
            self.advance()
            self.expect(">", "expected '>' after '<...'")
            return None
        options = [self.tcp_option()]
        while self.accept(","):
            options.append(self.tcp_option())
        self.expect(">", "expected ',' or '>' after a TCP option")
        return options

    def tcp_option(self) -> TcpOption:
        tok = self.peek()
        if tok.kind != "word" or tok.text not in TCP_OPTION_KINDS:
            raise self.error("expected a TCP option: nop, eol, mss, wscale, sackOK, sack, TS, FO, FOEXP, md5")
        self.advance()
        kind = tok.text
        if kind in _SIMPLE_TCP_OPTIONS:
            return TcpOption(kind)
        if kind == "mss":
            mss, value_tok = self.integer("an MSS value")
            return TcpOption(kind, value=self.check_bits(mss, 16, value_tok, "mss value"))
        if kind == "wscale":
            shift, value_tok = self.integer("a window scale shift count")
            return TcpOption(kind, value=self.check_bits(shift, 8, value_tok, "window scale shift count"))
        if kind == "sack":
            blocks = [self.sack_block()]
            while self.peek().kind == "int":
                blocks.append(self.sack_block())
            return TcpOption(kind, sack_blocks=blocks)
        if kind == "TS":
            self.expect_word("val", "expected 'val' after TS")
            val, val_tok = self.integer("a TS val")
            self.expect_word("ecr", "expected 'ecr' after the TS val")
            ecr, ecr_tok = self.integer("a TS ecr")
            return TcpOption(
                kind,
                ts_val=self.check_bits(val, 32, val_tok, "ts val"),
                ts_ecr=self.check_bits(ecr, 32, ecr_tok, "ecr val"),
            )
        if kind in ("FO", "FOEXP"):
            cookie = self.hex_blob("TCP fast open cookie") if self.peek().kind in ("word", "int") else b""
            return TcpOption(kind, data=cookie)
        if self.peek().kind not in ("word", "int"):
            raise self.error("expected an MD5 digest in hex")
        return TcpOption(kind, data=self.hex_blob("TCP MD5 digest"))

    def sack_block(self) -> tuple[int, int]:
        left, left_tok = self.integer("a SACK block such as 1001:2001")
        self.expect(":", "expected ':' in the SACK block")
        right, right_tok = self.integer("the right edge of the SACK block")
        return (
            self.check_bits(left, 32, left_tok, "TCP SACK left sequence number"),
            self.check_bits(right, 32, right_tok, "TCP SACK right sequence number"),
        )

    def hex_blob(self, what: str) -> bytes:
        tok = self.advance()
        if len(tok.text) % 2:
            raise self.semantic(tok.line, f"{what} has an odd number of digits")
        if not _HEX_BLOB.fullmatch(tok.text):
            raise self.semantic(tok.line, f"{what} '{tok.text}' is not a valid hex string")
        return bytes.fromhex(tok.text)

    def udp(self, direction: Direction) -> PacketEvent:
        self.advance()
        src_port, dst_port = self.opt_ports()
        self.expect("(", "expected '(' and the UDP payload length")
        length, tok = self.integer("the UDP payload length")
        self.expect(")", "expected ')' after the UDP payload length")
        return PacketEvent(
            direction,
            "udp",
            src_port=src_port,
            dst_port=dst_port,
            payload_len=self.check_bits(length, 16, tok, "UDP payload size"),
        )

    def icmp(self, direction: Direction) -> PacketEvent:
        self.advance()
        if not self.is_word():
            raise self.error("expected an ICMP type such as unreachable")
        packet = PacketEvent(direction, "icmp", icmp_type=self.advance().text)
        if self.is_word() and not self.is_word("mtu", "id"):
            packet.icmp_code = self.advance().text
        if self.is_word("mtu"):
            self.advance()
            packet.icmp_mtu, _ = self.integer("an MTU")
        if self.is_word("id"):
            self.advance()
            packet.icmp_echo_id, _ = self.integer("an echo id")
        if self.accept("["):
            if self.is_word("udp", "raw"):
                protocol: Literal["udp", "raw"] = "udp" if self.advance().text == "udp" else "raw"
                self.expect("(", "expected '(' and the payload length")
                length, _ = self.integer("the payload length")
                self.expect(")", "expected ')' after the payload length")
                packet.icmp_echoed = IcmpEchoed(protocol, length)
            else:
                start, _, length = self.sequence()
                packet.icmp_echoed = IcmpEchoed("tcp", length, start)
            self.expect("]", "expected ']' after the quoted packet")
        return packet

    # -- system calls

    def syscall(self) -> SyscallEvent:
        end_usecs = None
        if self.peek().kind == "ellipsis":
            self.advance()
            end_usecs = self.time()
        if not self.is_word():
            raise self.error("expected a system call name")
        name = self.advance().text
        self.expect("(", f"expected '(' after {name}")
        args: list[Expr] = []
        if not self.accept(")"):
            args = self.expr_list()
            self.expect(")", "expected ',' or ')' in the argument list")
        self.expect("=", "expected '=' and the expected result after the system call")
        call = SyscallEvent(name, args, self.expr(), end_usecs)
        if self.is_word() and self.peek().line == self.toks[self.pos - 1].end_line:
            call.errno_name = self.advance().text
            if not self.is_punct("("):
                raise self.error(f"expected '(' and a description of {call.errno_name}")
        if self.is_punct("("):
            call.note = self.note()
        return call

    def note(self) -> str:
        """The free text in parentheses after a result: ``(Resource temporarily unavailable)``."""
        opening = self.advance()
        while not self.is_punct(")"):
            tok = self.peek()
            if tok.kind == "eof" or tok.line > opening.line:
                raise self.error("expected ')' to close the note")
            self.advance()
        closing = self.advance()
        text = " ".join(self.source[opening.end : closing.start].split())
        if not text:
            raise self.semantic(opening.line, "empty note")
        return text

    # -- expressions

    def expr_list(self) -> list[Expr]:
        items = [self.expr()]
        while self.accept(","):
            items.append(self.expr())
        return items

    def expr(self) -> Expr:
        left = self.primary()
        while self.accept("|"):
            left = BinOp("|", left, self.primary())
        return left

    def primary(self) -> Expr:
        tok = self.peek()
        if tok.kind == "ellipsis":
            self.advance()
            return Ellipsis_()
        if tok.kind == "int":
            value, _ = self.integer("an integer")
            return Int(value)
        if tok.kind == "string":
            parts = []
            while self.peek().kind == "string":
                parts.append(self.advance().text[1:-1])
            open_ended = self.peek().kind == "ellipsis"
            if open_ended:
                self.advance()
            return Str("".join(parts), open_ended)
        if self.accept("["):
            items = [] if self.is_punct("]") else self.expr_list()
            self.expect("]", "expected ',' or ']' in the array")
            return Array(items)
        if self.is_punct("{"):
            return self.struct()
        if tok.kind == "word":
            self.advance()
            if tok.text in _FUNCTIONS and self.is_punct("("):
                self.advance()
                args = [] if self.is_punct(")") else self.expr_list()
                self.expect(")", f"expected ',' or ')' after the arguments of {tok.text}")
                return Call(tok.text, args)
            return Symbol(tok.text)
        raise self.error("expected an expression")

    def struct(self) -> Struct:
        self.advance()
        fields: list[StructField] = []
        while True:
            tok = self.peek()
            if tok.kind == "word" and self.is_punct("=", 1):
                self.advance()
                self.advance()
                fields.append(StructField(tok.text, self.expr()))
            elif tok.kind == "word" and tok.text not in _FUNCTIONS and self.is_punct("(", 1):
                self.advance()
                self.advance()
                arg = self.expr()
                self.expect(")", f"expected ')' after the argument of {tok.text}")
                self.expect("=", f"expected '=' after {tok.text}(...)")
                fields.append(StructField(tok.text, self.expr(), arg))
            else:
                fields.append(StructField(None, self.expr()))
            if not self.accept(","):
                break
        self.expect("}", "expected ',' or '}' in the brace expression")
        return Struct(fields)
