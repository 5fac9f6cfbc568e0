"""A small safe expression language for mappings: `expr = "0.3 + 0.2 * sin(bar_phase * tau)"`.

Why not `eval`: a preset is a file someone may hand you; nothing in it may run
code. The text is parsed with `ast` and only a whitelist of nodes (numbers,
names, arithmetic, comparisons, `a if c else b`, calls of the functions below)
is accepted; evaluation walks that tree over numpy arrays, one array per tap
attribute, so a frame's taps cost one pass whatever their number.
"""

from __future__ import annotations

import ast
import difflib
import math
from collections.abc import Callable

import numpy as np

MAX_LENGTH = 400
MAX_DEPTH = 40
MAX_LITERAL = 1e9  # a number written in an expression; beyond, a typo (and 310 digits overflow a float)


def stable_hash(x):
    """A repeatable pseudo-random 0..1 from a number (the same tap id gives the same value)."""
    x = np.asarray(x, np.float64)
    return np.modf(np.abs(np.sin(x * 12.9898 + 78.233) * 43758.5453))[0]


def _clamp(x, low=0.0, high=1.0):
    return np.clip(x, low, high)


def _mix(a, b, t):
    return a + (b - a) * t


def _step(edge, x):
    return np.where(np.asarray(x) >= edge, 1.0, 0.0)


def _smoothstep(edge0, edge1, x):
    t = np.clip((np.asarray(x, np.float64) - edge0) / np.where(edge1 == edge0, 1e-9, edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _fract(x):
    return np.asarray(x, np.float64) % 1.0


def _pick(index, *values):
    """pick(i, a, b, c): the i-th value (wrapping), e.g. pick(in_bar, 0.2, 0.5, 0.8)."""
    if not values:
        raise ValueError("pick needs at least one value after the index")
    table = np.broadcast_arrays(*[np.asarray(v, np.float64) for v in values])
    where = np.asarray(index, np.float64)
    slot = np.mod(np.floor(where), len(values)).astype(np.intp)
    stacked = np.stack(table)
    if stacked.ndim == 1:
        return stacked[slot]
    return np.take_along_axis(stacked, np.broadcast_to(slot, stacked.shape[1:])[None], axis=0)[0]


# name -> (function, smallest and largest number of arguments)
FUNCTIONS: dict[str, tuple[Callable, int, int]] = {
    "sin": (np.sin, 1, 1), "cos": (np.cos, 1, 1), "tan": (np.tan, 1, 1),
    "asin": (lambda x: np.arcsin(np.clip(x, -1, 1)), 1, 1), "acos": (lambda x: np.arccos(np.clip(x, -1, 1)), 1, 1),
    "atan": (np.arctan, 1, 1), "atan2": (np.arctan2, 2, 2),
    "abs": (np.abs, 1, 1), "sqrt": (lambda x: np.sqrt(np.maximum(x, 0.0)), 1, 1),
    "exp": (np.exp, 1, 1), "log": (lambda x: np.log(np.maximum(x, 1e-12)), 1, 1),
    "pow": (np.power, 2, 2), "min": (np.minimum, 2, 2), "max": (np.maximum, 2, 2),
    "clamp": (_clamp, 1, 3), "mix": (_mix, 3, 3), "step": (_step, 2, 2), "smoothstep": (_smoothstep, 3, 3),
    "floor": (np.floor, 1, 1), "ceil": (np.ceil, 1, 1), "round": (np.round, 1, 1), "fract": (_fract, 1, 1),
    "sign": (np.sign, 1, 1), "hash": (stable_hash, 1, 1), "pick": (_pick, 2, 16),
}

CONSTANTS = {"pi": math.pi, "tau": math.tau, "e": math.e, "unknown": 0.0, "heel": 1.0, "toe": 2.0}

_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
           ast.Mod: np.mod, ast.Pow: np.power, ast.FloorDiv: np.floor_divide}
_COMPARE = {ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal,
            ast.Eq: np.equal, ast.NotEq: np.not_equal}
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%", ast.Pow: "**",
            ast.FloorDiv: "//"}


class ExpressionError(ValueError):
    """An expression that cannot be used; the message quotes the part at fault."""


Node = Callable[[dict], object]


class Expression:
    """A checked expression; `evaluate(names)` gives an array (or a number) from arrays of tap attributes."""

    def __init__(self, text: str, names: set[str] | frozenset[str]):
        self.text = text
        if len(text) > MAX_LENGTH:
            raise ExpressionError(f"expression is {len(text)} characters; keep it under {MAX_LENGTH}")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as error:
            column = f" at column {error.offset}" if error.offset else ""
            raise ExpressionError(f"expression syntax{column}: {error.msg} in {text!r}") from None
        except (ValueError, RecursionError, MemoryError) as error:  # the parser's own limits
            raise ExpressionError(f"expression cannot be read ({error}): {text[:60]!r}") from None
        self.names: set[str] = set()
        self._known = set(names)
        self._run = self._build(tree.body, 0)

    def evaluate(self, values: dict) -> np.ndarray:
        with np.errstate(all="ignore"):
            result = np.asarray(self._run(values), np.float64)
        return np.nan_to_num(result, nan=0.0, posinf=1e6, neginf=-1e6)

    # -- checking and building: every node becomes a small closure ------------------------------
    def _build(self, node: ast.AST, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"expression nests deeper than {MAX_DEPTH} levels: {self.text!r}")
        build = getattr(self, f"_node_{type(node).__name__}", None)
        if build is None:
            what = ast.get_source_segment(self.text.strip(), node) or type(node).__name__
            raise ExpressionError(f"{what!r} is not allowed in an expression (numbers, tap attributes, "
                                  "+ - * / % **, comparisons, `a if condition else b` and functions: "
                                  f"{', '.join(FUNCTIONS)})")
        return build(node, depth + 1)

    def _node_Constant(self, node, depth):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ExpressionError(f"only numbers are allowed as constants, not {node.value!r}")
        number = node.value
        if isinstance(number, int) and number.bit_length() > 64 or not abs(float(number)) <= MAX_LITERAL:
            shown = ast.get_source_segment(self.text.strip(), node) or "the number"
            shown = shown if len(shown) <= 24 else f"{shown[:12]}…({len(shown)} characters)"
            raise ExpressionError(f"number {shown} is out of range; numbers in an expression are "
                                  f"finite and within ±{MAX_LITERAL:g}")
        value = float(number)
        return lambda values: value

    def _node_Name(self, node, depth):
        name = node.id
        if name in CONSTANTS:
            value = CONSTANTS[name]
            return lambda values: value
        if name not in self._known:
            choices = sorted(self._known | set(CONSTANTS))
            hint = difflib.get_close_matches(name, choices + list(FUNCTIONS), n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else f" (names: {', '.join(choices)})"
            raise ExpressionError(f"unknown name {name!r}{extra}")
        self.names.add(name)
        return lambda values: values[name]

    def _node_BinOp(self, node, depth):
        op = _BINARY.get(type(node.op))
        if op is None:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed; use + - * / % // **")
        left, right = self._build(node.left, depth), self._build(node.right, depth)
        if op is np.power:  # keep huge powers from eating memory or time: the exponent is bounded
            return lambda values: np.power(np.asarray(left(values), np.float64), np.clip(right(values), -64, 64))
        return lambda values: op(left(values), right(values))

    def _node_UnaryOp(self, node, depth):
        operand = self._build(node.operand, depth)
        if isinstance(node.op, ast.USub):
            return lambda values: np.negative(operand(values))
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.Not):
            return lambda values: np.where(operand(values), 0.0, 1.0)
        raise ExpressionError("only - + and not are allowed before a value")

    def _node_Compare(self, node, depth):
        parts = [self._build(node.left, depth)] + [self._build(c, depth) for c in node.comparators]
        ops = []
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise ExpressionError("comparisons are < <= > >= == !=")
            ops.append(_COMPARE[type(op)])

        def compare(values):
            result, left = True, parts[0](values)
            for op, part in zip(ops, parts[1:]):
                right = part(values)
                result = np.logical_and(result, op(left, right))
                left = right
            return np.where(result, 1.0, 0.0)

        return compare

    def _node_BoolOp(self, node, depth):
        parts = [self._build(v, depth) for v in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or

        def boolean(values):
            result = parts[0](values)
            for part in parts[1:]:
                result = combine(result, part(values))
            return np.where(result, 1.0, 0.0)

        return boolean

    def _node_IfExp(self, node, depth):
        test, body, orelse = (self._build(n, depth) for n in (node.test, node.body, node.orelse))
        return lambda values: np.where(test(values), body(values), orelse(values))

    def _node_Call(self, node, depth):
        if not isinstance(node.func, ast.Name):
            raise ExpressionError("only the listed functions may be called, by name: " + ", ".join(FUNCTIONS))
        name = node.func.id
        if name not in FUNCTIONS:
            hint = difflib.get_close_matches(name, list(FUNCTIONS), n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else f" (functions: {', '.join(FUNCTIONS)})"
            raise ExpressionError(f"unknown function {name!r}{extra}")
        if node.keywords:
            raise ExpressionError(f"{name}() takes its values in order, without names")
        function, low, high = FUNCTIONS[name]
        if not low <= len(node.args) <= high:
            count = f"{low}" if low == high else f"{low} to {high}"
            raise ExpressionError(f"{name}() takes {count} values, got {len(node.args)}")
        args = [self._build(a, depth) for a in node.args]
        return lambda values: function(*(a(values) for a in args))


def parse_expression(text: str, names) -> Expression:
    return Expression(text, frozenset(names))
