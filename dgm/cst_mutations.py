"""libcst primitives shared by genome mutation (GI) and bug injection: operator swaps and
replacing one node of a tree by identity."""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

BINARY_SWAPS: dict[type, type] = {
    cst.Add: cst.Subtract, cst.Subtract: cst.Add, cst.Multiply: cst.FloorDivide,
    cst.FloorDivide: cst.Multiply, cst.Divide: cst.Multiply,
}
COMPARISON_SWAPS: dict[type, type] = {
    cst.LessThan: cst.LessThanEqual, cst.LessThanEqual: cst.LessThan,
    cst.GreaterThan: cst.GreaterThanEqual, cst.GreaterThanEqual: cst.GreaterThan,
    cst.Equal: cst.NotEqual, cst.NotEqual: cst.Equal, cst.In: cst.NotIn, cst.NotIn: cst.In,
    cst.Is: cst.IsNot, cst.IsNot: cst.Is,
}
BOOLEAN_SWAPS: dict[type, type] = {cst.And: cst.Or, cst.Or: cst.And}


def swapped_operator(node: cst.CSTNode) -> cst.CSTNode:
    """`node` with its operator swapped for its counterpart (the node must have a swappable one)."""
    for table in (BINARY_SWAPS, COMPARISON_SWAPS, BOOLEAN_SWAPS):
        if type(node.operator) in table:  # type: ignore[attr-defined]
            return node.with_changes(operator=table[type(node.operator)]())  # type: ignore[attr-defined]
    raise ValueError(f"{type(node).__name__} has no swappable operator")


class ReplaceOne(cst.CSTTransformer):
    """Replace the one node that is `target` (by identity) with `make(updated node)`."""

    def __init__(self, target: cst.CSTNode, make: Callable[[cst.CSTNode], cst.CSTNode]) -> None:
        self.target, self.make = target, make

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        return self.make(updated_node) if original_node is self.target else updated_node
