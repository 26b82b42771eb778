"""curl, dig, named and httpd in a topology, on simulated wires only (tests/tap judges curl's and
dig's lines against this machine's): a fetch by name through named's zone, curl's errors and
exit statuses, -o and cat, dig's sections and failures, and the messages named and httpd stop
with on a bad configuration."""

from __future__ import annotations

import re

import pytest

from tuxnet.topology import TopologyError, load_topology
from tuxnet.user.programs.dig import parse_args

LAB = '''
duration = "10s"
[[host]]
name = "a"
files = { "/etc/resolv.conf" = "nameserver 10.0.0.2\\n" }
[[host]]
name = "b"
[host.files]
"/var/www/index.html" = "hello\\n"
"/etc/bind/named.conf" = """
options { directory "/etc/bind"; };  // the zone files' directory
zone "lab.test" { type master; file "db.lab"; };
"""
"/etc/bind/db.lab" = """
$TTL 300
@   IN SOA ns.lab.test. root.lab.test. ( 1 3600 600 86400 300 )
    IN NS ns
    IN MX 10 mail
ns  IN A 10.0.0.2
mail IN A 10.0.0.25
www IN A 10.0.0.2
"""
[[link]]
a = "a"
b = "b"
a_addr = "10.0.0.1/24"
b_addr = "10.0.0.2/24"
[[run]]
host = "b"
cmd = "named -c /etc/bind/named.conf"
[[run]]
host = "b"
cmd = "httpd -f -p 8080 -h /var/www"
'''

METER_HEAD = ("  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"
              "                                 Dload  Upload   Total   Spent    Left  Speed\n")


def run_lab(runs: list[tuple[str, str, str]], lab: str = LAB) -> tuple[str, str, list]:
    """The lab (or a variant of it) with ``runs`` (host, command, time) added: each host's output
    and the statuses."""
    text = lab + "".join(f'[[run]]\nhost = "{h}"\ncmd = "{cmd}"\nat = "{at}"\n' for h, cmd, at in runs)
    net = load_topology("lab.toml", text=text)
    net.start()
    net.run()
    sections = dict(re.findall(r"== (\w+) ==\n(.*?)(?=== \w+ ==\n|\Z)", net.output(), re.S))
    return sections.get("a", ""), sections.get("b", ""), [p.result for p in net.procs[2:]]


def test_curl_fetches_a_page_by_a_name_named_serves():
    a, _, statuses = run_lab([("a", "curl http://www.lab.test:8080/", "1s"),
                              ("a", "curl -s -o /tmp/page http://10.0.0.2:8080/", "2s"),
                              ("a", "cat /tmp/page", "3s")])
    assert statuses == [0, 0, 0]
    assert a.startswith(METER_HEAD)
    # the meter's first line (nothing yet), then the last: 6 bytes of 6, 100 %
    # (curl writes each meter line over the last, beginning it with a carriage return)
    assert re.match(r"\r  0     0    0     0    0     0      0      0 --:--:-- --:--:-- --:--:--     0"
                    r"\r100     6  100     6    0     0  \d+      0 --:--:-- --:--:-- --:--:-- +\d+\nhello\n",
                    a[len(METER_HEAD):])
    assert a.endswith("\nhello\nhello\n")  # the page curl wrote, then cat's copy of the file -o made


def test_curl_errors_and_statuses():
    a, _, statuses = run_lab([("a", "curl -sS http://nowhere.lab.test:8080/", "1s"),
                              ("a", "curl -sS http://10.0.0.2:9/", "2s"),
                              ("a", "curl -sSf http://10.0.0.2:8080/missing", "3s"),
                              ("a", "curl -s http://10.0.0.2:8080/missing", "4s"),
                              ("a", "curl --bogus", "5s"),
                              ("a", "curl", "6s"),
                              ("a", "curl -sS ftp://10.0.0.2/", "7s")])
    assert statuses == [6, 7, 22, 0, 2, 2, 1]
    lines = a.splitlines()
    assert lines[:3] == ["curl: (6) Could not resolve host: nowhere.lab.test",
                         "curl: (7) Failed to connect to 10.0.0.2 port 9 after 0 ms: Couldn't connect to server",
                         "curl: (22) The requested URL returned error: 404"]
    assert "<title>404 Not Found</title>" in a  # without -f the error page is the output
    assert lines[-4:] == ["curl: option --bogus: is unknown",
                          "curl: try 'curl --help' or 'curl --manual' for more information",
                          "curl: try 'curl --help' or 'curl --manual' for more information",
                          'curl: (1) Protocol "ftp" not supported or disabled in libcurl']


@pytest.mark.parametrize(("conf", "files", "expected"), [
    ('options { directory "/etc"; bogus yes; };', {},
     "/etc/bind/named.conf:1: unknown option 'bogus'\nloading configuration: failure\nexiting (due to fatal error)\n"),
    ('zone "x.test" { type forward; file "db.x"; };', {},
     "/etc/bind/named.conf:1: zone 'x.test': type 'forward' is not served here (tuxnet's named serves primary "
     "and secondary zones and takes root hints)\nloading configuration: failure\nexiting (due to fatal error)\n"),
    ('zone "x.test" { type secondary; };', {},
     "/etc/bind/named.conf:1: zone 'x.test': missing 'primaries' entry\nloading configuration: failure\n"
     "exiting (due to fatal error)\n"),
    ('zone "x.test" { type master; file "/etc/db.x"; };', {},
     "zone x.test/IN: loading from master file /etc/db.x failed: file not found\n"
     "zone x.test/IN: not loaded due to errors.\n"),
    ('zone "x.test" { type master; file "/etc/db.x"; };',
     {"/etc/db.x": "$TTL 300\\n@ IN SOA ns. root. ( 1 2 3 4 5 )\\nfoo IN BOGUS 1\\n"},
     "zone x.test/IN: loading from master file /etc/db.x failed: /etc/db.x:3: unknown rdatatype 'BOGUS'\n"
     "zone x.test/IN: not loaded due to errors.\n"),
    ('options {\n server-id ns1;\n};', {},  # BIND's parse_serverid: none, hostname or a quoted string
     "/etc/bind/named.conf:2: expected quoted string near 'ns1'\nloading configuration: failure\n"
     "exiting (due to fatal error)\n"),
    ('options {\n directory "/etc";\n', {},
     "/etc/bind/named.conf:3: unexpected end of input\nloading configuration: failure\n"
     "exiting (due to fatal error)\n"),
])
def test_named_says_what_is_wrong_with_its_configuration(conf, files, expected):
    extra = "".join(f'"{path}" = "{text}"\n' for path, text in files.items())
    net = load_topology("n.toml", text=f"""duration = "1s"
[[host]]
name = "b"
[host.files]
"/etc/bind/named.conf" = '''{conf}'''
{extra}[[run]]
host = "b"
cmd = "named"
""")
    net.start()
    net.run()
    assert net.output() == "== b ==\n" + expected


def test_httpd_errors():
    _, b, statuses = run_lab([("b", "httpd -f -p 8080 -h /var/www", "1s"),
                              ("b", "httpd -f -p 8081 -h /nonexistent", "1s")])
    assert statuses == [1, 1]
    assert b.splitlines()[:2] == ["httpd: bind: Address already in use",
                                  "httpd: can't change directory to '/nonexistent': No such file or directory"]


def test_a_topology_file_must_be_named_by_an_absolute_path():
    with pytest.raises(TopologyError, match=r"x\.toml:3: \[\[host\]\]: files: 'etc/hosts' must be an absolute path"):
        load_topology("x.toml", text='[[host]]\nname = "a"\nfiles = { "etc/hosts" = "x" }\n')


def test_dig_asks_named():
    a, _, statuses = run_lab([("a", "dig www.lab.test", "1s"),
                              ("a", "dig @10.0.0.2 lab.test MX +norec +nocmd +nostats", "2s"),
                              ("a", "dig +short -x 10.0.0.2", "3s"),
                              ("a", "dig +noall +answer +tcp lab.test NS", "4s")])
    assert statuses == [0, 0, 0, 0]
    first, second = a.split(";; MSG SIZE  rcvd: 85\n\n")
    assert re.fullmatch(
        r"\n; <<>> DiG 9\.18\.\S+ <<>> www\.lab\.test\n;; global options: \+cmd\n;; Got answer:\n"
        r";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: \d+\n"
        r";; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1\n"
        r";; WARNING: recursion requested but not available\n\n"
        r";; OPT PSEUDOSECTION:\n; EDNS: version: 0, flags:; udp: 1232\n"
        r"; COOKIE: [0-9a-f]{16}0100000054d40401[0-9a-f]{16} \(good\)\n"  # named's: version 1, the time
        r";; QUESTION SECTION:\n;www\.lab\.test\.\t\t\tIN\tA\n\n"
        r";; ANSWER SECTION:\nwww\.lab\.test\.\t\t300\tIN\tA\t10\.0\.0\.2\n\n"
        r";; Query time: 0 msec\n;; SERVER: 10\.0\.0\.2#53\(10\.0\.0\.2\) \(UDP\)\n"
        r";; WHEN: Fri Feb 06 00:00:01 UTC 2015\n", first)
    # without RD, an answer carries its zone's NS records too, as BIND's (no-auth-recursive)
    assert re.match(r";; Got answer:\n;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: \d+\n"
                    r";; flags: qr aa; QUERY: 1, ANSWER: 1, AUTHORITY: 1, ADDITIONAL: 3\n\n", second)
    assert (";; ANSWER SECTION:\nlab.test.\t\t300\tIN\tMX\t10 mail.lab.test.\n\n"
            ";; AUTHORITY SECTION:\nlab.test.\t\t300\tIN\tNS\tns.lab.test.\n\n"
            ";; ADDITIONAL SECTION:\nmail.lab.test.\t\t300\tIN\tA\t10.0.0.25\n"
            "ns.lab.test.\t\t300\tIN\tA\t10.0.0.2\n\n") in second
    # -x asks for 2.0.0.10.in-addr.arpa. PTR, which named refuses: +short prints nothing
    assert second.endswith("\n\nlab.test.\t\t300\tIN\tNS\tns.lab.test.\n")


def test_dig_when_no_server_answers():
    a, _, statuses = run_lab([("a", "dig @10.0.0.1 www.lab.test +time=1 +tries=2", "1s"),
                              ("a", "dig @10.0.0.9 www.lab.test +tcp +time=1 +tries=1", "5s"),
                              ("a", "dig @10.0.0.2 a..b", "9s"),
                              ("a", "dig +nssearch www.lab.test", "9s")])
    assert statuses == [9, 9, 10, 1]
    assert a == (";; communications error to 10.0.0.1#53: connection refused\n" * 2
                 + "\n; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> @10.0.0.1 www.lab.test +time=1 +tries=2\n"
                 "; (1 server found)\n;; global options: +cmd\n;; no servers could be reached\n"
                 ";; Connection to 10.0.0.9#53(10.0.0.9) for www.lab.test failed: timed out.\n"
                 ";; no servers could be reached\n"
                 "dig: 'a..b' is not a legal name (empty label)\n"
                 "dig: +nssearch is not in tuxnet's dig\n")


@pytest.mark.parametrize(("argv", "multiline", "nsid", "tcp"), [
    ([], False, False, False),
    (["+multiline"], True, False, False),
    (["+mu"], True, False, False),
    (["+multi", "+nomultiline"], False, False, False),
    (["+nsid"], False, True, False),
    (["+nsi", "+nonsid"], False, False, False),
    (["+mul", "+nsid", "+vc"], True, True, True),
])
def test_dig_reads_multiline_and_nsid(argv, multiline, nsid, tcp):
    """The switches as dig's plus_option sets them, from any start of their names no other of
    its options shares."""
    q = parse_args(argv)
    assert (q.on["multiline"], q.on["nsid"], q.on["tcp"], q.tcp_set) == (multiline, nsid, tcp, tcp)


def test_dig_reads_timeout_by_any_start_of_its_name():
    """dig's option is +timeout; +time and +ti are starts of it."""
    assert [parse_args([f"+{word}=2"]).timeout for word in ("ti", "time", "timeout")] == [2, 2, 2]


SOA_MULTILINE = ("lab.test.\t\t300 IN SOA ns.lab.test. root.lab.test. (\n"
                 "\t\t\t\t1          ; serial\n"
                 "\t\t\t\t3600       ; refresh (1 hour)\n"
                 "\t\t\t\t600        ; retry (10 minutes)\n"
                 "\t\t\t\t86400      ; expire (1 day)\n"
                 "\t\t\t\t300        ; minimum (5 minutes)\n"
                 "\t\t\t\t)\n")


def test_dig_multiline_and_its_abbreviations():
    """+multiline, or any start of it no other option of dig's shares (+mu, +multi), prints an
    SOA in dig's multiline style, its durations spelled out; +nomultiline undoes it; +short is
    the same either way; +m (+mapped too) and +nom are invalid, as in BIND's dig."""
    usage = ("Usage:  dig [@global-server] [domain] [q-type] [q-class] {q-opt}\n"
             "            {global-d-opt} host [@local-server] {local-d-opt}\n"
             "            [ host [@local-server] {local-d-opt} [...]]\n\n"
             'Use "dig -h" (or "dig -h | more") for complete list of options\n')
    a, _, statuses = run_lab([("a", "dig +noall +answer lab.test SOA +multiline", "1s"),
                              ("a", "dig +noall +answer lab.test SOA +mu", "2s"),
                              ("a", "dig +noall +answer lab.test SOA +multi +nomultiline", "3s"),
                              ("a", "dig +short lab.test SOA +multi", "4s"),
                              ("a", "dig +noall +question lab.test MX +multi", "5s"),
                              ("a", "dig +noall +answer lab.test MX +multi", "6s"),
                              ("a", "dig lab.test +m", "7s"),
                              ("a", "dig lab.test +nom", "8s")])
    assert statuses == [0, 0, 0, 0, 0, 0, 1, 1]
    assert a == (SOA_MULTILINE * 2
                 + "lab.test.\t\t300\tIN\tSOA\tns.lab.test. root.lab.test. 1 3600 600 86400 300\n"
                 + "ns.lab.test. root.lab.test. 1 3600 600 86400 300\n"
                 + ";lab.test.\t\tIN MX\n"
                 + "lab.test.\t\t300 IN MX 10 mail.lab.test.\n"
                 + "Invalid option: +m\n" + usage + "Invalid option: +nom\n" + usage)


@pytest.mark.parametrize(("server_id", "nsid"), [
    ('"ns1"', '; NSID: 6e 73 31 ("ns1")\n'),
    ("hostname", '; NSID: 62 ("b")\n'),      # the host's name
    ('"none"', '; NSID: 6e 6f 6e 65 ("none")\n'),  # quoted: a string
    ("none", ""),
    (None, ""),                               # no server-id: none
])
def test_named_answers_nsid_with_its_server_id(server_id, nsid):
    """dig +nsid (+nsi) sends an empty NSID option (RFC 5001 §2.1); named answers it with its
    server-id, before the cookie, as BIND's does, and only when asked (+nonsid: no NSID)."""
    lab = LAB if server_id is None else LAB.replace('options { directory "/etc/bind"; };',
                                                    f'options {{ directory "/etc/bind"; server-id {server_id}; }};')
    a, _, statuses = run_lab([("a", "dig +noall +comments www.lab.test +nsid", "1s"),
                              ("a", "dig +noall +comments www.lab.test +nsi +nocookie", "2s"),
                              ("a", "dig +noall +comments www.lab.test +nsid +nonsid", "3s")], lab)
    assert statuses == [0, 0, 0]
    first, second, third = a.split(";; Got answer:\n")[1:]
    assert re.search(r"\n;; OPT PSEUDOSECTION:\n; EDNS: version: 0, flags:; udp: 1232\n"
                     + re.escape(nsid) + r"; COOKIE: [0-9a-f]{48} \(good\)\n", first)
    assert second.endswith(";; OPT PSEUDOSECTION:\n; EDNS: version: 0, flags:; udp: 1232\n" + nsid)
    assert "NSID" not in third


def test_named_orders_a_set_at_random_from_the_hosts_seed():
    """A name with several addresses: named writes them in a random order each time (BIND's
    default ``rrset-order { order random; }``), drawn from the host's seeded generator, so the
    same simulation answers the same way every run.  Half the questions carry no cookie, which
    would let named answer again from a kept answer: not for such a set."""
    lab = LAB.replace("www IN A 10.0.0.2\n", "www IN A 10.0.0.2\nwww IN A 10.0.0.3\nwww IN A 10.0.0.4\n")
    runs = [("a", f"dig +short www.lab.test {'+nocookie' if i % 2 else ''}", f"{i + 1}00ms") for i in range(8)]
    first, _, statuses = run_lab(runs, lab)
    again, _, _ = run_lab(runs, lab)
    assert statuses == [0] * 8 and first == again
    answers = [tuple(first.splitlines()[i:i + 3]) for i in range(0, 24, 3)]
    assert all(sorted(answer) == ["10.0.0.2", "10.0.0.3", "10.0.0.4"] for answer in answers)
    assert len(set(answers)) > 2, answers


def test_dig_sends_nsid_before_its_cookie():
    """+qr shows the query: an empty NSID option, then the client cookie (dighost.c's order)."""
    a, _, statuses = run_lab([("a", "dig +noall +comments +qr www.lab.test +nsid", "1s")])
    assert statuses == [0]
    assert re.match(r";; Sending:\n.*\n;; OPT PSEUDOSECTION:\n; EDNS: version: 0, flags:; udp: 1232\n"
                    r"; NSID:\n; COOKIE: [0-9a-f]{16}\n", a, re.S)


def test_http_says_a_url_has_a_bad_port():
    a, _, statuses = run_lab([("a", "http 00:11:22:33:44:55", "1s"), ("a", "http http://10.0.0.2:8080/", "2s")])
    assert statuses == [1, 0]
    assert a == "http: bad port in URL 'http://00:11:22:33:44:55'\nHTTP/1.1 200 OK\nhello\n"


def test_host_looks_names_up_as_bind_s_host():
    a, _, statuses = run_lab([("a", "host www.lab.test", "1s"), ("a", "host lab.test 10.0.0.2", "2s"),
                              ("a", "host -t AAAA www.lab.test", "3s"), ("a", "host nope.lab.test", "4s"),
                              ("a", "host -W 1 www.lab.test 10.0.0.1", "5s")])
    assert statuses == [0, 0, 0, 1, 1]
    assert a == ("www.lab.test has address 10.0.0.2\n"
                 "Using domain server:\nName: 10.0.0.2\nAddress: 10.0.0.2#53\nAliases: \n\n"
                 "lab.test mail is handled by 10 mail.lab.test.\n"
                 "www.lab.test has no AAAA record\n"
                 "Host nope.lab.test not found: 3(NXDOMAIN)\n"
                 + ";; communications error to 10.0.0.1#53: connection refused\n" * 2
                 + ";; no servers could be reached\n")


def test_nslookup_looks_names_up_as_bind_s_nslookup():
    a, _, statuses = run_lab([("a", "nslookup www.lab.test", "1s"),
                              ("a", "nslookup -type=MX lab.test 10.0.0.2", "2s"),
                              ("a", "nslookup nope.lab.test", "3s"),
                              ("a", "nslookup -timeout=1 x.test 10.0.0.1", "4s")])
    assert statuses == [0, 0, 1, 1]
    server = "Server:\t\t10.0.0.2\nAddress:\t10.0.0.2#53\n\n"
    # (with no server named, each answer without recursion available is remarked on, as the
    # real nslookup remarks it: tests/tap/test_dns_search_vs_linux.py)
    no_ra = ";; Got recursion not available from 10.0.0.2\n"
    assert a == (no_ra + server + "Name:\twww.lab.test\nAddress: 10.0.0.2\n" + no_ra + "\n"
                 + server + "lab.test\tmail exchanger = 10 mail.lab.test.\n\n"
                 + no_ra + server + "** server can't find nope.lab.test: NXDOMAIN\n\n"
                 + ";; communications error to 10.0.0.1#53: connection refused\n" * 3
                 + ";; no servers could be reached\n\n")


def test_dig_host_and_nslookup_on_a_malformed_answer():
    """A server that answers with the query's ID and garbage: each tool says so and fails."""
    from tuxnet.net.socket import AF_INET, SOCK_DGRAM
    from tuxnet.user import libc
    from tuxnet.user.programs.dig import dig_main
    from tuxnet.user.programs.host import host_main
    from tuxnet.user.programs.nslookup import nslookup_main

    net = load_topology("m.toml", text=LAB.replace('cmd = "named -c /etc/bind/named.conf"', 'cmd = "cat"'))
    net.start()
    b = net.nodes["b"]

    def garbage_server() -> None:
        fd = libc.socket(AF_INET, SOCK_DGRAM, 0)
        libc.bind(fd, ("10.0.0.2", 53))
        while True:
            query, peer = libc.recvfrom(fd, 512)
            libc.sendto(fd, query[:2] + b"\x81\x80\x00\x01\x00\x01", 0, peer)

    b.spawn(garbage_server)
    a = net.nodes["a"]
    procs = [a.spawn(main, ["@10.0.0.2" if main is dig_main else "www.lab.test",
                            "www.lab.test" if main is dig_main else "10.0.0.2"])
             for main in (dig_main, host_main, nslookup_main)]
    net.world.run_until(lambda: not any(p.alive for p in procs), timeout=int(30e9))
    assert [p.result for p in procs] == [9, 1, 1]
    assert a.output().count(";; Got bad packet: ") == 3 and a.output().count("\n8 bytes\n") == 3
