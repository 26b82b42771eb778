"""The course's final project as a network: MenuOS looks a name up with DNS, then fetches the page
over HTTP.

::

    menuos 10.0.2.15 ── switch ── 10.0.2.2 router 10.0.3.1 ── switch ─┬─ ns1 10.0.3.53 (named)
       (eth0)            sw0         (eth0)   (eth1)           sw1   └─ www 10.0.3.80 (httpd)

The client LAN uses the addresses of QEMU's user network the course ran MenuOS on (10.0.2.15, the
gateway 10.0.2.2); the server LAN is one hop further, so the DNS query leaves MenuOS through the
gateway, whose address ARP resolves first.  ``ns1`` is authoritative for ``example.com`` and for
the server LAN's reverse zone; ``www`` serves a small site.
"""

from __future__ import annotations

from typing import Any, TextIO

from tuxnet.user.etc import install_base_files
from tuxnet.user.programs.dns import named
from tuxnet.user.programs.http import httpd
from tuxnet.world import World

EXAMPLE_ZONE = """\
$ORIGIN example.com.
$TTL 3600
@        IN SOA   ns1.example.com. hostmaster.example.com. (
                  2015020601 ; serial
                  7200       ; refresh
                  900        ; retry
                  1209600    ; expire
                  300 )      ; minimum: the negative-caching TTL (RFC 2308)
         IN NS    ns1.example.com.
         IN MX    10 mail.example.com.
         IN TXT   "v=spf1 mx -all"
         IN A     10.0.3.80
ns1      IN A     10.0.3.53
www      IN CNAME web.example.com.
web      IN A     10.0.3.80
web      IN AAAA  2001:db8:3::80
mail     IN A     10.0.3.25
*.dyn    IN A     10.0.3.99
a.b.deep IN A     10.0.3.7
lab      IN NS    ns.lab.example.com.
ns.lab   IN A     10.0.4.53
"""

REVERSE_ZONE = """\
$ORIGIN 3.0.10.in-addr.arpa.
$TTL 3600
@   IN SOA ns1.example.com. hostmaster.example.com. 2015020601 7200 900 1209600 300
    IN NS  ns1.example.com.
25  IN PTR mail.example.com.
53  IN PTR ns1.example.com.
80  IN PTR web.example.com.
"""

INDEX_HTML = """\
<html><head><title>MenuOS final project</title></head>
<body><h1>Hello from www.example.com</h1><p>Served by tuxnet-httpd over the simulated network.</p></body>
</html>
"""

MENUOS_ADDRESS = "10.0.2.15/24"
GATEWAY = "10.0.2.2"
NAMESERVER = "10.0.3.53"
WEB_SERVER = "10.0.3.80"
ZONE_FILES = {"example.com.": "/etc/bind/db.example.com", "3.0.10.in-addr.arpa.": "/etc/bind/db.10.0.3"}


def final_project(world: World, echo: TextIO | None = None) -> dict[str, Any]:
    """Build the network in ``world`` and start its servers; the nodes by name (``menuos``,
    ``gw``, ``ns1``, ``www``, ``sw0``, ``sw1``).  ``menuos``'s eth0 is up without an address: its
    init (``menuos.boot``) configures it, as the course's does; ``echo`` is its terminal (the
    console is only kept when None)."""
    # A command that crashes prints its traceback on the console and the shell goes on, as a
    # program that dies does not take its shell down.
    menuos = world.add_host("menuos", echo=echo or False, fail_on_crash=False)
    gw = world.add_router("gw")
    ns1 = world.add_host("ns1")
    www = world.add_host("www")
    sw0 = world.add_switch("sw0")
    sw1 = world.add_switch("sw1")
    world.connect(menuos, sw0)
    world.connect(gw, sw0, a_addr=f"{GATEWAY}/24")
    world.connect(gw, sw1, a_addr="10.0.3.1/24")
    world.connect(ns1, sw1, a_addr=f"{NAMESERVER}/24")
    world.connect(www, sw1, a_addr=f"{WEB_SERVER}/24")
    for server in (ns1, www):
        server.ip_route_add("default", via="10.0.3.1")
    for host in (menuos, ns1, www):
        install_base_files(host, nameservers=[NAMESERVER], search=["example.com"])
    ns1.files[ZONE_FILES["example.com."]] = EXAMPLE_ZONE
    ns1.files[ZONE_FILES["3.0.10.in-addr.arpa."]] = REVERSE_ZONE
    www.files["/var/www/index.html"] = INDEX_HTML
    ns1.spawn(named, ZONE_FILES, name="named")
    www.spawn(httpd, "/var/www", name="httpd")
    return {"menuos": menuos, "gw": gw, "ns1": ns1, "www": www, "sw0": sw0, "sw1": sw1}
