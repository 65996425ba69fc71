"""Stage 1, files -> documents: YAML/JSON read with positions, JSON Schema validation, and
formula text parsed into located syntax trees. Entry point: :func:`loader.load_ruleset`."""
