"""The expressions and scripts that cost too much, each with the limit that refuses it: what
`tests/workflows/test_expression_bounds.py` proves refused and `flask bench expressions` times.
The first ones are those the issue found accepted (they ran past 20 s or to 1.5 GB, or crashed deploy)."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workflows.engine import expressions


@dataclass(frozen=True)
class Abuse:
    label: str
    source: str
    refused_by: str  # a phrase of the English refusal
    mode: str = "eval"  # eval, exec (a script) or check (refused when deployed, before it runs)
    names: Callable[[], dict[str, Any]] = field(default=dict)

    def attempt(self, names: dict[str, Any]) -> None:
        """Raise ExpressionError (what every abuse must do)."""
        if self.mode == "check":
            expressions.check_expression(self.source)
        elif self.mode == "exec":
            expressions.execute(self.source, names)
        else:
            expressions.evaluate(self.source, names)


TOO_LARGE = "would be too large"
ABUSES = [
    Abuse("str of nested repeats", "str([[0] * 100000] * 100000)", TOO_LARGE),
    Abuse("sum of repeated lists", "sum([[0] * 100000] * 1000, [])", TOO_LARGE),
    Abuse(
        "sum of the data's lists",
        "sum(rows, [])",
        "characters of data",
        names=lambda: {"rows": [[0] * 1000] * 1000},
    ),
    Abuse(
        "str of the data's 200,000 lists",
        "str(rows)",
        "characters of data",
        names=lambda: {"rows": [[n] for n in range(200_000)]},
    ),
    Abuse("int of a huge Decimal", "int(Decimal('1e999999999'))", "exponent must be within"),
    Abuse("squaring in a script", "a = 3\n" + "a = a * a\n" * 40, "bits", mode="exec"),
    Abuse("augmented repeat", "s = 'ab'\ns *= 100000\ns *= 100000", TOO_LARGE, mode="exec"),
    Abuse("%-format width", '"%900000000d" % 1', "width or precision above"),
    Abuse("%-format precision", '"%.900000000f" % 1.0', "width or precision above"),
    Abuse("%-format keyed width", '"%(x)900000000s" % {"x": 1}', "width or precision above"),
    Abuse("%-format * width", '"%*d" % (900000000, 1)', "'*' width"),
    Abuse("5,000 unary minuses", "-" * 5000 + "1", "levels deep", mode="check"),
    Abuse("deep nesting", "[" * 60 + "]" * 60, "levels deep", mode="check"),
    Abuse("source too long", "1 + " * 2600 + "1", "longer than", mode="check"),
    Abuse("power tower", "2 ** 10 ** 10", "Pow", mode="check"),
    Abuse("repeat by a power", "'x' * 10 ** 9", "Pow", mode="check"),
    Abuse("repeat by a number", "'x' * n", TOO_LARGE, names=lambda: {"n": 10**9}),
    Abuse("f-string width", "f'{x:>900000000}'", "JoinedStr", mode="check"),
    Abuse("huge integer literal", "1" + "0" * 4000, "bits", mode="check"),
    Abuse("Decimal exponent overflow", "Decimal('1e999') * Decimal('1e999')", "exponent must be within"),
    Abuse("a Decimal of 900,000 digits", "Decimal('0.' + '1' * 900000)", "at most 100 digits"),
    Abuse("round to a billion places", "round(1, -1000000000)", "at most 1000 places"),
    Abuse("repeated long strings", "str(['x' * 1000] * 2000)", TOO_LARGE),
    Abuse("concatenation", "s + s", TOO_LARGE, names=lambda: {"s": "x" * 600_000}),
    Abuse(
        "copies of a big list",
        "x = [0] * 200000\n" + "y = x + [1]\n" * 400,
        "characters of data",
        mode="exec",
    ),
]


def refusal_figures() -> list[dict[str, Any]]:
    """Each abuse's refusal: milliseconds (median of 3, untraced) and the peak memory the Python
    allocator traced during a separate run (the task data it is given, built before, not counted),
    with the reason given."""
    figures = []
    for abuse in ABUSES:
        names = abuse.names()
        samples = []
        for _ in range(3):
            started = time.perf_counter()
            reason = _refusal(abuse, names)
            samples.append((time.perf_counter() - started) * 1000)
        tracemalloc.start()
        try:
            _refusal(abuse, names)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        figures.append(
            {
                "case": abuse.label,
                "ms": round(sorted(samples)[1], 2),
                "peak_kb": round(peak / 1024, 1),
                "refused": reason,
            }
        )
    return figures


def _refusal(abuse: Abuse, names: dict[str, Any]) -> str:
    try:
        abuse.attempt(names)
    except expressions.ExpressionError as exc:
        return str(exc)
    return "NOT REFUSED"
