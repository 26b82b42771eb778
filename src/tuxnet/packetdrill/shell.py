"""The shell commands of a packetdrill script, applied to a tuxnet host.

packetdrill hands its backquoted commands to ``/bin/sh``; the suite's commands configure the
kernel under test: ``sysctl`` lines (directly, through ``defaults.sh`` files or the
``set_sysctls.py`` helper), ``ip route`` and ``ip tcp_metrics`` (run by tuxnet's ``ip``,
:mod:`tuxnet.user.iproute`),
``tc qdisc`` on tun0, ``ethtool -K tun0``, module parameters written with
``echo N > /sys/module/...``.  This module understands those and applies them to the host;
commands that configure something tuxnet does not have (the sysctl restore script of a fresh
world) are recognised and recorded as notes; anything else
is reported as unsupported rather than silently ignored.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tuxnet.drivers.net.tun import tun_set_tso
from tuxnet.kernel.sysctl import SysctlError
from tuxnet.user.iproute import IpError, ip
from tuxnet.user.tc import TcError, tc

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host
    from tuxnet.net.core.dev import NetDevice

_ARITH = re.compile(r"\$\(\(([^()]*(?:\([^()]*\)[^()]*)*)\)\)")
_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")
_SAFE_ARITH = re.compile(r"[0-9+\-*/%() \t]+")
_RESTORE_SCRIPT = re.compile(r"^/tmp/sysctl_restore_\w*\.sh$")
_REDIRECTIONS = (">", ">>", "<", "&>")
_FD_REDIRECTION = re.compile(r"(^|\s)\d+>(&\d+|>?\s*\S+)")


class ShellError(Exception):
    """A command that failed (``unsupported`` is True when tuxnet has no such thing)."""

    def __init__(self, message: str, unsupported: bool = False) -> None:
        super().__init__(message)
        self.unsupported = unsupported


@dataclass
class ShellCommand:
    argv: list[str]
    redirects: list[tuple[str, str]] = field(default_factory=list)


ModuleParamSetter = Callable[["Host", str, str], None]


def _module_params() -> dict[str, ModuleParamSetter]:
    from tuxnet.net.ipv4.tcp_cubic import cubic_param_set

    return {"tcp_cubic": cubic_param_set}


class Shell:
    """Runs command text against ``host``; relative paths are taken from ``cwd`` (the script's
    directory, where packetdrill runs a script)."""

    def __init__(self, host: Host, dev: NetDevice, cwd: Path, notes: list[str], env: dict[str, str]) -> None:
        self.host = host
        self.dev = dev
        self.cwd = cwd
        self.notes = notes
        self.env = env
        self.depth = 0

    # -- parsing ---------------------------------------------------------------------------------
    def expand(self, line: str) -> str:
        def arith(m: re.Match[str]) -> str:
            expr = self.expand(m.group(1))
            if not _SAFE_ARITH.fullmatch(expr):
                raise ShellError(f"unsupported arithmetic expansion $(({m.group(1)}))", unsupported=True)
            return str(int(eval(expr.replace("/", "//"), {"__builtins__": {}})))  # noqa: S307 - digits and operators only

        line = _ARITH.sub(arith, line)
        return _VAR.sub(lambda m: self.env.get(m.group(1) or m.group(2), ""), line)

    def commands(self, text: str) -> list[ShellCommand]:
        text = text.replace("\\\n", " ")
        out: list[ShellCommand] = []
        for raw in text.splitlines():
            line = _FD_REDIRECTION.sub(r"\1", self.expand(raw))
            lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>")
            lexer.whitespace_split = True
            lexer.commenters = "#"
            try:
                tokens = list(lexer)
            except ValueError as e:
                raise ShellError(f"cannot parse shell line {raw.strip()!r}: {e}") from None
            cmd = ShellCommand([])
            i = 0
            while i < len(tokens):
                tok = tokens[i]
                if tok in (";", "&&", "||"):
                    if cmd.argv:
                        out.append(cmd)
                    cmd = ShellCommand([])
                elif tok in _REDIRECTIONS:
                    cmd.redirects.append((tok, tokens[i + 1] if i + 1 < len(tokens) else ""))
                    i += 1
                elif tok in ("|", "&"):
                    raise ShellError(f"pipelines and background jobs are not supported: {raw.strip()!r}",
                                     unsupported=True)
                else:
                    cmd.argv.append(tok)
                i += 1
            if cmd.argv:
                out.append(cmd)
        return out

    # -- running ---------------------------------------------------------------------------------
    def run(self, text: str) -> None:
        for cmd in self.commands(text):
            self.run_command(cmd)

    def run_command(self, cmd: ShellCommand) -> None:
        name = cmd.argv[0]
        base = name.rsplit("/", 1)[-1]
        if name == "sysctl":
            self.sysctl(cmd.argv[1:])
        elif base == "set_sysctls.py":
            self.set_sysctls(cmd.argv[1:])
        elif _RESTORE_SCRIPT.match(name):
            self.notes.append(f"`{name}`: no sysctl to restore, every script runs in a fresh world")
        elif name.endswith(".sh"):
            self.source(name)
        elif name == "ip":
            self.ip(cmd.argv[1:])
        elif name == "tc":
            self.tc(cmd.argv[1:])
        elif name == "ethtool":
            self.ethtool(cmd.argv[1:])
        elif name == "echo":
            self.echo(cmd)
        elif name in ("true", ":"):
            return
        else:
            raise ShellError(f"unsupported shell command: {' '.join(cmd.argv)}", unsupported=True)

    def source(self, name: str) -> None:
        path = (self.cwd / name).resolve()
        if not path.is_file():
            raise ShellError(f"{name}: No such file or directory")
        if self.depth > 8:
            raise ShellError(f"{name}: scripts nested too deeply")
        self.depth += 1
        try:
            self.run(path.read_text())
        finally:
            self.depth -= 1

    def set_sysctl(self, name: str, value: str, ignore_unknown: bool = False) -> None:
        try:
            self.host.sysctl.set(name, value)
        except SysctlError as e:
            if ignore_unknown and name not in self.host.sysctl:
                self.notes.append(f"sysctl -e: {name} is unknown, ignored")
                return
            unknown = name not in self.host.sysctl
            raise ShellError(f"unsupported sysctl {name}: {e}" if unknown else str(e), unsupported=unknown) from None

    def sysctl(self, args: list[str]) -> None:
        ignore_unknown = False
        for arg in args:
            if arg.startswith("-") and "=" not in arg:
                ignore_unknown |= "e" in arg
                if set(arg[1:]) - set("qewp"):
                    raise ShellError(f"unsupported sysctl option {arg}", unsupported=True)
                continue
            name, sep, value = arg.partition("=")
            if not sep:
                raise ShellError(f"sysctl: reading {name} is not supported here", unsupported=True)
            self.set_sysctl(name, value, ignore_unknown)

    def set_sysctls(self, args: list[str]) -> None:
        for arg in args:
            path, sep, value = arg.partition("=")
            if not sep or not path.startswith("/proc/sys/"):
                raise ShellError(f"set_sysctls.py: bad argument {arg!r}")
            self.set_sysctl(path, value)

    def check_dev(self, name: str) -> None:
        if name != self.dev.name:
            raise ShellError(f'Cannot find device "{name}"')

    def ip(self, args: list[str]) -> None:
        if args and args[0] in ("r", "ro", "rou", "rout", "route", "tcp_metrics", "tcpmetrics"):
            try:
                ip(self.host, args)
            except IpError as e:
                raise ShellError(f"ip {' '.join(args)}: {e}") from None
            return
        raise ShellError(f"unsupported ip command: ip {' '.join(args)}", unsupported=True)

    def tc(self, args: list[str]) -> None:
        """tuxnet's ``tc``; a qdisc kind or option it does not have makes the script unsupported,
        any other failure fails it with tc's message."""
        if len(args) >= 4 and args[2] == "dev":
            self.check_dev(args[3])
        try:
            tc(self.host, args)
        except TcError as e:
            missing = "qdisc kind is unknown" in str(e) or "unknown parameter" in str(e) or e.status == 255
            raise ShellError(f"tc {' '.join(args)}: {e}", unsupported=missing) from None

    def ethtool(self, args: list[str]) -> None:
        if len(args) < 4 or args[0] != "-K" or len(args[2:]) % 2:
            raise ShellError(f"unsupported ethtool command: ethtool {' '.join(args)}", unsupported=True)
        self.check_dev(args[1])
        for feature, state in zip(args[2::2], args[3::2], strict=True):
            if feature not in ("tso", "gso") or state not in ("on", "off"):
                raise ShellError(f"unsupported ethtool feature {feature} {state}", unsupported=True)
            tun_set_tso(self.dev, state == "on")

    def echo(self, cmd: ShellCommand) -> None:
        targets = [t for op, t in cmd.redirects if op in (">", ">>")]
        if not targets or targets[-1] == "/dev/null":
            return
        value = " ".join(cmd.argv[1:])
        target = targets[-1]
        if target.startswith("/proc/sys/"):
            self.set_sysctl(target, value)
            return
        m = re.fullmatch(r"/sys/module/(\w+)/parameters/(\w+)", target)
        if m is None:
            raise ShellError(f"unsupported write to {target}", unsupported=True)
        setter = _module_params().get(m.group(1))
        if setter is None:
            raise ShellError(f"unsupported kernel module {m.group(1)}", unsupported=True)
        setter(self.host, m.group(2), value)
