"""The configuration files of a host's C library: ``/etc/hosts``, ``/etc/resolv.conf``,
``/etc/nsswitch.conf``, ``/etc/services``, ``/etc/protocols`` and ``/etc/networks``, written into
the host's file table as a distribution's base system (netbase, libc-bin) installs them."""

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

# netbase's /etc/protocols (IANA's numbers): name, number, aliases
PROTOCOLS = """\
ip	0	IP
hopopt	0	HOPOPT
icmp	1	ICMP
igmp	2	IGMP
ggp	3	GGP
ipencap	4	IP-ENCAP
st	5	ST
tcp	6	TCP
egp	8	EGP
igp	9	IGP
pup	12	PUP
udp	17	UDP
hmp	20	HMP
xns-idp	22	XNS-IDP
rdp	27	RDP
iso-tp4	29	ISO-TP4
dccp	33	DCCP
xtp	36	XTP
ddp	37	DDP
idpr-cmtp	38	IDPR-CMTP
ipv6	41	IPv6
ipv6-route	43	IPv6-Route
ipv6-frag	44	IPv6-Frag
idrp	45	IDRP
rsvp	46	RSVP
gre	47	GRE
esp	50	IPSEC-ESP
ah	51	IPSEC-AH
skip	57	SKIP
ipv6-icmp	58	IPv6-ICMP
ipv6-nonxt	59	IPv6-NoNxt
ipv6-opts	60	IPv6-Opts
rspf	73	RSPF CPHB
vmtp	81	VMTP
eigrp	88	EIGRP
ospf	89	OSPFIGP
ax.25	93	AX.25
ipip	94	IPIP
etherip	97	ETHERIP
encap	98	ENCAP
pim	103	PIM
ipcomp	108	IPCOMP
vrrp	112	VRRP
l2tp	115	L2TP
isis	124	ISIS
sctp	132	SCTP
fc	133	FC
mobility-header	135	Mobility-Header
udplite	136	UDPLite
mpls-in-ip	137	MPLS-in-IP
manet	138
hip	139	HIP
shim6	140	Shim6
wesp	141	WESP
rohc	142	ROHC
ethernet	143	Ethernet
mptcp	262	MPTCP
"""

# netbase's /etc/networks
NETWORKS = """\
default		0.0.0.0
loopback	127.0.0.0
link-local	169.254.0.0
"""

NSSWITCH = """\
# Name Service Switch configuration (glibc's default order for hosts)
hosts:		files dns
services:	files
"""


def install_base_files(host: Host, *, nameservers: Iterable[str] = (), search: Iterable[str] = (),
                       options: Iterable[str] = (), hosts: Mapping[str, Iterable[str]] | None = None) -> None:
    """Write the C library's files: ``/etc/hosts`` (localhost and ``hosts``: address → names),
    ``/etc/resolv.conf`` (when nameservers are given), ``/etc/nsswitch.conf``, ``/etc/services``,
    ``/etc/protocols`` and ``/etc/networks``."""
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
    host.files["/etc/protocols"] = PROTOCOLS
    host.files["/etc/networks"] = NETWORKS
