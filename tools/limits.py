"""Measure the cost of each refusal of the README's "Limits and guarantees".

Usage: python tools/limits.py [--json FILE] [CASE ...]

Each case builds a hostile input in a temporary folder, then runs ``rulesengine`` on it in a
fresh process and reports the exit status, the error code, the wall time (interpreter start
included, about 0.5 s) and the process's peak resident memory (ru_maxrss). A bound is cheap when
its refusal costs about as much as reading the input once. The tests assert the refusals
(tests/test_safety.py, tests/test_hostile.py); the times live here, not in the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import METADATA  # noqa: E402
from rulesengine.load.document import MAX_FILE_BYTES  # noqa: E402

SANYA = str(ROOT / "rulesets" / "sanya_2024.yaml")
CHONGQING = str(ROOT / "rulesets" / "chongqing_2019.yaml")
RECORDS = str(ROOT / "tests" / "bad" / "_records_base.yaml")


def _write(folder: pathlib.Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _bomb(levels: int, width: int) -> str:
    lines = [f"lol0: &a0 [{', '.join(['x'] * width)}]"]
    lines += [f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _chain(length: int) -> str:
    rules = ["  r0: {label: 链0, type: money, formula: a + a, citation: 二}"]
    rules += [f"  r{i}: {{label: 链{i}, type: money, formula: r{i - 1} + a, citation: 二}}"
              for i in range(1, length)]
    return METADATA + "inputs:\n  a: {label: 甲, type: money, citation: 一}\nrules:\n" + "\n".join(rules) + "\n"


def _aliased_formulas(copies: int) -> str:
    formula = "min(" + ", ".join(["a"] * 3_332) + ")"
    rules = [f"  r0: {{label: 乙, type: money, formula: &f \"{formula}\", citation: 二}}"]
    rules += [f"  r{i}: {{label: 乙, type: money, formula: *f, citation: 二}}" for i in range(1, copies)]
    return METADATA + "inputs:\n  a: {label: 甲, type: money, citation: 一}\nrules:\n" + "\n".join(rules) + "\n"


def _bad_records(count: int) -> str:
    members = [{"code": f"H{i:06d}", "budget": "1,000.00"} for i in range(count)]
    return json.dumps({"community_code": "YGT01", "grade": "良好", "members": members},
                      ensure_ascii=False, indent=1)


def _big_file(folder: pathlib.Path) -> str:
    path = folder / "big.yaml"
    with open(path, "wb") as handle:
        handle.write(b"#" + b" " * MAX_FILE_BYTES + b"\n")
    return str(path)


def cases(folder: pathlib.Path) -> dict[str, list[str]]:
    """name -> rulesengine arguments; each input is written into ``folder``."""
    chain = _write(folder, "chain.yaml", _chain(3_000))
    facts = _write(folder, "a.yaml", "a: 1.00\n")
    return {
        "file over 16 MiB": ["run", SANYA, "--facts", _big_file(folder)],
        "alias bomb 10^9 (ruleset)": ["validate", str(ROOT / "tests" / "bad" / "yaml_alias_bomb.yaml")],
        "alias bomb 10^12 (facts)": ["run", SANYA, "--facts", _write(folder, "bomb.yaml", _bomb(4, 1000))],
        "2 MB facts, 1,000,000 values": ["run", RECORDS, "--facts", _write(
            folder, "million.json", "extra: [" + ",".join(["1"] * 1_000_000) + "]\n")],
        "facts nested 50,000 levels": ["run", RECORDS, "--facts", _write(
            folder, "deep.json", '{"grade": ' + "[" * 50_000 + "]" * 50_000 + "}")],
        "formula aliased 3,000 times": ["validate", _write(folder, "aliased.yaml", _aliased_formulas(3_000))],
        "5,000 bad records": ["run", RECORDS, "--facts", _write(folder, "bad.json", _bad_records(5_000))],
        "enum value of 1,000,000 characters": ["run", RECORDS, "--facts", _write(
            folder, "enum.yaml", "community_code: Y\ngrade: " + "优" * 1_000_000 + "\nmembers: []\n")],
        "explain html, 3,000-rule chain": ["explain", chain, "r2999", "--facts", facts, "--format", "html",
                                           "-o", str(folder / "chain.html")],
        "explain text, 3,000-rule chain": ["explain", chain, "r2999", "--facts", facts,
                                           "-o", str(folder / "chain.txt")],
    }


# The child runs the command and writes its own peak resident memory (ru_maxrss, KiB on Linux).
_CHILD = """import os, resource, sys
from rulesengine.cli import main
try:
    status = main(sys.argv[1:])
finally:
    with open(os.environ["LIMITS_PEAK_FILE"], "w") as handle:
        handle.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
sys.exit(status)
"""


def measure(args: list[str], folder: pathlib.Path) -> dict:
    """Run ``rulesengine ARGS`` in a child process: status, first error code, seconds, peak MiB."""
    peak_file = folder / "peak.txt"
    env = dict(os.environ, LIMITS_PEAK_FILE=str(peak_file))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _CHILD, *args], cwd=ROOT, capture_output=True, env=env,
                          text=True, encoding="utf-8", errors="replace")
    seconds = time.perf_counter() - start
    peak = int(peak_file.read_text()) if peak_file.exists() else 0
    code = re.search(r"error\[([a-z-]+)\]", done.stderr)
    return {"status": done.returncode, "code": code.group(1) if code else "-", "seconds": round(seconds, 2),
            "peak_mib": round(peak / 1024, 1), "stderr_chars": len(done.stderr)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="CASE", help="substrings of case names (default: all)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    options = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in cases(pathlib.Path(tmp)).items():
            if options.names and not any(n in name for n in options.names):
                continue
            results[name] = measure(args, pathlib.Path(tmp))
            row = results[name]
            print(f"{name:38} exit {row['status']:>3}  {row['code']:15} {row['seconds']:7.2f} s "
                  f"{row['peak_mib']:8.1f} MiB  stderr {row['stderr_chars']:,} chars", flush=True)
    if options.json:
        pathlib.Path(options.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0 if all(r["status"] in (0, 1, 2) for r in results.values()) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
