"""Dependency pictures: DOT and Mermaid text always, SVG and HTML through Graphviz's dot.

The path to Sanya's settlement_amount (三(三)6) is
  settlement_amount <- payable <- general_outpatient, chronic_outpatient, two_diseases_outpatient,
                                  dip_settlement_total
                    <- prepaid_total, smart_audit_deduction
                    <- quality_deposit_deduction <- quality_deposit_deduction_rate[assessment_grade]
                                                 <- quality_deposit <- fund_accounting_amount,
                                                                       quality_deposit_rate
and nothing of the budget (global_budget, employee_budget, ...) is on it.
"""

import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from rulesengine.views import render_graph as graph_module
from rulesengine.cli import main

SANYA = "rulesets/sanya_2024.yaml"
CHONGQING = "rulesets/chongqing_2019.yaml"
RULESETS = ["sanya_2024", "chongqing_2019", "xinxiang_county_community", "zibo_2025", "guangdong_2019"]
PATH = ["settlement_amount", "payable", "general_outpatient", "chronic_outpatient",
        "two_diseases_outpatient", "dip_settlement_total", "prepaid_total", "smart_audit_deduction",
        "quality_deposit_deduction", "quality_deposit_deduction_rate", "assessment_grade",
        "quality_deposit", "fund_accounting_amount", "quality_deposit_rate"]
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed "
                               "(Debian: apt-get install graphviz; .ci/run installs it)")


def graph(capsys, *argv):
    status = main(["graph", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def dot_nodes(text: str) -> dict[str, str]:
    """node id -> its attribute list, from our DOT output."""
    return dict(re.findall(r'^\s*"([\w.]+)" \[(label=.*)\];$', text, re.M))


def test_dot_highlights_the_path_to_the_target(in_repo, capsys):
    status, dot, _ = graph(capsys, SANYA, "--target", "settlement_amount")
    assert status == 0 and dot.startswith("digraph ruleset {")
    nodes = dot_nodes(dot)
    assert 'label="医疗集团年度清算统筹基金决算金额\\nsettlement_amount"' in nodes["settlement_amount"]
    assert "peripheries=2" in nodes["settlement_amount"]  # the target itself
    for node in PATH[1:]:
        assert 'color="#c62828"' in nodes[node], node
    for node in ("global_budget", "employee_budget", "monthly_prepayment", "employee_growth_within_cap"):
        assert 'color="#b8bec6"' in nodes[node], node  # off the path: dimmed
    assert '"quality_deposit" -> "quality_deposit_deduction" [color="#c62828", penwidth=2];' in dot
    assert '"global_budget" -> "dip_inpatient_budget" [color="#b8bec6"];' in dot
    # kinds: input, parameter, table, rule, check
    assert "shape=tab" in nodes["quality_deposit_deduction_rate"]
    assert "shape=hexagon" in nodes["employee_growth_within_cap"]
    assert "shape=note" in nodes["quality_deposit_rate"]


def test_focus_draws_only_the_path(in_repo, capsys):
    status, dot, _ = graph(capsys, SANYA, "--target", "settlement_amount", "--focus")
    assert status == 0
    assert set(dot_nodes(dot)) == set(PATH)


def test_collections_are_clusters(in_repo, capsys):
    status, dot, _ = graph(capsys, CHONGQING)
    assert status == 0
    member = dot.index('subgraph "cluster_member" {')
    filing = dot.index('subgraph "cluster_filing" {')
    assert member < filing  # filings sit inside their member's cluster
    assert 'label="医共体成员单位（members）"' in dot and 'label="医共体备案登记（filings）"' in dot
    block = dot[member:dot.index("\n  }", member)]
    assert '"member.budget_after" [label="调剂后预算总额\\nbudget_after"' in block
    assert '"filing.in_this_community"' in block
    assert '"global_budget" [' not in block  # top-level rules stay outside
    assert '"member.budget_after" -> "adjusted_budget_total";' in dot


def test_mermaid_has_labels_clusters_and_the_path(in_repo, capsys):
    status, text, _ = graph(capsys, CHONGQING, "--format", "mermaid", "--target", "adjusted_budget_total")
    assert status == 0
    assert "flowchart LR" in text
    ids = dict((node, n) for n, node in re.findall(r"^\s*(n\d+)\W.*?<br/>([\w.]+)\"", text, re.M))
    assert re.search(r'subgraph c_member\["医共体成员单位（members）"\]', text)
    assert re.search(rf'{ids["budget_after"]}\["调剂后预算总额<br/>budget_after"\]', text)
    target_class = re.search(r"^\s*class ([\w,]+) target$", text, re.M).group(1).split(",")
    path_class = re.search(r"^\s*class ([\w,]+) path$", text, re.M).group(1).split(",")
    assert target_class == [ids["adjusted_budget_total"]]
    assert {ids["budget_after"], ids["budget_before"], ids["budget_transfer"]} <= set(path_class)
    assert re.search(r"^\s*linkStyle [\d,]+ stroke:#c62828", text, re.M)


@pytest.mark.parametrize("name", RULESETS)
def test_every_ruleset_draws_as_dot_and_mermaid(in_repo, capsys, name):
    for fmt in ("dot", "mermaid"):
        status, text, _ = graph(capsys, f"rulesets/{name}.yaml", "--format", fmt)
        assert status == 0 and text.strip()


@needs_dot
@pytest.mark.parametrize("name", RULESETS)
def test_svg_from_graphviz(in_repo, capsys, tmp_path, name):
    path = tmp_path / "g.svg"
    status, out, _ = graph(capsys, f"rulesets/{name}.yaml", "--format", "svg", "-o", str(path))
    assert status == 0 and out == ""
    root = ET.fromstring(path.read_text(encoding="utf-8"))
    assert root.tag.endswith("svg")
    texts = [t.text or "" for t in root.iter() if t.tag.endswith("text")]
    assert any(re.search(r"[\u4e00-\u9fff]", t) for t in texts)  # Chinese labels drawn


@needs_dot
def test_graph_html_is_self_contained(in_repo, capsys):
    status, page, _ = graph(capsys, SANYA, "--format", "html", "--target", "settlement_amount")
    assert status == 0 and page.startswith("<!DOCTYPE html>")
    assert "<svg" in page and "医疗集团年度清算统筹基金决算金额" in page
    assert not re.search(r"https?:|//|\bsrc\s*=|<link\b", page, re.I)


def test_svg_without_graphviz_says_how_to_get_it(in_repo, capsys, monkeypatch):
    monkeypatch.setattr(graph_module.shutil, "which", lambda name: None)
    for fmt in ("svg", "html"):
        status, out, err = graph(capsys, SANYA, "--format", fmt)
        assert status == 2 and out == ""
        assert "error[tool-missing]" in err and "apt-get install graphviz" in err


def test_unknown_target_is_a_usage_error(in_repo, capsys):
    status, _, err = graph(capsys, SANYA, "--target", "settlment_amount")
    assert status == 2
    assert "[unknown-target]" in err and "settlement_amount" in err
