"""Stage 0, the ground every other stage stands on: source positions, the one error hierarchy,
the message catalogue, value types and their coercion, the builtin functions, the glossary and
atomic file output. Imports nothing from the stages above."""
