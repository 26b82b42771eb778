"""tuxnet's ``dig`` against this machine's dig (BIND 9.18): the same commands print the same
thing.  Both ask tuxnet's named, authoritative for lab.test on the tuxnet host across the TAP
device, or Linux's side of it (no name server: refused), or an address no one has (no answer);
ours runs on the tuxnet host, the real one in the namespace.  What differs by nature is set
aside: the message ID, the query time, the date, the cookies (named's server cookie holds the
time; the real dig saying "good" of it is judged), and dig's version.  dig's warnings and errors
go to its standard error, before anything it prints on standard output (but for a bad port,
whose line on standard output comes first).  A second named on the tuxnet host (port 5354)
serves keys.test, whose DNSKEY and DS records and SOA times show dig's ``+multiline`` style,
and answers ``+nsid`` with its server-id."""

from __future__ import annotations

import pytest
from test_dig_trace_vs_linux import masked as trace_masked

from procs import dig_masked, lab_argv, run_on_both
from tuxnet.user.programs.dig import dig_main
from tuxnet.user.programs.dns import named

CASES = [
    "@T www.lab.test",
    "@T web.lab.test +norec",
    "@T lab.test MX",
    "@T nope.lab.test",
    "@T a-rather-long-host-name-here.lab.test",
    "@T a-rather-long-host-name-here.lab.test +noall +answer",
    "@T lab.test TXT +short",
    "@T lab.test SOA +nocmd +noquestion",
    "@T example.com",
    "@T -x 10.1.2.3",
    "@T -x 1.2.3",
    "@T www.lab.test +tcp",
    "@T web.lab.test +short",
    "@T www.lab.test +noedns +nocmd +nostats",
    "@T www.lab.test CH",
    "@T",
    "@T www.wild.lab.test +noall +answer +comments",
    "@T -p 5353 www.lab.test +time=1 +tries=1",
    "@L www.lab.test +time=1 +tries=2",
    "@L www.lab.test +tcp +short",
    "@N www.lab.test +time=1 +tries=1",
    "@N www.lab.test +tcp +time=1 +tries=1",
    "@T www.lab.test -t BOGUS",
    "@T www.lab.test -c XX +short",
    "@T -p abc www.lab.test",
    "@T a..b",
    "+bogus",
    "@T www.lab.test -q",
    "@T www.lab.test +qr",
    "@T web.lab.test MX +qr +noedns +nocookie +norec",
    "@T www.lab.test +qr +short",
    "@T -x 10.1.2.3 +qr +tcp",
    "@N www.lab.test +qr +time=1 +tries=1",
    "@T www.lab.test +dnssec",       # DO, and named copies it (RFC 3225 §3)
    "@T www.lab.test +dnssec +qr +nocookie",
    "@T lab.test AXFR",
    "@T lab.test AXFR +onesoa",
    "@T lab.test IXFR=0",
    "@T lab.test -t ixfr=1",       # the client is current: the SOA alone
    "@T nope.test AXFR",
    "@T 2.1.10.in-addr.arpa AXFR +nostats",
    "@T lab.test SOA +multiline",
    "@T lab.test MX +multi",
    "@T lab.test TXT +mu",
    "@T lab.test NS +multiline +norec",  # the NS records in the answer, their address added
    "@T www.lab.test +multiline +nocmd",
    "@T nope.lab.test +multiline",        # the SOA of a negative answer
    "@T lab.test SOA +multiline +short",
    "@T lab.test SOA +multiline +nomultiline",
    "@T lab.test SOA +multiline +qr",
    "@T lab.test AXFR +multiline",
    "@T lab.test AXFR +multiline +onesoa +nostats",
    "@T lab.test SOA +m",                 # +m could be +mapped as well: invalid
    "@T lab.test SOA +nom",
    "@T www.lab.test +nsid",              # a named without server-id: no NSID comes back
    "@T www.lab.test +nsid +qr",          # the query's empty NSID, before its COOKIE
    "@T www.lab.test +nsi +noedns",
    "@T www.lab.test +ns",                # +nssearch as well: invalid
    "@T www.lab.test +o",                 # +onesoa or +opcode: invalid
    "@T www.lab.test +tc",                # +tcp or +tcflag: invalid
    "@N www.lab.test +timeo=1 +tries=1",  # dig's +timeout, by a start of its name
    "@T www.lab.test +noad +qr",          # +ad is +adflag (set by default), not ambiguous
    "@T www.lab.test +noad +ad +qr",
    "@T www.lab.test +noadflag +qr +short",
    "@T www.lab.test +noad +adf +qr",
    "@T www.lab.test +noad +add +qr",     # +additional
    "@T www.lab.test +a",                 # +aaflag, +additional, +adflag, +all, +answer: invalid
    # numbers as parse_uint reads them (isc_parse_uint32): its words, "Couldn't parse", status 10
    "@T www.lab.test +time=abc",
    "@T www.lab.test +time=70000",
    "@T www.lab.test +time=+5",
    "@T www.lab.test +time=²",
    "@T www.lab.test +tries=4294967296",
    "@T www.lab.test +retry=4294967295",
    "@T www.lab.test +time=",
    "@T -p 70000 www.lab.test",
    "@T -p 0x35 www.lab.test",
    "@T www.lab.test +bogus=5",           # named without its value
]
# keys.test on the second named: every unit of a duration in the SOA's times, a KSK, a ZSK and a
# revoked KSK, DS digests of SHA-1, SHA-256 and SHA-384 sizes, and CDS and CDNSKEY (RFC 7344);
# one record a set, as named may send a set's records in any order
KEYS_ZONE = """$ORIGIN keys.test.
$TTL 300
@ IN SOA ns1 hostmaster 2024010101 3700 0 694861 1
@ IN NS ns1
ns1 IN A 10.1.2.2
@ IN DNSKEY 257 3 8 ( AwEAAagAIKlVZrpC6Ia7gEzahOR+9W29euxhJhVVLOyQbSEW0O8gcCjFFVQUTf6v58fLjwBd0YI0EzrAcQqBGCzh/RStIoO8
    g0NfnfL2MTJRkxoXbfDaUeVPQuYEhg37NZWAJQ9VnMVDxP/VHL496M/QZxkjf5/Efucp2gaDX6RS6CXpoY68LsvPVjR0ZSwzz1apAzvN9dlz
    EheX7ICJBBtuA6G3LQpzW5hOA2hzCTMjJPJ8LbqF6dsV6DoBQzgul0sGIcGOYl7OyQdXfZ57relSQageu+ipAdTTJ25AsRTAoub8ONGcLmqr
    AmRLKBP1dfwhYB4N7knNnulqQxA+Uk1ihz0= )
zsk IN DNSKEY 256 3 13 ujblSHRORX3D9WjDdsfjZQwrP9ZNBU7xb4GreWm4/Zs+R5yd8UNtu3Pk0b/3wq0SGVXgD301aTiLljKra42HVQ==
revoked IN DNSKEY 385 3 13 3XrDapiFqJcrec2JjWqrj7XkvBSRMOgDXGg47TFMRda/lg6K7OUtVvG3MEogPHAt94jg+zthjqjQjbq/c5gAzg==
sub IN NS ns1
sub IN DS 12345 8 2 3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d
sha1 IN DS 12345 8 1 86f7e437faa5a7fce15d1ddcb9eaeaea377667b8
sha384 IN DS 12345 14 4 40f98a05660bf871802ee59964de1945bd731a45cc7f48e4dadd92f34a7eeec089e149ad8c2434f11792e588b740d997
@ IN CDS 19036 8 2 3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d
@ IN CDNSKEY 256 3 13 ujblSHRORX3D9WjDdsfjZQwrP9ZNBU7xb4GreWm4/Zs+R5yd8UNtu3Pk0b/3wq0SGVXgD301aTiLljKra42HVQ==
"""
KEYS_CASES = [
    "@T -p 5354 keys.test SOA +multiline",
    "@T -p 5354 keys.test DNSKEY",
    "@T -p 5354 keys.test DNSKEY +multiline",
    "@T -p 5354 keys.test DNSKEY +multiline +short",
    "@T -p 5354 zsk.keys.test DNSKEY +multiline",
    "@T -p 5354 revoked.keys.test DNSKEY +multiline",
    "@T -p 5354 sub.keys.test DS",
    "@T -p 5354 sub.keys.test DS +multiline +norec",
    "@T -p 5354 sha1.keys.test DS +multiline",
    "@T -p 5354 sha384.keys.test DS +multiline",
    "@T -p 5354 sha384.keys.test DS +short",
    "@T -p 5354 keys.test CDS +multi",
    "@T -p 5354 keys.test CDNSKEY +multi",
    "@T -p 5354 keys.test ANY +multiline +nsid",  # over TCP, as dig asks ANY
    "@T -p 5354 keys.test ANY +notcp +multiline",
    "@T -p 5354 keys.test AXFR +multiline",
    "@T -p 5354 keys.test AXFR",
    "@T -p 5354 www.keys.test +nsid",     # NXDOMAIN, with the NSID
    "@T -p 5354 keys.test SOA +nsid +multiline +qr",
    "@T -p 5354 keys.test SOA +nsid +nocookie +tcp",
    "@T -p 5354 keys.test SOA +nsid +noedns",
    "@T -p 5354 keys.test SOA +nonsid",
    "@T -p 5354 example.com +nsid",       # REFUSED, with the NSID
]
TRACE_CASES = [
    "+trace +multiline nope.lab.test",    # NXDOMAIN: the SOA
    "+trace +multi www.lab.test MX",
    "+trace +nsid www.lab.test",
]


@pytest.mark.parametrize("case", CASES)
def test_dig_prints_what_linux_dig_prints(lab, case):
    ours, status, out, err, rc = run_on_both(lab, "dig", dig_main, lab_argv(lab, case))
    theirs = out + err if out.startswith("invalid ") else err + out  # parse_uint: stdout, then stderr
    assert status == rc, (ours, theirs)
    assert dig_masked(ours) == dig_masked(theirs)


@pytest.fixture
def keys(lab):
    """``lab``, and a second named on the tuxnet host, on port 5354, for keys.test, with the
    server-id "ns1.keys.test"."""
    lab.host.files["/etc/db.keys"] = KEYS_ZONE
    lab.host.spawn(named, {"keys.test.": "/etc/db.keys"}, port=5354, server_id="ns1.keys.test", announce=False,
                   name="named")
    lab.world.run_for(int(2e8))
    return lab


@pytest.mark.parametrize("case", KEYS_CASES)
def test_dig_prints_keys_and_nsid_as_linux_dig_does(keys, case):
    ours, status, out, err, rc = run_on_both(keys, "dig", dig_main, lab_argv(keys, case))
    assert status == rc, (ours, err + out)
    assert dig_masked(ours) == dig_masked(err + out)


@pytest.mark.parametrize("case", TRACE_CASES)
def test_dig_trace_multiline_and_nsid_as_linux_dig(dns_hierarchy, case):
    """``+trace`` with ``+multiline`` and ``+nsid``, down the hierarchy (the TTLs, from the
    resolver's cache, may be a second apart, as in test_dig_trace_vs_linux)."""
    p, _ = dns_hierarchy
    ours, status, out, err, rc = run_on_both(p, "dig", dig_main, case.split())
    assert status == rc, (ours, out + err)
    (ours_text, ours_ttls), (their_text, their_ttls) = trace_masked(ours), trace_masked(out + err)
    assert ours_text == their_text
    assert all(0 <= b - a <= 1 for a, b in zip(ours_ttls, their_ttls, strict=True))
