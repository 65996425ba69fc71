"""Stage 5, tables in -> a whole city cleared -> tables out. Entry point: :func:`run.run_batch`."""
