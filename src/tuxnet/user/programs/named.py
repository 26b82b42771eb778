"""``named`` as a command, configured the way BIND 9 is: ``named [-f] [-g] [-c FILE] [-p PORT]``.

The configuration (``/etc/bind/named.conf`` unless ``-c`` names another) is read in BIND's
grammar: statements end with ``;``, blocks are braced, comments are ``//``, ``#`` or ``/* */``,
and ``include "FILE";`` reads another file in its place.  What this server understands of it::

    options {
        directory "/etc/bind";                  // relative zone files are found here
        listen-on port 53 { any; };             // or one IPv4 address of the host
        forwarders { 10.0.0.1; };               // asked (with RD) for names outside the zones
        forward only;                           // first and only: forwarding is all there is
        recursion yes;                          // no: names outside the zones are refused
        qname-minimization relaxed;             // or strict, off, disabled (RFC 9156)
        allow-query { any; };                   // who may ask (address match lists: any,
        allow-recursion { localnets; localhost; };  // none, localhost, localnets, addresses and
        allow-query-cache { localnets; localhost; };  // prefixes, ! to deny; BIND's defaults)
        allow-transfer { any; };                // who may have a zone transfer (AXFR, IXFR)
        server-id "ns1";                        // the NSID for a query that asks (RFC 5001), or
                                                // hostname, or none (the default: no NSID)
        dnssec-validation auto;                 // accepted: nothing here validates
        listen-on-v6 { any; };                  // accepted: tuxnet speaks IPv4
    };
    zone "example.com" { type master; file "db.example.com"; };   // or: type primary
    zone "lab.test" { type secondary; primaries { 10.0.0.1; }; };  // or: slave, masters
    zone "." { type hint; file "db.root"; };    // root hints: resolve names outside the zones

With root hints and no forwarders, named is a recursive resolver (``dns_resolver``): it looks a
name outside its zones up from the root down and caches what it learns; a question without RD is
answered from that cache alone.  A simulated network has no Internet root servers, so, unlike
BIND, there are no built-in hints: without a hint zone or forwarders such names are refused, as
BIND refuses them with ``recursion no``.  A secondary zone is transferred from its primaries and
kept up to date by its SOA's refresh (``dns_xfr``); until its first transfer its names get
SERVFAIL.  A zone of another type (``forward``, ``mirror`` ...), a statement or option outside
this list, or a syntax error stops named with BIND's kind of message, ``FILE:LINE: ...`` then
``loading configuration: failure``; so does a hints file that is missing or names no root server
(``could not configure root hints from ...``).  A zone whose master file is missing or does not
parse is reported (``zone example.com/IN: loading from master file ... failed: ...``, ``zone
example.com/IN: not loaded due to errors.``) and left out; the others are served, as BIND does.
``server-id hostname`` takes the host's name when named starts (BIND asks ``gethostname`` for each
answer).  Running, named prints nothing: it answers (``dns.named`` serves) until it is killed.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import dns.exception
import dns.name

from tuxnet.net.core.utils import in_aton
from tuxnet.user import libc
from tuxnet.user.ctype import isdigits
from tuxnet.user.programs.dns import DNS_PORT, load_zone, named
from tuxnet.user.programs.dns_acl import Access, AddressMatchList
from tuxnet.user.programs.dns_resolver import QNAME_MINIMIZATION, load_hints

DEFAULT_CONF = "/etc/bind/named.conf"
_TOKEN = re.compile(r'\s+|//[^\n]*|#[^\n]*|/\*.*?\*/|"(?:[^"\\\n]|\\.)*"|[{};]|[^\s{};"]+', re.S)
_IGNORED_OPTIONS = ("dnssec-validation", "listen-on-v6")
_ACLS = {"allow-query": "query", "allow-recursion": "recursion", "allow-query-cache": "query_cache",
         "allow-transfer": "transfer"}
_BOOLEANS = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}


class ConfError(Exception):
    """A configuration error: ``FILE:LINE: what``, as BIND's parser words it."""


@dataclass
class NamedConf:
    """What named.conf says: zones (origin → master file), forwarders, the address and port."""

    directory: str = "/"
    zones: dict[str, str] = field(default_factory=dict)
    secondaries: dict[str, list[str]] = field(default_factory=dict)  # origin -> primaries
    hints: str | None = None
    recursion: bool = True
    qname_minimization: str = "relaxed"
    access: Access = field(default_factory=Access)
    forwarders: list[str] = field(default_factory=list)
    addr: str = "0.0.0.0"
    port: int = DNS_PORT
    server_id: str | None = None  # the NSID text, None for none
    server_id_hostname: bool = False  # server-id hostname: the host's name is the NSID


class _Tokens:
    """The words, strings and punctuation of a file, each with its line, includes expanded."""

    def __init__(self, path: str, depth: int = 0) -> None:
        try:
            text = libc.read_file(path)
        except FileNotFoundError:
            raise ConfError(f"open: {path}: file not found") from None
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.items: list[tuple[str, str, int]] = []  # (token, file, line)
        line = 1
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise ConfError(f"{path}:{line}: unexpected token near '{text[pos]}'")
            tok = m.group()
            if tok.startswith('"') and not tok.endswith('"') or tok == '"':
                raise ConfError(f"{path}:{line}: unterminated quoted string")
            if not tok.isspace() and not tok.startswith(("//", "#", "/*")):
                self.items.append((tok, path, line))
            line += tok.count("\n")
            pos = m.end()
        self.end = (path, line)
        self.i = 0
        self.depth = depth

    def peek(self) -> str | None:
        return self.items[self.i][0] if self.i < len(self.items) else None

    def where(self) -> str:
        path, line = self.items[self.i][1:] if self.i < len(self.items) else self.end
        return f"{path}:{line}"

    def take(self) -> str:
        if self.i >= len(self.items):
            raise ConfError(f"{self.where()}: unexpected end of input")
        self.i += 1
        return self.items[self.i - 1][0]

    def expect(self, tok: str) -> None:
        where = self.where()
        got = self.take()
        if got != tok:
            raise ConfError(f"{where}: missing '{tok}' before '{got}'")

    def string(self) -> str:
        """A word or a quoted string, unquoted."""
        where = self.where()
        tok = self.take()
        if tok in ("{", "}", ";"):
            raise ConfError(f"{where}: expected quoted string near '{tok}'")
        return tok[1:-1] if tok.startswith('"') else tok


def _address_list(toks: _Tokens) -> list[str]:
    """``{ A; B; }``: the elements of an address match list."""
    toks.expect("{")
    out = []
    while toks.peek() != "}":
        out.append(toks.string())
        toks.expect(";")
    toks.take()
    return out


def _ipv4(toks: _Tokens, text: str, where: str) -> str:
    try:
        in_aton(text)
    except ValueError:
        raise ConfError(f"{where}: expected IP address near '{text}'") from None
    return text


def _options(toks: _Tokens, conf: NamedConf) -> None:
    toks.expect("{")
    while toks.peek() != "}":
        where = toks.where()
        name = toks.string()
        if name == "directory":
            conf.directory = toks.string()
        elif name == "forwarders":
            conf.forwarders = [_ipv4(toks, a, where) for a in _address_list(toks)]
        elif name == "recursion":
            value = toks.string()
            if value not in _BOOLEANS:
                raise ConfError(f"{where}: boolean expected near '{value}'")
            conf.recursion = conf.access.recursion_on = _BOOLEANS[value]
        elif name in _ACLS:
            words = _address_list(toks)
            try:
                setattr(conf.access, _ACLS[name], AddressMatchList.parse(words))
            except ValueError as e:
                raise ConfError(f"{where}: undefined ACL '{e}'") from None
        elif name == "qname-minimization":
            value = toks.string()
            if value not in QNAME_MINIMIZATION:
                raise ConfError(f"{where}: invalid qname-minimization '{value}'")
            conf.qname_minimization = value
        elif name == "forward":
            mode = toks.string()
            if mode not in ("first", "only"):
                raise ConfError(f"{where}: 'forward' must be first or only, not '{mode}'")
        elif name == "listen-on":
            if toks.peek() == "port":
                toks.take()
                port = toks.string()
                if not isdigits(port) or not 0 < int(port) < 65536:
                    raise ConfError(f"{where}: port '{port}' out of range")
                conf.port = int(port)
            addrs = _address_list(toks)
            if len(addrs) != 1:
                raise ConfError(f"{where}: listen-on: tuxnet's named listens on 'any' or one address")
            conf.addr = "0.0.0.0" if addrs[0] == "any" else _ipv4(toks, addrs[0], where)
        elif name == "server-id":
            _server_id(toks, conf)
        elif name in _IGNORED_OPTIONS:
            if toks.peek() == "{":
                _address_list(toks)
            else:
                toks.string()
        else:
            raise ConfError(f"{where}: unknown option '{name}'")
        toks.expect(";")
    toks.take()


def _server_id(toks: _Tokens, conf: NamedConf) -> None:
    """``server-id``'s value as BIND's ``parse_serverid`` reads it: the words ``none`` and
    ``hostname`` (in any case), or a quoted string (``"none"`` is a string)."""
    where = toks.where()
    tok = toks.take()
    if tok.lower() in ("none", "hostname"):
        conf.server_id, conf.server_id_hostname = None, tok.lower() == "hostname"
    elif tok.startswith('"'):
        conf.server_id, conf.server_id_hostname = tok[1:-1], False
    else:
        raise ConfError(f"{where}: expected quoted string near '{tok}'")


def _zone(toks: _Tokens, conf: NamedConf, where: str) -> None:
    origin = toks.string()
    if toks.peek() in ("IN", "in"):
        toks.take()
    zone_type = path = None
    primaries: list[str] = []
    toks.expect("{")
    while toks.peek() != "}":
        opt_where = toks.where()
        name = toks.string()
        if name == "type":
            zone_type = toks.string()
        elif name == "file":
            path = toks.string()
        elif name in ("primaries", "masters"):
            primaries = [_ipv4(toks, a, opt_where) for a in _address_list(toks)]
        else:
            raise ConfError(f"{opt_where}: unknown option '{name}'")
        toks.expect(";")
    toks.take()
    if zone_type not in ("master", "primary", "hint", "secondary", "slave"):
        raise ConfError(f"{where}: zone '{origin}': type '{zone_type}' is not served here "
                        "(tuxnet's named serves primary and secondary zones and takes root hints)" if zone_type
                        else f"{where}: zone '{origin}': type not present")
    key = origin if origin.endswith(".") else origin + "."
    if zone_type in ("secondary", "slave"):
        if not primaries:
            raise ConfError(f"{where}: zone '{origin}': missing 'primaries' entry")
        conf.secondaries[key] = primaries
        return
    if path is None:
        raise ConfError(f"{where}: zone '{origin}': missing 'file' entry")
    if zone_type != "hint":
        conf.zones[key] = path
    elif key != ".":
        raise ConfError(f"{where}: zone '{origin}': hints are the root's ('.'), not another zone's")
    else:
        conf.hints = path


def _statements(toks: _Tokens, conf: NamedConf) -> None:
    while toks.peek() is not None:
        where = toks.where()
        name = toks.string()
        if name == "options":
            _options(toks, conf)
        elif name == "zone":
            _zone(toks, conf, where)
        elif name == "include":
            if toks.depth > 8:
                raise ConfError(f"{where}: includes nested too deeply")
            _statements(_Tokens(toks.string(), toks.depth + 1), conf)
        else:
            raise ConfError(f"{where}: unknown option '{name}'")
        toks.expect(";")


def parse_named_conf(path: str) -> NamedConf:
    """Read ``path`` (and what it includes) from the host's files; raises ``ConfError``."""
    conf = NamedConf()
    _statements(_Tokens(path), conf)
    return conf


def named_main(argv: Sequence[str]) -> int:
    """``named [-f] [-g] [-u USER] [-c FILE] [-p PORT]``: load the configuration and its zones,
    then serve until killed; 1 when the configuration cannot be loaded."""
    args = list(argv)
    conf_path = DEFAULT_CONF
    port = None
    while args:
        arg = args.pop(0)
        if arg in ("-f", "-g"):
            continue
        if arg in ("-c", "-p", "-u") and args:
            value = args.pop(0)
            if arg == "-c":
                conf_path = value
            elif arg == "-p":
                # parse_port: strtoul, nothing after the number, 1 to 65535
                number, end, _ = libc.strtoul(value)
                if end != len(value):
                    libc.printf("named: port '%s' must be numeric\n", value)
                    return 1
                if not 0 < number < 65536:
                    libc.printf("named: port '%s' out of range\n", value)
                    return 1
                port = number
            continue
        libc.printf("named: unknown option '%s'\nusage: named [-f] [-g] [-c conffile] [-p port] [-u user]\n",
                    arg.lstrip("-") or arg)
        return 1
    try:
        conf = parse_named_conf(conf_path)
    except ConfError as e:
        libc.printf("%s\nloading configuration: failure\nexiting (due to fatal error)\n", e)
        return 1
    zones = {}
    for origin, path in conf.zones.items():
        full = posixpath.join(conf.directory, path)
        label = origin.rstrip(".") or "."
        try:
            text = libc.read_file(full)
            load_zone(text.decode() if isinstance(text, bytes) else text, origin, path)
        except FileNotFoundError:
            reason = "file not found"
        except (dns.exception.DNSException, dns.name.EmptyLabel, UnicodeDecodeError) as e:
            reason = str(e)
        else:
            zones[origin] = full
            continue
        libc.printf("zone %s/IN: loading from master file %s failed: %s\nzone %s/IN: not loaded due to errors.\n",
                    label, path, reason, label)
    hints = None
    if conf.hints is not None and conf.recursion:
        hints = posixpath.join(conf.directory, conf.hints)
        try:
            text = libc.read_file(hints)
            load_hints(text.decode() if isinstance(text, bytes) else text, conf.hints)
        except FileNotFoundError:
            reason = "file not found"
        except (dns.exception.DNSException, dns.name.EmptyLabel, UnicodeDecodeError, ValueError) as e:
            reason = str(e)
        else:
            reason = None
        if reason is not None:
            libc.printf("could not configure root hints from '%s': %s\nloading configuration: failure\n"
                        "exiting (due to fatal error)\n", conf.hints, reason)
            return 1
    try:
        named(zones, addr=conf.addr, port=port or conf.port,
              forwarders=conf.forwarders if conf.recursion else (), hints=hints,
              qname_minimization=conf.qname_minimization, access=conf.access, secondaries=conf.secondaries,
              announce=False, server_id=libc.gethostname() if conf.server_id_hostname else conf.server_id)
    except OSError as e:
        libc.printf("could not listen on %s#%d: %s\nexiting (due to fatal error)\n", conf.addr,
                    port or conf.port, (e.strerror or str(e)).lower())
        return 1
    return 0
