"""libpcap's bpf_image.c and bpf_dump.c: a BPF program as ``tcpdump -d``, ``-dd`` and ``-ddd``
print it."""

from __future__ import annotations

from .bpf import (
    BPF_A,
    BPF_ABS,
    BPF_ADD,
    BPF_ALU,
    BPF_AND,
    BPF_B,
    BPF_CLASS,
    BPF_DIV,
    BPF_H,
    BPF_IMM,
    BPF_IND,
    BPF_JA,
    BPF_JEQ,
    BPF_JGE,
    BPF_JGT,
    BPF_JMP,
    BPF_JSET,
    BPF_K,
    BPF_LD,
    BPF_LDX,
    BPF_LEN,
    BPF_LSH,
    BPF_MEM,
    BPF_MISC,
    BPF_MOD,
    BPF_MSH,
    BPF_MUL,
    BPF_NEG,
    BPF_OP,
    BPF_OR,
    BPF_RET,
    BPF_RSH,
    BPF_ST,
    BPF_STX,
    BPF_SUB,
    BPF_TAX,
    BPF_TXA,
    BPF_W,
    BPF_X,
    BPF_XOR,
)

Insn = tuple[int, int, int, int]  # struct bpf_insn: code, jt, jf, k

SKF_AD_OFF = -0x1000 & 0xFFFFFFFF
# the special Linux offsets (linux/filter.h's SKF_AD_*, four bytes apart), as bpf_image names them
_SKF_AD = dict(zip(range(0, 64, 4), ["proto", "type", "ifidx", "nla", "nlan", "mark", "queue", "hatype",
                                     "rxhash", "cpu", "xor_x", "vlan_tci", "vlanp", "poff", "random",
                                     "vlan_tpid"], strict=True))
_ALU = {BPF_ADD: "add", BPF_SUB: "sub", BPF_MUL: "mul", BPF_DIV: "div", BPF_MOD: "mod",
        BPF_AND: "and", BPF_OR: "or", BPF_XOR: "xor", BPF_LSH: "lsh", BPF_RSH: "rsh"}
_JMP = {BPF_JGT: "jgt", BPF_JGE: "jge", BPF_JEQ: "jeq", BPF_JSET: "jset"}
_LOAD = {BPF_W: "ld", BPF_H: "ldh", BPF_B: "ldb"}


def _signed(k: int) -> int:
    """C's ``%d`` of an unsigned 32-bit ``k``."""
    return k - (1 << 32) if k & 0x80000000 else k


def _operation(code: int, k: int, n: int) -> tuple[str, str]:
    """bpf_image's opcode name and operand text of one instruction."""
    for size, name in _LOAD.items():
        if code == BPF_LD | size | BPF_ABS:
            special = _SKF_AD.get(k - SKF_AD_OFF)
            return name, f"[{special}]" if special else f"[{_signed(k)}]"
        if code == BPF_LD | size | BPF_IND:
            return name, f"[x + {_signed(k)}]"
    for op, name in _ALU.items():
        if code == BPF_ALU | op | BPF_X:
            return name, "x"
        if code == BPF_ALU | op | BPF_K:
            return name, f"#0x{k:x}" if op in (BPF_AND, BPF_OR, BPF_XOR) else f"#{_signed(k)}"
    for op, name in _JMP.items():
        if code == BPF_JMP | op | BPF_K:
            return name, f"#0x{k:x}"
        if code == BPF_JMP | op | BPF_X:
            return name, "x"
    simple = {
        BPF_RET | BPF_K: ("ret", f"#{_signed(k)}"), BPF_RET | BPF_A: ("ret", ""),
        BPF_LD | BPF_W | BPF_LEN: ("ld", "#pktlen"), BPF_LD | BPF_IMM: ("ld", f"#0x{k:x}"),
        BPF_LDX | BPF_IMM: ("ldx", f"#0x{k:x}"),
        BPF_LDX | BPF_MSH | BPF_B: ("ldxb", f"4*([{_signed(k)}]&0xf)"),
        BPF_LD | BPF_MEM: ("ld", f"M[{_signed(k)}]"), BPF_LDX | BPF_MEM: ("ldx", f"M[{_signed(k)}]"),
        BPF_ST: ("st", f"M[{_signed(k)}]"), BPF_STX: ("stx", f"M[{_signed(k)}]"),
        BPF_JMP | BPF_JA: ("ja", f"{n + 1 + k}"), BPF_ALU | BPF_NEG: ("neg", ""),
        BPF_MISC | BPF_TAX: ("tax", ""), BPF_MISC | BPF_TXA: ("txa", ""),
    }
    return simple.get(code, ("unimp", f"0x{code:x}"))


def bpf_image(insn: Insn, n: int) -> str:
    """bpf_image: instruction ``n`` as one line of ``tcpdump -d``."""
    code, jt, jf, k = insn
    op, operand = _operation(code, k, n)
    if BPF_CLASS(code) == BPF_JMP and BPF_OP(code) != BPF_JA:
        return f"({n:03d}) {op:<8} {operand:<16} jt {n + 1 + jt}\tjf {n + 1 + jf}"
    return f"({n:03d}) {op:<8} {operand}"


def bpf_dump(insns: list[Insn], option: int) -> str:
    """bpf_dump: the program as ``tcpdump -d`` (1), ``-dd`` (2) or ``-ddd`` (3) prints it."""
    if option > 2:
        return f"{len(insns)}\n" + "".join(f"{c} {t} {f} {k}\n" for c, t, f, k in insns)
    if option > 1:
        return "".join(f"{{ 0x{c:x}, {t}, {f}, 0x{k:08x} }},\n" for c, t, f, k in insns)
    return "".join(bpf_image(insn, n) + "\n" for n, insn in enumerate(insns))
