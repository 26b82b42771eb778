"""tuxnet's ``curl`` against this machine's curl 7.88.1: the same commands, against the same Linux
web servers (Python's http.server speaking HTTP/1.0, and HTTP/1.1 with persistent connections)
in the namespace, print the same thing, standard output and standard error together as
``curl ... 2>&1`` keeps them.  Ours runs on the tuxnet host across the TAP device; the real one
in the namespace; URL globs (several transfers a run) and their errors too.  What differs by
nature is set aside: Date and Last-Modified values, the speed
columns of the progress meter, the meter lines between its first and its last (how many a run
prints depends on where its seconds fall), the milliseconds in a message, and the line of a
reused connection that shows a pointer."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from procs import run_main
from tuxnet.user.programs.curl import curl_main

SERVER = """
import functools, http.server, sys
handler = http.server.SimpleHTTPRequestHandler
handler.protocol_version = sys.argv[3]
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])),
                                functools.partial(handler, directory=sys.argv[4])).serve_forever()
"""
_METER = re.compile(r"\r(\s*\d+ [ \d.kMGTP]{5}  \s*\d+ [ \d.kMGTP]{5}  \s*\d+ [ \d.kMGTP]{5})  "
                    r"[ \d.kMGTP]{5}  [ \d.kMGTP]{5} (.{8}) (.{8}) (.{8}) [ \d.kMGTP]{5}")


def normalize(text: str) -> str:
    text = re.sub(r"(?m)^(< )?(Date|Last-Modified): [^\r\n]*", r"\1\2: -", text)
    # (a time spent of one second is a run's ending on either side of the wall clock's second,
    # as `-m 1` ends: curl prints it as under one, --:--:--, or as 0:00:01)
    text = _METER.sub(lambda m: f"\r{m[1]}  SPEED  SPEED {m[2]} {'--:--:--' if m[3] == ' 0:00:01' else m[3]} "
                                f"{m[4]} SPEED", text)
    text = re.sub(r"after \d+ (ms|milliseconds)", r"after N \1", text)
    text = re.sub(r"\* Found bundle for host: 0x[0-9a-f]+ \[serially\]\n", "", text)  # a pointer
    # the meter lines between the first and the last: curl prints one whenever the wall clock's
    # second changes (progress_meter's lastshow), so how many a run has depends on where its
    # seconds fall; the first (at the start) and the last (at the end) are always there
    lines = list(re.finditer(r"\r[^\r\n]*SPEED", text))
    for m in reversed(lines[1:-1]):
        text = text[:m.start()] + text[m.end():]
    return text


@pytest.fixture
def web(tap_pair, tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (apt install curl)")
    p = tap_pair
    root = tmp_path / "www"
    (root / "sub").mkdir(parents=True)
    (root / "index.html").write_text("<h1>hello from Linux</h1>\n")
    (root / "sub" / "index.html").write_text("sub\n")
    (root / "big.bin").write_bytes(bytes(range(256)) * 1200)
    for name in ("1.html", "2.html", "3.html", "a.txt", "b.txt"):
        (root / name).write_text(f"this is {name}\n")
    servers = [p.ns.popen(sys.executable, "-c", SERVER, p.linux_ip, str(port), version, str(root))
               for port, version in ((8000, "HTTP/1.0"), (8001, "HTTP/1.1"))]
    silent = p.ns.popen("nc", "-lk", p.linux_ip, "8002")  # accepts, never answers
    try:
        for port in (8000, 8001, 8002):
            p.ns.run("sh", "-c", f"for i in $(seq 50); do nc -z {p.linux_ip} {port} && exit 0; sleep 0.1; done; "
                     "exit 1")
        host = p.host
        host.files["/etc/hosts"] = f"127.0.0.1\tlocalhost\n{p.linux_ip}\tweb.test\n"
        yield p
    finally:
        for proc in [*servers, silent]:
            proc.kill()
            proc.communicate()


def _linux(p, args: list[str]) -> tuple[str, int]:
    res = subprocess.run(p.ns.cmd("curl", *args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    return res.stdout.decode("latin-1"), res.returncode


def _ours(p, args: list[str]) -> tuple[str, int]:
    return run_main(p.world, p.host, curl_main, args)


CASES = [
    ["{L}:8000/index.html"],
    ["-v", "{L}:8000/index.html"],
    ["-sv", "{L}:8001/index.html"],
    ["-i", "{L}:8001/"],
    ["-I", "{L}:8001/"],
    ["-sv", "-I", "{L}:8001/"],
    ["-v", "-L", "{L}:8001/sub"],
    ["-s", "-L", "-w", "%{http_code} %{num_redirects} %{url_effective}\\n", "{L}:8000/sub"],
    ["-sS", "-L", "--max-redirs", "0", "-w", "%{http_code} %{num_redirects}\\n", "{L}:8000/sub"],
    ["-v", "-L", "--max-redirs", "0", "{L}:8001/sub"],
    ["-s", "-L", "--max-redirs", "1", "-w", "%{http_code} %{num_redirects}\\n", "{L}:8000/sub"],
    ["-s", "-L", "--max-redirs", " -1", "-w", "%{http_code} %{num_redirects}\\n", "{L}:8000/sub"],
    ["--max-redirs", "-2", "{L}:8000/"],
    ["--max-redirs", "5x", "{L}:8000/"],
    ["--max-redirs", "99999999999999999999", "{L}:8000/"],
    ["--max-redirs"],
    ["-v", "-f", "{L}:8000/nope"],
    ["-f", "{L}:8001/nope"],
    ["-sSf", "{L}:8001/nope"],
    ["-sf", "{L}:8001/nope"],
    ["-sv", "-d", "a=1", "-d", "b=2", "{L}:8001/"],
    ["-sv", "-A", "lab/1.0", "-H", "X-Lab: 6", "{L}:8001/index.html"],
    ["-o", "OUT", "{L}:8001/big.bin"],
    ["-s", "-o", "OUT", "-w", "%{http_code} %{size_download} %{content_type} %{remote_ip} %{remote_port}\\n",
     "{L}:8001/big.bin"],
    ["{L}:1/"],
    ["-v", "{L}:1/"],
    ["-sS", "{L}:1/"],
    ["-m", "1", "{L}:8002/"],
    ["-sv", "-m", "1", "{L}:8002/"],
    ["foo://x/"],
    ["--bogus", "x"],
    [],
    # globs (src/tool_urlglob.c): one transfer each, a meter each, the connection kept when it can be
    ["{L}:8000/[1-3].html"],
    ["-v", "{L}:8001/{a,b}.txt"],
    ["-sv", "{L}:8000/{a,b}.txt"],
    ["-s", "-w", "%{url_effective} %{http_code} %{num_connects}\\n", "{L}:8001/[1-9:4].html"],
    ["-s", "-w", "%{url_effective}\\n", "{L}:8001/{a,b}/[a-e:2]x[08-10]"],
    ["-s", "{L}:8001/[01-03].html"],
    ["-sf", "{L}:8001/{1,x,2}.html"],
    ["-f", "{L}:8001/{1,2,x}.html"],
    ["-s", "-o", "OUT", "{L}:8001/[1-2].html"],   # every transfer writes the same file
    ["-g", "-s", "{L}:8001/[1-2].html"],
    ["--globoff", "-s", "-w", "%{url_effective}\\n", "{L}:8001/{a,b}.txt"],
    ["-s", "-w", "%{url_effective}\\n", "{L}:8001/\\[1-2\\]"],
    ["-s", "-w", "%{url_effective}\\n", "{L}:8001/[]"],
    ["{L}:8001/[1-3"],
    ["{L}:8001/[3-1].html"],
    ["{L}:8001/[a-3]"],
    ["{L}:8001/[1-10:0]"],
    ["{L}:8001/[a-c:x]"],
    ["{L}:8001/[-1]"],
    ["{L}:8001/{a,b"],
    ["{L}:8001/{}"],
    ["{L}:8001/{a,[b]}"],
    ["{L}:8001/a]"],
    ["-s", "{L}:8001/[1-3"],
    ["-sS", "{L}:8001/[1-3"],
]


@pytest.mark.parametrize("case", CASES, ids=[" ".join(c) or "no-args" for c in CASES])
def test_curl_prints_what_linux_curl_prints(web, tmp_path, case):
    p = web
    args = [a.replace("{L}", f"http://{p.linux_ip}") for a in case]
    real_out, real_rc = _linux(p, [a.replace("OUT", str(tmp_path / "real.out")) for a in args])
    ours_out, ours_rc = _ours(p, [a.replace("OUT", "/tmp/ours.out") for a in args])
    assert ours_rc == real_rc, (ours_out, real_out)
    assert normalize(ours_out) == normalize(real_out)
    if "OUT" in case:
        assert p.host.files["/tmp/ours.out"] == (tmp_path / "real.out").read_bytes()


def test_curl_glob_names_output_files_as_linux_curl_does(web, tmp_path):
    """``-o`` with ``#1`` and ``#2``: a file for each URL of the glob, named by its globs' texts,
    holding that URL's page (a ``#3`` that names no glob stays as it is)."""
    p = web
    args = ["-s", "-o", "OUT_#2_#1_#3", f"http://{p.linux_ip}:8001/{{a,b}}.[t-u]xt"]
    real_out, real_rc = _linux(p, [a.replace("OUT", str(tmp_path / "real")) for a in args])
    ours_out, ours_rc = _ours(p, [a.replace("OUT", "/tmp/ours") for a in args])
    assert (ours_rc, ours_out) == (real_rc, real_out)
    real = sorted(f.name for f in tmp_path.glob("real_*"))
    assert real == ["real_t_a_#3", "real_t_b_#3", "real_u_a_#3", "real_u_b_#3"]
    for name in real:
        assert p.host.files["/tmp/ours" + name[4:]] == (tmp_path / name).read_bytes(), name


def test_curl_resolves_names_as_linux_curl_does(web):
    """A name from /etc/hosts (both sides' files name the server web.test): the same lines."""
    p = web
    ours_out, ours_rc = _ours(p, ["-sv", "http://web.test:8001/index.html"])
    assert ours_rc == 0
    assert f"* Connected to web.test ({p.linux_ip}) port 8001 (#0)" in ours_out
    assert "> Host: web.test:8001\r\n" in ours_out
    assert "* Connection #0 to host web.test left intact" in ours_out
