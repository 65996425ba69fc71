"""Safety (issue 6, part 2) through the command line: YAML alias bombs are refused, no
formula, name or fact value reaches Python (eval, exec, imports, attributes), and files,
formulas, nesting and numbers are bounded, each refusal a located error with exit status 2.

No test asserts a time: each asserts the refusal (its code and place); how long each refusal
takes and how much memory it needs is measured by ``tools/limits.py``. The catalogue (tests/bad/)
holds one file per mistake; these tests add the limits the catalogue cannot show in a file of
its own (a file over 16 MiB, bombs as facts, spies on Python's eval/exec, limits crossed by one).
"""

from __future__ import annotations

import builtins
import json
import pathlib
import subprocess
import sys

import pytest

from conftest import METADATA
from rulesengine.cli import main
from rulesengine.load.document import MAX_FILE_BYTES, MAX_NESTING, MAX_NODES
from rulesengine.load.parser import MAX_DEPTH, MAX_FORMULA_CHARS

ROOT = pathlib.Path(__file__).resolve().parent.parent
SANYA = "rulesets/sanya_2024.yaml"
CHONGQING = "rulesets/chongqing_2019.yaml"


def cli(*args: str) -> subprocess.CompletedProcess:
    """``rulesengine ARGS`` in a fresh process."""
    return subprocess.run([sys.executable, "-m", "rulesengine", *args], cwd=ROOT, capture_output=True,
                          text=True, encoding="utf-8")


def refused(done: subprocess.CompletedProcess, code: str) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert f"error[{code}]" in done.stderr, done.stderr
    return done.stderr


def run(capsys, *args: str) -> tuple[int, str]:
    """``rulesengine ARGS`` in this process: (exit status, stderr)."""
    status = main(list(args))
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err
    return status, err


def refused_here(capsys, code: str, *args: str) -> str:
    status, err = run(capsys, *args)
    assert status == 2 and f"error[{code}]" in err, err
    return err


def sanya_facts() -> dict:
    from rulesengine.load.loader import load_ruleset
    facts = load_ruleset(str(ROOT / SANYA)).value["examples"]["group_2024"]["facts"]
    return {k: (v if isinstance(v, (bool, str, int)) else str(v)) for k, v in facts.items()}


def ruleset(tmp_path, body: str, name: str = "r.yaml") -> str:
    path = tmp_path / name
    path.write_text(METADATA + body, encoding="utf-8")
    return str(path)


# --- YAML alias expansion ("billion laughs") -----------------------------------------------------------
def bomb(levels: int, width: int, key: str = "lol") -> str:
    lines = [f"{key}0: &a0 [{', '.join(['x'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"{key}{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_ruleset_is_refused():
    # tests/bad/yaml_alias_bomb.yaml: 9 levels of 10 aliases, 10^9 values once expanded
    stderr = refused(cli("validate", "tests/bad/yaml_alias_bomb.yaml"), "load-error")
    assert f"more than {MAX_NODES:,} values" in stderr


# Each is refused once MAX_NODES values are built (tools/limits.py measures how fast).
@pytest.mark.parametrize("levels, width", [(9, 10), (30, 2), (4, 1000)], ids=["10^9", "2^30", "10^12"])
def test_billion_laughs_facts_file_is_refused(tmp_path, capsys, levels, width):
    facts = tmp_path / "facts.yaml"
    facts.write_text(bomb(levels, width), encoding="utf-8")
    stderr = refused_here(capsys, "load-error", "run", SANYA, "--facts", str(facts))
    assert "aliases" in stderr


def test_aliases_in_mappings_are_bounded_too(tmp_path, capsys):
    lines = ["m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}"]
    lines += [f"m{i}: &m{i} {{a: *m{i - 1}, b: *m{i - 1}, c: *m{i - 1}, d: *m{i - 1}, "
              f"e: *m{i - 1}, f: *m{i - 1}, g: *m{i - 1}, h: *m{i - 1}}}" for i in range(1, 12)]
    facts = tmp_path / "facts.yaml"
    facts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    refused_here(capsys, "load-error", "run", SANYA, "--facts", str(facts))


def test_a_few_aliases_are_fine(tmp_path):
    # aliases themselves are allowed: one amount written once and used for two facts
    facts = sanya_facts()
    lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in facts.items()]
    lines = [line for line in lines if not line.startswith(("general_outpatient", "chronic_outpatient"))]
    lines += ["general_outpatient: &amount 1000.00", "chronic_outpatient: *amount"]
    path = tmp_path / "facts.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = cli("run", SANYA, "--facts", str(path), "--target", "outpatient_total")
    assert done.returncode == 0, done.stderr
    assert "4,502,000.00" in done.stdout  # 1,000.00 + 1,000.00 + 4,500,000.00 (两病)


# --- nothing reaches Python ---------------------------------------------------------------------------
HOSTILE_FORMULAS = [
    '__import__("os")', "__import__('os').system('id')", '__import__("os").system("id")',
    "__builtins__", "__class__", "a.__class__", "a.__class__.__mro__", "a.__class__.__mro__[1]",
    "a.__class__.__mro__[1].__subclasses__()", "a.__class__.__bases__[0].__subclasses__()",
    "a.__dict__", "a.__globals__", "a.real", "__loader__", "__name__", "__spec__",
    'eval("1")', "eval(a)", 'exec("x = 1")', 'compile("1", "f", "eval")', 'getattr(a, "__class__")',
    'open("/etc/passwd")', "globals()", "locals()", "vars()", "breakpoint()", "type(a)", "help()",
    "().__class__", '"".__class__', "[].__class__", "lambda: 0", "(x for x in a)", "a if a else a",
    "a; import os", "a # comment", "`id`", "$(id)", "${a}", "{{a}}", "a.__class__(1)",
    "min.__call__(a, a)", "round.__globals__", "date.__class__", "sum(a.__class__)",
    'a == "__import__(\'os\')"',
]
ALLOWED_CODES = {"unknown-name", "unknown-function", "formula-syntax", "argument-count",
                 "type-mismatch", "unknown-enum-value"}


@pytest.fixture
def python_spies(monkeypatch):
    """Record every eval or exec of source text while the engine runs."""
    calls = []
    for name in ("eval", "exec"):
        real = getattr(builtins, name)

        def spy(*args, _name=name, _real=real, **kwargs):
            if args and isinstance(args[0], (str, bytes)):  # source text (imports exec code objects)
                calls.append((_name, args[0]))
            return _real(*args, **kwargs)
        monkeypatch.setattr(builtins, name, spy)
    return calls


@pytest.mark.parametrize("formula", HOSTILE_FORMULAS)
def test_no_formula_reaches_python(tmp_path, capsys, python_spies, formula):
    body = ("inputs:\n  a: {label: 甲, type: money, citation: 一}\nrules:\n"
            f"  r: {{label: 乙, type: money, formula: {json.dumps(formula)}, citation: 二}}\n")
    status = main(["validate", ruleset(tmp_path, body)])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err and "internal error" not in err, err
    codes = set(__import__("re").findall(r"error\[([a-z-]+)\]", err))
    assert codes and codes <= ALLOWED_CODES, err
    assert python_spies == []


def test_fact_values_and_keys_are_data_never_code(tmp_path, capsys, python_spies):
    # A text fact that looks like code is compared as text; a key that looks like Python is unknown.
    sentinel = tmp_path / "ran"
    from rulesengine.load.loader import load_ruleset
    facts = load_ruleset(str(ROOT / CHONGQING)).value["examples"]["tongnan_2019"]["facts"]
    facts = json.loads(json.dumps(facts, default=str))
    facts["community_code"] = f"__import__('os').system('touch {sentinel}')"
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts, ensure_ascii=False), encoding="utf-8")
    status = main(["run", CHONGQING, "--facts", str(path), "--format", "json"])
    out = capsys.readouterr().out
    assert status in (0, 1) and not sentinel.exists()
    assert python_spies == []
    assert json.loads(out)["values"]["member.filed_here"] == dict.fromkeys(
        [m["code"] for m in facts["members"]], False)  # the filings name the real code
    facts["__class__"] = 1
    path.write_text(json.dumps(facts, ensure_ascii=False), encoding="utf-8")
    assert main(["run", CHONGQING, "--facts", str(path)]) == 2
    err = capsys.readouterr().err  # not an id: refused by the facts schema, before any lookup
    assert "error[schema]" in err and "'__class__'" in err


def test_yaml_tags_cannot_construct_python_objects(tmp_path, capsys, python_spies):
    sentinel = tmp_path / "ran"
    for tag in (f"!!python/object/apply:os.system ['touch {sentinel}']",
                f"!!python/object/new:os.system ['touch {sentinel}']", "!!python/name:os.system",
                "!!python/module:os", "!!python/tuple [1, 2]"):
        facts = tmp_path / "facts.yaml"
        facts.write_text(f"employee_budget_base: {tag}\n", encoding="utf-8")
        refused_here(capsys, "load-error", "run", SANYA, "--facts", str(facts))
        assert not sentinel.exists() and python_spies == []


# --- sizes and limits --------------------------------------------------------------------------------
def test_facts_file_over_the_size_limit_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    with open(path, "wb") as handle:  # a valid YAML comment, one byte over the limit
        handle.write(b"#" + b" " * (MAX_FILE_BYTES - 1) + b"\n")
    assert path.stat().st_size == MAX_FILE_BYTES + 1
    stderr = refused(cli("run", SANYA, "--facts", str(path)), "file-unreadable")
    assert "larger than 16 MiB" in stderr


def test_ruleset_file_over_the_size_limit_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(METADATA.encode() + b"#" * MAX_FILE_BYTES)
    refused(cli("validate", str(path)), "file-unreadable")


@pytest.mark.parametrize("length, ok", [(MAX_FORMULA_CHARS, True), (MAX_FORMULA_CHARS + 1, False),
                                        (10 * MAX_FORMULA_CHARS, False)])
def test_formula_length_limit(tmp_path, capsys, length, ok):
    formula = "a" + " " * (length - 5) + " + a"  # blanks count: a formula of exactly `length`
    assert len(formula) == length
    body = ("inputs:\n  a: {label: 甲, type: money, citation: 一}\n"
            f"rules:\n  r: {{label: 乙, type: money, formula: \"{formula}\", citation: 二}}\n")
    path = ruleset(tmp_path, body)
    status = main(["validate", path])
    err = capsys.readouterr().err
    if ok:
        assert status == 0, err
    else:
        assert status == 2 and "error[formula-syntax]" in err and "longer than 10,000" in err, err
        line = pathlib.Path(path).read_text(encoding="utf-8").splitlines()[11]  # line 12: rule r
        assert f":12:{line.index('formula: ') + 11}: error[formula-syntax]" in err, err


@pytest.mark.parametrize("formula", [
    "-" * MAX_DEPTH + "a",                               # unary minus, one level too deep
    "abs(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH,          # nested calls
    "(" * 4000 + "a" + ")" * 4000 + " + " + "-" * 200 + "a",
    "if true then " * 120 + "a" + " else a" * 120,
    "not " * 200 + "true",
    "min(" * 150 + "a" + ", a)" * 150,
    "a" + " + a" * 2400,                                 # 2,401 terms: a left-deep sum
], ids=["unary", "calls", "brackets-then-unary", "if", "not", "min", "long-sum"])
def test_deep_nesting_is_refused(tmp_path, capsys, formula):
    kind = "boolean" if formula.startswith("not") else "money"
    body = ("inputs:\n  a: {label: 甲, type: money, citation: 一}\nrules:\n"
            f"  r: {{label: 乙, type: {kind}, formula: \"{formula}\", citation: 二}}\n")
    stderr = refused_here(capsys, "formula-syntax", "validate", ruleset(tmp_path, body))
    assert f"more than {MAX_DEPTH} operations deep" in stderr


def test_brackets_alone_are_not_nesting(tmp_path, capsys):
    body = ("inputs:\n  a: {label: 甲, type: money, citation: 一}\nrules:\n"
            f"  r: {{label: 乙, type: money, formula: \"{'(' * 3000}a{')' * 3000}\", citation: 二}}\n")
    assert main(["validate", ruleset(tmp_path, body)]) == 0, capsys.readouterr().err


def nested_facts(tmp_path, depth: int, shape: str) -> str:
    facts = sanya_facts()
    facts.pop("budget_adjustment")
    text = json.dumps(facts, ensure_ascii=False)[:-1]
    nested = "[" * depth + "1" + "]" * depth if shape == "list" else '{"a": ' * depth + "1" + "}" * depth
    path = tmp_path / "facts.json"
    path.write_text(text + ', "budget_adjustment": ' + nested + "}", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("depth", [100, 400, 480, 1000])
@pytest.mark.parametrize("shape", ["list", "map"])
def test_deeply_nested_facts_are_refused(tmp_path, capsys, depth, shape):
    status, err = run(capsys, "run", SANYA, "--facts", nested_facts(tmp_path, depth, shape))
    assert status == 2
    assert ("error[load-error]" in err and "nested too deeply" in err) or \
        "error[bad-fact]" in err or "error[schema]" in err, err


@pytest.mark.parametrize("shape", ["list", "map"])
def test_very_deeply_nested_facts_are_refused_at_the_level_that_crosses(tmp_path, capsys, shape):
    path = nested_facts(tmp_path, 50_000, shape)
    err = refused_here(capsys, "load-error", "run", SANYA, "--facts", path)
    assert "nested too deeply" in err
    # the value that opens level MAX_NESTING + 1: the top mapping is level 1, its value level 2
    text = pathlib.Path(path).read_text(encoding="utf-8")
    start = text.index('"budget_adjustment": ') + len('"budget_adjustment": ')
    step = 1 if shape == "list" else len('{"a": ')
    assert f"facts.json:1:{start + (MAX_NESTING - 1) * step + 1}:" in err, err


NUMBER_RULESET = """\
inputs:
  n: {label: 系数, type: number, citation: 一}
  m: {label: 金额, type: money, citation: 一}
rules:
  square: {label: 平方, type: number, formula: n * n, citation: 二}
  scaled: {label: 金额乘系数, type: money, formula: m * n, citation: 二}
"""


@pytest.mark.parametrize("value, code", [
    ("1e+1000000", "bad-fact"), ("-1e+1000000", "bad-fact"), ("1e-1000000", "bad-fact"),
    ("1e+999999999", "bad-fact"), ("1e-99999999", "bad-fact"),
    ("9" * 101, "load-error"), ('"' + "9" * 101 + '"', "bad-fact"), ('"' + "9" * 100_000 + '"', "bad-fact"),
    ("1" + "0" * 5000, "load-error"), ("1e+9999999999999999", "bad-fact"),
])
def test_huge_exponents_and_numbers_in_facts_are_refused(tmp_path, capsys, value, code):
    path = tmp_path / "facts.yaml"
    path.write_text(f"n: {value}\nm: 1.00\n", encoding="utf-8")
    err = refused_here(capsys, code, "run", ruleset(tmp_path, NUMBER_RULESET), "--facts", str(path))
    assert "facts.yaml:1:4:" in err  # at the value


@pytest.mark.parametrize("value", ["1e+999999", "9.99e+999999", "1e+500000", "-1e+500000"])
def test_largest_exponents_are_accepted_and_overflow_is_a_located_error(tmp_path, capsys, value):
    # 10^999999 is the largest number a fact may hold; its square overflows the evaluator's
    # range (10^999999) and m * n does not fit money: both are located arithmetic errors
    path = tmp_path / "facts.yaml"
    path.write_text(f"n: {value}\nm: 1.00\n", encoding="utf-8")
    stderr = refused_here(capsys, "arithmetic", "run", ruleset(tmp_path, NUMBER_RULESET),
                          "--facts", str(path))
    assert ":13:" in stderr and ":14:" in stderr  # both rules' lines: METADATA is 8 lines, then 5


def test_tiny_numbers_underflow_to_zero_without_error(tmp_path, capsys):
    path = tmp_path / "facts.yaml"
    path.write_text("n: 1e-999999\nm: 1.00\n", encoding="utf-8")
    assert main(["run", ruleset(tmp_path, NUMBER_RULESET), "--facts", str(path), "--format", "json"]) == 0
    values = json.loads(capsys.readouterr().out)["values"]
    assert values["square"] == "0" and values["scaled"] == "0.00"


# --- magnitudes beyond Decimal, long lines, oversized files --------------------------------------------
@pytest.mark.parametrize("value", ["1e+99999999999999999999", "1e-99999999999999999999",
                                   "1.5E+9999999999999999999"])
@pytest.mark.parametrize("kind", ["number", "money"])
def test_exponent_beyond_decimal_limits_is_a_bad_fact(tmp_path, value, kind):
    path = tmp_path / "facts.yaml"
    path.write_text(f"n: {value if kind == 'number' else 1}\nm: {value if kind == 'money' else 1}\n",
                    encoding="utf-8")
    refused(cli("run", ruleset(tmp_path, NUMBER_RULESET), "--facts", str(path)), "bad-fact")


def test_exponent_beyond_decimal_limits_in_a_ruleset_is_a_bad_value(tmp_path):
    body = ("parameters:\n  k: {label: 系数, type: number, value: 1e+99999999999999999999, citation: 一}\n"
            "rules:\n  r: {label: 乙, type: number, formula: k * 2, citation: 二}\n")
    refused(cli("validate", ruleset(tmp_path, body)), "bad-value")


def test_an_error_in_a_long_line_prints_a_short_excerpt(tmp_path):
    facts = sanya_facts()
    facts["budget_adjustment"] = "1,234.50"  # one bad value ...
    facts.update({f"x{i}": "padding" for i in range(2000)})  # ... on a line of ~30,000 characters
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts, ensure_ascii=False), encoding="utf-8")
    done = cli("run", SANYA, "--facts", str(path))
    assert done.returncode == 2 and "error[bad-fact]" in done.stderr
    assert len(done.stderr) < 5_000 * (done.stderr.count("error[") or 1)


def test_size_limit_error_has_a_hint(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    assert "hint:" in refused(cli("run", SANYA, "--facts", str(path)), "file-unreadable")
