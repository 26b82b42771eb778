"""``sysctl`` (procps-ng 4): read and write the host's kernel settings, as ``/proc/sys`` offers them.

    sysctl [-n|-N] [-e] [-q] NAME...            read (a directory: every entry below it)
    sysctl [-w] [-q] NAME=VALUE...              write (``-w`` optional, as in procps-ng 4)
    sysctl -a                                   all of them
    sysctl -p [FILE]                            the settings of FILE (default /etc/sysctl.conf)

Names may be written with dots or slashes.  What it prints, its messages and its exit status (1
after any error) are procps-ng's; ``tests/l2l3/test_devconf.py`` compares them with this machine's.
"""

from __future__ import annotations

from typing import Any

from tuxnet.kernel.sysctl import Sysctl, SysctlError
from tuxnet.user import libc

USAGE = "\nUsage:\n sysctl [options] [variable[=value] ...]\n"


def _below(sysctl: Sysctl, directory: str) -> list[str]:
    """``DisplayAll``: the entries under a directory of /proc/sys ("" for all of it), as its
    ``readdir`` lists them: each directory's names sorted (``proc_sys_readdir`` walks the
    ``ctl_table``'s rbtree, in ``namecmp`` order), a subdirectory's entries in its place."""
    prefix = directory + "." if directory else ""
    return sorted((key for key in sysctl if key.startswith(prefix)), key=lambda key: key.split("."))


def _read(sysctl: Sysctl, name: str, opts: dict[str, bool]) -> bool:
    """``ReadSetting``: print an entry, or each one below a directory; say when there is none."""
    key = Sysctl.normalise(name)
    entries = _below(sysctl, key) if key and key not in sysctl else []
    if entries:
        failed = False
        for entry in entries:
            failed |= _read(sysctl, entry, opts)
        return failed
    try:
        value = sysctl.format(key)
    except SysctlError as e:
        if not opts["e"]:
            libc.printf("%s\n", str(e))
        return not opts["e"]
    if opts["N"]:
        libc.printf("%s\n", key)
    elif opts["n"]:
        libc.printf("%s\n", value)
    else:
        libc.printf("%s = %s\n", key, value)
    return False


def _write(sysctl: Sysctl, setting: str, opts: dict[str, bool]) -> bool:
    name, _, value = setting.partition("=")
    key, value = Sysctl.normalise(name), value.strip()
    try:
        sysctl.set(key, value)
    except SysctlError as e:
        if not (opts["e"] and "cannot stat" in str(e)):
            libc.printf("%s\n", str(e))
            return bool(e.status)
        return False
    if not opts["q"]:
        libc.printf("%s = %s\n", key, value)
    return False


def _load(host: Any, path: str, opts: dict[str, bool]) -> bool:
    """``-p``: each ``NAME = VALUE`` line of the file; ``#`` and ``;`` start comments (a leading
    ``-``, systemd-sysctl's "may fail", is dropped: procps-ng reports the failure all the same)."""
    text = host.files.get(path)
    if text is None:
        libc.printf("sysctl: cannot open \"%s\": No such file or directory\n", path)
        return True
    failed = False
    for line in (text.decode() if isinstance(text, bytes) else text).splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if "=" in line:
            failed |= _write(host.sysctl, line.lstrip("-"), opts)
    return failed


def sysctl_main(argv: list[str]) -> int:
    """``sysctl`` as a program on a host."""
    from tuxnet.kernel.sched import current

    host = current().host
    opts = dict.fromkeys("nNeqwap", False)
    args = list(argv)
    names = []
    while args:
        arg = args.pop(0)
        if arg.startswith("-") and len(arg) > 1 and not names:
            for flag in arg[1:]:
                if flag in "AX":
                    flag = "a"
                if flag not in opts:
                    libc.printf("sysctl: invalid option -- '%s'\n%s", flag, USAGE)
                    return 0  # procps-ng 4.0.2 exits 0 here
                opts[flag] = True
        else:
            names.append(arg)
    if not names and not opts["a"] and not opts["p"]:
        libc.printf("%s", USAGE)
        return 1
    failed = False
    if opts["p"]:
        for path in names or ["/etc/sysctl.conf"]:
            failed |= _load(host, path, opts)
        return int(failed)
    if opts["a"]:
        for key in _below(host.sysctl, ""):
            failed |= _read(host.sysctl, key, opts)
        return int(failed)
    for name in names:
        if "=" in name:
            failed |= _write(host.sysctl, name, opts)
        elif opts["w"]:
            libc.printf("sysctl: command line(0): invalid syntax, continuing...\n")
            failed = True
        else:
            failed |= _read(host.sysctl, name, opts)
    return int(failed)
