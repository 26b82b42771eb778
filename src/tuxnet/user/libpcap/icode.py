"""The intermediate code of libpcap's compiler (gencode.h): statements, basic blocks ending in a
branch, the edges between them, and the arithmetic expressions of relations.

A block's statements are a Python list (libpcap's ``slist``); an optimised-away statement stays in
it with the code ``NOP``, as in optimize.c.  ``jt``/``jf`` are libpcap's ``JT(b)``/``JF(b)``: the
successors along the block's true and false edges."""

from __future__ import annotations

import itertools

from .bpf import BPF_MEMWORDS

NOP = -1
A_ATOM = BPF_MEMWORDS
X_ATOM = BPF_MEMWORDS + 1
N_ATOMS = BPF_MEMWORDS + 2
AX_ATOM = N_ATOMS


class Stmt:
    """``struct stmt``: an opcode and its constant; a conditional jump among a block's statements
    (a VLAN id test's) names the statements of the block it goes to, ``jt`` and ``jf``."""

    __slots__ = ("code", "k", "jt", "jf")

    def __init__(self, code: int, k: int = 0) -> None:
        self.code = code
        self.k = k
        self.jt: Stmt | None = None
        self.jf: Stmt | None = None


class Edge:
    """``struct edge``: a block's true or false exit, for the optimiser."""

    __slots__ = ("id", "code", "edom", "succ", "pred")

    def __init__(self, pred: Block) -> None:
        self.id = 0
        self.code = 0
        self.edom = 0  # edge dominators, a bit set of edge ids
        self.succ: Block | None = None
        self.pred = pred


class Block:
    """``struct block``: statements, then a branch (or a return)."""

    __slots__ = ("id", "s", "stmts", "et", "ef", "head", "sense", "link", "level", "offset",
                 "longjt", "longjf", "mark", "dom", "val", "oval", "kill", "in_use", "out_use",
                 "in_edges")

    def __init__(self, code: int, k: int = 0) -> None:
        self.id = 0
        self.s = Stmt(code, k)
        self.stmts: list[Stmt] = []
        self.et = Edge(self)
        self.ef = Edge(self)
        self.head: Block = self
        self.sense = False
        self.link: Block | None = None
        self.level = 0
        self.offset = 0
        self.longjt = 0
        self.longjf = 0
        self.mark = 0
        self.dom = 0
        self.val = [0] * N_ATOMS
        self.oval = 0
        self.kill = 0
        self.in_use = 0
        self.out_use = 0
        self.in_edges: list[Edge] = []

    @property
    def jt(self) -> Block | None:
        return self.et.succ

    @jt.setter
    def jt(self, block: Block | None) -> None:
        self.et.succ = block

    @property
    def jf(self) -> Block | None:
        return self.ef.succ

    @jf.setter
    def jf(self, block: Block | None) -> None:
        self.ef.succ = block


class Arth:
    """``struct arth``: statements leaving a value in scratch register ``regno``, and the
    protocol checks (``b``) the value needs."""

    __slots__ = ("s", "regno", "b")

    def __init__(self, stmts: list[Stmt], regno: int) -> None:
        self.s = stmts
        self.regno = regno
        self.b: Block | None = None


_MARKS = itertools.count(1)


class Marks:
    """``icode``'s marking: ``unmark_all`` makes every block unmarked at once (a mark no block
    has had before)."""

    def __init__(self) -> None:
        self.cur_mark = 0

    def unmark_all(self) -> None:
        self.cur_mark = next(_MARKS)

    def is_marked(self, block: Block) -> bool:
        return block.mark == self.cur_mark

    def mark(self, block: Block) -> None:
        block.mark = self.cur_mark
