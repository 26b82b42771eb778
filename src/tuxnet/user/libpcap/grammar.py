"""libpcap's grammar.y: the filter language's rules, in grammar.y's order and with its precedence
declarations, parsed by LALR(1) tables built the way Bison builds them (lalr.py), so that an
expression is refused at the same token, and its semantic actions run in the same order, as in
libpcap; the actions call gencode.

Semantic values follow grammar.y's: a ``Blk`` carries the qualifiers of a primitive and its
block; ``and``, ``or``, ``not``, ``paren`` and ``null`` pass on the value below them on the stack
(``$<blk>0``), which is how a bare value after ``and``/``or`` takes the qualifiers before it
(``port 80 or 443``).  Error messages keep libpcap's priorities: the scanner's and the parser's
are kept if first (``bpf_set_error``), gencode's replace them (``bpf_error``)."""

from __future__ import annotations

import functools
from typing import NamedTuple

from . import lalr, scanner
from .bpf import (
    BPF_ADD,
    BPF_AND,
    BPF_DIV,
    BPF_JEQ,
    BPF_JGE,
    BPF_JGT,
    BPF_LSH,
    BPF_MOD,
    BPF_MUL,
    BPF_OR,
    BPF_RSH,
    BPF_SUB,
    BPF_XOR,
)
from .gencode import (
    Q_AARP,
    Q_ADDR1,
    Q_ADDR2,
    Q_ADDR3,
    Q_ADDR4,
    Q_AH,
    Q_AND,
    Q_ARP,
    Q_ATALK,
    Q_CARP,
    Q_CLNP,
    Q_DECNET,
    Q_DEFAULT,
    Q_DST,
    Q_ESIS,
    Q_ESP,
    Q_GATEWAY,
    Q_HOST,
    Q_ICMP,
    Q_ICMPV6,
    Q_IGMP,
    Q_IGRP,
    Q_IP,
    Q_IPV6,
    Q_IPX,
    Q_ISIS,
    Q_ISIS_CSNP,
    Q_ISIS_IIH,
    Q_ISIS_L1,
    Q_ISIS_L2,
    Q_ISIS_LSP,
    Q_ISIS_PSNP,
    Q_ISIS_SNP,
    Q_ISO,
    Q_LAT,
    Q_LINK,
    Q_MOPDL,
    Q_MOPRC,
    Q_NET,
    Q_NETBEUI,
    Q_OR,
    Q_PIM,
    Q_PORT,
    Q_PORTRANGE,
    Q_PROTO,
    Q_PROTOCHAIN,
    Q_RA,
    Q_RADIO,
    Q_RARP,
    Q_SCA,
    Q_SCTP,
    Q_SRC,
    Q_STP,
    Q_TA,
    Q_TCP,
    Q_UDP,
    Q_UNDEF,
    Q_VRRP,
    FilterError,
    gen_and,
    gen_not,
    gen_or,
)
from .icode import Block
from .primitives import PrimitiveCompiler, Qual

QERR: Qual = (Q_UNDEF, Q_UNDEF, Q_UNDEF)

# grammar.y, rule for rule ("=> action"; 'c' is the character token c)
GRAMMAR = """
prog : null expr => prog
     | null => nothing
null : => null
expr : term => first
     | expr and term => and
     | expr and id => and
     | expr or term => or
     | expr or id => or
and : AND => below
or : OR => below
id : nid => first
   | pnum => ncode
   | paren pid ')' => second
nid : ID => scode
    | HID '/' NUM => mcode_len
    | HID NETMASK HID => mcode_mask
    | HID => hid
    | HID6 '/' NUM => mcode6_len
    | HID6 => mcode6
    | EID => ecode
    | AID => acode
    | not id => not
not : '!' => below
paren : '(' => below
pid : nid => first
    | qid and id => and
    | qid or id => or
qid : pnum => ncode
    | pid => first
term : rterm => first
     | not term => not
head : pqual dqual aqual => qual_pda
     | pqual dqual => qual_pd
     | pqual aqual => qual_pa
     | pqual PROTO => qual_proto
     | pqual PROTOCHAIN => qual_protochain
     | pqual ndaqual => qual_pa
rterm : head id => second
      | paren expr ')' => paren_expr
      | pname => proto_abbrev
      | arth relop arth => relation
      | arth irelop arth => irelation
      | other => other
      | atmtype => raw_atm
      | atmmultitype => raw_atm
      | atmfield atmvalue => first
      | mtp2type => mtp2
      | mtp3field mtp3value => first
pqual : pname => first
      | => value:Q_DEFAULT
dqual : SRC => value:Q_SRC
      | DST => value:Q_DST
      | SRC OR DST => value:Q_OR
      | DST OR SRC => value:Q_OR
      | SRC AND DST => value:Q_AND
      | DST AND SRC => value:Q_AND
      | ADDR1 => value:Q_ADDR1
      | ADDR2 => value:Q_ADDR2
      | ADDR3 => value:Q_ADDR3
      | ADDR4 => value:Q_ADDR4
      | RA => value:Q_RA
      | TA => value:Q_TA
aqual : HOST => value:Q_HOST
      | NET => value:Q_NET
      | PORT => value:Q_PORT
      | PORTRANGE => value:Q_PORTRANGE
ndaqual : GATEWAY => value:Q_GATEWAY
pname : LINK => value:Q_LINK
      | IP => value:Q_IP
      | ARP => value:Q_ARP
      | RARP => value:Q_RARP
      | SCTP => value:Q_SCTP
      | TCP => value:Q_TCP
      | UDP => value:Q_UDP
      | ICMP => value:Q_ICMP
      | IGMP => value:Q_IGMP
      | IGRP => value:Q_IGRP
      | PIM => value:Q_PIM
      | VRRP => value:Q_VRRP
      | CARP => value:Q_CARP
      | ATALK => value:Q_ATALK
      | AARP => value:Q_AARP
      | DECNET => value:Q_DECNET
      | LAT => value:Q_LAT
      | SCA => value:Q_SCA
      | MOPDL => value:Q_MOPDL
      | MOPRC => value:Q_MOPRC
      | IPV6 => value:Q_IPV6
      | ICMPV6 => value:Q_ICMPV6
      | AH => value:Q_AH
      | ESP => value:Q_ESP
      | ISO => value:Q_ISO
      | ESIS => value:Q_ESIS
      | ISIS => value:Q_ISIS
      | L1 => value:Q_ISIS_L1
      | L2 => value:Q_ISIS_L2
      | IIH => value:Q_ISIS_IIH
      | LSP => value:Q_ISIS_LSP
      | SNP => value:Q_ISIS_SNP
      | PSNP => value:Q_ISIS_PSNP
      | CSNP => value:Q_ISIS_CSNP
      | CLNP => value:Q_CLNP
      | STP => value:Q_STP
      | IPX => value:Q_IPX
      | NETBEUI => value:Q_NETBEUI
      | RADIO => value:Q_RADIO
other : pqual TK_BROADCAST => broadcast
      | pqual TK_MULTICAST => multicast
      | LESS NUM => less
      | GREATER NUM => greater
      | CBYTE NUM byteop NUM => byteop
      | INBOUND => inbound
      | OUTBOUND => outbound
      | IFINDEX NUM => ifindex
      | VLAN pnum => vlan_num
      | VLAN => vlan
      | MPLS pnum => unsupported:mpls
      | MPLS => unsupported:mpls
      | PPPOED => unsupported:pppoed
      | PPPOES pnum => unsupported:pppoes
      | PPPOES => unsupported:pppoes
      | GENEVE pnum => unsupported:geneve
      | GENEVE => unsupported:geneve
      | pfvar => first
      | pqual p80211 => second
      | pllc => first
pfvar : PF_IFNAME ID => pf:ifname
      | PF_RSET ID => pf:ruleset
      | PF_RNR NUM => pf:rnr
      | PF_SRNR NUM => pf:srnr
      | PF_REASON reason => pf:reason
      | PF_ACTION action => pf:action
p80211 : TYPE type SUBTYPE subtype => p80211_type
       | TYPE type => p80211_type
       | SUBTYPE type_subtype => p80211_type
       | DIR dir => p80211_fcdir
type : NUM => wlan_type_num
     | ID => wlan_type_name
subtype : NUM => wlan_subtype_num
        | ID => wlan_subtype_name
type_subtype : ID => wlan_type_subtype
pllc : LLC => llc
     | LLC ID => llc_kind
     | LLC PF_RNR => llc_rnr
dir : NUM => first
    | ID => wlan_dir
reason : NUM => first
       | ID => pf_reason
action : ID => pf_action
relop : '>' => value:BPF_JGT
      | GEQ => value:BPF_JGE
      | '=' => value:BPF_JEQ
irelop : LEQ => value:BPF_JGT
       | '<' => value:BPF_JGE
       | NEQ => value:BPF_JEQ
arth : pnum => loadi
     | narth => first
narth : pname '[' arth ']' => load1
      | pname '[' arth ':' NUM ']' => load
      | arth '+' arth => arth:BPF_ADD
      | arth '-' arth => arth:BPF_SUB
      | arth '*' arth => arth:BPF_MUL
      | arth '/' arth => arth:BPF_DIV
      | arth '%' arth => arth:BPF_MOD
      | arth '&' arth => arth:BPF_AND
      | arth '|' arth => arth:BPF_OR
      | arth '^' arth => arth:BPF_XOR
      | arth LSH arth => arth:BPF_LSH
      | arth RSH arth => arth:BPF_RSH
      | '-' arth %prec UMINUS => neg
      | paren narth ')' => second
      | LEN => loadlen
byteop : '&' => value:&
       | '|' => value:|
       | '<' => value:<
       | '>' => value:>
       | '=' => value:=
pnum : NUM => first
     | paren pnum ')' => second
atmtype : LANE => value:lane
        | METAC => value:metac
        | BCC => value:bcc
        | OAMF4EC => value:oam4ec
        | OAMF4SC => value:oam4sc
        | SC => value:sc
        | ILMIC => value:ilmic
atmmultitype : OAM => value:oam
             | OAMF4 => value:oamf4
             | CONNECTMSG => value:connectmsg
             | METACONNECT => value:metaconnect
atmfield : VPI => value:vpi
         | VCI => value:vci
atmvalue : atmfieldvalue => first
         | relop NUM => atm_field
         | irelop NUM => atm_field
         | paren atmlistvalue ')' => second
atmfieldvalue : NUM => atm_field
atmlistvalue : atmfieldvalue => first
             | atmlistvalue or atmfieldvalue => first
mtp2type : FISU => value:fisu
         | LSSU => value:lssu
         | MSU => value:msu
         | HFISU => value:hfisu
         | HLSSU => value:hlssu
         | HMSU => value:hmsu
mtp3field : SIO => value:sio
          | OPC => value:opc
          | DPC => value:dpc
          | SLS => value:sls
          | HSIO => value:sio
          | HOPC => value:opc
          | HDPC => value:dpc
          | HSLS => value:sls
mtp3value : mtp3fieldvalue => first
          | relop NUM => mtp3_field
          | irelop NUM => mtp3_field
          | paren mtp3listvalue ')' => second
mtp3fieldvalue : NUM => mtp3_field
mtp3listvalue : mtp3fieldvalue => first
              | mtp3listvalue or mtp3fieldvalue => first
"""

# %left OR AND / %nonassoc '!' / %left '|' / %left '&' / %left LSH RSH / %left '+' '-' /
# %left '*' '/' / %nonassoc UMINUS
PRECEDENCE = {
    "OR": (1, "left"), "AND": (1, "left"), "!": (2, "nonassoc"), "|": (3, "left"),
    "&": (4, "left"), "LSH": (5, "left"), "RSH": (5, "left"), "+": (6, "left"), "-": (6, "left"),
    "*": (7, "left"), "/": (7, "left"), "UMINUS": (8, "nonassoc"),
}

_VALUES = {
    "Q_DEFAULT": Q_DEFAULT, "Q_SRC": Q_SRC, "Q_DST": Q_DST, "Q_OR": Q_OR, "Q_AND": Q_AND,
    "Q_ADDR1": Q_ADDR1, "Q_ADDR2": Q_ADDR2, "Q_ADDR3": Q_ADDR3, "Q_ADDR4": Q_ADDR4, "Q_RA": Q_RA,
    "Q_TA": Q_TA, "Q_HOST": Q_HOST, "Q_NET": Q_NET, "Q_PORT": Q_PORT, "Q_PORTRANGE": Q_PORTRANGE,
    "Q_GATEWAY": Q_GATEWAY, "Q_LINK": Q_LINK, "Q_IP": Q_IP, "Q_ARP": Q_ARP, "Q_RARP": Q_RARP,
    "Q_SCTP": Q_SCTP, "Q_TCP": Q_TCP, "Q_UDP": Q_UDP, "Q_ICMP": Q_ICMP, "Q_IGMP": Q_IGMP,
    "Q_IGRP": Q_IGRP, "Q_PIM": Q_PIM, "Q_VRRP": Q_VRRP, "Q_CARP": Q_CARP, "Q_ATALK": Q_ATALK,
    "Q_AARP": Q_AARP, "Q_DECNET": Q_DECNET, "Q_LAT": Q_LAT, "Q_SCA": Q_SCA, "Q_MOPDL": Q_MOPDL,
    "Q_MOPRC": Q_MOPRC, "Q_IPV6": Q_IPV6, "Q_ICMPV6": Q_ICMPV6, "Q_AH": Q_AH, "Q_ESP": Q_ESP,
    "Q_ISO": Q_ISO, "Q_ESIS": Q_ESIS, "Q_ISIS": Q_ISIS, "Q_ISIS_L1": Q_ISIS_L1,
    "Q_ISIS_L2": Q_ISIS_L2, "Q_ISIS_IIH": Q_ISIS_IIH, "Q_ISIS_LSP": Q_ISIS_LSP,
    "Q_ISIS_SNP": Q_ISIS_SNP, "Q_ISIS_PSNP": Q_ISIS_PSNP, "Q_ISIS_CSNP": Q_ISIS_CSNP,
    "Q_CLNP": Q_CLNP, "Q_STP": Q_STP, "Q_IPX": Q_IPX, "Q_NETBEUI": Q_NETBEUI, "Q_RADIO": Q_RADIO,
    "BPF_JGT": BPF_JGT, "BPF_JGE": BPF_JGE, "BPF_JEQ": BPF_JEQ, "BPF_ADD": BPF_ADD,
    "BPF_SUB": BPF_SUB, "BPF_MUL": BPF_MUL, "BPF_DIV": BPF_DIV, "BPF_MOD": BPF_MOD,
    "BPF_AND": BPF_AND, "BPF_OR": BPF_OR, "BPF_XOR": BPF_XOR, "BPF_LSH": BPF_LSH,
    "BPF_RSH": BPF_RSH, "&": "&", "|": "|", "<": "<", ">": ">", "=": "=",
}

# grammar.y's ieee80211_types and the subtype names of each type; the pf reasons and actions
_WLAN_TYPES = {"data": 0x08, "mgt": 0x00, "management": 0x00, "ctl": 0x04, "control": 0x04}
_WLAN_SUBTYPES = {
    0x00: {"assocreq", "assoc-req", "assocresp", "assoc-resp", "reassocreq", "reassoc-req",
           "reassocresp", "reassoc-resp", "probereq", "probe-req", "proberesp", "probe-resp",
           "beacon", "atim", "disassoc", "disassociation", "auth", "authentication", "deauth",
           "deauthentication"},
    0x04: {"ps-poll", "rts", "cts", "ack", "cf-end", "cf-end-ack"},
    0x08: {"data", "data-cf-ack", "data-cf-poll", "data-cf-ack-poll", "null", "cf-ack", "cf-poll",
           "cf-ack-poll", "qos-data", "qos-data-cf-ack", "qos-data-cf-poll", "qos-data-cf-ack-poll",
           "qos", "qos-cf-poll", "qos-cf-ack-poll"},
}
_WLAN_DIRS = {"nods": 0, "tods": 1, "fromds": 2, "dstods": 3}
_PF_REASONS = ("match", "bad-offset", "fragment", "short", "normalize", "memory", "bad-timestamp",
               "congestion", "ip-option", "proto-cksum", "state-mismatch", "state-insert",
               "state-limit", "src-limit", "synproxy")
_PF_ACTIONS = {"pass": 0, "accept": 0, "drop": 1, "block": 1, "nat": 3, "binat": 5, "rdr": 7, "nordr": 8}

# the qualifiers with which grammar.y refuses a dotted address
_HID_REFUSED = {Q_PORT: "port", Q_PORTRANGE: "portrange", Q_PROTO: "proto", Q_PROTOCHAIN: "protochain"}


class Blk(NamedTuple):
    """grammar.y's ``blk``: a primitive's qualifiers and block."""

    q: Qual
    b: Block | None


def _rules() -> list[tuple[str, tuple[str, ...], str, str | None]]:
    rules = []
    lhs = ""
    for line in GRAMMAR.strip().splitlines():
        head, _, rest = line.partition(":") if not line.lstrip().startswith("|") else ("", "", line)
        if head.strip():
            lhs = head.strip()
        body, _, action = rest.strip().lstrip("|").partition("=>")
        words = body.split()
        prec = None
        if "%prec" in words:
            prec = words[words.index("%prec") + 1]
            words = words[:words.index("%prec")]
        rhs = tuple(w[1:-1] if len(w) == 3 and w[0] == w[2] == "'" else w for w in words)
        rules.append((lhs, rhs, action.strip(), prec))
    return rules


@functools.cache
def tables() -> lalr.Tables:
    """The parser's tables, built once."""
    return lalr.build(_rules(), "prog", PRECEDENCE)


class _Abort(Exception):
    """YYABORT after ``bpf_set_error`` (or a value the scanner could not make)."""


class Parser:
    """``pcap_parse`` with grammar.y's actions, generating code into ``cs``."""

    def __init__(self, cs: PrimitiveCompiler) -> None:
        self.cs = cs
        self.error: str | None = None

    def set_error(self, message: str) -> None:
        """bpf_set_error: the first error stands."""
        if self.error is None:
            self.error = message

    def parse(self, text: str) -> None:
        """Parse ``text``, leaving the program's root in ``cs.root``; FilterError with libpcap's
        message when refused."""
        try:
            self._run(text)
        except _Abort:
            raise FilterError(self.error or "syntax error") from None
        if self.error is not None:
            raise FilterError(self.error)

    def _run(self, text: str) -> None:
        grammar = tables()
        states = [0]
        values: list[object] = [None]
        tokens = scanner.tokens(text, self.set_error)
        lookahead: scanner.Token | None = None
        while True:
            state = grammar.states[states[-1]]
            if state.reads:
                if lookahead is None:
                    lookahead = next(tokens)
                if state.accepting and lookahead[0] == lalr.END:
                    return
                act = state.actions.get(lookahead[0])
                if act is None:
                    act = ("error",) if state.default is None else ("reduce", state.default)
            else:
                act = ("reduce", state.default)
            if act[0] == "shift":
                assert lookahead is not None
                states.append(act[1])
                values.append(lookahead[1])
                lookahead = None
            elif act[0] == "reduce":
                rule = grammar.rules[act[1]]
                n = len(rule.rhs)
                result = self.action(rule.action, values[len(values) - n:], values[:len(values) - n])
                del states[len(states) - n:], values[len(values) - n:]
                states.append(grammar.states[states[-1]].gotos[rule.lhs])
                values.append(result)
            else:
                self.set_error("syntax error")
                raise _Abort

    # -- the actions -----------------------------------------------------------------------------

    @staticmethod
    def _need(value: object) -> object:
        """CHECK_PTR_VAL: a token the scanner could not make a value for aborts the parse."""
        if value is None:
            raise _Abort
        return value

    def action(self, name: str, v: list, under: list) -> object:
        """The action ``name`` of a rule whose right-hand side has the values ``v``, with
        ``under`` the values under them on the stack (``$<blk>0`` is the last)."""
        kind, _, arg = name.partition(":")
        cs = self.cs
        below = under[-1]
        if kind == "value":
            return _VALUES.get(arg, arg)
        if kind == "unsupported":
            raise FilterError(f"'{arg}' filters are not supported by tuxnet")
        if kind == "pf":
            raise FilterError(f"{arg} supported only on PF linktype")
        if kind.startswith(("wlan_", "pf_")):
            return self._names(kind, self._need(v[0]), under)
        if kind == "arth":
            return cs.gen_arth(_VALUES[arg], v[0], v[2])
        simple = {
            "nothing": lambda: None, "first": lambda: v[0], "second": lambda: v[1],
            "below": lambda: below, "null": lambda: Blk(QERR, None),
            "qual_pda": lambda: Blk((v[0], v[1], v[2]), None),
            "qual_pd": lambda: Blk((v[0], v[1], Q_DEFAULT), None),
            "qual_pa": lambda: Blk((v[0], Q_DEFAULT, v[1]), None),
            "qual_proto": lambda: Blk((v[0], Q_DEFAULT, Q_PROTO), None),
            "qual_protochain": lambda: Blk((v[0], Q_DEFAULT, Q_PROTOCHAIN), None),
            "paren_expr": lambda: Blk(v[0].q, v[1].b),
            "proto_abbrev": lambda: Blk(QERR, cs.gen_proto_abbrev(v[0])),
            "relation": lambda: Blk(QERR, cs.gen_relation(v[1], v[0], v[2], False)),
            "irelation": lambda: Blk(QERR, cs.gen_relation(v[1], v[0], v[2], True)),
            "other": lambda: Blk(QERR, v[0]),
            "broadcast": lambda: cs.gen_broadcast(v[0]),
            "multicast": lambda: cs.gen_multicast(v[0]),
            "less": lambda: cs.gen_less(v[1]),
            "greater": lambda: cs.gen_greater(v[1]),
            "byteop": lambda: cs.gen_byteop(v[2], v[1], v[3]),
            "inbound": lambda: cs.gen_inbound(False),
            "outbound": lambda: cs.gen_inbound(True),
            "ifindex": lambda: cs.gen_ifindex(v[1]),
            "vlan_num": lambda: cs.gen_vlan(v[1], True),
            "vlan": lambda: cs.gen_vlan(0, False),
            "p80211_type": cs.gen_p80211_type,
            "p80211_fcdir": cs.gen_p80211_fcdir,
            "raw_atm": lambda: cs.gen_atm(v[0]),
            "atm_field": lambda: cs.gen_atm(below),
            "mtp2": lambda: cs.gen_mtp2(v[0]),
            "mtp3_field": lambda: cs.gen_mtp3(below),
            "llc": lambda: cs.gen_llc_kind(None),
            "llc_kind": lambda: cs.gen_llc_kind(self._need(v[1])),
            "llc_rnr": lambda: cs.gen_llc_kind("rnr"),
            "loadi": lambda: cs.gen_loadi(v[0]),
            "load1": lambda: cs.gen_load(v[0], v[2], 1, cs.gen_proto_abbrev),
            "load": lambda: cs.gen_load(v[0], v[2], v[4], cs.gen_proto_abbrev),
            "neg": lambda: cs.gen_neg(v[1]),
            "loadlen": cs.gen_loadlen,
        }
        if kind in simple:
            return simple[kind]()
        return self._combine(kind, v, below)


    def _names(self, kind: str, value: object, under: list) -> object:
        """The 802.11 and pf names and numbers grammar.y checks itself (``bpf_set_error``)."""
        name = str(value).lower()
        checks = {
            "wlan_type_num": (lambda: value if not value & ~0x0C else None,
                              lambda: f"invalid 802.11 type value 0x{value:02x}"),
            "wlan_type_name": (lambda: _WLAN_TYPES.get(name), lambda: f'unknown 802.11 type name "{value}"'),
            "wlan_subtype_num": (lambda: value if not value & ~0xF0 else None,
                                 lambda: f"invalid 802.11 subtype value 0x{value:02x}"),
            "wlan_subtype_name": (lambda: self._wlan_subtype(name, value, under[-2]),
                                  lambda: f'unknown 802.11 subtype name "{value}"'),
            "wlan_type_subtype": (lambda: next((t for t, names in _WLAN_SUBTYPES.items() if name in names), None),
                                  lambda: "unknown 802.11 type name"),
            "wlan_dir": (lambda: _WLAN_DIRS.get(name), lambda: "unknown 802.11 direction"),
            "pf_reason": (lambda: _PF_REASONS.index(name) if name in _PF_REASONS else None,
                          lambda: f'unknown PF reason "{value}"'),
            "pf_action": (lambda: _PF_ACTIONS.get(name), lambda: f'unknown PF action "{value}"'),
        }
        found, message = checks[kind]
        result = found()
        if result is None:
            self.set_error(message())
            raise _Abort
        return result

    def _wlan_subtype(self, name: str, value: object, wlan_type: object) -> object:
        if wlan_type not in _WLAN_SUBTYPES:
            self.set_error("unknown 802.11 type")
            raise _Abort
        return value if name in _WLAN_SUBTYPES[wlan_type] else None

    def _combine(self, kind: str, v: list, below: object) -> object:
        """The actions that join blocks or make a primitive from a value and its qualifiers."""
        cs = self.cs
        if kind == "prog":
            cs.finish_parse(v[1].b)
            return None
        if kind in ("and", "or"):
            (gen_and if kind == "and" else gen_or)(v[0].b, v[2].b)
            return v[2]
        if kind == "not":
            gen_not(v[1].b)
            return v[1]
        q = below.q
        if kind == "ncode":
            return Blk(q, cs.gen_ncode(None, v[0], q))
        value = self._need(v[0])
        if kind == "hid" and q[2] in _HID_REFUSED:
            self.set_error(f"'{_HID_REFUSED[q[2]]}' modifier applied to ip host")
            raise _Abort
        build = {
            "scode": lambda: cs.gen_scode(value, q),
            "mcode_len": lambda: cs.gen_mcode(value, None, v[2], q),
            "mcode_mask": lambda: cs.gen_mcode(value, v[2], 0, q),
            "hid": lambda: cs.gen_ncode(value, 0, q),
            "mcode6_len": lambda: cs.gen_mcode6(value, None, v[2], q),
            "mcode6": lambda: cs.gen_mcode6(value, None, 128, q),
            "ecode": lambda: cs.gen_ecode(value, q),
            "acode": cs.gen_acode,
        }[kind]
        return Blk(q, build())
