"""Classic BPF's instruction encoding (``pcap/bpf.h``): the classes, sizes, modes, operations and
sources a ``struct bpf_insn`` code is built from, as libpcap's compiler uses them."""

from __future__ import annotations

# instruction classes
BPF_LD, BPF_LDX, BPF_ST, BPF_STX, BPF_ALU, BPF_JMP, BPF_RET, BPF_MISC = range(8)
# load sizes
BPF_W, BPF_H, BPF_B = 0x00, 0x08, 0x10
# load modes
BPF_IMM, BPF_ABS, BPF_IND, BPF_MEM, BPF_LEN, BPF_MSH = 0x00, 0x20, 0x40, 0x60, 0x80, 0xA0
# ALU operations
BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND = 0x00, 0x10, 0x20, 0x30, 0x40, 0x50
BPF_LSH, BPF_RSH, BPF_NEG, BPF_MOD, BPF_XOR = 0x60, 0x70, 0x80, 0x90, 0xA0
# jumps
BPF_JA, BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET = 0x00, 0x10, 0x20, 0x30, 0x40
# operand sources, and the return value
BPF_K, BPF_X, BPF_A = 0x00, 0x08, 0x10
# miscellaneous operations
BPF_TAX, BPF_TXA = 0x00, 0x80

BPF_MEMWORDS = 16
U32 = 0xFFFFFFFF


def BPF_CLASS(code: int) -> int:
    return code & 0x07


def BPF_SIZE(code: int) -> int:
    return code & 0x18


def BPF_MODE(code: int) -> int:
    return code & 0xE0


def BPF_OP(code: int) -> int:
    return code & 0xF0


def BPF_SRC(code: int) -> int:
    return code & 0x08


def BPF_RVAL(code: int) -> int:
    return code & 0x18


def BPF_MISCOP(code: int) -> int:
    return code & 0xF8
