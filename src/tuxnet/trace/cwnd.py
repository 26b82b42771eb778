"""Congestion-window traces: what ``ss -ti`` would show of one connection, sampled on a virtual
clock (as a ``tcp_probe`` tracepoint consumer would record it), written as CSV and, when the
``plot`` extra (matplotlib) is installed, as a PNG."""

from __future__ import annotations

import csv
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuxnet.net.ipv4.tcp_sock import TCP_CA_CWR, TCP_ESTABLISHED

if TYPE_CHECKING:
    from tuxnet.net.ipv4.tcp_sock import TcpSock
    from tuxnet.world import World

# snd_ssthresh before the first loss (TCP_INFINITE_SSTHRESH); written as an empty CSV field
TCP_INFINITE_SSTHRESH = 0x7FFFFFFF


@dataclass(frozen=True)
class CwndSample:
    """One row: time (s), windows in segments, smoothed RTT (ms), and CUBIC's W_max when known."""

    t: float
    cwnd: int
    ssthresh: int | None
    inflight: int
    srtt_ms: float
    ca_state: int
    delivered: int
    w_max: int | None


def find_connection(host: Any, dport: int) -> TcpSock | None:
    """The host's established TCP socket to remote port ``dport`` (an ``ss dport = :N`` filter)."""
    for sk in host.tcp_hashinfo.ehash.values():
        if getattr(sk, "inet_dport", None) == dport and sk.sk_state == TCP_ESTABLISHED:
            return sk
    return None


def sample(sk: TcpSock, now: int) -> CwndSample:
    """Read one sample of ``sk``'s congestion state."""
    ssthresh = sk.snd_ssthresh if sk.snd_ssthresh < TCP_INFINITE_SSTHRESH else None
    inflight = sk.packets_out - sk.sacked_out - sk.lost_out + sk.retrans_out
    w_max = getattr(sk.ca_priv, "last_max_cwnd", None) or None
    return CwndSample(now / 1e9, sk.snd_cwnd, ssthresh, inflight, (sk.srtt_us >> 3) / 1000,
                      sk.icsk_ca_state, sk.delivered, w_max)


class CwndTracer:
    """Samples a connection every ``interval`` ns of virtual time from when it is established
    (found by ``find``) until it closes or ``stop()`` is called."""

    def __init__(self, world: World, find: Any, interval: int = 1_000_000) -> None:
        self.world = world
        self.find = find
        self.interval = interval
        self.samples: list[CwndSample] = []
        self.sk: TcpSock | None = None
        self.running = False

    def start(self) -> CwndTracer:
        self.running = True
        self.world.call_later(0, self._tick)
        return self

    def stop(self) -> None:
        self.running = False

    def _tick(self) -> None:
        if not self.running:
            return
        if self.sk is None:
            self.sk = self.find()
        elif self.sk.sk_state != TCP_ESTABLISHED:
            self.running = False
            return
        if self.sk is not None:
            self.samples.append(sample(self.sk, self.world.now))
        self.world.call_later(self.interval, self._tick)


def decreases(samples: list[CwndSample]) -> list[tuple[int, float]]:
    """(index, new ssthresh / cwnd peak of the last two RTTs) at each multiplicative decrease: a
    new ssthresh, or entering CWR, Recovery or Loss (which may set the same ssthresh as the last
    decrease did, from the same peak); an ssthresh set near cwnd (HyStart leaving slow start
    without a loss) is not one."""
    out = []
    dt = samples[1].t - samples[0].t if len(samples) > 1 else 1.0
    for i in range(1, len(samples)):
        s, prev = samples[i], samples[i - 1]
        reducing = s.ca_state >= TCP_CA_CWR and prev.ca_state < TCP_CA_CWR
        if s.ssthresh is not None and (s.ssthresh != prev.ssthresh or reducing):
            window = max(1, int(2 * s.srtt_ms / 1000 / dt))
            peak = max(x.cwnd for x in samples[max(0, i - window):i + 1])
            if s.ssthresh < 0.9 * peak:
                out.append((i, s.ssthresh / peak))
    return out


def write_csv(samples: list[CwndSample], path: str | Path) -> Path:
    """Write the samples with a header row (``t`` in seconds)."""
    path = Path(path)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([fl.name for fl in fields(CwndSample)])
        for s in samples:
            w.writerow(["" if v is None else v for v in astuple(s)])
    return path


def read_csv(path: str | Path) -> list[CwndSample]:
    """Read a file ``write_csv`` wrote."""
    out = []
    with Path(path).open(newline="") as f:
        for row in csv.DictReader(f):
            out.append(CwndSample(float(row["t"]), int(row["cwnd"]), int(row["ssthresh"]) if row["ssthresh"] else None,
                                  int(row["inflight"]), float(row["srtt_ms"]), int(row["ca_state"]),
                                  int(row["delivered"]), int(row["w_max"]) if row["w_max"] else None))
    return out


def plot_png(traces: dict[str, list[CwndSample]], path: str | Path, title: str = "") -> Path | None:
    """cwnd (and ssthresh, dashed) against time, one line per trace; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(10, 5))
    for label, samples in traces.items():
        t = [s.t for s in samples]
        line, = ax.plot(t, [s.cwnd for s in samples], label=f"{label} cwnd", linewidth=1)
        ax.plot(t, [s.ssthresh if s.ssthresh is not None else float("nan") for s in samples],
                linestyle="--", color=line.get_color(), linewidth=0.8, label=f"{label} ssthresh")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("segments")
    if title:
        ax.set_title(title)
    ax.legend()
    ax.grid(True, alpha=0.3)
    path = Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path
