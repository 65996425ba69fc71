"""The workbench pages of `rulesengine serve` (server-rendered, Chinese), and its access token."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import pytest

try:  # Starlette's test client needs httpx2 (or the older httpx); the `test` extra installs it
    from fastapi.testclient import TestClient
except (ImportError, RuntimeError) as missing:
    pytest.skip(f"the workbench's test client is not installed: {missing}", allow_module_level=True)

from rulesengine.cli import build_parser  # noqa: E402
from rulesengine.core.i18n import set_language  # noqa: E402
from rulesengine.serve import create_app, needs_token  # noqa: E402

RULESETS = Path(__file__).resolve().parents[1] / "rulesets"
HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pages")
    folder = tmp / "rulesets"
    shutil.copytree(RULESETS, folder)
    app = create_app(str(folder), ledger=str(tmp / "ledger.sqlite3"))
    with TestClient(app, raise_server_exceptions=False) as client:
        client.folder = folder
        yield client
    set_language("en")


def _example_form(served) -> dict:
    """The 计算 form as "载入示例" fills it: every field's value from the page."""
    import re
    page = served.get("/rulesets/sanya_2024/calc?example=group_2024").text
    form = {name: html.unescape(value) for name, value in re.findall(r'<input id="f-[^"]+" name="([^"]+)" value="([^"]*)"', page)}
    for name, body in re.findall(r'<select id="f-[^"]+" name="([^"]+)">(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        form[name] = html.unescape(chosen.group(1)) if chosen else ""
    return form


def test_home_lists_the_rulesets_in_chinese(served):
    page = served.get("/").text
    assert "医保支付规则工作台" in page and "文号" in page and "条款覆盖" in page
    assert "三亚市紧密型医疗集团总额预算管理实施方案" in page and "三医保〔2024〕6号" in page
    assert "2024-01-01 至 2024-12-31" in page
    assert "<script src" not in page and "http://" not in page and "https://" not in page


def test_ruleset_page_shows_declarations_clauses_readings(served):
    page = served.get("/rulesets/sanya_2024").text
    for text in ("参数", "输入", "规则", "条款清单", "解读", "医疗集团年度清算统筹基金决算金额",
                 "三医保〔2024〕6号 三(三)6", "质量保证金扣减比例"):
        assert text in page, text
    assert "payable - prepaid_total - quality_deposit_deduction - smart_audit_deduction" in page


def test_calc_form_is_made_from_the_inputs(served):
    page = served.get("/rulesets/sanya_2024/calc").text
    assert "医疗集团年终考核等次" in page and "（元）" in page and "载入示例" in page
    assert '<option value="合格">合格</option>' in page
    assert '<option value="true">是</option>' in page and '<option value="false">否</option>' in page
    form = _example_form(served)
    assert form["assessment_grade"] == "良好" and form["fund_accounting_amount"] == "205123456.78"
    assert form["violation_penalized"] == "false"


def test_calc_shows_the_report_and_keeps_the_run(served):
    form = _example_form(served)
    page = served.post("/rulesets/sanya_2024/calc", data={**form, "user": "李科长"}).text
    report = html.unescape(page.split('srcdoc="', 1)[1].split('"></iframe>', 1)[0])
    assert "16,654,382.72" in report and "医疗集团年度清算统筹基金决算金额" in report
    number = int(page.split("第 ", 1)[1].split(" 号运行", 1)[0])
    assert served.get(f"/api/runs/{number}").json()["who"] == "李科长"
    # graded 合格: deduction 10,256,172.84 × 30% = 3,076,851.85;
    # settlement = 18,000,000.00 − 3,076,851.85 − 320,000.00 = 14,603,148.15
    page = served.post("/rulesets/sanya_2024/calc", data={**form, "assessment_grade": "合格"}).text
    assert "14,603,148.15" in html.unescape(page)


@pytest.mark.parametrize("fmt, start", [("html", b"<!DOCTYPE html>"), ("md", b"# "), ("xlsx", b"PK")])
def test_calc_downloads(served, fmt, start):
    response = served.post("/rulesets/sanya_2024/calc", data={**_example_form(served), "format": fmt})
    assert response.status_code == 200 and response.content.startswith(start)
    assert "attachment" in response.headers["content-disposition"]
    if fmt != "xlsx":
        assert "16,654,382.72" in response.text


def test_calc_with_a_bad_value_shows_the_error_and_keeps_the_form(served):
    form = {**_example_form(served), "prepaid_total": "18450万"}
    response = served.post("/rulesets/sanya_2024/calc", data=form)
    assert response.status_code == 400
    assert "prepaid_total" in response.text and "bad-fact" in response.text
    assert 'value="18450万"' in response.text and "Traceback" not in response.text


def test_edit_validates_and_shows_errors_at_their_line(served):
    text = (RULESETS / "sanya_2024.yaml").read_text(encoding="utf-8")
    broken = text.replace("formula: payable - prepaid_total -", "formula: payable - prepaid_totl -")
    line = next(i for i, l in enumerate(broken.splitlines(), 1) if "prepaid_totl" in l)
    page = served.post("/edit", data={"text": broken, "name": "draft", "action": "validate"}).text
    assert f"draft.yaml:{line}:" in page and "unknown-name" in page
    assert "没有错误" in served.post("/edit", data={"text": text, "name": "d", "action": "validate"}).text
    assert "/api/validate" in served.get("/edit?source=sanya_2024").text  # checks as she types


def test_edit_saves_as_new_file_only(served):
    text = (RULESETS / "sanya_2024.yaml").read_text(encoding="utf-8")
    page = served.post("/edit", data={"text": text, "name": "sanya_edit", "action": "save"})
    assert page.status_code == 200 and "已另存为 sanya_edit.yaml" in page.text
    again = served.post("/edit", data={"text": text + "\n# x\n", "name": "sanya_edit", "action": "save"})
    assert again.status_code == 409 and "已存在" in again.text
    assert (served.folder / "sanya_edit.yaml").read_text(encoding="utf-8") == text


def test_history_and_rerun_pages(served):
    served.post("/api/rulesets/sanya_2024/run", json={"example": ""})
    page = served.get("/runs").text
    assert "运行记录" in page and "sanya_2024" in page and "三医保〔2024〕6号" in page
    number = served.get("/api/runs").json()[0]["run"]
    assert "重新计算" in served.get(f"/runs/{number}").text
    assert "逐字节相同" in served.post(f"/runs/{number}/rerun").text


def test_pages_escape_what_they_show(served):
    page = served.get("/rulesets/<script>alert(1)<%2Fscript>/calc", headers=HTML)
    assert page.status_code == 404 and "<script>alert" not in page.text
    text = (RULESETS / "sanya_2024.yaml").read_text(encoding="utf-8").replace(
        "label: 医疗集团年度清算统筹基金决算金额", "label: <b onmouseover=x>决算</b>")
    assert served.post("/api/rulesets", json={"text": text, "name": "escaped"}).status_code == 201
    page = served.get("/rulesets/escaped").text
    assert "<b onmouseover=x>" not in page and "&lt;b onmouseover=x&gt;" in page


def test_unknown_page_for_a_browser_is_an_html_404(served):
    page = served.get("/rulesets/nothing_here", headers=HTML)
    assert page.status_code == 404 and "请求无法完成" in page.text and "not-found" in page.text


def test_openapi_describes_the_api(served):
    spec = served.get("/openapi.json").json()
    assert {"/api/rulesets", "/api/rulesets/{name}/run", "/api/rulesets/{name}/explain", "/api/validate",
            "/api/diff", "/api/runs/{number}/rerun"} <= set(spec["paths"])
    run = spec["paths"]["/api/rulesets/{name}/run"]["post"]["requestBody"]["content"]["application/json"]
    assert "facts" in run["schema"]["properties"]
    assert served.get("/docs").status_code == 200


def test_a_token_is_needed_on_every_request_when_set(tmp_path):
    app = create_app(str(RULESETS), ledger=None, token="s3cret")
    with TestClient(app, raise_server_exceptions=False) as client:
        refused = client.get("/api/rulesets")
        assert refused.status_code == 401 and refused.json()["errors"][0]["code"] == "unauthorized"
        assert client.get("/api/rulesets", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/api/rulesets", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert client.get("/?token=s3cret").status_code == 200
        assert client.get("/api/rulesets").status_code == 200  # the cookie set by ?token=
    set_language("en")


def test_serve_command_defaults():
    args = build_parser().parse_args(["serve"])
    assert (args.folder, args.host, args.port, args.no_ledger) == ("rulesets", "127.0.0.1", 8000, False)
    assert not needs_token("127.0.0.1") and needs_token("0.0.0.0")


def test_serve_refuses_a_busy_port_and_a_missing_folder(tmp_path, capsys):
    import socket
    from rulesengine.cli import main
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", str(RULESETS), "--port", str(port), "--no-ledger"]) == 2
    assert "cannot listen on" in capsys.readouterr().err
    assert main(["serve", str(tmp_path / "nothing"), "--port", "0", "--no-ledger"]) == 2
    assert "is not a folder of rulesets" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["xinxiang_county_community", "zibo_2025", "chongqing_2019"])
def test_calc_form_with_collections_agrees_with_the_api(served, name):
    """A property: the example loaded into the form (collections as YAML boxes) and computed gives
    the values the API gives for the example itself."""
    import re
    page = served.get(f"/rulesets/{name}/calc?example=").text
    form = {n: html.unescape(v) for n, v in re.findall(r'<input id="f-[^"]+" name="([^"]+)" value="([^"]*)"', page)}
    form.update({n: html.unescape(v) for n, v in re.findall(r'<textarea id="f-[^"]+" name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S)})
    for n, body in re.findall(r'<select id="f-[^"]+" name="([^"]+)">(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        form[n] = html.unescape(chosen.group(1)) if chosen else ""
    response = served.post(f"/rulesets/{name}/calc", data=form)
    assert response.status_code == 200, re.findall(r'<li>.*?</li>', response.text, re.S)[:3]
    number = int(response.text.split("第 ", 1)[1].split(" 号运行", 1)[0])
    from_form = json.loads(served.get(f"/api/runs/{number}").json()["output"])
    from_api = served.post(f"/rulesets/{name}/explain".replace("/rulesets", "/api/rulesets"), json={"example": ""}).json()

    def values(trace):
        return {n["id"]: n.get("value") for n in trace["nodes"]}
    assert values(from_form) == values(from_api) and len(values(from_api)) > 10


def test_diff_page_shows_the_cli_diff(served):
    text = (RULESETS / "sanya_2024.yaml").read_text(encoding="utf-8").replace(
        "    value: 5%\n    citation: 三(三)2", "    value: 6%\n    citation: 三(三)2")
    assert served.post("/api/rulesets", json={"text": text, "name": "sanya_six"}).status_code == 201
    page = html.unescape(served.get("/diff?old=sanya_2024&new=sanya_six&example=1").text)
    # settlement moves by −1,230,740.74 + 1,025,617.28 = −205,123.46 (16,654,382.72 -> 16,449,259.26)
    assert "版本差异" in page and "quality_deposit_rate" in page
    assert "16,654,382.72" in page and "16,449,259.26" in page


def test_compare_page_and_api(served):
    page = served.get("/compare").text
    assert "对比" in page and "sanya_2024" in page
    facts = (RULESETS / "facts" / "five_regimes.yaml").read_text(encoding="utf-8")
    names = ["sanya_2024", "guangdong_2019"]
    shown = served.post("/compare", data={"rulesets": names, "facts": facts})
    assert shown.status_code == 200 and "settlement_amount" in shown.text
    data = served.post("/api/compare", json={"rulesets": names, "facts_text": facts}).json()
    assert {c["id"] for c in data["concepts"]} >= {"settlement_amount"}
    _none = served.post("/compare", data={"facts": facts})
    assert _none.status_code == 400 and "请至少选择一个规则集" in _none.text


def test_edit_runs_the_rulesets_tests(served):
    text = (RULESETS / "sanya_2024.yaml").read_text(encoding="utf-8")
    page = served.post("/edit", data={"text": text, "name": "d", "action": "test"}).text
    assert 'id="tests"' in page and "grade_excellent" in page and "未通过" not in page


def test_calc_recomputes_as_the_clerk_changes_a_value(served):
    page = served.get("/rulesets/sanya_2024/calc?example=group_2024").text
    script = page.split("<script>")[-1]
    assert 'addEventListener("change"' in script and 'addEventListener("input"' in script
    assert 'data.set("live", "1")' in script and 'id="calc" method="post" action="/rulesets/sanya_2024/calc"' in page
    assert '<div id="outcome">' in page and "<script src" not in page
    runs = len(served.get("/api/runs").json())
    # what the script posts: the form with live=1; graded 合格: 18,000,000.00 − 3,076,851.85 − 320,000.00
    answer = served.post("/rulesets/sanya_2024/calc", data={**_example_form(served), "assessment_grade": "合格",
                                                            "live": "1"})
    assert answer.status_code == 200 and answer.text.lstrip().startswith("<h2 id=\"result\">")
    report = html.unescape(answer.text.split('srcdoc="', 1)[1].split('"></iframe>', 1)[0])
    assert "14,603,148.15" in report and "16,654,382.72" not in report
    assert "<details" in report  # the explanation tree is in the report
    assert len(served.get("/api/runs").json()) == runs  # a what-if while typing is not a ledger run
    bad = served.post("/rulesets/sanya_2024/calc", data={**_example_form(served), "prepaid_total": "18450万",
                                                         "live": "1"})
    assert bad.status_code == 400 and 'id="errors"' in bad.text and "prepaid_total" in bad.text
    assert "<html" not in bad.text  # a fragment, put in place of the outcome
