"""Stage 2, document -> checked ruleset and its dependency graph: the model, names and types
(the unit algebra), cycles and plans. Entry point: :func:`checker.check`."""
