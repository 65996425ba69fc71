"""Stage 5, programs over checked rulesets: a ruleset's own tests, clause coverage, comparison
of regimes and differences between versions."""
