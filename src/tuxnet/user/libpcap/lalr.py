"""An LALR(1) parser generator that decides as Bison does, so that a grammar taken from a ``.y``
file parses, errs and runs its actions in the order the Bison-generated parser would.

Bison's choices that show in behaviour: shift/reduce conflicts are settled by the precedence of the
rule (that of its last terminal, or ``%prec``) against that of the lookahead token, and, when either
has none, by shifting; reduce/reduce conflicts go to the rule written first; each state reduces by
default by its most frequent reduction, for any token it has no action for (so an error shows only
once no default reduction is left); a state whose only action is that reduction (``yypact`` is
``YYPACT_NINF``) reduces without reading a token."""

from __future__ import annotations

from dataclasses import dataclass, field

END = "$end"
_HASH = "#"  # the propagation marker of the lookahead computation


@dataclass(frozen=True)
class Rule:
    number: int
    lhs: str
    rhs: tuple[str, ...]
    action: str
    prec: str | None  # the terminal whose precedence the rule has


@dataclass
class State:
    """One row of the tables: ``actions`` maps a token to ``("shift", state)``, ``("reduce",
    rule)`` or ``("error",)`` (a ``%nonassoc`` error); ``default`` is the rule reduced for any
    other token (None: a syntax error)."""

    actions: dict[str, tuple] = field(default_factory=dict)
    gotos: dict[str, int] = field(default_factory=dict)
    default: int | None = None
    accepting: bool = False  # the state of ``$accept: start . $end``

    @property
    def reads(self) -> bool:
        """Whether the parser reads a token here (Bison's ``yypact`` not ``YYPACT_NINF``)."""
        return bool(self.actions) or self.default is None


@dataclass
class Tables:
    rules: list[Rule]
    states: list[State]


def build(rules: list[tuple[str, tuple[str, ...], str, str | None]], start: str,
          precedence: dict[str, tuple[int, str]]) -> Tables:
    """The tables of a grammar given as ``(lhs, rhs, action, %prec token or None)`` in source
    order, with ``precedence`` mapping a token to ``(level, "left"|"right"|"nonassoc")``."""
    grammar = [Rule(0, "$accept", (start, END), "", None)]
    nonterminals = {lhs for lhs, *_ in rules} | {"$accept"}
    for lhs, rhs, action, prec in rules:
        last = next((sym for sym in reversed(rhs) if sym not in nonterminals), None)
        grammar.append(Rule(len(grammar), lhs, rhs, action, prec or last))
    return _Builder(grammar, nonterminals, precedence).tables()


class _Builder:
    def __init__(self, rules: list[Rule], nonterminals: set[str],
                 precedence: dict[str, tuple[int, str]]) -> None:
        self.rules = rules
        self.nonterminals = nonterminals
        self.precedence = precedence
        self.by_lhs: dict[str, list[Rule]] = {}
        for rule in rules:
            self.by_lhs.setdefault(rule.lhs, []).append(rule)
        self._first_sets()

    # -- FIRST and nullable -----------------------------------------------------------------------

    def _first_sets(self) -> None:
        self.nullable: set[str] = set()
        self.first: dict[str, set[str]] = {nt: set() for nt in self.nonterminals}
        changed = True
        while changed:
            changed = False
            for rule in self.rules:
                first, nullable = self.first_of(rule.rhs)
                if not first <= self.first[rule.lhs]:
                    self.first[rule.lhs] |= first
                    changed = True
                if nullable and rule.lhs not in self.nullable:
                    self.nullable.add(rule.lhs)
                    changed = True

    def first_of(self, symbols: tuple[str, ...]) -> tuple[set[str], bool]:
        out: set[str] = set()
        for sym in symbols:
            if sym not in self.nonterminals:
                out.add(sym)
                return out, False
            out |= self.first.get(sym, set())
            if sym not in self.nullable:
                return out, False
        return out, True

    # -- the LR(0) automaton ----------------------------------------------------------------------

    def closure0(self, kernel: frozenset[tuple[int, int]]) -> list[tuple[int, int]]:
        items = list(kernel)
        seen = set(items)
        for rule_no, dot in items:
            rhs = self.rules[rule_no].rhs
            if dot < len(rhs) and rhs[dot] in self.nonterminals:
                for rule in self.by_lhs[rhs[dot]]:
                    if (rule.number, 0) not in seen:
                        seen.add((rule.number, 0))
                        items.append((rule.number, 0))
        return items

    def automaton(self) -> None:
        start = frozenset({(0, 0)})
        self.kernels: list[frozenset[tuple[int, int]]] = [start]
        self.index = {start: 0}
        self.transitions: list[dict[str, int]] = []
        for kernel in self.kernels:
            moves: dict[str, set[tuple[int, int]]] = {}
            for rule_no, dot in self.closure0(kernel):
                rhs = self.rules[rule_no].rhs
                if dot < len(rhs) and rhs[dot] != END:
                    moves.setdefault(rhs[dot], set()).add((rule_no, dot + 1))
            row = {}
            for sym, items in moves.items():
                target = frozenset(items)
                if target not in self.index:
                    self.index[target] = len(self.kernels)
                    self.kernels.append(target)
                row[sym] = self.index[target]
            self.transitions.append(row)

    # -- LALR(1) lookaheads (the propagation method) ---------------------------------------------

    def closure1(self, items: dict[tuple[int, int], set[str]]) -> dict[tuple[int, int], set[str]]:
        out = {item: set(la) for item, la in items.items()}
        work = list(out)
        while work:
            rule_no, dot = item = work.pop()
            rhs = self.rules[rule_no].rhs
            if dot >= len(rhs) or rhs[dot] not in self.nonterminals:
                continue
            first, nullable = self.first_of(rhs[dot + 1:])
            lookahead = first | out[item] if nullable else first
            for rule in self.by_lhs[rhs[dot]]:
                new = (rule.number, 0)
                known = out.setdefault(new, set())
                if not lookahead <= known:
                    known |= lookahead
                    work.append(new)
        return out

    def lookaheads(self) -> list[dict[tuple[int, int], set[str]]]:
        la: list[dict[tuple[int, int], set[str]]] = [{item: set() for item in k} for k in self.kernels]
        links: dict[tuple[int, tuple[int, int]], list[tuple[int, tuple[int, int]]]] = {}
        for state, kernel in enumerate(self.kernels):
            for item in kernel:
                for (rule_no, dot), seen in self.closure1({item: {_HASH}}).items():
                    rhs = self.rules[rule_no].rhs
                    if dot >= len(rhs) or rhs[dot] == END:
                        continue
                    target = (self.transitions[state][rhs[dot]], (rule_no, dot + 1))
                    for token in seen:
                        if token == _HASH:
                            links.setdefault((state, item), []).append(target)
                        else:
                            la[target[0]][target[1]].add(token)
        changed = True
        while changed:
            changed = False
            for (state, item), targets in links.items():
                for target_state, target_item in targets:
                    known = la[target_state][target_item]
                    if not la[state][item] <= known:
                        known |= la[state][item]
                        changed = True
        return la

    # -- the tables --------------------------------------------------------------------------------

    def tables(self) -> Tables:
        self.automaton()
        kernel_la = self.lookaheads()
        states = []
        for number, lookahead in enumerate(kernel_la):
            items = self.closure1(lookahead)
            reductions = sorted((rule_no, frozenset(la)) for (rule_no, dot), la in items.items()
                                if dot == len(self.rules[rule_no].rhs))
            states.append(self.row(number, reductions))
        return Tables(self.rules, states)

    def row(self, number: int, reductions: list[tuple[int, frozenset[str]]]) -> State:
        state = State()
        shifts = {sym: target for sym, target in self.transitions[number].items()
                  if sym not in self.nonterminals}
        state.gotos = {sym: target for sym, target in self.transitions[number].items()
                       if sym in self.nonterminals}
        state.accepting = (0, 1) in self.kernels[number]
        consistent = not (len(reductions) > 1 or (reductions and shifts))
        errors: set[str] = set()
        lookaheads = []
        for rule_no, la in reductions:
            la = set(la)
            prec = self.precedence.get(self.rules[rule_no].prec or "")
            if prec is not None:
                for token in sorted(la & set(shifts)):
                    token_prec = self.precedence.get(token)
                    if token_prec is None:
                        continue
                    if token_prec[0] < prec[0] or (token_prec[0] == prec[0] and prec[1] == "left"):
                        del shifts[token]
                    elif token_prec[0] > prec[0] or prec[1] == "right":
                        la.discard(token)
                    else:
                        del shifts[token]
                        la.discard(token)
                        errors.add(token)
            lookaheads.append((rule_no, la))
        actions: dict[str, tuple] = {}
        for rule_no, la in reversed(lookaheads):  # the rule written first wins a reduce/reduce
            for token in la:
                actions[token] = ("reduce", rule_no)
        for token, target in shifts.items():  # and a shift wins what precedence left open
            actions[token] = ("shift", target)
        for token in errors:
            actions[token] = ("error",)
        if reductions:
            if consistent:
                state.default = reductions[0][0]
            else:
                best = 0
                for rule_no, _ in reductions:
                    count = sum(1 for act in actions.values() if act == ("reduce", rule_no))
                    if count > best:
                        best, state.default = count, rule_no
        if state.default is not None:
            actions = {tok: act for tok, act in actions.items() if act != ("reduce", state.default)}
        else:
            actions = {tok: act for tok, act in actions.items() if act != ("error",)}
        state.actions = actions
        return state
