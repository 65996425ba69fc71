"""HTML and Markdown clearing reports, as a hospital's finance office reads them.

Amounts come from the Sanya example (rulesets/sanya_2024.yaml, group_2024), worked by hand
in that file's test comments:
  payable    = 30,000,000.00 + 18,000,000.00 + 4,500,000.00 + 150,000,000.00 = 202,500,000.00
  deposit    = 205,123,456.78 × 5% = 10,256,172.839 -> 10,256,172.84
  deduction  = 10,256,172.84 × 10% (良好) = 1,025,617.284 -> 1,025,617.28
  settlement = 202,500,000.00 − 184,500,000.00 − 1,025,617.28 − 320,000.00 = 16,654,382.72
             = 1,665.44 万元 (16,654,382.72 / 10,000 = 1,665.438272 -> 1,665.44)
The failed check: employee_growth_rate 12% > employee_growth_cap 10%, difference 12% − 10% = 2%.

The browser tests run Debian's headless Chromium when it is installed (``.ci/run`` installs
it) and skip otherwise; the screenshot is kept in tests/artifacts/report.png (git-ignored).
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import METADATA
from rulesengine.cli import main
from rulesengine.evaluate.driver import load_program

SANYA = "rulesets/sanya_2024.yaml"
CHONGQING = "rulesets/chongqing_2019.yaml"
RULESETS = ["sanya_2024", "chongqing_2019", "xinxiang_county_community", "zibo_2025", "guangdong_2019"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                                    "(Debian: apt-get install chromium; .ci/run installs it)")

# Anything that would make the page fetch something: a URL, a protocol-relative path, an
# external resource, a CSS import or url().
NETWORK = re.compile(r"https?:|//|\bsrc\s*=|<link\b|url\s*\(|@import", re.I)


def explain(capsys, tmp_path, ruleset, *targets, fmt="html", facts=None, name="report"):
    path = tmp_path / f"{name}.{fmt}"
    source = ["--facts", facts] if facts else ["--example"]
    status = main(["explain", ruleset, *targets, *source, "--format", fmt, "-o", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert out == ""  # the report went to the file
    return status, path.read_text(encoding="utf-8")


@pytest.fixture
def failing_facts(sanya_facts, write_json):
    sanya_facts["employee_growth_rate"] = "12%"  # above the 10% cap: the check fails
    sanya_facts["reasonable_overspend"] = "200000.00"  # overspend shrinks to 200,000.00 (ruleset test)
    return write_json(sanya_facts)


def sanya_report(capsys, tmp_path, failing_facts, fmt="html"):
    return explain(capsys, tmp_path, SANYA, "settlement_amount", "global_budget",
                   "employee_growth_within_cap", fmt=fmt, facts=failing_facts)


# --- HTML as text ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", RULESETS)
def test_html_is_self_contained_for_every_ruleset(in_repo, capsys, tmp_path, name):
    path = f"rulesets/{name}.yaml"
    # every rule and check of the ruleset, so the whole trace and all collections are drawn
    program = load_program(path)
    targets = [d.id for d in program.ruleset.declarations.values() if d.kind in ("rule", "check")]
    status, html = explain(capsys, tmp_path, path, *targets)
    assert status in (0, 1)
    assert html.startswith("<!DOCTYPE html>")
    assert "default-src 'none'" in html  # the browser may not fetch anything
    found = NETWORK.search(html)
    assert found is None, html[max(0, found.start() - 80):found.end() + 80]
    assert program.ruleset.meta.title in html


def test_html_shows_results_trace_checks_and_facts(in_repo, capsys, tmp_path, failing_facts):
    status, html = sanya_report(capsys, tmp_path, failing_facts)
    assert status == 1  # an error-severity check failed
    assert "<title>三亚市紧密型医疗集团总额预算管理实施方案 — 计算说明</title>" in html
    assert "三医保〔2024〕6号" in html and "2024-01-01 至 2024-12-31" in html
    assert '<div class="card-value">16,654,382.72 元</div>' in html
    assert "约 1,665.44 万元" in html
    # the trace: formula as written, with Chinese names, with values, rounding, citation
    assert "payable - prepaid_total - quality_deposit_deduction - smart_audit_deduction" in html
    assert "医疗集团年度清算统筹基金应支付金额 - 预付累计金额 - 质量保证金扣减金额 - 智能审核扣款金额" in html
    assert "202,500,000.00 - 184,500,000.00 - 1,025,617.28 - 320,000.00" in html
    assert "保留 2 位小数，四舍五入；舍入前 1,025,617.284" in html
    assert "质量保证金扣减比例[良好] = 10%（三医保〔2024〕6号 三(三)2）" in html
    assert '<span class="cite">三医保〔2024〕6号 三(三)6</span>' in html
    # the failed check, highlighted, with both sides and the difference (12% − 10% = 2%)
    row = re.search(r'<tr class="fail" data-id="employee_growth_within_cap".*?</tr>', html).group(0)
    assert "未通过（错误）" in row and ">12%<" in row and ">10%<" in row and ">+2%<" in row
    assert re.search(r'<details class="node kind-check fail" id="n-employee_growth_within_cap"', html)
    # facts with their sources; a parameter with its place in the ruleset
    assert "规则集规定（rulesets/sanya_2024.yaml:" in html
    assert f"事实文件 {failing_facts}" in html
    # search box and print CSS
    assert '<input id="q" type="search"' in html
    assert "@media print" in html and "beforeprint" in html


def test_html_per_record_results_as_tables(in_repo, capsys, tmp_path):
    status, html = explain(capsys, tmp_path, CHONGQING, "adjusted_budget_total",
                           "member.cleared_as_matches_community")
    assert status == 0
    table = re.search(r'<table class="entity" data-entity="member">.*?</table>', html, re.S).group(0)
    # H50015200011: 120,356,780.45 − (−1,825,000.00) = 122,181,780.45
    assert "调剂后预算总额（元）" in table and "122,181,780.45" in table
    assert table.count("<tr data-search=") == 5  # one row per member
    assert "5 条记录全部通过" in html


def test_html_escapes_text_from_the_ruleset(tmp_path, capsys):
    ruleset = tmp_path / "evil.yaml"
    ruleset.write_text(METADATA + """\
inputs:
  amount: {label: "金额<script>alert(1)</script>", type: money, citation: "一<b>"}
rules:
  half: {label: "一半 & \\"引号\\"", type: money, formula: amount * 50%, citation: 二}
examples:
  e: {label: 例, facts: {amount: 10.00}}
""", encoding="utf-8")
    status, html = explain(capsys, tmp_path, str(ruleset), "half")
    assert status == 0
    assert "<script>alert" not in html and "<b>" not in html
    assert "金额&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "一半 &amp; &quot;引号&quot;" in html


def test_html_is_byte_identical_across_runs(in_repo, capsys, tmp_path):
    _, first = explain(capsys, tmp_path, SANYA, "settlement_amount", name="a")
    _, second = explain(capsys, tmp_path, SANYA, "settlement_amount", name="b")
    assert first == second


def test_explain_html_to_standard_output(in_repo, capsys):
    assert main(["explain", SANYA, "settlement_amount", "--example", "--format", "html"]) == 0
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")


def test_unwritable_output_is_a_located_error(in_repo, capsys, tmp_path):
    status = main(["explain", SANYA, "settlement_amount", "--example", "--format", "html",
                   "-o", str(tmp_path / "missing" / "r.html")])
    _, err = capsys.readouterr()
    assert status == 2 and "[file-unwritable]" in err and "Traceback" not in err


# --- Markdown ---------------------------------------------------------------------------------
def test_markdown_has_the_same_content(in_repo, capsys, tmp_path, failing_facts):
    status, md = sanya_report(capsys, tmp_path, failing_facts, fmt="md")
    assert status == 1
    assert md.startswith("# 三亚市紧密型医疗集团总额预算管理实施方案 — 计算说明\n")
    assert "**16,654,382.72 元（约 1,665.44 万元）**" in md
    assert "`202,500,000.00 - 184,500,000.00 - 1,025,617.28 - 320,000.00`" in md
    assert "舍入：保留 2 位小数，四舍五入；舍入前 1,025,617.284" in md
    assert "| 文号 | 三医保〔2024〕6号 |" in md
    failed = next(line for line in md.splitlines() if line.startswith("| ❌"))
    assert "`employee_growth_within_cap`" in failed and "| 12% | 10% | **+2%** |" in failed
    assert "- ❌ **城镇从业人员预算增速不超过上限** `employee_growth_within_cap` = **未通过**" in md
    assert "## 使用的事实和参数" in md and "| `quality_deposit_rate` | 质量保证金比例 | 5% | 参数 |" in md


def test_markdown_per_record_tables(in_repo, capsys, tmp_path):
    status, md = explain(capsys, tmp_path, CHONGQING, "adjusted_budget_total", fmt="md")
    assert status == 0
    assert "### 医共体成员单位（`members`）· 5 条记录" in md
    assert re.search(r"^\| \*\*H50015200011\*\* \| .*122,181,780\.45", md, re.M)


def test_markdown_escapes_markup(tmp_path, capsys):
    ruleset = tmp_path / "md.yaml"
    ruleset.write_text(METADATA + """\
inputs:
  amount: {label: "金额|*粗*[链接](x)", type: money, citation: 一}
rules:
  half: {label: 一半, type: money, formula: amount * 50%, citation: 二}
examples:
  e: {label: 例, facts: {amount: 10.00}}
""", encoding="utf-8")
    _, md = explain(capsys, tmp_path, str(ruleset), "half", fmt="md")
    assert "金额\\|\\*粗\\*\\[链接\\](x)" in md
    assert "金额|*粗*" not in md


# --- in a browser ---------------------------------------------------------------------------
def chromium(*args, profile: Path) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
               f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


@needs_chromium
def test_report_dom_in_headless_chromium(in_repo, capsys, tmp_path, failing_facts):
    _, html = sanya_report(capsys, tmp_path, failing_facts)
    page = tmp_path / "report.html"
    done = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    dom = done.stdout
    assert done.returncode == 0 and "<body>" in dom, done.stderr[-2000:]
    card = re.search(r'<div class="card" data-id="settlement_amount">.*?</div></div>', dom).group(0)
    assert "医疗集团年度清算统筹基金决算金额" in card and "16,654,382.72 元" in card
    assert "三医保〔2024〕6号 三(三)6" in card
    assert "质量保证金扣减金额" in dom and "三医保〔2024〕6号 三(三)2" in dom
    row = re.search(r'<tr class="fail" data-id="employee_growth_within_cap".*?</tr>', dom).group(0)
    assert "未通过（错误）" in row and "+2%" in row
    assert re.search(r'<details class="node kind-check fail" id="n-employee_growth_within_cap"[^>]* open', dom)


@needs_chromium
def test_search_box_filters_the_tree_in_chromium(in_repo, capsys, tmp_path, failing_facts):
    sanya_report(capsys, tmp_path, failing_facts)
    page = (tmp_path / "report.html").as_uri() + "#q=quality_deposit_rate"
    dom = chromium("--dump-dom", page, profile=tmp_path / "profile").stdout
    assert re.search(r'<span id="count"[^>]*>匹配 \d+ 项</span>', dom)  # the script ran
    # the path to the parameter stays, opened; unrelated nodes are hidden
    assert re.search(r'<details class="node kind-parameter hit"[^>]*data-id="quality_deposit_rate"', dom)
    assert re.search(r'<details class="node kind-rule" id="n-settlement_amount" open=""[^>]*>', dom)
    assert re.search(r'<details class="node kind-fact"[^>]*data-id="prepaid_total"[^>]*hidden', dom)


@needs_chromium
def test_screenshot_of_the_report(in_repo, capsys, tmp_path, failing_facts):
    sanya_report(capsys, tmp_path, failing_facts)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    done = chromium(f"--screenshot={shot}", "--window-size=1280,2000",
                    (tmp_path / "report.html").as_uri(), profile=tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 2000)
    assert len(data) > 50_000  # a drawn page, not a blank one
