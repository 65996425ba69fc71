"""Stage 3, checked ruleset + facts -> values, checks and traces: facts and records typed and
bounded, the Decimal evaluator and the fixed-point fast path. Entry point: :func:`driver.load_program`."""
