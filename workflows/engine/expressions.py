"""A restricted evaluator for BPMN expressions and scripts, built on Python's `ast`.

Allowed: literals, names of task-data values, arithmetic, comparisons, boolean logic,
conditional expressions, subscripts, list/tuple/dict/set displays, calls of whitelisted
functions by name, and (in scripts) assignments to plain names. Everything else — attribute
access, names starting with an underscore, lambdas, comprehensions, imports, loops,
function definitions — is refused with a message naming the construct. What an evaluation may
cost is bounded (`bounds`): the source's length and depth when it is parsed, each value's size,
integer bits and Decimal exponents as it is built, and the steps and work of each evaluation.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from models.i18n import lazy_gettext as _l
from workflows.engine.bounds import (
    BINARY,
    MAX_DEPTH,
    MAX_INT_BITS,
    MAX_LENGTH,
    Budget,
    ExpressionError,
    int_too_large,
)


def _quantize(value: Any, places: int = 2) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _add_days(value: Any, days: int | float) -> Any:
    return _as_datetime(value) + timedelta(days=days)


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _isoformat(value: Any) -> str:
    return value.isoformat() if isinstance(value, date | datetime) else _as_datetime(value).isoformat()


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "all": all,
    "any": any,
    "bool": bool,
    "float": float,
    "int": int,
    "len": len,
    "max": max,
    "min": min,
    "round": round,
    "sorted": sorted,
    "str": str,
    "sum": sum,
    "Decimal": lambda v="0": Decimal(str(v)),
    "quantize": _quantize,
    "date": date,
    "datetime": _as_datetime,
    "timedelta": timedelta,
    "add_days": _add_days,
    "isoformat": _isoformat,
}

_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}

# What the refusals call the constructs people most often try (the rest by their Python name).
CONSTRUCTS = {
    "ListComp": _l("a list comprehension (ListComp)"),
    "SetComp": _l("a set comprehension (SetComp)"),
    "DictComp": _l("a dict comprehension (DictComp)"),
    "GeneratorExp": _l("a generator expression (GeneratorExp)"),
    "Lambda": _l("a lambda (Lambda)"),
    "Import": _l("an import (Import)"),
    "ImportFrom": _l("an import (ImportFrom)"),
    "For": _l("a loop (For)"),
    "While": _l("a loop (While)"),
    "FunctionDef": _l("a function definition (FunctionDef)"),
    "Attribute": _l("attribute access (Attribute)"),
    "Pow": _l("the power operator ** (Pow)"),
    "BitAnd": _l("the bitwise operator & (BitAnd)"),
    "BitOr": _l("the bitwise operator | (BitOr)"),
    "BitXor": _l("the bitwise operator ^ (BitXor)"),
    "Invert": _l("the bitwise operator ~ (Invert)"),
    "LShift": _l("the shift operator << (LShift)"),
    "RShift": _l("the shift operator >> (RShift)"),
    "MatMult": _l("the matrix operator @ (MatMult)"),
    "NamedExpr": _l("an assignment expression := (NamedExpr)"),
    "JoinedStr": _l("an f-string (JoinedStr)"),
    "Starred": _l("unpacking with * (Starred)"),
    "**kwargs": _l("unpacking with ** (**kwargs)"),
    "Delete": _l("a del statement (Delete)"),
    "Return": _l("a return statement (Return)"),
    "Raise": _l("a raise statement (Raise)"),
    "Try": _l("a try statement (Try)"),
    "With": _l("a with statement (With)"),
    "Global": _l("a global statement (Global)"),
    "Nonlocal": _l("a nonlocal statement (Nonlocal)"),
    "ClassDef": _l("a class definition (ClassDef)"),
    "Yield": _l("a yield (Yield)"),
    "Await": _l("an await (Await)"),
}


def _describe(node: ast.AST) -> str:
    name = type(node).__name__
    return str(CONSTRUCTS[name]) if name in CONSTRUCTS else name


class _Checker(ast.NodeVisitor):
    """Walks a parsed tree and raises ExpressionError at the first node that is not allowed."""

    ALLOWED = (
        ast.Expression,
        ast.Module,
        ast.Expr,
        ast.Constant,
        ast.Name,
        ast.Load,
        ast.Store,
        ast.BinOp,
        ast.UnaryOp,
        ast.BoolOp,
        ast.And,
        ast.Or,
        ast.Compare,
        ast.IfExp,
        ast.Subscript,
        ast.Slice,
        ast.List,
        ast.Tuple,
        ast.Dict,
        ast.Set,
        ast.Call,
        ast.keyword,
        ast.Assign,
        ast.AugAssign,
        ast.If,
        ast.Pass,
        *BINARY,
        *_UNARY,
        *_COMPARE,
    )

    def __init__(self, allow_statements: bool):
        self.allow_statements = allow_statements

    def generic_visit(self, node: ast.AST) -> None:
        if not isinstance(node, self.ALLOWED):
            raise ExpressionError(str(_l("%(what)s is not allowed", what=_describe(node))))
        if not self.allow_statements and isinstance(node, ast.Assign | ast.AugAssign | ast.If | ast.Pass):
            raise ExpressionError(str(_l("%(what)s is not allowed in an expression", what=_describe(node))))
        super().generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, int) and node.value.bit_length() > MAX_INT_BITS:
            raise int_too_large()

    def visit_Name(self, node: ast.Name) -> None:
        if node.id.startswith("_"):
            raise ExpressionError(
                str(_l("the name %(name)r is not allowed (names may not start with '_')", name=node.id))
            )

    def visit_Attribute(self, node: ast.Attribute) -> None:
        raise ExpressionError(str(_l("attribute access ('.%(name)s') is not allowed", name=node.attr)))

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute):
            self.visit_Attribute(node.func)
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else _describe(node.func)
            allowed = ", ".join(sorted(FUNCTIONS))
            raise ExpressionError(
                str(
                    _l(
                        "calling %(name)r is not allowed; allowed functions: %(allowed)s",
                        name=name,
                        allowed=allowed,
                    )
                )
            )
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise ExpressionError(str(_l("%(what)s is not allowed", what=CONSTRUCTS["Starred"])))
            self.visit(arg)
        for kw in node.keywords:
            if kw.arg is None:
                raise ExpressionError(str(_l("%(what)s is not allowed", what=CONSTRUCTS["**kwargs"])))
            self.visit(kw.value)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if not isinstance(target, ast.Name):
                raise ExpressionError(
                    str(_l("only plain names can be assigned, not %(what)s", what=_describe(target)))
                )
            self.visit_Name(target)
        self.visit(node.value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if not isinstance(node.target, ast.Name) or type(node.op) not in BINARY:
            raise ExpressionError(str(_l("only `name += value` style updates of plain names are allowed")))
        self.visit_Name(node.target)
        self.visit(node.value)


def _parse(source: str, mode: str) -> ast.AST:
    if not isinstance(source, str):
        raise ExpressionError(str(_l("the expression must be text")))
    if len(source) > MAX_LENGTH:
        raise ExpressionError(str(_l("the expression is longer than %(n)d characters", n=MAX_LENGTH)))
    try:
        tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    except SyntaxError as exc:
        raise ExpressionError(
            str(_l("syntax error: %(reason)s (line %(line)s)", reason=exc.msg, line=exc.lineno))
        ) from None
    except (RecursionError, MemoryError):  # 5,000 unary minuses overflow the parser itself
        raise _too_deep() from None
    _check_depth(tree)
    _Checker(allow_statements=mode == "exec").visit(tree)
    return tree


def _too_deep() -> ExpressionError:
    return ExpressionError(str(_l("the expression is nested more than %(n)d levels deep", n=MAX_DEPTH)))


_LEAVES = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)


def _check_depth(tree: ast.AST) -> None:
    """Refuse a tree nested deeper than MAX_DEPTH, walked without recursion (the checker and the
    evaluator recurse, within that depth)."""
    pending = [(tree, 0)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise _too_deep()
        pending.extend((c, depth + 1) for c in ast.iter_child_nodes(node) if not isinstance(c, _LEAVES))


def check_expression(source: str) -> None:
    """Raise ExpressionError if the expression uses anything not allowed."""
    _parse(source, "eval")


def check_script(source: str) -> None:
    """Raise ExpressionError if the script uses anything not allowed."""
    _parse(source, "exec")


def free_names(source: str, script: bool = False) -> set[str]:
    """The data an expression (or script) reads and does not define itself: what must be in the
    task's data when it runs."""
    tree = _parse(source, "exec" if script else "eval")
    loaded: set[str] = set()
    stored: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (stored if isinstance(node.ctx, ast.Store) else loaded).add(node.id)
    return loaded - stored - set(FUNCTIONS) - {"True", "False", "None"}


class _Evaluator:
    """Evaluates a checked tree; every value it builds goes through `budget` (the limits)."""

    def __init__(self, names: Mapping[str, Any]):
        self.names = names
        self.budget = Budget()

    def eval(self, node: ast.AST) -> Any:  # noqa: C901 - one dispatch over node types
        self.budget.step()
        match node:
            case ast.Expression(body=body):
                return self.eval(body)
            case ast.Constant(value=value):
                return value
            case ast.Name(id=name):
                if name in self.names:
                    return self.names[name]
                if name in FUNCTIONS:
                    raise ExpressionError(str(_l("%(name)r is a function; call it", name=name)))
                raise ExpressionError(str(_l("name %(name)r is not defined", name=name)))
            case ast.BinOp(left=left, op=op, right=right):
                a, b = self.eval(left), self.eval(right)
                return self.budget.binop(op, a, b)
            case ast.UnaryOp(op=op, operand=operand):
                return _UNARY[type(op)](self.eval(operand))
            case ast.BoolOp(op=ast.And(), values=values):
                result = True
                for value in values:
                    result = self.eval(value)
                    if not result:
                        return result
                return result
            case ast.BoolOp(op=ast.Or(), values=values):
                result = False
                for value in values:
                    result = self.eval(value)
                    if result:
                        return result
                return result
            case ast.Compare(left=left, ops=ops, comparators=comparators):
                current = self.eval(left)
                for comparison, comparator in zip(ops, comparators, strict=True):
                    right = self.eval(comparator)
                    if not self.budget.compare(_COMPARE[type(comparison)], comparison, current, right):
                        return False
                    current = right
                return True
            case ast.IfExp(test=test, body=body, orelse=orelse):
                return self.eval(body) if self.eval(test) else self.eval(orelse)
            case ast.Subscript(value=value, slice=index):
                container = self.eval(value)
                key = self.budget.key(self.eval(index))
                item = container[key]
                return self.budget.admit(item) if isinstance(key, slice) else item
            case ast.Slice(lower=lower, upper=upper, step=step):
                return slice(*(None if part is None else self.eval(part) for part in (lower, upper, step)))
            case ast.List(elts=elts):
                return self.budget.admit([self.eval(e) for e in elts])
            case ast.Tuple(elts=elts):
                return self.budget.admit(tuple(self.eval(e) for e in elts))
            case ast.Set(elts=elts):
                return self.budget.admit({self.eval(e) for e in elts})
            case ast.Dict(keys=keys, values=values):
                if any(k is None for k in keys):
                    raise ExpressionError(str(_l("%(what)s is not allowed", what=CONSTRUCTS["**kwargs"])))
                return self.budget.admit(
                    {self.eval(k): self.eval(v) for k, v in zip(keys, values, strict=True) if k is not None}
                )
            case ast.Call(func=ast.Name(id=name), args=args, keywords=keywords):
                if any(k.arg is None for k in keywords):
                    raise ExpressionError(str(_l("%(what)s is not allowed", what=CONSTRUCTS["**kwargs"])))
                return self.budget.call(
                    name,
                    FUNCTIONS[name],
                    [self.eval(a) for a in args],
                    {str(k.arg): self.eval(k.value) for k in keywords},
                )
        raise ExpressionError(
            str(_l("%(what)s is not allowed", what=_describe(node)))
        )  # the checker stops these first

    def run(self, statements: list[ast.stmt], assigned: dict[str, Any]) -> None:
        for statement in statements:
            self.budget.step()
            match statement:
                case ast.Assign(targets=targets, value=value):
                    result = self.eval(value)
                    for target in targets:
                        assigned[target.id] = result  # type: ignore[attr-defined]
                case ast.AugAssign(target=ast.Name(id=name), op=op, value=value):
                    # `s *= 100_000` is checked as `s = s * 100_000` is
                    assigned[name] = self.budget.binop(op, self.eval(ast.Name(id=name)), self.eval(value))
                case ast.If(test=test, body=body, orelse=orelse):
                    self.run(body if self.eval(test) else orelse, assigned)
                case ast.Expr(value=value):
                    self.eval(value)
                case ast.Pass():
                    pass


def evaluate(source: str, names: Mapping[str, Any]) -> Any:
    """Evaluate an expression over the given names (task data)."""
    tree = _parse(source, "eval")
    try:
        return _Evaluator(names).eval(tree)
    except ExpressionError:
        raise
    except Exception as exc:  # arithmetic, lookups, conversions: say what went wrong
        raise ExpressionError(f"{type(exc).__name__}: {exc}") from exc


def execute(source: str, names: Mapping[str, Any]) -> dict[str, Any]:
    """Run a script over the given names; returns the names it assigned (the caller merges them)."""
    tree = _parse(source, "exec")
    assigned: dict[str, Any] = {}
    scope = _Scope(names, assigned)
    try:
        _Evaluator(scope).run(tree.body, assigned)  # type: ignore[attr-defined]
    except ExpressionError:
        raise
    except Exception as exc:
        raise ExpressionError(f"{type(exc).__name__}: {exc}") from exc
    return assigned


class _Scope(Mapping[str, Any]):
    """Names assigned earlier in a script shadow the task data."""

    def __init__(self, base: Mapping[str, Any], assigned: dict[str, Any]):
        self.base, self.assigned = base, assigned

    def __getitem__(self, key: str) -> Any:
        return self.assigned[key] if key in self.assigned else self.base[key]

    def __iter__(self) -> Iterator[str]:
        return iter({**self.base, **self.assigned})

    def __len__(self) -> int:
        return len({**self.base, **self.assigned})

    def __contains__(self, key: object) -> bool:
        return key in self.assigned or key in self.base
