"""The trace drawn as trees of bounded depth, shared by the text, Markdown and HTML views."""

from __future__ import annotations

from collections import deque

TREE_DEPTH = 32  # levels of a trace tree drawn nested; a deeper rule continues as a tree of its own


class Forest:
    """The trees of a trace, drawn one after another, none deeper than :data:`TREE_DEPTH`.

    The targets are the first roots. A rule met at that depth is drawn there as a pointer
    and continues as a root of its own after the others, so a chain of thousands of rules
    neither recurses nor indents without bound (the output stays linear in the trace).
    """

    def __init__(self, targets):
        self.shown: set[str] = set()  # drawn in full
        self._roots = deque((target, False) for target in targets)

    def __iter__(self):
        while self._roots:
            node_id, continued = self._roots.popleft()
            if not (continued and node_id in self.shown):
                yield node_id

    def cut(self, node_id: str, depth: int, has_children: bool) -> bool:
        """True if the node is drawn here as a pointer (and queued as a root of its own)."""
        if depth < TREE_DEPTH or not has_children or node_id in self.shown:
            return False
        self._roots.append((node_id, True))
        return True
