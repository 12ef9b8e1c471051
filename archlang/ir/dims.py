"""Symbolic integer dimensions: ``Dim = int | Expr``.

An ``Expr`` is an integer-valued expression over named symbols (``B``, ``T``) and choice
symbols with a finite domain (a search decision such as ``k in {3, 5, 7}``).  Every Expr is
kept in a canonical form -- a polynomial with integer coefficients whose "variables" are
atoms: symbols, ``p // q``, ``p % q``, ``max``/``min`` and ``select`` -- so expressions that
are equal by construction compare equal with plain ``==`` and hash alike.  Arithmetic whose
result is constant returns a plain ``int``; an Expr is never constant.

Simplifications are valid for every integer assignment (free symbols may be any integer)
except ones that divide by zero, which Python would reject anyway.  Only ``prove_positive``
assumes that free symbols are sizes (>= 1).

Expressions are bounded: multiplying two expressions whose terms multiply to more than
``LIMITS.max_terms`` (which a spec can reach with ``(A + B + C + D) * (A + B + C + D) * …``,
whose expansion grows combinatorially) raises a LimitError; the elaborator locates it at the
statement that asked.

Must not import torch, onnx or anything from archlang but ``archlang.errors``: this is the
bottom of the stack.
"""

from __future__ import annotations

import itertools
import math
import operator
from typing import NamedTuple, Sequence, Union

from archlang.errors import LimitError
from archlang.errors.limits import LIMITS

__all__ = [
    "Dim", "Expr", "Verdict", "sym", "select", "dmax", "dmin", "simplify", "is_const",
    "to_str", "free_symbols", "symbols", "subs", "evaluate", "exact_div", "prove_equal",
    "prove_positive", "bounds", "evaluate_from", "factor_str", "size",
]

_INF = math.inf


# --------------------------------------------------------------------------- atoms
# An atom is a polynomial "variable".  Atoms are compared and ordered by ``key``, a nested
# tuple of primitives; the hash is cached because atoms sit inside every monomial lookup.


class _Atom:
    __slots__ = ("key", "_hash", "_expr")
    FUNC_LIKE = True  # prints as a name or call, so never needs parentheses

    def _init(self, key: tuple) -> None:
        self.key = key
        self._hash = hash(key)
        self._expr = None

    def __eq__(self, other) -> bool:
        return self is other or (
            type(other) is type(self) and self._hash == other._hash and self.key == other.key
        )

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self):  # rebuild from arguments: the cached _expr refers back to self
        return (type(self), self.args_tuple())

    def as_expr(self) -> "Expr":
        if self._expr is None:
            self._expr = _new_expr((((self,), 1),))
        return self._expr

    def text(self, guard: bool) -> str:
        raise NotImplementedError


class _Sym(_Atom):
    __slots__ = ("name", "domain")

    def __init__(self, name: str, domain: tuple[int, ...] | None):
        self.name, self.domain = name, domain
        self._init((0, name, domain or ()))

    def args_tuple(self):
        return (self.name, self.domain)

    def text(self, guard: bool) -> str:
        return self.name

    def value(self, env):
        v = env[self.name]
        if self.domain is not None and v not in self.domain:
            raise ValueError(f"{self.name}={v} is outside its domain {list(self.domain)}")
        return v

    def rebuild(self, fn):
        return self.as_expr()

    def subs(self, mapping):
        if self.name in mapping:
            return simplify(mapping[self.name])
        return self.as_expr()

    def collect(self, acc: dict) -> None:
        _note_symbol(acc, self.name, self.domain)

    def bounds(self, free_lo):
        if self.domain is None:
            return (free_lo, _INF)
        return (self.domain[0], self.domain[-1])


class _Div(_Atom):
    """Shared shape of ``num // den`` and ``num % den``."""

    __slots__ = ("num", "den")
    FUNC_LIKE = False
    OP = ""
    KIND = 0

    def __init__(self, num: Dim, den: Dim):
        self.num, self.den = num, den
        self._init((self.KIND, _dkey(num), _dkey(den)))

    def args_tuple(self):
        return (self.num, self.den)

    def text(self, guard: bool) -> str:
        s = f"{_operand_text(self.num)}{self.OP}{_operand_text(self.den)}"
        return f"({s})" if guard else s

    def collect(self, acc: dict) -> None:
        _collect(self.num, acc)
        _collect(self.den, acc)


class _FloorDiv(_Div):
    __slots__ = ()
    OP, KIND = "//", 1

    def value(self, env):
        return evaluate(self.num, env) // evaluate(self.den, env)

    def rebuild(self, fn):
        return _floordiv(fn(self.num), fn(self.den))

    def bounds(self, free_lo):
        (nl, nh), (dl, dh) = _bounds(self.num, free_lo), _bounds(self.den, free_lo)
        if dl < 1:  # a denominator that may be <= 0 gives no useful bound
            return (-_INF, _INF)
        lo = min(_floor_div_bound(nl, dl), _floor_div_bound(nl, dh))
        hi = max(_floor_div_bound(nh, dl), _floor_div_bound(nh, dh))
        return (lo, hi)


class _Mod(_Div):
    __slots__ = ()
    OP, KIND = "%", 2

    def value(self, env):
        return evaluate(self.num, env) % evaluate(self.den, env)

    def rebuild(self, fn):
        return _mod(fn(self.num), fn(self.den))

    def bounds(self, free_lo):
        (nl, nh), (dl, dh) = _bounds(self.num, free_lo), _bounds(self.den, free_lo)
        if dl < 1:
            return (-_INF, _INF)
        hi = dh - 1
        if nl >= 0:  # a non-negative numerator smaller than the divisor is its own remainder
            hi = min(hi, nh)
        return (0, hi)


class _MinMax(_Atom):
    __slots__ = ("args",)
    NAME = ""
    KIND = 0
    PICK = max

    def __init__(self, args: tuple):
        self.args = args
        self._init((self.KIND, tuple(_dkey(a) for a in args)))

    def args_tuple(self):
        return (self.args,)

    def text(self, guard: bool) -> str:
        return f"{self.NAME}({', '.join(to_str(a) for a in self.args)})"

    def value(self, env):
        return self.PICK(evaluate(a, env) for a in self.args)

    def rebuild(self, fn):
        return _minmax(type(self), [fn(a) for a in self.args])

    def collect(self, acc: dict) -> None:
        for a in self.args:
            _collect(a, acc)

    def bounds(self, free_lo):
        bs = [_bounds(a, free_lo) for a in self.args]
        return (self.PICK(b[0] for b in bs), self.PICK(b[1] for b in bs))


class _Max(_MinMax):
    __slots__ = ()
    NAME, KIND, PICK = "max", 3, max


class _Min(_MinMax):
    __slots__ = ()
    NAME, KIND, PICK = "min", 4, min


class _Select(_Atom):
    """``options[index]``: a size that depends on which option of a choice is taken."""

    __slots__ = ("index", "options")

    def __init__(self, index: Dim, options: tuple):
        self.index, self.options = index, options
        self._init((5, _dkey(index), tuple(_dkey(o) for o in options)))

    def args_tuple(self):
        return (self.index, self.options)

    def text(self, guard: bool) -> str:
        return f"select({to_str(self.index)}, [{', '.join(to_str(o) for o in self.options)}])"

    def value(self, env):
        i = evaluate(self.index, env)
        if not 0 <= i < len(self.options):
            raise ValueError(f"choice index {to_str(self.index)}={i} is out of range")
        return evaluate(self.options[i], env)

    def rebuild(self, fn):
        return _select(fn(self.index), [fn(o) for o in self.options])

    def collect(self, acc: dict) -> None:
        _collect(self.index, acc)
        for o in self.options:
            _collect(o, acc)

    def bounds(self, free_lo):
        bs = [_bounds(o, free_lo) for o in self.options]
        return (min(b[0] for b in bs), max(b[1] for b in bs))


def _akey(atom: _Atom) -> tuple:
    return atom.key


def _mkey(mono: tuple) -> tuple:
    return tuple(a.key for a in mono)


def _term_key(term: tuple) -> tuple:
    return _mkey(term[0])


def _dkey(d: Dim) -> tuple:
    """Ordering key of any Dim; an int looks like a constant-only polynomial."""
    if type(d) is int:
        return (((), d),) if d else ()
    return d._key()


# --------------------------------------------------------------------------- Expr


class Expr:
    """A non-constant symbolic integer in canonical polynomial form.  Immutable, hashable.

    Build with ``sym``/``select`` and arithmetic; ``==`` is structural on the canonical form.
    ``<``/``>`` raise TypeError: use ``prove_positive``/``prove_equal`` instead.
    """

    # _terms: ((monomial, coef), ...) sorted by monomial key; the constant term, whose
    # monomial is (), therefore comes first when present.
    __slots__ = ("_terms", "_hash", "_keyc", "_strc", "_symc", "_bndc", "_simpc")

    def __new__(cls, *args, **kwargs):
        raise TypeError("build an Expr with dims.sym(...) and arithmetic")

    def __setattr__(self, name, value):
        raise AttributeError("Expr is immutable")

    def __reduce__(self):
        return (_new_expr, (self._terms,))

    # -- identity
    def __eq__(self, other) -> bool:
        if type(other) is Expr:
            return self is other or (self._hash == other._hash and self._terms == other._terms)
        if isinstance(other, int):
            return False  # an Expr is never constant
        return NotImplemented

    def __hash__(self) -> int:
        return self._hash

    def _key(self) -> tuple:
        if self._keyc is None:
            _set(self, "_keyc", tuple((_mkey(m), c) for m, c in self._terms))
        return self._keyc

    def __str__(self) -> str:
        if self._strc is None:
            _set(self, "_strc", _expr_text(self))
        return self._strc

    def __repr__(self) -> str:
        return f"Expr({str(self)!r})"

    # -- arithmetic (reflected forms included so ints work on either side)
    def __add__(self, other):
        o = _coerce(other)
        return NotImplemented if o is NotImplemented else _add(self, o)

    __radd__ = __add__

    def __sub__(self, other):
        o = _coerce(other)
        return NotImplemented if o is NotImplemented else _add(self, _neg(o))

    def __rsub__(self, other):
        o = _coerce(other)
        return NotImplemented if o is NotImplemented else _add(o, _neg(self))

    def __mul__(self, other):
        o = _coerce(other)
        return NotImplemented if o is NotImplemented else _mul(self, o)

    __rmul__ = __mul__

    def __floordiv__(self, other):
        o = _coerce(other)
        return NotImplemented if o is NotImplemented else _floordiv(self, o)

    def __rfloordiv__(self, other):
        o = _coerce(other)
        return NotImplemented if o is NotImplemented else _floordiv(o, self)

    def __mod__(self, other):
        o = _coerce(other)
        return NotImplemented if o is NotImplemented else _mod(self, o)

    def __rmod__(self, other):
        o = _coerce(other)
        return NotImplemented if o is NotImplemented else _mod(o, self)

    def __pow__(self, exponent):
        if type(exponent) is not int or exponent < 0:
            return NotImplemented
        result: Dim = 1
        for _ in range(exponent):
            result = _mul(self, result)
        return result

    def __neg__(self):
        return _scale(self, -1)

    def __pos__(self):
        return self

    # -- ordering is not decidable in general, so refuse it loudly
    def _no_order(self, other):
        raise TypeError(
            f"cannot order symbolic dimension {self}; use dims.prove_positive or dims.prove_equal"
        )

    __lt__ = __le__ = __gt__ = __ge__ = _no_order


def _set(e: Expr, name: str, value) -> None:
    object.__setattr__(e, name, value)


def _new_expr(terms: tuple) -> Expr:
    e = object.__new__(Expr)
    _set(e, "_terms", terms)
    _set(e, "_hash", hash(terms))
    for slot in ("_keyc", "_strc", "_symc", "_bndc", "_simpc"):
        _set(e, slot, None)
    return e


def _coerce(x):
    """int-like or Expr -> Dim; anything else -> NotImplemented (so Python raises TypeError)."""
    if type(x) is int or type(x) is Expr:
        return x
    if isinstance(x, int):
        return int(x)
    if hasattr(x, "__index__"):
        return operator.index(x)
    return NotImplemented


# --------------------------------------------------------------------------- polynomials


def _make(d: dict) -> Dim:
    """{monomial: coef} -> canonical Dim (drops zeros, returns int when constant)."""
    items = [(m, c) for m, c in d.items() if c]
    if not items:
        return 0
    if len(items) == 1 and not items[0][0]:
        return items[0][1]
    items.sort(key=_term_key)
    return _new_expr(tuple(items))


def _const_of(e: Expr) -> int:
    first = e._terms[0]
    return 0 if first[0] else first[1]


def _add_const(e: Expr, c: int) -> Dim:
    if c == 0:
        return e
    terms = e._terms
    if terms[0][0]:  # no constant term yet: it sorts first
        return _new_expr((((), c),) + terms)
    total = terms[0][1] + c
    if total == 0:
        return _new_expr(terms[1:])
    return _new_expr((((), total),) + terms[1:])


def _scale(e: Expr, k: int) -> Dim:
    if k == 0:
        return 0
    if k == 1:
        return e
    return _new_expr(tuple((m, c * k) for m, c in e._terms))


def _neg(d: Dim) -> Dim:
    return -d if type(d) is int else _scale(d, -1)


def _add(a: Dim, b: Dim) -> Dim:
    if type(a) is int:
        if type(b) is int:
            return a + b
        a, b = b, a
    if type(b) is int:
        return _add_const(a, b)
    d = dict(a._terms)
    for m, c in b._terms:
        d[m] = d.get(m, 0) + c
    return _make(d)


def _mono_mul(m1: tuple, m2: tuple) -> tuple:
    if not m1:
        return m2
    if not m2:
        return m1
    return tuple(sorted(m1 + m2, key=_akey))


def _mul(a: Dim, b: Dim) -> Dim:
    if type(a) is int:
        if type(b) is int:
            return a * b
        a, b = b, a
    if type(b) is int:
        return _scale(a, b)
    if len(a._terms) * len(b._terms) > LIMITS.max_terms:
        raise LimitError(
            f"a symbolic size grows too large: multiplying expressions of {len(a._terms):,} and "
            f"{len(b._terms):,} terms (the limit is {LIMITS.max_terms:,} products of terms)"
        )
    d: dict = {}
    for m1, c1 in a._terms:
        for m2, c2 in b._terms:
            m = _mono_mul(m1, m2)
            d[m] = d.get(m, 0) + c1 * c2
    return _make(d)


def _content(d: Dim) -> int:
    """gcd of all coefficients (an int is its own content)."""
    if type(d) is int:
        return abs(d)
    return math.gcd(*(c for _, c in d._terms))


def _divide_coefs(d: Dim, g: int) -> Dim:
    if type(d) is int:
        return d // g
    return _new_expr(tuple((m, c // g) for m, c in d._terms))


def _split_mod(p: Expr, q: int) -> tuple[Dim, Dim]:
    """p == q*whole + rest with every coefficient of rest in [0, q)."""
    whole, rest = {}, {}
    for m, c in p._terms:
        quo, rem = divmod(c, q)
        if quo:
            whole[m] = quo
        if rem:
            rest[m] = rem
    return _make(whole), _make(rest)


def _lone_atom(d: Dim):
    """The atom when d is exactly ``1*atom``, else None."""
    if type(d) is Expr and len(d._terms) == 1:
        m, c = d._terms[0]
        if c == 1 and len(m) == 1:
            return m[0]
    return None


# --------------------------------------------------------------------------- floor div / mod


def _floordiv(a: Dim, b: Dim) -> Dim:
    if type(b) is int:
        if type(a) is int:
            return a // b
        if b == 0:
            raise ZeroDivisionError(f"symbolic floor division of {a} by zero")
        if b < 0:  # floor(a / b) == floor(-a / -b)
            a, b = _scale(a, -1), -b
        return a if b == 1 else _floordiv_int(a, b)
    return _floordiv_sym(a, b)


def _floordiv_int(p: Expr, q: int) -> Dim:
    # p = q*whole + rest with integer-valued whole, so p//q = whole + rest//q exactly
    whole, rest = _split_mod(p, q)
    if type(rest) is int:
        return whole  # 0 <= rest < q
    return _add(whole, _floordiv_rest(rest, q))


def _floordiv_rest(r: Expr, q: int) -> Dim:
    """r // q for r with coefficients in [0, q) and q >= 2."""
    g = math.gcd(_content(r), q)
    if g > 1:  # floor(g*x / g*y) == floor(x / y)
        r, q = _divide_coefs(r, g), q // g
    lo, hi = _bounds(r, -_INF)
    if lo >= 0 and hi < q:
        return 0
    nested = _nested_floor(r)
    if nested is not None:
        # floor((floor(p/a) + s) / q) == floor((p + a*s) / (a*q)) for integer-valued s
        atom, s = nested
        return _floordiv(_add(atom.num, _mul(atom.den, s)), atom.den * q)
    return _FloorDiv(r, q).as_expr()


def _nested_floor(r: Expr):
    """(atom, rest) when r has a term ``1 * (p // a)`` with a constant a, else None."""
    for m, c in r._terms:
        if c == 1 and len(m) == 1 and type(m[0]) is _FloorDiv and type(m[0].den) is int:
            return m[0], _add(r, _scale(m[0].as_expr(), -1))
    return None


def _floordiv_sym(a: Dim, b: Expr) -> Dim:
    exact = _exact_div(a, b)
    if exact is not None:  # valid wherever b != 0, and b == 0 raises in Python anyway
        return exact
    a, b = _normalise_fraction(a, b)
    return _FloorDiv(a, b).as_expr()


def _normalise_fraction(a: Dim, b: Expr) -> tuple[Dim, Expr]:
    """Divide out the common integer content and make b's leading coefficient positive."""
    g = math.gcd(_content(a), _content(b))
    if g > 1:
        a, b = _divide_coefs(a, g), _divide_coefs(b, g)
    if _leading_coef(b) < 0:  # floor(a/b) == floor(-a/-b); needed for a canonical sign
        a, b = _neg(a), _scale(b, -1)
    return a, b


def _leading_coef(e: Expr) -> int:
    for m, c in e._terms:
        if m:
            return c
    return e._terms[0][1]


def _mod(a: Dim, b: Dim) -> Dim:
    if type(b) is int:
        if type(a) is int:
            return a % b
        if b == 0:
            raise ZeroDivisionError(f"symbolic modulo of {a} by zero")
        if b < 0:  # a % -q == -((-a) % q)
            return _neg(_mod(_scale(a, -1), -b))
        return 0 if b == 1 else _mod_int(a, b)
    if _exact_div(a, b) is not None:
        return 0
    g = math.gcd(_content(a), _content(b))
    if g > 1:  # (g*x) % (g*y) == g * (x % y) for g > 0
        return _mul(g, _mod(_divide_coefs(a, g), _divide_coefs(b, g)))
    return _Mod(a, b).as_expr()


def _mod_int(p: Expr, q: int) -> Dim:
    _, rest = _split_mod(p, q)  # (q*whole + rest) % q == rest % q
    if type(rest) is int:
        return rest
    inner = _inner_mod(rest, q)
    if inner is not None:  # x % a == x (mod q) when q divides a: (H%4)%2 == H%2
        atom, coef = inner
        return _mod(_add(rest, _mul(coef, _add(atom.num, _neg(atom.as_expr())))), q)
    g = math.gcd(_content(rest), q)
    if g > 1:
        return _scale(_mod_int(_divide_coefs(rest, g), q // g), g)
    lo, hi = _bounds(rest, -_INF)
    if lo >= 0 and hi < q:
        return rest
    return _Mod(rest, q).as_expr()


def _inner_mod(r: Expr, q: int):
    """(atom, coef) for a term ``coef * (x % a)`` of r whose constant a is a multiple of q."""
    for m, c in r._terms:
        if len(m) == 1 and type(m[0]) is _Mod and type(m[0].den) is int and m[0].den % q == 0:
            return m[0], c
    return None


# --------------------------------------------------------------------------- max / min / select


def _minmax(kind: type, args: Sequence[Dim]) -> Dim:
    flat: list = []
    for a in args:
        a = simplify(a)
        inner = _lone_atom(a)
        flat.extend(inner.args if type(inner) is kind else (a,))
    ints = [a for a in flat if type(a) is int]
    kept = list(dict.fromkeys(a for a in flat if type(a) is not int))
    if ints:
        kept.insert(0, kind.PICK(ints))
    for x in list(kept):
        if any(y is not x and _dominated(kind, x, y) for y in kept):
            kept.remove(x)
    if len(kept) == 1:
        return kept[0]
    return kind(tuple(sorted(kept, key=_dkey))).as_expr()


def _dominated(kind: type, x: Dim, y: Dim) -> bool:
    """True when x can never be the result of max/min(x, y)."""
    lo, hi = _difference_bounds(x, y)
    return hi <= 0 if kind is _Max else lo >= 0


def _difference_bounds(x: Dim, y: Dim) -> tuple:
    """Bounds of x - y; floors over one divisor whose numerators differ by a constant c
    differ by floor(c/q) or ceil(c/q): H//2 <= (H + 1)//2 (ceil-mode pooling needs this)."""
    fx, fy = _floor_plus_const(x), _floor_plus_const(y)
    if fx and fy and fx[1] == fy[1]:
        c = _add(fx[0], _neg(fy[0]))
        if type(c) is int:
            q, offset = fx[1], fx[2] - fy[2]
            return (c // q + offset, -(-c // q) + offset)
    return _bounds(_add(x, _neg(y)), -_INF)


def _floor_plus_const(d: Dim):
    """(num, q, c) when d == num // q + c with a constant q, else None."""
    if type(d) is int:
        return None
    terms = [t for t in d._terms if t[0]]
    if len(terms) != 1 or terms[0][1] != 1 or len(terms[0][0]) != 1:
        return None
    atom = terms[0][0][0]
    if type(atom) is not _FloorDiv or type(atom.den) is not int:
        return None
    return atom.num, atom.den, _const_of(d)


def _select(index: Dim, options: Sequence[Dim]) -> Dim:
    options = tuple(simplify(o) for o in options)
    if not options:
        raise ValueError("select needs at least one option")
    if all(o == options[0] for o in options):
        return options[0]
    if type(index) is int:
        if not 0 <= index < len(options):
            raise ValueError(f"choice index {index} is out of range for {len(options)} options")
        return options[index]
    return _Select(index, options).as_expr()


# --------------------------------------------------------------------------- bounds


def _floor_div_bound(x, d):
    """floor(x / d) for a bound x (maybe infinite) and a positive bound d (maybe infinite)."""
    if x in (_INF, -_INF):
        return x
    if d == _INF:
        return 0 if x >= 0 else -1
    return x // d


def _mul_bound(a, b):
    return 0 if a == 0 or b == 0 else a * b  # 0 * inf is 0 here, not nan


def _bounds(d: Dim, free_lo) -> tuple:
    """Interval (lo, hi) containing d, with free symbols >= free_lo; infinities allowed."""
    if type(d) is int:
        return (d, d)
    cache = d._bndc
    if cache is None:
        cache = {}
        _set(d, "_bndc", cache)
    if free_lo not in cache:
        cache[free_lo] = _poly_bounds(d, free_lo)
    return cache[free_lo]


def _poly_bounds(e: Expr, free_lo) -> tuple:
    lo = hi = 0
    for m, c in e._terms:
        tl = th = c
        for a in m:
            al, ah = a.bounds(free_lo)
            ends = [_mul_bound(x, y) for x in (tl, th) for y in (al, ah)]
            tl, th = min(ends), max(ends)
        lo, hi = lo + tl, hi + th
    return (lo, hi)


def bounds(d: Dim, sizes: bool = True) -> tuple:
    """(lo, hi) interval of d; free symbols are taken as >= 1 when ``sizes`` (else any int)."""
    return _bounds(simplify(d), 1 if sizes else -_INF)


# --------------------------------------------------------------------------- printing


def _expr_text(e: Expr) -> str:
    terms = list(e._terms)
    if not terms[0][0]:  # constant last reads naturally: H + 1
        terms.append(terms.pop(0))
    if terms[0][1] < 0:  # lead with a positive term when there is one: W - H, not -H + W
        first_pos = next((i for i, t in enumerate(terms) if t[1] > 0 and t[0]), None)
        if first_pos is not None:
            terms.insert(0, terms.pop(first_pos))
        elif not terms[-1][0] and terms[-1][1] > 0:  # only the constant is positive: 1 - H
            terms.insert(0, terms.pop())
    parts = []
    for i, (m, c) in enumerate(terms):
        neg = c < 0
        body = _mono_text(m, abs(c), lead_minus=neg and i == 0) if m else str(abs(c))
        if i == 0:
            parts.append("-" + body if neg else body)
        else:
            parts.append((" - " if neg else " + ") + body)
    return "".join(parts)


def _mono_text(mono: tuple, coef: int, lead_minus: bool) -> str:
    # a // or % next to another factor or a sign needs parentheses: B*(H//2), -(k//2)
    guard = len(mono) > 1 or coef != 1 or lead_minus
    factors = [a.text(guard) for a in mono]
    if coef != 1:
        factors.insert(0, str(coef))
    return "*".join(factors)


def _operand_text(d: Dim) -> str:
    """An operand of // or %: bare when it is a name, call or non-negative int."""
    if type(d) is int:
        return str(d) if d >= 0 else f"({d})"
    atom = _lone_atom(d)
    if atom is not None and atom.FUNC_LIKE:
        return atom.text(False)
    return f"({d})"


# --------------------------------------------------------------------------- symbols


def _note_symbol(acc: dict, name: str, domain) -> None:
    if acc.get(name, domain) != domain:
        raise ValueError(f"symbol {name!r} is used with two domains: {acc[name]} and {domain}")
    acc[name] = domain


def _collect(d: Dim, acc: dict) -> None:
    if type(d) is int:
        return
    if d._symc is None:
        own: dict = {}
        for m, _ in d._terms:
            for a in m:
                a.collect(own)
        _set(d, "_symc", tuple(own.items()))
    for name, domain in d._symc:
        _note_symbol(acc, name, domain)


# --------------------------------------------------------------------------- choice folding

_FOLD_CASES = 512  # enumerate at most this many choice assignments when folding


def _has_choices(d: Dim) -> bool:
    if type(d) is int:
        return False
    _collect(d, {})
    return any(domain is not None for _, domain in d._symc)


def _fold_choices(e: Expr) -> Dim:
    """Fold choice-only atoms, then the choice-only part of the polynomial."""
    e = _map_atoms(e, _fold_atom)
    if type(e) is int:
        return e
    choice_only, rest = {}, {}
    for m, c in e._terms:
        (rest if any(_has_free(a) for a in m) else choice_only)[m] = c
    part = _make(choice_only)
    if type(part) is int:
        return e
    return _add(_make(rest), _fold_part(part))


def _has_free(atom: _Atom) -> bool:
    return any(dom is None for dom in symbols(atom.as_expr()).values())


def _fold_atom(atom: _Atom) -> Dim:
    if type(atom) is _Sym:
        return atom.as_expr()
    if not _has_free(atom):
        return _fold_part(atom.as_expr())
    return atom.rebuild(simplify)


def _fold_part(part: Expr) -> Dim:
    """A constant or ``sym + constant`` equal to part on every choice assignment, else part."""
    choices = symbols(part)
    if math.prod(len(v) for v in choices.values()) > _FOLD_CASES:
        return part
    names = sorted(choices)
    cases = [dict(zip(names, vs)) for vs in itertools.product(*(choices[n] for n in names))]
    try:
        values = [evaluate(part, case) for case in cases]
    except ZeroDivisionError:  # undefined for some choice: leave it for the caller to hit
        return part
    for name in [None] + names:
        offsets = {v - (case[name] if name else 0) for v, case in zip(values, cases)}
        if len(offsets) == 1:
            base = _Sym(name, choices[name]).as_expr() if name else 0
            return _add(base, offsets.pop())
    return part


# =========================================================================== public API

Dim = Union[int, Expr]


class Verdict(NamedTuple):
    """Outcome of ``prove_equal``: holds is True (proved), False (refuted) or None (unknown).

    ``counterexample`` is the choice assignment that refutes the equality, when one is needed.
    """

    holds: bool | None
    counterexample: dict[str, int] | None = None


def sym(name: str, domain: Sequence[int] | None = None) -> Expr:
    """A named symbol; with a domain it is a choice symbol taking one of those values."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"symbol name must be a non-empty string, got {name!r}")
    if domain is not None:
        domain = tuple(sorted(set(operator.index(v) for v in domain)))
        if not domain:
            raise ValueError(f"choice symbol {name!r} needs a non-empty domain")
    return _Sym(name, domain).as_expr()


def select(label: str, options: Sequence[Dim]) -> Dim:
    """The option picked by choice ``label`` (an index symbol over range(len(options)))."""
    options = tuple(simplify(o) for o in options)
    if options and all(o == options[0] for o in options):
        return options[0]
    return _select(sym(label, tuple(range(len(options)))), options)


def dmax(a: Dim, b: Dim) -> Dim:
    if type(a) is int and type(b) is int:
        return a if a >= b else b
    return _minmax(_Max, (a, b))


def dmin(a: Dim, b: Dim) -> Dim:
    if type(a) is int and type(b) is int:
        return a if a <= b else b
    return _minmax(_Min, (a, b))


def simplify(d) -> Dim:
    """The simplest Dim for d: an int when constant, and parts that depend only on choice
    symbols folded using their domains (``2*(k//2) + 1`` is ``k`` when k is odd)."""
    if type(d) is int:
        return d
    if type(d) is Expr:
        if d._simpc is None:
            _set(d, "_simpc", _fold_choices(d) if _has_choices(d) else d)
        return d._simpc
    return _as_dim(d)


def _as_dim(d) -> Dim:
    """int-likes -> int, Exprs unchanged; anything else is a TypeError."""
    if type(d) is int or type(d) is Expr:
        return d
    if isinstance(d, bool) or not hasattr(d, "__index__"):
        raise TypeError(f"not a dimension: {d!r}")
    return operator.index(d)


def size(d: Dim) -> int:
    """How many terms ``d`` has (1 for an int): what multiplying by it costs."""
    return 1 if type(d) is int else len(d._terms)


def is_const(d: Dim) -> bool:
    return type(d) is not Expr


def to_str(d: Dim) -> str:
    return str(d)


def factor_str(d: Dim) -> str:
    """d as a factor of a product written with ×: bare when it is a name, a call or a
    non-negative int, else in parentheses (``B×96×((H + 1)//2 - 3)``)."""
    return _operand_text(d)


def symbols(d: Dim) -> dict[str, tuple[int, ...] | None]:
    """Every symbol in d, name -> domain (None for a free symbol)."""
    acc: dict = {}
    _collect(d, acc)
    return acc


def free_symbols(d: Dim) -> frozenset[str]:
    """Names of every symbol in d (free and choice symbols alike)."""
    return frozenset(symbols(d))


def subs(d: Dim, mapping: dict[str, Dim]) -> Dim:
    """Replace symbols by Dims and re-canonicalise."""
    if type(d) is int or not mapping:
        return d
    if not any(name in mapping for name in symbols(d)):
        return d

    def subs_atom(a: _Atom) -> Dim:
        return a.subs(mapping) if type(a) is _Sym else a.rebuild(lambda c: subs(c, mapping))

    return _map_atoms(d, subs_atom)


def _map_atoms(e: Expr, fn) -> Dim:
    """Rebuild e's polynomial with every atom replaced by fn(atom)."""
    total: Dim = 0
    for m, c in e._terms:
        term: Dim = c
        for a in m:
            term = _mul(term, fn(a))
        total = _add(total, term)
    return total


def evaluate(d: Dim, env: dict[str, int]) -> int:
    """The integer value of d under env; KeyError names a missing symbol."""
    if type(d) is int:
        return d
    if type(d) is not Expr:
        return simplify(d)
    total = 0
    for m, c in d._terms:
        for a in m:
            c *= a.value(env)
        total += c
    return total


def evaluate_from(d: Dim, available, read, pick=None):
    """d computed from values already at hand, in any arithmetic domain.

    Backends compute a symbolic size at run time from the dimensions of tensors they have
    already computed.  ``available`` holds the expressions such dimensions have (a set, or a
    dict's keys); ``read(e)`` gives the value of one of them: an int, or any object with
    ``+ - * // %`` (an in-graph integer, a traced size).  The expression, or any part of it,
    that is available is read; a symbol that is not is solved from an available ``a*S + c``;
    a floor ``(p + a*s)//(a*q)`` is computed from an available ``p//a`` as ``(p//a + s)//q``
    (canonical forms merge nested floors, so ``((H + 1)//2 + 1)//2`` is stored as
    ``(H + 3)//4``); ``max``/``min`` go through ``pick(name, values)`` (Python's by default).
    KeyError names the first symbol or part that nothing available determines.
    """
    return _FromAvailable(available, read, pick).dim(d)


class _FromAvailable:
    def __init__(self, available, read, pick) -> None:
        self.available, self.read = available, read
        self.pick = pick or (lambda name, values: max(values) if name == "max" else min(values))

    def dim(self, d):
        if type(d) is int:
            return d
        if d in self.available:
            return self.read(d)
        total = 0
        for m, c in d._terms:
            product = abs(c)
            for a in m:
                product = product * self.atom(a)
            total = total + product if c > 0 else total - product
        return total

    def atom(self, a: _Atom):
        e = a.as_expr()
        if e in self.available:
            return self.read(e)
        if type(a) is _Sym:
            return self.solve(a)
        if type(a) is _FloorDiv:
            via = self.floor_via_available(a)
            return via if via is not None else self.dim(a.num) // self.dim(a.den)
        if type(a) is _Mod:
            return self.dim(a.num) % self.dim(a.den)
        if isinstance(a, _MinMax):
            return self.pick(a.NAME, [self.dim(x) for x in a.args])
        index = self.dim(a.index)  # a _Select: only a decided choice picks an option
        if type(index) is not int:
            raise KeyError(to_str(e))
        return self.dim(a.options[index])

    def solve(self, s: _Sym):
        """S from an available ``a*S + c`` (a block input of size T + 1 gives T)."""
        for src in self.available:
            linear = _linear_in(src)
            if linear is not None and linear[0] == s:
                _, a, c = linear
                value = self.read(src)
                value = value - c if c else value
                return value // a if a != 1 else value
        raise KeyError(s.name)

    def floor_via_available(self, a: _FloorDiv):
        if type(a.den) is not int:
            return None
        for src in self.available:
            inner = _lone_atom(src)
            if type(inner) is not _FloorDiv or type(inner.den) is not int or inner.den < 2 or a.den % inner.den:
                continue
            rest = _add(a.num, _neg(inner.num))
            if _content(rest) % inner.den:
                continue
            try:
                shift = self.dim(_divide_coefs(rest, inner.den))
            except KeyError:
                continue
            value = self.read(src) + shift if not (type(shift) is int and shift == 0) else self.read(src)
            q = a.den // inner.den
            return value // q if q != 1 else value
        return None


def _linear_in(d) -> tuple | None:
    """(symbol atom, a, c) when d is exactly ``a*S + c`` with a >= 1, else None."""
    if type(d) is not Expr or len(d._terms) > 2:
        return None
    c = _const_of(d)
    terms = [(m, k) for m, k in d._terms if m]
    if len(terms) != 1:
        return None
    (m, a), = terms
    if len(m) != 1 or type(m[0]) is not _Sym or a < 1:
        return None
    return m[0], a, c


def exact_div(a: Dim, b: Dim) -> Dim | None:
    """a / b when b provably divides a (as polynomials), else None.

    Tried as written first, then with choice-only parts folded (folding can both create and
    hide a common factor, so neither form alone is enough)."""
    a, b = _as_dim(a), _as_dim(b)
    q = _exact_div(a, b)
    if q is None and (_has_choices(a) or _has_choices(b)):
        q = _exact_div(simplify(a), simplify(b))
    return None if q is None else simplify(q)


def _exact_div(a: Dim, b: Dim) -> Dim | None:
    """Polynomial exact division on canonical forms (atoms are opaque variables)."""
    if type(b) is int:
        if b == 0:
            return None
        if type(a) is int:
            return a // b if a % b == 0 else None
        if all(c % b == 0 for _, c in a._terms):
            return _divide_coefs(a, b)
        return None
    if type(a) is int:
        return 0 if a == 0 else None
    if a == b:
        return 1
    return _poly_div(a, b)


def _mono_div(m: tuple, by: tuple) -> tuple | None:
    rest = list(m)
    for atom in by:
        try:
            rest.remove(atom)
        except ValueError:
            return None
    return tuple(rest)


def _term(mono: tuple, coef: int) -> Dim:
    return coef if not mono else _new_expr(((mono, coef),))


def _poly_div(a: Expr, b: Expr) -> Dim | None:
    """Exact multivariate division (graded-lex leading terms); None when b does not divide a."""
    atoms = sorted({x for m, _ in a._terms + b._terms for x in m}, key=_akey)
    index = {x: i for i, x in enumerate(atoms)}

    def order(term):
        exps = [0] * len(atoms)
        for x in term[0]:
            exps[index[x]] += 1
        return (len(term[0]), exps)

    lead_m, lead_c = max(b._terms, key=order)
    quotient: Dim = 0
    rest: Dim = a
    for _ in range(4 * len(a._terms) + 16):  # each step removes rest's leading term
        if rest == 0:
            return quotient
        if type(rest) is int:
            return None
        m, c = max(rest._terms, key=order)
        qm = _mono_div(m, lead_m)
        if qm is None or c % lead_c:
            return None
        t = _term(qm, c // lead_c)
        quotient, rest = _add(quotient, t), _add(rest, _neg(_mul(t, b)))
    return None


def prove_equal(a: Dim, b: Dim, max_cases: int = 4096) -> Verdict:
    """Decide a == b for every choice assignment (free symbols must cancel)."""
    if a is b or a == b:
        return Verdict(True)
    diff = _add(simplify(a), _neg(simplify(b)))
    if type(diff) is int:
        return Verdict(diff == 0)
    choices = {n: dom for n, dom in symbols(diff).items() if dom is not None}
    if not choices or math.prod(len(v) for v in choices.values()) > max_cases:
        return Verdict(None)
    names = sorted(choices)
    undecided = False
    for values in itertools.product(*(choices[n] for n in names)):
        case = dict(zip(names, values))
        rest = _subs_or_none(diff, case)
        if type(rest) is int:
            if rest != 0:
                return Verdict(False, case)
        else:
            undecided = True
    return Verdict(None) if undecided else Verdict(True)


def _subs_or_none(d: Dim, case: dict) -> Dim | None:
    """subs, or None when this choice divides by zero (that case proves nothing)."""
    try:
        return subs(d, case)
    except ZeroDivisionError:
        return None


def prove_positive(d: Dim, max_cases: int = 4096) -> bool | None:
    """Is d >= 1?  Free symbols are sizes (>= 1); choice symbols range over their domains.

    True: d >= 1 for every assignment.  False: some choice assignment makes d <= 0 for every
    value of the free symbols (so some architecture in the space is certainly invalid).
    None: neither could be shown.
    """
    d = simplify(d)
    if type(d) is int:
        return d >= 1
    lo, hi = _bounds(d, 1)
    if lo >= 1:
        return True
    if hi <= 0:
        return False
    choices = {n: dom for n, dom in symbols(d).items() if dom is not None}
    if not choices or math.prod(len(v) for v in choices.values()) > max_cases:
        return None
    names = sorted(choices)
    all_positive = True
    for values in itertools.product(*(choices[n] for n in names)):
        rest = _subs_or_none(d, dict(zip(names, values)))
        lo, hi = _bounds(rest, 1) if rest is not None else (-_INF, _INF)
        if hi <= 0:
            return False
        all_positive = all_positive and lo >= 1
    return True if all_positive else None
