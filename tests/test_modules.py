"""Shared modules: include, override (a parameter's value, an input replaced by a rule),
the errors of overriding and including, citations with the module's document number, and
errors located in the module file.

Fixtures: tests/fixtures/modules/dip_small.yaml (医保办发〔2020〕50号):
  total_points = case_weight_total × base_score (base_score 100)
  point_value  = dip_budget ÷ total_points, 4 places
tests/fixtures/dip_plain.yaml includes it as it is (dip_budget an input; reserve = dip_budget × 5%);
tests/fixtures/dip_city.yaml (测〔2025〕7号) overrides base_score (1000) and replaces the input
dip_budget with the rule fund_total × dip_share (60%). Expected values are worked by hand.
"""

from __future__ import annotations

import json
import pathlib
import shutil
from decimal import Decimal as D

import jsonschema
import pytest

from conftest import METADATA, locate, same_file
from rulesengine.cli import main
from rulesengine.evaluate.driver import load_program
from rulesengine.core.errors import CheckFailed, RulesError, flatten
from rulesengine.evaluate.facts import bind_facts, example_facts, read_facts
from rulesengine.load.loader import schema
from rulesengine.check.model import Parameter, Rule
from rulesengine.views.report import dumps, run_json, trace_json

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
MODULE = FIXTURES / "modules" / "dip_small.yaml"
PLAIN = FIXTURES / "dip_plain.yaml"
CITY = FIXTURES / "dip_city.yaml"
MODULE_DOC = "医保办发〔2020〕50号"


# --- helpers ---------------------------------------------------------------------------------
def evaluate(path: pathlib.Path, trace: bool = False):
    prog = load_program(str(path))
    return prog, prog.evaluate(bind_facts(prog.ruleset, example_facts(prog.ruleset, None)), trace=trace)


def project(tmp_path, body: str, module_text: str | None = None) -> pathlib.Path:
    """A ruleset (METADATA + body) beside a modules/ folder holding dip_small (or module_text)."""
    (tmp_path / "modules").mkdir()
    target = tmp_path / "modules" / "dip_small.yaml"
    if module_text is None:
        shutil.copy(MODULE, target)
    else:
        target.write_text(module_text, encoding="utf-8")
    path = tmp_path / "city.yaml"
    path.write_text(METADATA + body, encoding="utf-8")
    return path


def load_errors(path: pathlib.Path) -> list[RulesError]:
    with pytest.raises(RulesError) as info:
        load_program(str(path))
    return flatten(info.value)


def at(err: RulesError, path: pathlib.Path, position: tuple[int, int]) -> bool:
    return err.span is not None and same_file(err.span.file, path) and \
        (err.span.line, err.span.col) == position


def cli(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


INCLUDE = "include:\n  - module: dip_small\n"
# METADATA is lines 1-8; INCLUDE lines 9-10; a section after it starts on line 11.
USE = "rules:\n  extra: {label: 附加, type: number, formula: total_points, citation: 二}\n"


# --- include and override -------------------------------------------------------------------------
def test_include_without_override_uses_the_module_as_written():
    _, ev = evaluate(PLAIN)
    assert ev.errors == []
    assert ev.values["total_points"] == 50000  # 500 × 100
    assert ev.values["point_value"] == D("12.0000")  # 600,000.00 ÷ 50,000 = 12
    assert ev.values["reserve"] == D("30000.00")  # 600,000.00 × 5%


def test_override_of_a_parameter_changes_the_result():
    prog, ev = evaluate(CITY)
    assert ev.errors == []
    assert ev.values["base_score"] == 1000
    assert ev.values["total_points"] == 500000  # 500 × 1000 (the module's 100 would give 50,000)
    assert ev.values["point_value"] == D("1.2000")  # 600,000.00 ÷ 500,000 = 1.2
    base = prog.ruleset.declarations["base_score"]
    assert isinstance(base, Parameter) and base.module is None and base.overrides == "dip_small"


def test_input_replaced_by_a_rule():
    prog, ev = evaluate(CITY)
    decl = prog.ruleset.declarations["dip_budget"]
    assert isinstance(decl, Rule) and decl.formula == "fund_total * dip_share"
    assert ev.values["dip_budget"] == D("600000.00")  # 1,000,000.00 × 60%
    assert prog.ruleset.modules["dip_small"].overridden == ["base_score", "dip_budget"]


def test_an_input_replaced_by_a_rule_is_no_longer_a_fact(tmp_path):
    prog = load_program(str(CITY))
    path = tmp_path / "facts.yaml"
    path.write_text("fund_total: 1000000.00\ncase_weight_total: 500\ndip_budget: 5.00\n",
                    encoding="utf-8")
    with pytest.raises(CheckFailed) as info:
        bind_facts(prog.ruleset, read_facts(str(path)))
    [err] = info.value.errors
    assert err.code == "unknown-fact" and "'dip_budget' is a rule" in err.message
    assert (err.span.line, err.span.col) == (3, 1)


def test_an_input_may_become_a_parameter(tmp_path):
    body = INCLUDE + """\
parameters:
  dip_budget: {overrides: dip_small, label: DIP预算（定额）, type: money, value: 300000.00, citation: 二}
""" + USE + """\
examples:
  e: {label: 例, facts: {case_weight_total: 200}}
"""
    prog = load_program(str(project(tmp_path, body)))
    ev = prog.evaluate(bind_facts(prog.ruleset, example_facts(prog.ruleset, None)))
    # total_points = 200 × 100 = 20,000; point_value = 300,000.00 ÷ 20,000 = 15
    assert ev.values["point_value"] == D("15.0000")


# --- errors of include and override -----------------------------------------------------------------
def test_override_with_another_type_is_an_error(tmp_path):
    body = INCLUDE + "parameters:\n  base_score: {overrides: dip_small, label: 基准, type: money, " \
                     "value: 1000.00, citation: 二}\n" + USE
    path = project(tmp_path, body)
    errors = load_errors(path)
    assert [e.code for e in errors] == ["type-mismatch"]
    err = errors[0]
    assert "'base_score' is number in module 'dip_small', but money here" in err.message
    assert at(err, path, (12, 3))  # the id on line 12, after 2 spaces
    assert same_file(err.related[0][1].file, tmp_path / "modules" / "dip_small.yaml")


def test_override_of_something_the_module_does_not_declare(tmp_path):
    body = INCLUDE + "parameters:\n  base_scor: {overrides: dip_small, label: 基准, type: number, " \
                     "value: 1000, citation: 二}\n" + USE
    path = project(tmp_path, body)
    errors = load_errors(path)
    assert [e.code for e in errors] == ["unknown-name"]
    assert "module 'dip_small' declares no 'base_scor' to override" in errors[0].message
    assert errors[0].hint == "did you mean 'base_score'?"
    assert at(errors[0], path, (12, 3))


def test_a_rule_cannot_override_a_parameter(tmp_path):
    body = INCLUDE + "rules:\n  base_score: {overrides: dip_small, label: 基准, type: number, " \
                     "formula: 2 * 500, citation: 二}\n"
    errors = load_errors(project(tmp_path, body))
    assert [e.code for e in errors] == ["type-mismatch"]
    assert "cannot override the parameter 'base_score'" in errors[0].message


def test_same_id_without_overrides_is_a_duplicate_with_hint(tmp_path):
    body = INCLUDE + "parameters:\n  base_score: {label: 基准, type: number, value: 1000, citation: 二}\n" + USE
    path = project(tmp_path, body)
    errors = load_errors(path)
    assert [e.code for e in errors] == ["duplicate-id"]
    assert "overrides: dip_small" in errors[0].hint
    assert at(errors[0], path, (12, 3))
    note_span = errors[0].related[0][1]
    assert same_file(note_span.file, tmp_path / "modules" / "dip_small.yaml")
    assert (note_span.line, note_span.col) == locate(MODULE, "base_score:")


def test_unknown_module_close_to_a_known_one(tmp_path):
    path = project(tmp_path, "include:\n  - module: dip_smal\n" + USE.replace("total_points", '"1"'))
    errors = load_errors(path)
    assert [e.code for e in errors] == ["unknown-name"]
    assert "unknown module 'dip_smal'" in errors[0].message
    assert errors[0].hint == "did you mean 'dip_small'?"
    assert at(errors[0], path, (10, 13))  # "  - module: " is 12 characters


def test_unknown_module_lists_the_modules(tmp_path):
    path = project(tmp_path, "include:\n  - module: drg_grouping\n" + USE.replace("total_points", '"1"'))
    errors = load_errors(path)
    assert [e.code for e in errors] == ["unknown-name"]
    assert "unknown module 'drg_grouping'" in errors[0].message
    assert errors[0].hint == "modules: dip_small"


def test_module_included_twice(tmp_path):
    body = "include:\n  - module: dip_small\n  - module: dip_small\n" + USE
    errors = load_errors(project(tmp_path, body))
    assert [e.code for e in errors] == ["duplicate-id"]
    assert errors[0].span.line == 11


def test_formula_error_in_a_module_is_located_in_the_module_file(tmp_path):
    text = MODULE.read_text(encoding="utf-8").replace("dip_budget / total_points",
                                                      "dip_budgt / total_points")
    path = project(tmp_path, INCLUDE + USE, text)
    module_file = tmp_path / "modules" / "dip_small.yaml"
    errors = load_errors(path)
    assert [e.code for e in errors] == ["unknown-name"]
    assert errors[0].hint == "did you mean 'dip_budget'?"
    assert at(errors[0], module_file, locate(module_file, "dip_budgt"))
    assert "point_value" in errors[0].context


def test_schema_error_in_a_module_is_located_in_the_module_file(tmp_path):
    text = MODULE.read_text(encoding="utf-8").replace("  base_score: {label", "  base_score: {labl: x, label")
    module_file = tmp_path / "modules" / "dip_small.yaml"
    errors = load_errors(project(tmp_path, INCLUDE + USE, text))
    schema_errors = [e for e in errors if e.code == "schema"]
    assert len(schema_errors) == 1
    assert "labl" in schema_errors[0].message and schema_errors[0].hint == "did you mean 'label'?"
    assert at(schema_errors[0], module_file, locate(module_file, "labl"))


def test_module_file_with_another_id_is_located_in_the_module_file(tmp_path):
    text = MODULE.read_text(encoding="utf-8").replace("id: dip_small", "id: dip_other")
    module_file = tmp_path / "modules" / "dip_small.yaml"
    errors = load_errors(project(tmp_path, INCLUDE + USE, text))
    bad = [e for e in errors if e.code == "bad-value"]
    assert len(bad) == 1
    assert at(bad[0], module_file, locate(module_file, "dip_other"))


# --- citations and traces ---------------------------------------------------------------------------
def test_module_declarations_cite_the_module_document_in_traces():
    prog, ev = evaluate(CITY, trace=True)
    trace = json.loads(dumps(trace_json(prog, ev)))
    jsonschema.Draft202012Validator(schema("trace")).validate(trace)
    nodes = {n["id"]: n for n in trace["nodes"]}
    assert nodes["point_value"]["reference"] == f"{MODULE_DOC} 五(三)"
    assert nodes["point_value"]["module"] == "dip_small"
    assert nodes["total_points"]["reference"] == f"{MODULE_DOC} 五(二)"
    assert nodes["case_weight_total"]["reference"] == f"{MODULE_DOC} 五(二)"
    # the overriding declarations are the city's own
    assert nodes["base_score"]["reference"] == "测〔2025〕7号 三(二)"
    assert "module" not in nodes["base_score"]
    assert nodes["dip_budget"]["reference"] == "测〔2025〕7号 三(一)"
    assert nodes["dip_budget"]["substituted"] == "1,000,000.00 * 60%"
    # the module's rule is located in the module file
    assert same_file(nodes["point_value"]["span"]["file"], MODULE)
    assert nodes["point_value"]["span"]["line"] == locate(MODULE, "dip_budget / total_points")[0]


def test_trace_json_lists_modules_and_overridden_ids():
    prog, ev = evaluate(CITY, trace=True)
    [module] = trace_json(prog, ev)["modules"]
    assert module["id"] == "dip_small"
    assert module["document_number"] == MODULE_DOC
    assert module["title"] == "按病种分值付费点数法（测试模块）"
    assert module["overridden"] == ["base_score", "dip_budget"]
    assert same_file(module["file"], MODULE)


def test_trace_json_of_plain_include_lists_no_overrides():
    prog, ev = evaluate(PLAIN, trace=True)
    [module] = trace_json(prog, ev)["modules"]
    assert module["overridden"] == []


def test_check_in_a_module_cites_the_module_document(tmp_path):
    text = MODULE.read_text(encoding="utf-8") + """\
checks:
  budget_positive: {label: 预算为正, condition: dip_budget > 0, message: DIP预算应为正数, citation: 五(四)}
"""
    body = INCLUDE + USE + "examples:\n  e: {label: 例, facts: {dip_budget: 0, case_weight_total: 1}}\n"
    prog = load_program(str(project(tmp_path, body, text)))
    ev = prog.evaluate(bind_facts(prog.ruleset, example_facts(prog.ruleset, None)))
    [check] = ev.failed_checks
    assert check.id == "budget_positive"
    assert check.reference == f"{MODULE_DOC} 五(四)"
    data = run_json(prog, ev)
    assert data["checks"][0]["reference"] == f"{MODULE_DOC} 五(四)"


# --- command line ---------------------------------------------------------------------------------
def test_cli_validate_and_run_a_ruleset_with_a_module(capsys):
    status, out, _ = cli(capsys, "validate", CITY)
    assert status == 0 and "ok" in out
    status, out, _ = cli(capsys, "run", CITY, "--example", "--format", "json")
    assert status == 0
    values = json.loads(out)["values"]
    # 1,000,000.00 × 60% = 600,000.00; 500 × 1000 = 500,000; 600,000.00 ÷ 500,000 = 1.2
    assert values["dip_budget"] == "600000.00"
    assert values["total_points"] == "500000"
    assert values["point_value"] == "1.2000"


def test_cli_explain_text_shows_the_module_and_its_document(capsys):
    status, out, _ = cli(capsys, "explain", CITY, "point_value", "--example")
    assert status == 0
    assert f"includes: dip_small 按病种分值付费点数法（测试模块）（{MODULE_DOC}）" in out
    assert f"{MODULE_DOC} 五(三)" in out
    assert "测〔2025〕7号 三(二)" in out  # base_score, overridden by the city


def test_cli_module_error_exits_2_located_in_module(tmp_path, capsys):
    text = MODULE.read_text(encoding="utf-8").replace("dip_budget / total_points",
                                                      "dip_budgt / total_points")
    path = project(tmp_path, INCLUDE + USE, text)
    status, _, err = cli(capsys, "validate", path)
    assert status == 2
    line, col = locate(tmp_path / "modules" / "dip_small.yaml", "dip_budgt")
    assert f"dip_small.yaml:{line}:{col}: error[unknown-name]: unknown name 'dip_budgt'" in err


# --- entities in modules ----------------------------------------------------------------------------
CASES_MODULE = FIXTURES / "modules" / "dip_cases.yaml"
EXTEND = """\
include:
  - module: dip_cases
entities:
  institution:
    overrides: dip_cases
    label: 医疗机构
    collection: institutions
    key: code
    citation: 三
    fields:
      grade: {label: 等级系数, type: rate, citation: 三}
    rules:
      payable: {overrides: dip_cases, label: 应支付（本市）, type: money, formula: points * point_value * grade, citation: 四}
rules:
  total_payable: {label: 应支付合计, type: money, formula: sum(institutions.payable), citation: 五}
examples:
  e:
    label: 例
    facts:
      dip_budget: 1000.00
      institutions:
        - {code: H1, grade: 90%, cases: [{id: C1, score: 10}]}
        - {code: H2, grade: 100%, cases: [{id: C2, score: 30}]}
"""


def cases_project(tmp_path, body: str) -> pathlib.Path:
    (tmp_path / "modules").mkdir()
    shutil.copy(CASES_MODULE, tmp_path / "modules" / "dip_cases.yaml")
    path = tmp_path / "city.yaml"
    path.write_text(METADATA + body, encoding="utf-8")
    return path


def test_ruleset_extends_a_module_entity_and_overrides_its_rule(tmp_path):
    prog = load_program(str(cases_project(tmp_path, EXTEND)))
    ev = prog.evaluate(bind_facts(prog.ruleset, example_facts(prog.ruleset, None)), trace=True)
    assert ev.errors == []
    # total_points = 10 + 30 = 40; point_value = 1000.00 ÷ 40 = 25
    # payable: H1 10 × 25 × 90% = 225.00; H2 30 × 25 × 100% = 750.00; total 975.00
    payable = dict(zip(ev.keys("institution.payable", prog.ruleset), ev.values["institution.payable"]))
    assert payable == {"H1": D("225.00"), "H2": D("750.00")}
    assert ev.values["total_payable"] == D("975.00")
    assert prog.ruleset.modules["dip_cases"].overridden == ["institution.payable"]
    nodes = {n["id"]: n for n in trace_json(prog, ev)["nodes"]}
    assert nodes["institution.payable"]["reference"] == "测〔2024〕1号 四"
    assert nodes["institution.points"]["reference"] == f"{MODULE_DOC} 4"


def test_module_entity_can_be_extended_with_rules_only(tmp_path):
    body = EXTEND.replace("    fields:\n      grade: {label: 等级系数, type: rate, citation: 三}\n", "") \
        .replace(" * grade", " * 90%").replace(", grade: 90%", "").replace(", grade: 100%", "")
    prog = load_program(str(cases_project(tmp_path, body)))
    ev = prog.evaluate(bind_facts(prog.ruleset, example_facts(prog.ruleset, None)))
    # 10 × 25 × 90% = 225.00; 30 × 25 × 90% = 675.00; total 900.00
    assert ev.values["total_payable"] == D("900.00")
