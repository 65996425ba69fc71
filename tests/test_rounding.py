"""Rounding after division: a 34-digit quotient must not push a result across a rounding edge."""

from decimal import Decimal

from rulesengine.evaluate.driver import load_program
from rulesengine.evaluate.facts import bind_facts, example_facts

RULESET = """\
format: 1
id: rounding_edges
title: 舍入边界
issuer: 测试局
document_number: 测〔2025〕1号
effective: {from: 2025-01-01}
seed: x.txt
inputs:
  u: {label: 甲, type: money, citation: 一}
  t: {label: 乙, type: money, citation: 一}
  r: {label: 丙, type: money, citation: 一}
rules:
  share_down: {label: 向下, type: money, formula: u / t * r, rounding: {places: 2, mode: down}, citation: 一}
  share_up: {label: 向上, type: money, formula: u / t * r, rounding: {places: 2, mode: up}, citation: 一}
  half_fen: {label: 半分, type: money, formula: u / t * r / 20000000, citation: 一}
examples:
  thirds: {label: 三分之一, facts: {u: 150000.00, t: 450000.00, r: 300000.00}}
"""


def test_a_third_of_a_multiple_of_three_rounds_to_itself(tmp_path):
    path = tmp_path / "rounding.yaml"
    path.write_text(RULESET, encoding="utf-8")
    program = load_program(str(path))
    values = program.evaluate(bind_facts(program.ruleset, example_facts(program.ruleset, None))).values
    # 150,000.00 / 450,000.00 = 1/3 exactly; × 300,000.00 = 100,000.00 exactly, so rounding
    # down or up changes nothing (the 34-digit quotient 0.333…3 alone would give 99,999.99
    # down)
    assert values["share_down"] == Decimal("100000.00")
    assert values["share_up"] == Decimal("100000.00")
    # 100,000.00 / 20,000,000 = 0.005 exactly: half up gives 0.01 (0.00499…9 would give 0.00)
    assert values["half_fen"] == Decimal("0.01")
