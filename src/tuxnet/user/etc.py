"""The configuration files of a host's C library: ``/etc/hosts``, ``/etc/resolv.conf``,
``/etc/nsswitch.conf`` and ``/etc/services``, written into the host's file table as a
distribution's base system (netbase, libc-bin) installs them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tuxnet.kernel.host import Host

# netbase's /etc/services, the entries a small network uses.
SERVICES = """\
# Network services, Internet style (netbase)
echo		7/tcp
echo		7/udp
discard		9/tcp		sink null
discard		9/udp		sink null
daytime		13/tcp
daytime		13/udp
ftp-data	20/tcp
ftp		21/tcp
ssh		22/tcp
telnet		23/tcp
smtp		25/tcp		mail
time		37/tcp		timserver
time		37/udp		timserver
domain		53/tcp				# Domain Name Server
domain		53/udp
bootps		67/udp
bootpc		68/udp
tftp		69/udp
http		80/tcp		www		# WorldWideWeb HTTP
pop3		110/tcp		pop-3
ntp		123/udp
imap2		143/tcp		imap
snmp		161/tcp
snmp		161/udp
https		443/tcp
submission	587/tcp
imaps		993/tcp
pop3s		995/tcp
http-alt	8080/tcp	webcache
"""

NSSWITCH = """\
# Name Service Switch configuration (glibc's default order for hosts)
hosts:		files dns
services:	files
"""


def install_base_files(host: Host, *, nameservers: Iterable[str] = (), search: Iterable[str] = (),
                       options: Iterable[str] = (), hosts: Mapping[str, Iterable[str]] | None = None) -> None:
    """Write the C library's files: ``/etc/hosts`` (localhost and ``hosts``: address → names),
    ``/etc/resolv.conf`` (when nameservers are given), ``/etc/nsswitch.conf`` and ``/etc/services``."""
    lines = ["127.0.0.1\tlocalhost\n"]
    for addr, names in (hosts or {}).items():
        lines.append(f"{addr}\t{' '.join(names)}\n")
    host.files["/etc/hosts"] = "".join(lines)
    servers = list(nameservers)
    if servers:
        conf = [f"nameserver {ns}\n" for ns in servers]
        domains = list(search)
        if domains:
            conf.append(f"search {' '.join(domains)}\n")
        opts = list(options)
        if opts:
            conf.append(f"options {' '.join(opts)}\n")
        host.files["/etc/resolv.conf"] = "".join(conf)
    host.files["/etc/nsswitch.conf"] = NSSWITCH
    host.files["/etc/services"] = SERVICES
