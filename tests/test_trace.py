"""Traces: schema-valid JSON, byte-identical across runs, every value with a source."""

import json

import jsonschema

from rulesengine.cli import main
from rulesengine.evaluate.driver import load_program
from rulesengine.evaluate.facts import bind_facts, example_facts
from rulesengine.load.loader import schema
from rulesengine.views.report import dumps, trace_json

SANYA = "rulesets/sanya_2024.yaml"


def _explain_json(capsys, *targets):
    assert main(["explain", SANYA, *targets, "--example", "--format", "json"]) == 0
    return capsys.readouterr().out


def test_trace_validates_against_schema(in_repo, capsys):
    data = json.loads(_explain_json(capsys, "settlement_amount", "overspend_fund_share"))
    jsonschema.Draft202012Validator(schema("trace")).validate(data)
    assert data["format_version"] == 2


def test_trace_is_byte_identical_across_runs(in_repo, capsys):
    assert _explain_json(capsys, "settlement_amount") == _explain_json(capsys, "settlement_amount")


def test_every_node_cites_the_document_and_inputs_are_traced(in_repo):
    program = load_program(SANYA)
    facts = bind_facts(program.ruleset, example_facts(program.ruleset, None))
    evaluation = program.evaluate(facts, trace=True)
    data = json.loads(dumps(trace_json(program, evaluation)))
    ids = {node["id"] for node in data["nodes"]}
    for node in data["nodes"]:
        assert node["reference"].startswith("三医保〔2024〕6号 "), node["id"]
        assert set(node["inputs"]) <= ids, node["id"]
        if node["kind"] == "rule":
            assert node["formula"] and node["substituted"] and "span" in node


def test_trace_records_rounding_lookup_and_branch(in_repo, capsys):
    nodes = {n["id"]: n for n in json.loads(_explain_json(capsys, "quality_deposit_deduction",
                                                          "overspend_fund_share_rate"))["nodes"]}
    deduction = nodes["quality_deposit_deduction"]
    # 10,256,172.84 × 10% = 1,025,617.284, rounded half-up to 1,025,617.28
    assert deduction["rounding"] == {"places": 2, "mode": "half_up", "before": "1025617.284"}
    assert deduction["lookups"][0]["key"] == "良好" and deduction["lookups"][0]["value"] == "0.1"
    assert deduction["substituted"] == "10,256,172.84 * 10%"
    rate = nodes["overspend_fund_share_rate"]
    assert rate["branches"] == [{"condition": "violation_penalized", "taken": "else", "value": False}]
    assert rate["substituted"] == "if false then 0% else 50%"
