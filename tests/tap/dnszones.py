"""Zones of a DNS hierarchy for the tuxnet host (``dns_hierarchy`` in conftest.py): the root,
test. (with a delegation to a server whose name has no address), and lab.test. and far.test.;
``{R}``, ``{T}`` and ``{L}`` stand for the addresses of their servers."""

DNS_ROOT = """$TTL 86400
. IN SOA a.root-servers. hostmaster.root-servers.test. 1 1800 900 604800 86400
. IN NS a.root-servers.
a.root-servers. IN A {R}
test. IN NS ns.nic.test.
ns.nic.test. IN A {T}
"""
DNS_TEST = """$TTL 3600
test. IN SOA ns.nic.test. hostmaster.nic.test. 1 1800 900 604800 600
test. IN NS ns.nic.test.
ns.nic.test. IN A {T}
lab.test. IN NS ns1.lab.test.
ns1.lab.test. IN A {L}
far.test. IN NS ns1.lab.test.
bad.test. IN NS ns.nowhere.test.
"""
DNS_LAB = """$TTL 300
lab.test. IN SOA ns1.lab.test. root.lab.test. 1 3600 600 86400 60
lab.test. IN NS ns1.lab.test.
ns1.lab.test. IN A {L}
www.lab.test. IN A 10.0.2.80
www.lab.test. IN MX 10 mail.lab.test.
mail.lab.test. IN A 10.0.2.25
web.lab.test. IN CNAME www.far.test.
x.ent.lab.test. IN A 10.0.2.90
long.lab.test. 2000000 IN A 10.0.2.91
"""
DNS_FAR = """$TTL 300
far.test. IN SOA ns1.lab.test. root.lab.test. 1 3600 600 86400 60
far.test. IN NS ns1.lab.test.
www.far.test. IN A 10.0.2.81
"""
DNS_HINTS = ".  3600000 IN NS a.root-servers.\na.root-servers. 3600000 IN A {R}\n"
