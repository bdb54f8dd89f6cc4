"""What one evaluation of an expression or script may cost: the limits the restricted evaluator
(`expressions`) holds every value and every evaluation to, checked before a value is built wherever
its size can be known first.

A value's *size* is the number of characters it would take written out (its repr, estimated):
a string counts its characters, a list of n small numbers about 3n, and nested values count each
time they appear, so `[[0] * 100_000] * 100_000` is 3·10¹⁰ however little memory its shared rows
take. Each evaluation has two budgets: steps (the tree's nodes evaluated) and work (the size of
every value built, and of every value an operation goes through: compared, sorted, summed, written
out; measuring a value found in the task data costs `MEASURE_COST` for each item it holds).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import chain
from typing import Any

from models.i18n import lazy_gettext as _l

MAX_LENGTH = 10_000  # characters of source
MAX_DEPTH = 50  # levels of nesting in the parsed tree
MAX_SIZE = 1_000_000  # characters a value would take written out (1 MB of text, 250 000 small numbers)
MAX_INT_BITS = 4096
MAX_DECIMAL_EXPONENT = 1000  # a Decimal lies within 1E-1000 … 1E+1000 (adjusted exponent)
MAX_DECIMAL_DIGITS = 100  # arithmetic keeps 28; only Decimal('…') could write more
MAX_FORMAT_WIDTH = 1000  # widths and precisions in `"%…" % x`, and the places of round()/quantize()
MAX_STEPS = 100_000  # nodes evaluated in one evaluation
MAX_WORK = 10_000_000  # characters built or gone through in one evaluation
MEASURE_COST = 100  # work per item when the size of a value from the task data is measured
# What a formatted number may add beyond its width (a float written out with %f, a Decimal with %d).
_FORMAT_SLACK = 1100


class ExpressionError(ValueError):
    """An expression or script uses something the evaluator does not allow, or fails to evaluate."""


BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
CONTAINERS = (list, tuple, set, frozenset, dict)
_TEXT = (str, bytes)
_FIXED = {type(None): 4, bool: 5, float: 24, complex: 48, date: 30, datetime: 40, timedelta: 40}


def too_large() -> ExpressionError:
    return ExpressionError(
        str(_l("the result would be too large (more than %(n)d characters written out)", n=MAX_SIZE))
    )


def int_too_large() -> ExpressionError:
    return ExpressionError(str(_l("an integer would have more than %(n)d bits", n=MAX_INT_BITS)))


def check_int(value: int) -> None:
    if value.bit_length() > MAX_INT_BITS:
        raise int_too_large()


def check_decimal(value: Decimal) -> None:
    if not value.is_finite() or not value:
        return
    if abs(value.adjusted()) > MAX_DECIMAL_EXPONENT:
        raise ExpressionError(str(_l("a Decimal's exponent must be within ±%(n)d", n=MAX_DECIMAL_EXPONENT)))
    if len(value.as_tuple().digits) > MAX_DECIMAL_DIGITS:  # multiplying those takes milliseconds each
        raise ExpressionError(str(_l("a Decimal may have at most %(n)d digits", n=MAX_DECIMAL_DIGITS)))


def check_places(places: Any) -> None:
    if isinstance(places, int) and abs(places) > MAX_FORMAT_WIDTH:
        raise ExpressionError(str(_l("round() and quantize() take at most %(n)d places", n=MAX_FORMAT_WIDTH)))


def _scalar_size(value: Any) -> int | None:
    """The written-out size of a value that holds no others; None for a container."""
    if type(value) is str:  # the commonest first
        return len(value)
    if isinstance(value, CONTAINERS):
        return None
    if isinstance(value, _TEXT):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() * 30103 // 100_000 + 2  # decimal digits and a sign
    if isinstance(value, Decimal):
        return len(str(value)) + 10  # str() of a Decimal is its digits (E-notation when far out)
    return _FIXED.get(type(value), 40)


def _children(value: Any) -> Iterator[Any]:
    return chain.from_iterable(value.items()) if isinstance(value, dict) else iter(value)


def format_specs(fmt: str) -> Iterator[tuple[str | None, str, str]]:
    """(mapping key, width, precision) of each conversion in a `%` format, read as CPython reads it."""
    i, n = 0, len(fmt)

    def number(i: int) -> tuple[str, int]:
        if i < n and fmt[i] == "*":
            return "*", i + 1
        start = i
        while i < n and fmt[i].isdigit():
            i += 1
        return fmt[start:i], i

    while (i := fmt.find("%", i)) >= 0:
        i += 1
        key = None
        if i < n and fmt[i] == "(":  # the key runs to the matching parenthesis
            depth, start = 1, i + 1
            while i + 1 < n and depth:
                i += 1
                depth += {"(": 1, ")": -1}.get(fmt[i], 0)
            key, i = fmt[start:i], i + 1
        while i < n and fmt[i] in "-+ #0":
            i += 1
        width, i = number(i)
        precision = ""
        if i < n and fmt[i] == ".":
            precision, i = number(i + 1)
        while i < n and fmt[i] in "hlL":
            i += 1
        if not (i < n and fmt[i] == "%" and key is None and not width and not precision):  # %% is a %
            yield key, width, precision
        i += 1  # the conversion character


def _width(digits: str) -> int:
    if digits == "*":
        raise ExpressionError(str(_l("a '*' width or precision is not allowed in a format")))
    if len(digits) > len(str(MAX_FORMAT_WIDTH)) or (digits and int(digits) > MAX_FORMAT_WIDTH):
        raise ExpressionError(
            str(_l("a format width or precision above %(n)d is not allowed", n=MAX_FORMAT_WIDTH))
        )
    return int(digits or 0)


class Budget:
    """The steps and work one evaluation has spent, and the sizes of the values it has measured
    (by identity: each value is measured once; the entry keeps it alive, so its id is not reused)."""

    def __init__(self) -> None:
        self.steps = 0
        self.work = 0
        self._sizes: dict[int, tuple[Any, int]] = {}

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise ExpressionError(str(_l("the evaluation took more than %(n)d steps", n=MAX_STEPS)))

    def charge(self, work: int) -> None:
        self.work += work
        if self.work > MAX_WORK:
            raise ExpressionError(
                str(_l("the evaluation would handle more than %(n)d characters of data", n=MAX_WORK))
            )

    def size(self, value: Any) -> int:
        """The value's written-out size (measured without recursion, whatever its depth)."""
        scalar = _scalar_size(value)
        if scalar is not None:
            return scalar
        sizes = self._sizes
        known = sizes.get(id(value))
        if known is not None:
            return known[1]
        frames: list[list[Any]] = [[value, _children(value), 2]]
        open_ids = {id(value)}
        while frames:
            frame = frames[-1]
            total = frame[2]
            for child in frame[1]:
                self.work += MEASURE_COST
                if self.work > MAX_WORK:
                    self.charge(0)  # refuses
                size = _scalar_size(child)
                if size is None:
                    known = sizes.get(id(child))
                    if known is None:
                        if id(child) in open_ids:  # a value holding itself: never written out
                            raise too_large()
                        open_ids.add(id(child))
                        frames.append([child, _children(child), 2])
                        break
                    size = known[1]
                total += size + 2
            else:
                frames.pop()
                open_ids.discard(id(frame[0]))
                sizes[id(frame[0])] = (frame[0], total)
                if frames:
                    frames[-1][2] += total + 2
                continue
            frame[2] = total
        return sizes[id(value)][1]

    def admit(self, value: Any, size: int | None = None) -> Any:
        """A value just built, within every limit; its building is charged here unless the caller
        knew its `size` (and charged it) before building it."""
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            check_int(value)
        elif isinstance(value, Decimal):
            check_decimal(value)
        elif isinstance(value, _TEXT + CONTAINERS):
            if size is None:
                size = self.size(value)
                self.charge(size)
            elif not isinstance(value, _TEXT):
                self._sizes[id(value)] = (value, size)
            if size > MAX_SIZE:
                raise too_large()
        return value

    def _refuse_above(self, size: int) -> int:
        if size > MAX_SIZE:
            raise too_large()
        self.charge(size)
        return size

    def binop(self, op: ast.operator, a: Any, b: Any) -> Any:
        """`a op b`, refused before it is built when the result would pass a limit."""
        size = None
        if isinstance(op, ast.Mult):
            for seq, times in ((a, b), (b, a)):
                if isinstance(seq, _TEXT + (list, tuple)) and isinstance(times, int):
                    inner = self.size(seq) - (0 if isinstance(seq, _TEXT) else 2)
                    size = self._refuse_above(max(times, 0) * inner + (0 if isinstance(seq, _TEXT) else 2))
                    break
            if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
                raise int_too_large()  # before multiplying
        elif isinstance(op, ast.Add) and isinstance(a, _TEXT + (list, tuple)) and type(a) is type(b):
            size = self._refuse_above(self.size(a) + self.size(b))
        elif isinstance(op, ast.Mod) and isinstance(a, _TEXT):
            self._check_format(a if isinstance(a, str) else a.decode("latin-1"), b)
        result = BINARY[type(op)](a, b)
        return self.admit(result, size)

    def _check_format(self, fmt: str, args: Any) -> None:
        """`fmt % args`: refuse wide fields and results too large before formatting."""
        self.charge(len(fmt) + fmt.count("%") * MEASURE_COST)
        estimate = len(fmt) + self.size(args)
        for key, width, precision in format_specs(fmt):
            estimate += _width(width) + _width(precision) + _FORMAT_SLACK
            if key is not None and isinstance(args, Mapping) and key in args:
                estimate += self.size(args[key])
            if estimate > MAX_SIZE:
                raise too_large()

    def key(self, key: Any) -> Any:
        """A subscript's key: hashing a tuple goes through all of it."""
        if isinstance(key, tuple):
            self.charge(self.size(key))
        return key

    def compare(self, test: Callable[[Any, Any], bool], op: ast.cmpop, a: Any, b: Any) -> bool:
        if isinstance(op, ast.In | ast.NotIn):
            self.charge(self.size(b) + (self.size(a) if isinstance(b, set | frozenset | dict) else 0))
        elif not isinstance(op, ast.Is | ast.IsNot) and isinstance(a, _TEXT + CONTAINERS):
            self.charge(min(self.size(a), self.size(b)))
        return test(a, b)

    def call(self, name: str, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
        """A whitelisted function, with its arguments gone through charged and its result admitted."""
        if name not in ("len", "bool", "abs", "date", "timedelta", "add_days", "round"):
            self.charge(sum(self.size(v) for v in chain(args, kwargs.values())))
        if name == "sorted" and args and hasattr(args[0], "__len__"):  # n·log n comparisons
            self.charge(len(args[0]) * len(args[0]).bit_length())
        if name == "sum":
            return self._sum(*args, **kwargs)
        if name in ("round", "quantize"):
            check_places(args[1] if len(args) > 1 else kwargs.get("ndigits", kwargs.get("places")))
        if name == "int" and args and isinstance(args[0], Decimal):
            check_decimal(args[0])  # int(Decimal('1e999999999')) would take minutes
        if name == "str" and self.size(args[0] if args else "") > MAX_SIZE:
            raise too_large()
        result = function(*args, **kwargs)
        if name == "sorted" and args:
            known = self.size(args[0])
            return self.admit(result, 3 * known + 2 if isinstance(args[0], _TEXT) else known)
        return self.admit(result) if name in ("str", "Decimal", "int", "quantize", "round") else result

    def _sum(self, items: Iterable[Any], start: Any = 0) -> Any:
        """sum() as a run of `+`, each checked: `sum(rows, [])` is refused before it is built."""
        result = start
        for item in items:
            result = self.binop(ast.Add(), result, item)
        return result
