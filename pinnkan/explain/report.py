"""``formula.txt`` and ``formula.json``: the formulas an explanation found, written atomically.

formula.json holds, per field, the readable formula (``str``), its sympy ``srepr`` (which
:func:`read_formulas` turns back into the same expression), the errors, and the edge fits.
:func:`read_formulas` parses srepr text without running it: only sympy constructors, numbers,
strings and keyword arguments are accepted.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import sympy as sp

from pinnkan.errors import PinnkanError
from pinnkan.output.atomic import atomic_path, write_json


def formula_text(report: dict) -> str:
    """The readable summary: one block per field with its formula and errors."""
    lines = []
    for name, f in report["fields"].items():
        lines.append(f"{name} = {f['formula']}")
        for key, label in (("rel_l2_vs_network", "rel L2 against the network"),
                           ("rel_l2_vs_exact", "rel L2 against the exact solution"),
                           ("network_rel_l2_vs_exact", "(the network against the exact solution)")):
            if f.get(key) is not None:
                lines.append(f"    {label}: {f[key]:.3e}")
        if f.get("fitted") and f["fitted"] != f["formula"]:
            lines.append(f"    before simplification: {f['fitted']}")
        lines.append("")
    for key, label in (("loss_before_refinement", "PDE loss of the fitted formula"),
                       ("loss_after_refinement", "PDE loss after refining its constants")):
        if report.get(key) is not None:
            lines.append(f"{label}: {report[key]:.3e}")
    return "\n".join(lines).rstrip() + "\n"


def write_formulas(out_dir, report: dict) -> dict[str, Path]:
    """Write ``formula.txt`` and ``formula.json`` of ``report`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    txt = out / "formula.txt"
    with atomic_path(txt) as tmp:
        tmp.write_text(formula_text(report))
    return {"formula_txt": txt, "formula_json": write_json(out / "formula.json", report)}


_ALLOWED = {name for name in dir(sp) if isinstance(getattr(sp, name), type)} | {"Float", "Integer", "Rational"}


def parse_srepr(text: str) -> sp.Expr:
    """The sympy expression of ``srepr`` text, built node by node: calls of sympy classes with
    numeric, string or nested arguments only (nothing else is evaluated)."""
    def build(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -build(node.operand)
        if isinstance(node, ast.Name) and isinstance(getattr(sp, node.id, None), sp.Basic):
            return getattr(sp, node.id)  # pi, E, oo, ...
        if isinstance(node, ast.Tuple):
            return tuple(build(e) for e in node.elts)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _ALLOWED:
            cls = getattr(sp, node.func.id)
            return cls(*[build(a) for a in node.args], **{k.arg: build(k.value) for k in node.keywords})
        raise ValueError(f"unexpected {ast.dump(node)[:60]}")

    try:
        return build(ast.parse(text.strip(), mode="eval").body)
    except (SyntaxError, ValueError, TypeError) as exc:
        raise PinnkanError(f"Not a sympy srepr formula ({exc}): {text[:80]!r}") from None


def read_formulas(path) -> dict[str, sp.Expr]:
    """{field: sympy expression} of a formula.json written by :func:`write_formulas`."""
    path = Path(path)
    try:
        report = json.loads(path.read_text())
        return {name: parse_srepr(f["srepr"]) for name, f in report["fields"].items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PinnkanError(f"{path} is not a formula.json written by pinnkan explain ({exc}).") from None
