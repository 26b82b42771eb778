"""libpcap's optimize.c, the optimiser: ``bpf_optimize`` runs ``opt_loop`` twice over the flow
graph (first moving branches only, then also rewriting statements) until a pass changes nothing,
then ``intern_blocks`` merges equal blocks and ``opt_root`` drops the root's useless branches.

Each pass levels the graph (``find_levels``), finds dominators (``find_dom``), the registers each
block uses and defines (``find_ud``) and edge dominators (``find_edom``), then ``opt_blks``:
value numbering of every block's statements (``opt_blk``/``opt_stmt``, with constant folding and
the peephole rules of ``opt_peep``, and dead stores removed by ``opt_deadstores``), branches moved
past tests whose outcome a dominating edge already decided (``opt_j``), and ``or_pullup``/
``and_pullup``.  (libpcap also computes ``find_closure``, which nothing reads.)  Register sets
and dominator sets are Python ints used as bit sets, as optimize.c uses words."""

from __future__ import annotations

from collections.abc import Callable, Iterator

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
    BPF_MISCOP,
    BPF_MOD,
    BPF_MODE,
    BPF_MSH,
    BPF_MUL,
    BPF_NEG,
    BPF_OP,
    BPF_OR,
    BPF_RET,
    BPF_RSH,
    BPF_RVAL,
    BPF_SIZE,
    BPF_SRC,
    BPF_ST,
    BPF_STX,
    BPF_SUB,
    BPF_TAX,
    BPF_TXA,
    BPF_W,
    BPF_X,
    BPF_XOR,
    U32,
)
from .gencode import FilterError
from .icode import A_ATOM, AX_ATOM, N_ATOMS, NOP, X_ATOM, Block, Edge, Marks, Stmt

VAL_UNKNOWN = 0
_ALU_K = {BPF_ALU | op | BPF_K for op in (BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_MOD, BPF_AND,
                                          BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH)}
_ALU_X = {code | BPF_X for code in _ALU_K}


def dfs(root: Block, marks: Marks, children: Callable[[Block], tuple]) -> Iterator[tuple[str, Block]]:
    """A depth-first walk of the unmarked blocks from ``root``, marking them, as libpcap's
    recursive walks do: ``("pre", b)`` on entering a block, ``("post", b)`` after its children."""
    marks.mark(root)
    yield "pre", root
    stack = [(root, iter(children(root)))]
    while stack:
        block, pending = stack[-1]
        for child in pending:
            if child is not None and not marks.is_marked(child):
                marks.mark(child)
                yield "pre", child
                stack.append((child, iter(children(child))))
                break
        else:
            stack.pop()
            yield "post", block


def _successors(b: Block) -> tuple:
    return (b.jt, b.jf)


def atomuse(s: Stmt) -> int:
    """The register ``s`` reads (AX_ATOM for both A and X, -1 for none)."""
    c = s.code
    if c == NOP:
        return -1
    cls = BPF_CLASS(c)
    if cls == BPF_RET:
        return A_ATOM if BPF_RVAL(c) == BPF_A else X_ATOM if BPF_RVAL(c) == BPF_X else -1
    if cls in (BPF_LD, BPF_LDX):
        return X_ATOM if BPF_MODE(c) == BPF_IND else s.k if BPF_MODE(c) == BPF_MEM else -1
    if cls == BPF_ST:
        return A_ATOM
    if cls == BPF_STX:
        return X_ATOM
    if cls in (BPF_JMP, BPF_ALU):
        return AX_ATOM if BPF_SRC(c) == BPF_X else A_ATOM
    return X_ATOM if BPF_MISCOP(c) == BPF_TXA else A_ATOM


def atomdef(s: Stmt) -> int:
    """The register ``s`` writes, -1 for none."""
    if s.code == NOP:
        return -1
    cls = BPF_CLASS(s.code)
    if cls in (BPF_LD, BPF_ALU):
        return A_ATOM
    if cls == BPF_LDX:
        return X_ATOM
    if cls in (BPF_ST, BPF_STX):
        return s.k
    if cls == BPF_MISC:
        return X_ATOM if BPF_MISCOP(s.code) == BPF_TAX else A_ATOM
    return -1


def _uses(atom: int, defs: int) -> int:
    """The registers a read of ``atom`` uses that nothing earlier in the block defined."""
    if atom == AX_ATOM:
        return (1 << X_ATOM | 1 << A_ATOM) & ~defs
    return (1 << atom) & ~defs if atom >= 0 else 0


def compute_local_ud(b: Block) -> None:
    defs = use = killed = 0
    for s in b.stmts:
        if s.code == NOP:
            continue
        use |= _uses(atomuse(s), defs)
        atom = atomdef(s)
        if atom >= 0:
            if not use >> atom & 1:
                killed |= 1 << atom
            defs |= 1 << atom
    if BPF_CLASS(b.s.code) == BPF_JMP:
        use |= _uses(atomuse(b.s), defs)
    b.kill, b.in_use = killed, use


def this_op(stmts: list[Stmt], i: int) -> int | None:
    while i < len(stmts) and stmts[i].code == NOP:
        i += 1
    return i if i < len(stmts) else None


def use_conflict(b: Block, succ: Block) -> bool:
    """Whether a register ``succ``'s successors use leaves ``b`` with another value."""
    use = succ.out_use
    return any(use >> atom & 1 and b.val[atom] != succ.val[atom] for atom in range(N_ATOMS))


def fold_edge(child: Block, ep: Edge) -> Block | None:
    """The child of ``child`` the edge ``ep`` (which dominates the way to it) decides, if any."""
    code, sense = (-ep.code, False) if ep.code < 0 else (ep.code, True)
    if child.s.code != code or child.val[A_ATOM] != ep.pred.val[A_ATOM]:
        return None
    if child.oval == ep.pred.oval:
        return child.jt if sense else child.jf
    if sense and code == BPF_JMP | BPF_JEQ | BPF_K:
        return child.jf
    return None


class _Optimizer:
    """``opt_state_t``."""

    def __init__(self, root: Block) -> None:
        self.root = root
        self.marks = Marks()
        self.done = True
        self.non_branch_movement_performed = False
        self.opt_init()

    def opt_init(self) -> None:
        self.marks.unmark_all()
        self.blocks = [b for event, b in dfs(self.root, self.marks, _successors) if event == "pre"]
        n = len(self.blocks)
        self.edges: list[Edge] = [None] * (2 * n)  # type: ignore[list-item]
        for i, b in enumerate(self.blocks):
            b.id = i
            b.et.id, b.ef.id = i, n + i
            self.edges[i], self.edges[n + i] = b.et, b.ef
            b.et.pred = b.ef.pred = b

    # -- the graph's analyses --------------------------------------------------------------------

    def find_levels(self) -> None:
        """Level 0 holds the leaves, the root the highest level; each level lists its blocks
        most recently found first, as libpcap links them."""
        self.levels: list[list[Block]] = [[] for _ in self.blocks]
        self.marks.unmark_all()
        for event, b in dfs(self.root, self.marks, lambda b: (b.jt, b.jf) if b.jt else ()):
            if event == "post":
                b.level = max(b.jt.level, b.jf.level) + 1 if b.jt else 0
                self.levels[b.level].insert(0, b)
        self.ordered = self.top_down()

    def top_down(self, lowest: int = 0) -> list[Block]:
        """The blocks from the root's level down to ``lowest``."""
        return [b for level in range(self.root.level, lowest - 1, -1) for b in self.levels[level]]

    def bottom_up(self) -> list[Block]:
        """The blocks from level 1 up to the root's."""
        return [b for level in range(1, self.root.level + 1) for b in self.levels[level]]

    def find_dom(self) -> None:
        everything = (1 << len(self.blocks)) - 1
        for b in self.blocks:
            b.dom = everything
        self.root.dom = 0
        for b in self.ordered:
            b.dom |= 1 << b.id
            if b.jt is not None:
                b.jt.dom &= b.dom
                b.jf.dom &= b.dom

    def find_edom(self) -> None:
        everything = (1 << len(self.edges)) - 1
        for ep in self.edges:
            ep.edom = everything
        self.root.et.edom = self.root.ef.edom = 0
        for b in self.top_down():
            for ep in (b.et, b.ef):
                ep.edom |= 1 << ep.id
                if ep.succ is not None:
                    ep.succ.et.edom &= ep.edom
                    ep.succ.ef.edom &= ep.edom

    def find_ud(self) -> None:
        for b in self.top_down():
            compute_local_ud(b)
            b.out_use = 0
        for b in self.bottom_up():
            b.out_use |= b.jt.in_use | b.jf.in_use
            b.in_use |= b.out_use & ~b.kill

    def find_inedges(self) -> None:
        for b in self.blocks:
            b.in_edges = []
        for b in self.top_down(lowest=1):
            b.jt.in_edges.insert(0, b.et)
            b.jf.in_edges.insert(0, b.ef)

    # -- value numbering -------------------------------------------------------------------------

    def init_val(self) -> None:
        self.curval = 0
        self.table: dict[tuple[int, int, int], int] = {}
        self.consts: dict[int, int] = {}

    def F(self, code: int, v0: int, v1: int) -> int:
        """The value number of ``code`` applied to ``v0``, ``v1``; loads of a constant are known."""
        key = (code, v0, v1)
        val = self.table.get(key)
        if val is None:
            self.curval += 1
            val = self.table[key] = self.curval
            if BPF_MODE(code) == BPF_IMM and BPF_CLASS(code) in (BPF_LD, BPF_LDX):
                self.consts[val] = v0
        return val

    def K(self, k: int) -> int:
        return self.F(BPF_LD | BPF_IMM | BPF_W, k, 0)

    def changed(self) -> None:
        """A change other than moving a branch (the loop detection's counter restarts)."""
        self.non_branch_movement_performed = True
        self.done = False

    @staticmethod
    def vstore(s: Stmt | None, val: list[int], atom: int, newval: int, alter: bool) -> None:
        """Record ``atom``'s new value; a statement storing the value already there is a NOP."""
        if alter and s is not None and newval != VAL_UNKNOWN and val[atom] == newval:
            s.code = NOP
        else:
            val[atom] = newval

    def fold_op(self, s: Stmt, v0: int, v1: int) -> None:
        a, b = self.consts[v0], self.consts[v1]
        op = BPF_OP(s.code)
        if op in (BPF_DIV, BPF_MOD) and b == 0:
            raise FilterError("division by zero" if op == BPF_DIV else "modulus by zero")
        if op in (BPF_LSH, BPF_RSH):
            a = 0 if b >= 32 else (a << b if op == BPF_LSH else a >> b)
        else:
            a = {BPF_ADD: lambda: a + b, BPF_SUB: lambda: a - b, BPF_MUL: lambda: a * b,
                 BPF_DIV: lambda: a // b, BPF_MOD: lambda: a % b, BPF_AND: lambda: a & b,
                 BPF_OR: lambda: a | b, BPF_XOR: lambda: a ^ b}[op]()
        s.k = a & U32
        s.code = BPF_LD | BPF_IMM
        self.changed()

    def opt_stmt(self, s: Stmt, val: list[int], alter: bool) -> None:
        """Number the value ``s`` computes and update ``val``; with ``alter``, simplify ``s``."""
        code = s.code
        if code in (BPF_LD | BPF_ABS | BPF_W, BPF_LD | BPF_ABS | BPF_H, BPF_LD | BPF_ABS | BPF_B):
            self.vstore(s, val, A_ATOM, self.F(code, s.k, 0), alter)
        elif code in (BPF_LD | BPF_IND | BPF_W, BPF_LD | BPF_IND | BPF_H, BPF_LD | BPF_IND | BPF_B):
            v = val[X_ATOM]
            if alter and v in self.consts:
                s.code = BPF_LD | BPF_ABS | BPF_SIZE(code)
                s.k = (s.k + self.consts[v]) & U32
                v = self.F(s.code, s.k, 0)
                self.changed()
            else:
                v = self.F(code, s.k, v)
            self.vstore(s, val, A_ATOM, v, alter)
        elif code == BPF_LD | BPF_LEN:
            self.vstore(s, val, A_ATOM, self.F(code, 0, 0), alter)
        elif code == BPF_LD | BPF_IMM:
            self.vstore(s, val, A_ATOM, self.K(s.k), alter)
        elif code == BPF_LDX | BPF_IMM:
            self.vstore(s, val, X_ATOM, self.K(s.k), alter)
        elif code == BPF_LDX | BPF_MSH | BPF_B:
            self.vstore(s, val, X_ATOM, self.F(code, s.k, 0), alter)
        elif code == BPF_ALU | BPF_NEG:
            if alter and val[A_ATOM] in self.consts:
                s.code = BPF_LD | BPF_IMM
                s.k = -self.consts[val[A_ATOM]] & U32
                val[A_ATOM] = self.K(s.k)
            else:
                val[A_ATOM] = self.F(code, val[A_ATOM], 0)
        elif code in _ALU_K:
            self.opt_alu_k(s, val, alter)
        elif code in _ALU_X:
            self.opt_alu_x(s, val, alter)
        elif code == BPF_MISC | BPF_TXA:
            self.vstore(s, val, A_ATOM, val[X_ATOM], alter)
        elif code in (BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM):
            v = val[s.k]
            if alter and v in self.consts:
                s.code = BPF_LD | BPF_IMM if code == BPF_LD | BPF_MEM else BPF_LDX | BPF_IMM
                s.k = self.consts[v]
                self.changed()
            self.vstore(s, val, A_ATOM if code == BPF_LD | BPF_MEM else X_ATOM, v, alter)
        elif code == BPF_MISC | BPF_TAX:
            self.vstore(s, val, X_ATOM, val[A_ATOM], alter)
        elif code in (BPF_ST, BPF_STX):
            self.vstore(s, val, s.k, val[A_ATOM if code == BPF_ST else X_ATOM], alter)

    def opt_alu_k(self, s: Stmt, val: list[int], alter: bool) -> None:
        op = BPF_OP(s.code)
        if alter:
            if s.k == 0:
                if op in (BPF_ADD, BPF_LSH, BPF_RSH, BPF_OR, BPF_XOR):
                    s.code = NOP
                    return
                if op in (BPF_MUL, BPF_AND):
                    s.code = BPF_LD | BPF_IMM
                    val[A_ATOM] = self.K(s.k)
                    return
                if op == BPF_DIV:
                    raise FilterError("division by zero")
                if op == BPF_MOD:
                    raise FilterError("modulus by zero")
            if val[A_ATOM] in self.consts:
                self.fold_op(s, val[A_ATOM], self.K(s.k))
                val[A_ATOM] = self.K(s.k)
                return
        val[A_ATOM] = self.F(s.code, val[A_ATOM], self.K(s.k))

    def opt_alu_x(self, s: Stmt, val: list[int], alter: bool) -> None:
        op = BPF_OP(s.code)
        if alter and val[X_ATOM] in self.consts:
            if val[A_ATOM] in self.consts:
                self.fold_op(s, val[A_ATOM], val[X_ATOM])
                val[A_ATOM] = self.K(s.k)
            else:
                s.code = BPF_ALU | BPF_K | op
                s.k = self.consts[val[X_ATOM]]
                if op in (BPF_LSH, BPF_RSH) and s.k > 31:
                    raise FilterError("shift by more than 31 bits")
                self.changed()
                val[A_ATOM] = self.F(s.code, val[A_ATOM], self.K(s.k))
            return
        if alter and self.consts.get(val[A_ATOM], 1) == 0:
            if op in (BPF_ADD, BPF_OR, BPF_XOR):
                s.code = BPF_MISC | BPF_TXA
                self.vstore(s, val, A_ATOM, val[X_ATOM], alter)
                return
            if op in (BPF_MUL, BPF_DIV, BPF_MOD, BPF_AND, BPF_LSH, BPF_RSH):
                s.code = BPF_LD | BPF_IMM
                s.k = 0
                self.vstore(s, val, A_ATOM, self.K(s.k), alter)
                return
        val[A_ATOM] = self.F(s.code, val[A_ATOM], val[X_ATOM])

    # -- peephole rules and dead stores ----------------------------------------------------------

    def opt_peep(self, b: Block) -> None:
        stmts = b.stmts
        if not stmts:
            return
        last = 0
        i: int | None = 0
        while True:
            i = this_op(stmts, i)
            if i is None:
                break
            nxt = this_op(stmts, i + 1)
            if nxt is None:
                break
            last = nxt
            s, n = stmts[i], stmts[nxt]
            if s.code == BPF_ST and n.code == BPF_LDX | BPF_MEM and s.k == n.k:
                self.changed()
                n.code = BPF_MISC | BPF_TAX
            if s.code == BPF_LD | BPF_IMM and n.code == BPF_MISC | BPF_TAX:
                s.code = BPF_LDX | BPF_IMM
                n.code = BPF_MISC | BPF_TXA
                self.changed()
            if s.code == BPF_LD | BPF_IMM and not b.out_use >> X_ATOM & 1:
                self.fold_index(stmts, i, nxt)
            i = nxt
        self.peep_branch(b, stmts[last])

    def fold_index(self, stmts: list[Stmt], i: int, nxt: int) -> None:
        """``ld #k; [ldxms]; addx; tax; ild [x+j]`` becomes ``[ldxms]; ild [x+k+j]`` (a
        ``tcp[k]`` with a constant ``k``)."""
        add = nxt if stmts[nxt].code != BPF_LDX | BPF_MSH | BPF_B else this_op(stmts, nxt + 1)
        if add is None or stmts[add].code != BPF_ALU | BPF_ADD | BPF_X:
            return
        tax = this_op(stmts, add + 1)
        if tax is None or stmts[tax].code != BPF_MISC | BPF_TAX:
            return
        ild = this_op(stmts, tax + 1)
        if ild is None or BPF_CLASS(stmts[ild].code) != BPF_LD or BPF_MODE(stmts[ild].code) != BPF_IND:
            return
        stmts[ild].k = (stmts[ild].k + stmts[i].k) & U32
        stmts[i].code = stmts[add].code = stmts[tax].code = NOP
        self.changed()

    def peep_branch(self, b: Block, last: Stmt) -> None:
        """opt_peep's rules for the branch that ends ``b``."""
        if b.s.code == BPF_JMP | BPF_JEQ | BPF_K and not b.out_use >> A_ATOM & 1:
            if last.code == BPF_ALU | BPF_SUB | BPF_X:
                xval = b.val[X_ATOM]
                if xval in self.consts:
                    b.s.k = (b.s.k + self.consts[xval]) & U32
                    last.code = NOP
                    self.changed()
                elif b.s.k == 0:
                    last.code = NOP
                    b.s.code = BPF_JMP | BPF_JEQ | BPF_X
                    self.changed()
            elif last.code == BPF_ALU | BPF_SUB | BPF_K:
                last.code = NOP
                b.s.k = (b.s.k + last.k) & U32
                self.changed()
            elif last.code == BPF_ALU | BPF_AND | BPF_K and b.s.k == 0:
                b.s.k = last.k
                b.s.code = BPF_JMP | BPF_K | BPF_JSET
                last.code = NOP
                self.changed()
                b.jt, b.jf = b.jf, b.jt
        if b.s.code == BPF_JMP | BPF_K | BPF_JSET:
            if b.s.k == 0:
                b.jt = b.jf
            if b.s.k == U32:
                b.jf = b.jt
        xval = b.val[X_ATOM]
        if xval in self.consts and BPF_SRC(b.s.code) == BPF_X:
            b.s.code &= ~BPF_X
            b.s.k = self.consts[xval]
        aval = b.val[A_ATOM]
        if aval in self.consts and BPF_SRC(b.s.code) == BPF_K:
            v = self.consts[aval]
            op = BPF_OP(b.s.code)
            taken = {BPF_JEQ: v == b.s.k, BPF_JGT: v > b.s.k, BPF_JGE: v >= b.s.k,
                     BPF_JSET: bool(v & b.s.k)}[op]
            if b.jf is not b.jt:
                self.changed()
            if taken:
                b.jf = b.jt
            else:
                b.jt = b.jf

    def opt_deadstores(self, b: Block) -> None:
        last: list[Stmt | None] = [None] * N_ATOMS
        for s in [*b.stmts, b.s]:
            atom = atomuse(s)
            if atom == AX_ATOM:
                last[X_ATOM] = last[A_ATOM] = None
            elif atom >= 0:
                last[atom] = None
            atom = atomdef(s)
            if atom >= 0:
                if last[atom] is not None:
                    self.changed()
                    last[atom].code = NOP
                last[atom] = s
        for atom in range(N_ATOMS):
            stale = last[atom]
            if stale is not None and not b.out_use >> atom & 1:
                stale.code = NOP
                b.val[atom] = VAL_UNKNOWN
                self.changed()

    def opt_blk(self, b: Block, do_stmts: bool) -> None:
        if not b.in_edges:
            b.val = [0] * N_ATOMS
        else:
            b.val = list(b.in_edges[0].pred.val)
            for ep in b.in_edges[1:]:
                for atom in range(N_ATOMS):
                    if b.val[atom] != ep.pred.val[atom]:
                        b.val[atom] = 0
        aval, xval = b.val[A_ATOM], b.val[X_ATOM]
        for s in b.stmts:
            self.opt_stmt(s, b.val, do_stmts)
        if do_stmts and ((b.out_use == 0 and aval != VAL_UNKNOWN and b.val[A_ATOM] == aval
                          and xval != VAL_UNKNOWN and b.val[X_ATOM] == xval)
                         or BPF_CLASS(b.s.code) == BPF_RET):
            if b.stmts:
                b.stmts = []
                self.changed()
        else:
            self.opt_peep(b)
            self.opt_deadstores(b)
        b.oval = self.K(b.s.k) if BPF_SRC(b.s.code) == BPF_K else b.val[X_ATOM]
        b.et.code = b.s.code
        b.ef.code = -b.s.code

    # -- branches --------------------------------------------------------------------------------

    def opt_j(self, ep: Edge) -> None:
        """Move ``ep`` past a block whose test a dominating edge already decided."""
        if ep.succ.jt is None:
            return
        if ep.succ.jt is ep.succ.jf and not use_conflict(ep.pred, ep.succ.jt):
            self.changed()
            ep.succ = ep.succ.jt
        moved = True
        while moved:
            moved = False
            bits = ep.edom
            while bits:
                k = (bits & -bits).bit_length() - 1
                bits &= bits - 1
                target = fold_edge(ep.succ, self.edges[k])
                if target is not None and not use_conflict(ep.pred, target):
                    self.done = False
                    ep.succ = target
                    if target.jt is None:
                        return
                    moved = True
                    break

    def pullup(self, b: Block, down: str) -> None:
        """or_pullup (``down`` = "jf") and and_pullup (``down`` = "jt"): in a chain of tests
        of one value (A or B or ...), pull up a test of the value the chain started with."""
        across = "jt" if down == "jf" else "jf"
        if not b.in_edges:
            return
        val = b.in_edges[0].pred.val[A_ATOM]
        if any(ep.pred.val[A_ATOM] != val for ep in b.in_edges[1:]):
            return
        first = b.in_edges[0].pred
        diffp = (first, "jt" if first.jt is b else "jf")
        at_top = True
        while True:
            node = getattr(*diffp)
            if node is None or getattr(node, across) is not getattr(b, across) or not node.dom >> b.id & 1:
                return
            if node.val[A_ATOM] != val:
                break
            diffp = (node, down)
            at_top = False
        samep = (getattr(*diffp), down)
        while True:
            node = getattr(*samep)
            if node is None or getattr(node, across) is not getattr(b, across) or not node.dom >> b.id & 1:
                return
            if node.val[A_ATOM] == val:
                break
            samep = (node, down)
        pull = getattr(*samep)
        setattr(*samep, getattr(pull, down))
        setattr(pull, down, getattr(*diffp))
        if at_top:
            for ep in b.in_edges:
                if ep.pred.jt is b:
                    ep.pred.jt = pull
                else:
                    ep.pred.jf = pull
        else:
            setattr(*diffp, pull)
        self.done = False
        self.find_dom()

    def opt_blks(self, do_stmts: bool) -> None:
        self.init_val()
        self.find_inedges()
        for b in self.top_down():
            self.opt_blk(b, do_stmts)
        if do_stmts:
            return
        for b in self.bottom_up():
            self.opt_j(b.et)
            self.opt_j(b.ef)
        self.find_inedges()
        for b in self.bottom_up():
            self.pullup(b, "jf")
            self.pullup(b, "jt")

    def opt_loop(self, do_stmts: bool) -> None:
        """Passes until one changes nothing, or a hundred in a row only move branches."""
        loop_count = 0
        while True:
            self.done = True
            self.non_branch_movement_performed = False
            self.find_levels()
            self.find_dom()
            self.find_ud()
            self.find_edom()
            self.opt_blks(do_stmts)
            if self.done:
                return
            if self.non_branch_movement_performed:
                loop_count = 0
            else:
                loop_count += 1
                if loop_count >= 100:
                    return

    # -- the end: equal blocks merged, the root trimmed ------------------------------------------

    def intern_blocks(self) -> None:
        """Point every edge to an equal block at the end of the block list instead (each block
        at the first equal one after it), until nothing moves."""
        while True:
            for b in self.blocks:
                b.link = None
            self.marks.unmark_all()
            for _ in dfs(self.root, self.marks,
                         lambda b: (b.jt, b.jf) if BPF_CLASS(b.s.code) != BPF_RET else ()):
                pass
            first_after: dict[tuple, Block] = {}
            for b in reversed(self.blocks):
                if not self.marks.is_marked(b):
                    continue
                key = _block_key(b)
                equal = first_after.get(key)
                if equal is not None:
                    b.link = equal.link or equal
                first_after[key] = b
            done = True
            for p in self.blocks:
                if p.jt is None:
                    continue
                if p.jt.link is not None:
                    done = False
                    p.jt = p.jt.link
                if p.jf.link is not None:
                    done = False
                    p.jf = p.jf.link
            if done:
                return

    def opt_root(self) -> None:
        stmts = self.root.stmts
        self.root.stmts = []
        while BPF_CLASS(self.root.s.code) == BPF_JMP and self.root.jt is self.root.jf:
            self.root = self.root.jt
        self.root.stmts = stmts + self.root.stmts
        if BPF_CLASS(self.root.s.code) == BPF_RET:
            self.root.stmts = []


def _block_key(b: Block) -> tuple:
    """What eq_blk compares: the branch, its targets, and the statements that are not NOPs."""
    return (b.s.code, b.s.k, id(b.jt), id(b.jf),
            tuple((s.code, s.k) for s in b.stmts if s.code != NOP))


def bpf_optimize(root: Block) -> Block:
    """bpf_optimize: the optimised graph's root."""
    opt = _Optimizer(root)
    opt.opt_loop(False)
    opt.opt_loop(True)
    opt.intern_blocks()
    opt.opt_root()
    return opt.root


def slength(stmts: list[Stmt]) -> int:
    return sum(1 for s in stmts if s.code != NOP)


def icode_to_fcode(root: Block) -> list[tuple[int, int, int, int]]:
    """icode_to_fcode: lay the blocks out (each block after the ones it jumps to are laid out,
    false branch first, filling the program from its end) and resolve the jumps; a branch more
    than 255 instructions away goes through an added ``ja`` (``longjt``/``longjf``), and the
    layout starts over."""
    marks = Marks()
    while True:
        marks.unmark_all()
        n = sum(slength(b.stmts) + 1 + b.longjt + b.longjf
                for event, b in dfs(root, marks, _successors) if event == "post")
        program = [[0, 0, 0, 0] for _ in range(n)]
        marks.unmark_all()
        if convert_code(root, marks, program):
            return [(code, jt, jf, k) for code, jt, jf, k in program]


def _block_local_jump(stmts: list[Stmt], body: list[Stmt], off: int) -> tuple[int, int]:
    """convert_code_r's "block-local relative jump": the ``jt`` and ``jf`` of the block's
    ``off``-th statement that is not a NOP, counted among the block's first statements, as many as
    it has that are not NOPs (NOPs included, as libpcap counts them); none for an instruction
    that is not a conditional jump, or for the second-last one."""
    s, slen = body[off], len(body)
    if BPF_CLASS(s.code) != BPF_JMP or s.code == BPF_JMP | BPF_JA or off == slen - 2:
        return 0, 0
    where = f"for block-local relative jump: off={off}"
    if s.jt is None or s.jf is None:
        raise FilterError(f"no jmp destination {where}")
    jumps = []
    for target in (s.jt, s.jf):
        found = [i for i, t in enumerate(stmts[:slen]) if t is target]
        if len(found) > 1:
            raise FilterError(f"multiple matches {where}")
        if not found:
            raise FilterError(f"no destination found {where}")
        if found[0] - off - 1 >= 256:
            raise FilterError(f"out-of-range jump {where}")
        jumps.append(found[0] - off - 1)
    return jumps[0], jumps[1]


def convert_code(root: Block, marks: Marks, program: list[list[int]]) -> bool:
    """convert_code_r for every block; False when branches were found too long (and marked).

    libpcap stops at the first such branch and starts over; this marks every one a layout
    shows, which ends with the same marks: the layout's order does not depend on them, and
    marking a branch only lengthens others, so a branch too long now is too long in every later
    layout, and would be marked there."""
    tail = len(program)
    complete = True
    for event, p in dfs(root, marks, lambda b: (b.jf, b.jt)):
        if event != "post":
            continue
        body = [s for s in p.stmts if s.code != NOP]
        tail -= len(body) + 1 + p.longjt + p.longjf
        p.offset = tail
        for i, s in enumerate(body):
            program[tail + i] = [s.code, *_block_local_jump(p.stmts, body, i), s.k]
        at = tail + len(body)
        insn = program[at]
        insn[0], insn[3] = p.s.code, p.s.k
        if p.jt is None:
            continue
        extra = 0
        for field, succ, long_attr in ((1, p.jt, "longjt"), (2, p.jf, "longjf")):
            off = succ.offset - (p.offset + len(body)) - 1
            if off < 256:
                insn[field] = off
            elif not getattr(p, long_attr):
                setattr(p, long_attr, 1)
                complete = False
            else:
                insn[field] = extra
                extra += 1
                program[at + extra] = [BPF_JMP, 0, 0, off - extra]
    return complete
