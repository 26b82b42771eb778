"""curl, named and httpd in a topology, on simulated wires only (tests/tap judges curl's lines
against this machine's curl): a fetch by name through named's zone, curl's errors and exit
statuses, -o and cat, and the messages named and httpd stop with on a bad configuration."""

from __future__ import annotations

import re

import pytest

from tuxnet.topology import TopologyError, load_topology

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
ns  IN A 10.0.0.2
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


def run_lab(runs: list[tuple[str, str, str]]) -> tuple[str, str, list]:
    """The lab with ``runs`` (host, command, time) added: each host's output and the statuses."""
    text = LAB + "".join(f'[[run]]\nhost = "{h}"\ncmd = "{cmd}"\nat = "{at}"\n' for h, cmd, at in runs)
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
    ('zone "x.test" { type hint; file "db.x"; };', {},
     "/etc/bind/named.conf:1: zone 'x.test': type 'hint' is not served here (tuxnet's named serves primary zones)\n"
     "loading configuration: failure\nexiting (due to fatal error)\n"),
    ('zone "x.test" { type master; file "/etc/db.x"; };', {},
     "zone x.test/IN: loading from master file /etc/db.x failed: file not found\n"
     "zone x.test/IN: not loaded due to errors.\n"),
    ('zone "x.test" { type master; file "/etc/db.x"; };',
     {"/etc/db.x": "$TTL 300\\n@ IN SOA ns. root. ( 1 2 3 4 5 )\\nfoo IN BOGUS 1\\n"},
     "zone x.test/IN: loading from master file /etc/db.x failed: /etc/db.x:3: unknown rdatatype 'BOGUS'\n"
     "zone x.test/IN: not loaded due to errors.\n"),
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
