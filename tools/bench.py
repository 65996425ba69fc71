"""Benchmark: ruleset load + check time, and single-group clearings per second.

Usage: python tools/bench.py [--repeat N] [--json FILE]

Measures in one process, after a warm-up, the median of several runs:
- load: read YAML + JSON Schema + parse + type-check + build the graph + compile, per ruleset;
- clearing: evaluate every rule and check of the Sanya default example (one medical group),
  without and with a full trace.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rulesengine.driver import load_program  # noqa: E402
from rulesengine.errors import RulesError  # noqa: E402
from rulesengine.facts import bind_facts, example_facts  # noqa: E402
from rulesengine.loader import schema  # noqa: E402


def _median_seconds(action, runs: int) -> float:
    action()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_load(path: pathlib.Path, runs: int) -> float:
    schema("ruleset")  # the schema file is read once per process, as in real use
    return _median_seconds(lambda: load_program(str(path)), runs)


def bench_clearing(path: pathlib.Path, count: int, runs: int, trace: bool) -> float:
    program = load_program(str(path))
    facts = bind_facts(program.ruleset, example_facts(program.ruleset, None))

    def clear_many():
        for _ in range(count):
            program.evaluate(facts, trace=trace)
    return _median_seconds(clear_many, runs) / count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000, help="clearings per timed run")
    parser.add_argument("--runs", type=int, default=5, help="timed runs (median is reported)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)

    results = {"load_ms": {}, "clearing": {}}
    print(f"{'ruleset':<28} {'load+check+compile':>20}")
    for path in sorted((ROOT / "rulesets").glob("*.yaml")):
        try:
            seconds = bench_load(path, args.runs)
        except RulesError as err:
            print(f"{path.stem:<28} does not load: {err.message}")
            continue
        results["load_ms"][path.stem] = round(seconds * 1000, 2)
        print(f"{path.stem:<28} {seconds * 1000:>17.1f} ms")

    sanya = ROOT / "rulesets" / "sanya_2024.yaml"
    print(f"\n{'single-group clearing (Sanya)':<32} {'per clearing':>14} {'clearings/s':>12}")
    for label, trace in (("values and checks", False), ("with full trace", True)):
        seconds = bench_clearing(sanya, args.repeat, args.runs, trace)
        results["clearing"][label] = {"us_per_clearing": round(seconds * 1e6, 1),
                                      "clearings_per_s": round(1 / seconds)}
        print(f"{label:<32} {seconds * 1e6:>11.1f} µs {1 / seconds:>12,.0f}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    plain = results["clearing"]["values and checks"]["clearings_per_s"]
    print(f"\nsummary: sanya load {results['load_ms']['sanya_2024']} ms, "
          f"{plain:,} clearings/s untraced")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
