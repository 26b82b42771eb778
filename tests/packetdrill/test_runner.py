"""The packetdrill runner on tuxnet's own scripts: each language feature passes where the stack
behaves as scripted, and a script changed to say something else fails with packetdrill's message
for that difference (the runner can fail)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tuxnet.packetdrill.cli import packetdrill_main, summary_table
from tuxnet.packetdrill.runner import RunResult, run_file, run_text

SCRIPTS = Path(__file__).resolve().parent / "scripts"
OWN_SCRIPTS = sorted(SCRIPTS.glob("*.pkt"))


@pytest.mark.parametrize("path", OWN_SCRIPTS, ids=[p.name for p in OWN_SCRIPTS])
def test_own_script_passes(path: Path) -> None:
    result = run_file(path)
    assert result.passed, result.message


def test_own_scripts_cover_the_language() -> None:
    """Every feature of syntax.md appears in at least one of our scripts."""
    text = "\n".join(p.read_text() for p in OWN_SCRIPTS)
    features = {
        "absolute time": r"^0\.\d+ ",
        "relative time": r"^\s*\+\.\d+ ",
        "absolute range": r"^\d\.\d+~\d\.\d+ ",
        "relative range": r"^\+\.\d+~\+\.\d+ ",
        "any time": r"^\s*\* ",
        "blocking call": r"\.\.\.\d\.\d+ \w+\(",
        "errno": r"= -1 E[A-Z]+ \(",
        "SACK block": r"<sack \d+:\d+",
        "timestamps": r"TS val \d+ ecr \d+",
        "unchecked options": r"<\.\.\.>",
        "window": r" win \d+\s*$",
        "sysctl": r"^\s*`?sysctl ",
        "sourced file": r"\./settings\.sh",
        "code": r"%\{",
        "option": r"^--\w+=",
    }
    missing = [name for name, pattern in features.items() if not re.search(pattern, text, re.M)]
    assert not missing
    calls = {"socket", "bind", "listen", "accept", "connect", "read", "write", "send", "recv", "sendto", "recvfrom",
             "sendmsg", "recvmsg", "close", "shutdown", "setsockopt", "getsockopt", "fcntl", "ioctl", "poll",
             "epoll_create", "epoll_ctl", "epoll_wait"}
    assert calls <= set(re.findall(r"(\w+)\(", text))


def _mutated(name: str, old: str, new: str, **options: str) -> RunResult:
    text = (SCRIPTS / name).read_text()
    assert old in text
    return run_text(text.replace(old, new, 1), name, options=options or None, script_dir=SCRIPTS)


@pytest.mark.parametrize(("name", "old", "new", "line", "message"), [
    pytest.param("handshake.pkt", "> P. 1:501(500) ack 101\n", "> P. 1:501(500) ack 101 win 1000\n", 25,
                 "error handling packet: live packet field tcp_window: expected: 1000 (0x3e8) vs actual: 63 (0x3f)",
                 id="wrong-window"),
    pytest.param("handshake.pkt", "> P. 1:501(500) ack 101\n", "> . 1:501(500) ack 101\n", 25,
                 "error handling packet: live packet field tcp_psh: expected: 0 (0x0) vs actual: 1 (0x1)",
                 id="wrong-flags"),
    pytest.param("handshake.pkt", "> P. 1:501(500) ack 101\n", "> P. 101:601(500) ack 101\n", 25,
                 "error handling packet: live packet field tcp_seq: expected: 101 (0x65) vs actual: 1 (0x1)",
                 id="wrong-sequence"),
    pytest.param("active_open.pkt", "ecr 0,nop,wscale 10>", "ecr 0,nop,wscale 9>", 12,
                 "error handling packet: bad value outbound TCP option 3", id="wrong-option"),
    pytest.param("fastopen.pkt", "ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 10,FO 0b3ad0ec99a15273",
                 "ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 10,FO 0b3ad0ec99a15274", 21,
                 "error handling packet: bad value outbound TCP option 34", id="wrong-fast-open-cookie"),
    pytest.param("times.pkt", "+.3~+.31 > P. 1:1001(1000) ack 1", "+.2~+.21 > P. 1:1001(1000) ack 1", 18,
                 "error handling packet: timing error: expected outbound packet at 0.300000 sec but no packet "
                 "was sent by 0.335000 sec", id="packet-too-late"),
    pytest.param("times.pkt", "+.3~+.31 > P. 1:1001(1000) ack 1", "+.4~+.41 > P. 1:1001(1000) ack 1", 18,
                 "error handling packet: timing error: expected outbound packet in relative time range "
                 "+0.400000~+0.410000 sec but happened at +0.300000 sec", id="packet-too-early"),
    pytest.param("handshake.pkt", "> F. 501:501(0) ack 102\n",
                 "> F. 501:501(0) ack 102\n   +0 > . 502:502(0) ack 102\n",
                 37, "error handling packet: timing error: expected outbound packet at 0.030000 sec but no packet "
                 "was sent by 0.035000 sec", id="missing-packet"),
    pytest.param("errno.pkt", "= -1 EAGAIN (Resource temporarily unavailable)", "= -1 EINTR (Interrupted system call)",
                 15, "runtime error in read call: Expected errno 4 (Interrupted system call) but got 11 (Resource "
                 "temporarily unavailable)", id="wrong-errno"),
    pytest.param("errno.pkt", "write(3, ..., 100) = -1 EPIPE (Broken pipe)", "write(3, ..., 100) = 100", 21,
                 "runtime error in write call: Expected result 100 but got -1 with errno 32 (Broken pipe)",
                 id="wrong-result"),
    pytest.param("syscalls.pkt", "ioctl(4, SIOCINQ, [300]) = 0", "ioctl(4, SIOCINQ, [200]) = 0", 33,
                 "runtime error in ioctl call: Bad ioctl optval: expected: 200 actual: 300", id="wrong-ioctl-value"),
    pytest.param("active_open.pkt", "assert tcpi_snd_mss == 988", "assert tcpi_snd_mss == 1000", 29,
                 "error in Python code", id="failed-assertion"),
    pytest.param("zerocopy.pkt", "ee_data=2}", "ee_data=1}", 43,
                 "runtime error in recvmsg call: Bad ee_data in cmsg 0: expected=1 actual=2",
                 id="wrong-zerocopy-range"),
    pytest.param("zerocopy.pkt", "ee_info=3", "ee_info=4", 61,
                 "runtime error in recvmsg call: Bad ee_info in cmsg 0: expected=4 actual=3",
                 id="wrong-zerocopy-id"),
    pytest.param("timestamping.pkt", "scm_nsec=30000000}}", "scm_nsec=20000000}}", 38,
                 "runtime error in recvmsg call: Bad timestamp in cmsg 0: expected 0.020000 sec but it is 0.030000 "
                 "sec; tolerance 0.005000 sec", id="wrong-timestamp"),
    pytest.param("timestamping.pkt", "ee_data=2099}}]}, MSG_ERRQUEUE) = 0", "ee_data=2199}}]}, MSG_ERRQUEUE) = 0", 55,
                 "runtime error in recvmsg call: Bad ee_data in cmsg 1: expected=2199 actual=2099",
                 id="timestamp-of-a-replaced-request"),
])
def test_mutated_script_fails_with_packetdrills_message(name: str, old: str, new: str, line: int,
                                                        message: str) -> None:
    result = _mutated(name, old, new)
    assert result.status == "fail"
    assert result.line == line
    assert result.message.startswith(f"{name}:{line}: {message}"), result.message


def test_packet_mismatch_shows_both_packets() -> None:
    result = _mutated("handshake.pkt", "> P. 1:501(500) ack 101\n", "> P. 1:501(500) ack 101 win 1000\n")
    assert "\nscript packet:  0.020000 P. 1:501(500) ack 101 win 1000\n" in result.message
    assert "\nactual packet:  0.020000 P. 1:501(500) ack 101 win 63" in result.message


def test_strict_segments_refuses_to_merge_segments() -> None:
    """Without --strict_segments three wire segments match one scripted 3000-byte segment."""
    result = run_file(SCRIPTS / "shell_leniency.pkt", {"strict_segments": ""})
    assert result.status == "fail"
    assert "live packet payload: expected 3000 bytes vs actual 1000 bytes" in result.message


@pytest.mark.parametrize(("command", "message"), [
    ("ls /", "unsupported shell command: ls /"),
    ("sysctl -q net.ipv4.tcp_bogus=1", "unsupported sysctl net.ipv4.tcp_bogus"),
    ("ip -6 route change 2001:DB8::1 via fd3d:fa7b:d17d:8888::0 dev tun0 initcwnd 11", "unsupported ip command"),
])
def test_unknown_commands_are_reported_unsupported(command: str, message: str) -> None:
    result = run_text(f"`{command}`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n", "x.pkt")
    assert result.status == "unsupported"
    assert message in result.message


def test_ip_route_runs_and_its_errors_fail_the_script() -> None:
    """tun0's route is 192.0.2.1/32, as with packetdrill's ``--remote_ip=192.0.2.1``: a script may
    change it, and a change of a route that does not exist fails as iproute2 does."""
    handshake = ("+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n"
                 "+0 listen(3, 1) = 0\n+0 < S 0:0(0) win 50000 <mss 1460>\n")
    changed = run_text("`ip route change 192.0.2.1 via 192.168.0.2 dev tun0 advmss 600`\n" + handshake
                       + "+0 > S. 0:0(0) ack 1 <mss 600>\n", "x.pkt")
    assert changed.status == "pass", changed.message
    missing = run_text("`ip route change 192.0.2.0/24 via 192.168.0.2 dev tun0 advmss 600`\n" + handshake, "x.pkt")
    assert missing.status == "fail"
    assert "RTNETLINK answers: No such file or directory" in missing.message


def test_known_configuration_commands_leave_notes() -> None:
    result = run_text("`/tmp/sysctl_restore_${PPID}.sh`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n")
    assert result.passed, result.message
    assert any("no sysctl to restore" in note for note in result.notes)


def test_ip_tcp_metrics_runs_tuxnets_ip() -> None:
    """defaults.sh's ``ip tcp_metrics flush all`` empties the cache; a delete of what is not
    there fails as iproute2 does."""
    flushed = run_text("`ip tcp_metrics flush all > /dev/null 2>&1`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n")
    assert flushed.passed, flushed.message
    assert not flushed.notes
    missing = run_text("`ip tcp_metrics delete 192.0.2.1`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n")
    assert missing.status == "fail" and "RTNETLINK answers: No such process" in missing.message


def test_ipv6_is_unsupported() -> None:
    result = run_text("--ip_version=ipv6\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n")
    assert result.status == "unsupported"
    assert "IPv6" in result.message


def test_runs_are_deterministic() -> None:
    first = run_file(SCRIPTS / "sack_recovery.pkt")
    second = run_file(SCRIPTS / "sack_recovery.pkt")
    assert first.passed and second.passed
    assert first.virtual_time == second.virtual_time


def test_cli_runs_scripts_and_reports_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert packetdrill_main([str(SCRIPTS / "handshake.pkt")]) == 0
    assert "handshake.pkt: pass" in capsys.readouterr().out
    bad = tmp_path / "bad.pkt"
    bad.write_text((SCRIPTS / "errno.pkt").read_text().replace("= -1 EPIPE (Broken pipe)", "= 100"))
    assert packetdrill_main(["--tolerance_usecs=10000", str(bad)]) == 1
    assert "bad.pkt:21: runtime error in write call: Expected result 100" in capsys.readouterr().err


def test_cli_summary_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert packetdrill_main(["--summary", str(SCRIPTS)]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0] == "| directory | scripts | pass | fail | unsupported | error |"
    assert f"| **total** | **{len(OWN_SCRIPTS)}** | **{len(OWN_SCRIPTS)}** | **0** | **0** | **0** |" in table


def test_summary_table_counts_per_directory() -> None:
    results = {"a/x.pkt": RunResult("x", "pass"), "a/y.pkt": RunResult("y", "fail"),
               "b/z.pkt": RunResult("z", "unsupported")}
    lines = summary_table(results).splitlines()
    assert "| a | 2 | 1 | 1 | 0 | 0 |" in lines
    assert "| b | 1 | 0 | 0 | 1 | 0 |" in lines


def test_a_file_that_is_not_text_is_an_error_not_a_crash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "binary.pkt"
    path.write_bytes(b"0 socket(\xff\xfe\x00")
    result = run_file(path)
    assert result.status == "error" and result.message == f"{path}: not a script: byte 9 is not UTF-8 text"
    assert packetdrill_main([str(path)]) == 1
    assert capsys.readouterr().err == f"[error] {path}: not a script: byte 9 is not UTF-8 text\n"
