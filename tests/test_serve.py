"""`rulesengine serve`: the JSON API, the audit ledger and the workbench pages (FastAPI TestClient).

Values are worked by hand from Sanya's example group_2024 (rulesets/sanya_2024.yaml, tests:
comments), or are a property: the API gives the CLI's JSON byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

try:  # Starlette's test client needs httpx2 (or the older httpx); the `test` extra installs it
    from fastapi.testclient import TestClient
except (ImportError, RuntimeError) as missing:
    pytest.skip(f"the workbench's test client is not installed: {missing}", allow_module_level=True)

from rulesengine.cli import main  # noqa: E402
from rulesengine.core.i18n import set_language  # noqa: E402
from rulesengine.serve import create_app  # noqa: E402

RULESETS = Path(__file__).resolve().parents[1] / "rulesets"

# Sanya group_2024 (三医保〔2024〕6号 三(三)6), from the ruleset's own worked comments:
#   payable = 30,000,000.00 + 18,000,000.00 + 4,500,000.00 + 150,000,000.00 = 202,500,000.00
#   quality_deposit = 205,123,456.78 × 5% = 10,256,172.839 -> 10,256,172.84
#   deduction (良好 10%) = 1,025,617.284 -> 1,025,617.28
#   settlement = 202,500,000.00 − 184,500,000.00 − 1,025,617.28 − 320,000.00 = 16,654,382.72
SANYA_SETTLEMENT = "16654382.72"
# graded 合格 (30%): deduction = 10,256,172.84 × 30% = 3,076,851.852 -> 3,076,851.85
#   settlement = 18,000,000.00 − 3,076,851.85 − 320,000.00 = 14,603,148.15
SANYA_SETTLEMENT_QUALIFIED = "14603148.15"


def _copy(tmp: Path) -> Path:
    folder = tmp / "rulesets"
    shutil.copytree(RULESETS, folder)
    return folder


def _client(folder: Path, ledger: Path | None, **options) -> TestClient:
    app = create_app(str(folder), ledger=str(ledger) if ledger else None, **options)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    folder = _copy(tmp)
    with _client(folder, tmp / "ledger.sqlite3") as client:
        client.folder = folder
        yield client
    set_language("en")  # the server speaks Chinese; the other tests read English


@pytest.fixture(scope="module")
def example_facts(served) -> dict:
    """Sanya's example facts as a JSON object (money as decimal strings, as the API returns it)."""
    import yaml
    data = yaml.safe_load((served.folder / "sanya_2024.yaml").read_text(encoding="utf-8"))
    facts = data["examples"]["group_2024"]["facts"]
    return {k: (v if isinstance(v, (bool, int)) else str(v)) for k, v in facts.items()}


def _sha(text: str | bytes) -> str:
    return hashlib.sha256(text if isinstance(text, bytes) else text.encode("utf-8")).hexdigest()


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text
    errors = response.json()["errors"]
    assert errors and errors[0]["code"] == code, errors
    return errors[0]


# --- listing and declarations ------------------------------------------------------------------
def test_list_rulesets_gives_document_period_and_clause_coverage(served):
    listing = {r["name"]: r for r in served.get("/api/rulesets").json()}
    assert set(listing) == {p.stem for p in RULESETS.glob("*.yaml")}
    sanya = listing["sanya_2024"]
    assert sanya["valid"] and sanya["document_number"] == "三医保〔2024〕6号"
    assert sanya["effective"] == {"from": "2024-01-01", "to": "2024-12-31", "shown": "2024-01-01 至 2024-12-31"}
    assert listing["xinxiang_county_community"]["effective"]["from"] is None  # the notice states no date
    described = served.get("/api/rulesets/sanya_2024").json()
    assert sum(sanya["clauses"].values()) == len(described["coverage"]["clauses"]) > 0


def test_ruleset_declarations_have_labels_types_units_citations(served):
    data = served.get("/api/rulesets/sanya_2024").json()
    rules = {d["id"]: d for d in data["declarations"]["rule"]}
    settlement = rules["settlement_amount"]
    assert settlement["label"] == "医疗集团年度清算统筹基金决算金额"
    assert settlement["type"] == "money" and settlement["unit"] == "元"
    assert settlement["reference"] == "三医保〔2024〕6号 三(三)6"
    assert settlement["formula"] == "payable - prepaid_total - quality_deposit_deduction - smart_audit_deduction"
    inputs = {d["id"]: d for d in data["declarations"]["input"]}
    assert inputs["assessment_grade"]["choices"] == ["优秀", "良好", "合格", "不合格"]
    parameters = {d["id"]: d for d in data["declarations"]["parameter"]}
    assert parameters["quality_deposit_rate"]["value"] == "0.05"  # 5%, a decimal string
    assert parameters["quality_deposit_rate"]["shown"] == "5%"
    tables = {d["id"]: d for d in data["declarations"]["table"]}
    assert {"key": "良好", "value": "0.1", "shown": "10%"} in tables["quality_deposit_deduction_rate"]["rows"]
    assert any(r["clause"] == "三(三)2" for r in data["readings"])


# --- run and explain ------------------------------------------------------------------------
def test_run_example_gives_the_hand_worked_settlement(served):
    response = served.post("/api/rulesets/sanya_2024/run", json={"example": ""})
    assert response.status_code == 200
    assert response.json()["values"]["settlement_amount"] == SANYA_SETTLEMENT


@pytest.mark.parametrize("command", ["run", "explain"])
def test_api_and_cli_give_the_same_json(served, capsys, command):
    path = str(served.folder / "sanya_2024.yaml")
    capsys.readouterr()
    assert main(["--lang", "zh", command, path, *(["settlement_amount"] if command == "explain" else []),
                 "--example", "--format", "json"]) == 0
    cli = capsys.readouterr().out
    body = {"example": "", **({"targets": ["settlement_amount"]} if command == "explain" else {})}
    response = served.post(f"/api/rulesets/sanya_2024/{command}", json=body)
    assert response.status_code == 200
    assert response.text == cli


def test_facts_object_with_another_grade_moves_the_settlement(served, example_facts):
    facts = dict(example_facts, assessment_grade="合格")
    response = served.post("/api/rulesets/sanya_2024/run", json={"facts": facts})
    assert response.status_code == 200, response.text
    assert response.json()["values"]["settlement_amount"] == SANYA_SETTLEMENT_QUALIFIED


def test_money_as_json_numbers_keeps_its_digits(served, example_facts):
    text = json.dumps({"facts": example_facts})
    for key in ("fund_accounting_amount", "prepaid_total", "smart_audit_deduction"):
        text = text.replace(f'"{key}": "{example_facts[key]}"', f'"{key}": {example_facts[key]}')
    assert '"fund_accounting_amount": 205123456.78' in text
    response = served.post("/api/rulesets/sanya_2024/run", content=text.encode())
    assert response.json()["values"]["settlement_amount"] == SANYA_SETTLEMENT


def test_facts_text_errors_point_at_its_line(served):
    response = served.post("/api/rulesets/sanya_2024/run",
                           json={"facts_text": "prepaid_total: 1000.00\nassessment_grade: 好\n"})
    error = _error(response, 400, "bad-fact")
    assert error["span"] == {"file": "facts.yaml", "line": 2, "column": 19}
    assert "良好" in error["hint"]


# --- bad requests ---------------------------------------------------------------------------
def test_malformed_json_is_a_located_400(served):
    error = _error(served.post("/api/rulesets/sanya_2024/run", content=b'{"example": '), 400, "yaml-syntax")
    assert error["span"]["line"] == 1 and error["span"]["column"] == 13


def test_unknown_ruleset_is_404_with_a_hint(served):
    error = _error(served.post("/api/rulesets/sanya_2042/run", json={"example": ""}), 404, "not-found")
    assert "sanya_2024" in error["hint"]


@pytest.mark.parametrize("name", ["..%2Frulesets%2Fsanya_2024", "%2e%2e", "sanya_2024.yaml",
                                  "modules%2Fdip_point_method", "%2Fetc%2Fpasswd", ".hidden"])
def test_path_in_a_ruleset_name_is_refused(served, name):
    response = served.get(f"/api/rulesets/{name}")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not-found"
    assert "root:" not in response.text


@pytest.mark.parametrize("body, code", [
    ({"example": "", "facts": {}}, "usage"),  # two sources of facts
    ({"exemple": ""}, "usage"),  # unknown field
    ({"example": "no_such"}, "usage"),
    ({"facts": {"prepaid_total": "12.5万"}}, "bad-fact"),
    ({"facts": {"no_such_fact": 1}}, "unknown-fact"),
    ({"example": "", "targets": "settlement_amount"}, "usage"),  # a list is wanted
])
def test_bad_requests_are_4xx_json_with_a_code(served, body, code):
    _error(served.post("/api/rulesets/sanya_2024/run", json=body), 400, code)


def test_a_body_too_large_is_refused(served):
    response = served.post("/api/validate", content=b" " * (2 * 1024 * 1024 + 1),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["errors"][0]["code"] == "usage"


# --- validate, save, diff -------------------------------------------------------------------
def test_validate_gives_every_error_at_its_line(served):
    text = (RULESETS / "sanya_2024.yaml").read_text(encoding="utf-8")
    assert served.post("/api/validate", json={"text": text}).json()["valid"] is True
    broken = text.replace("formula: payable - prepaid_total -", "formula: payable - prepaid_totl -")
    line = next(i for i, l in enumerate(broken.splitlines(), 1) if "prepaid_totl" in l)
    result = served.post("/api/validate", json={"text": broken, "name": "draft"}).json()
    assert result["valid"] is False
    error = next(e for e in result["errors"] if "prepaid_totl" in e["message"])
    assert error["code"] == "unknown-name" and error["span"]["file"] == "draft.yaml"
    assert error["span"]["line"] == line and "prepaid_total" in error["hint"]


def test_validate_resolves_included_modules(served):
    text = (RULESETS / "zibo_2025.yaml").read_text(encoding="utf-8")
    assert served.post("/api/validate", json={"text": text}).json()["valid"] is True


def test_save_writes_a_new_file_and_never_overwrites(served):
    text = (RULESETS / "sanya_2024.yaml").read_text(encoding="utf-8")
    response = served.post("/api/rulesets", json={"text": text, "name": "sanya_copy"})
    assert response.status_code == 201 and response.json()["saved"] == "sanya_copy"
    assert (served.folder / "sanya_copy.yaml").read_text(encoding="utf-8") == text
    again = served.post("/api/rulesets", json={"text": "changed", "name": "sanya_copy"})
    assert again.status_code in (400, 409)
    clash = served.post("/api/rulesets", json={"text": text, "name": "sanya_2024"})
    _error(clash, 409, "exists")
    assert (served.folder / "sanya_2024.yaml").read_text(encoding="utf-8") == text
    _error(served.post("/api/rulesets", json={"text": text, "name": "../evil"}), 400, "usage")
    assert not (served.folder.parent / "evil.yaml").exists()


def test_diff_names_the_changed_parameter_and_the_moved_result(served):
    text = (RULESETS / "sanya_2024.yaml").read_text(encoding="utf-8")
    changed = text.replace("    value: 5%\n    citation: 三(三)2", "    value: 6%\n    citation: 三(三)2")
    assert changed != text
    assert served.post("/api/rulesets", json={"text": changed, "name": "sanya_6pct"}).status_code == 201
    data = served.post("/api/diff", json={"old": "sanya_2024", "new": "sanya_6pct", "example": ""}).json()
    assert any(c["id"] == "quality_deposit_rate" for c in data["changes"])
    moved = {r["id"]: r for r in data["results"]["changed"]}
    # quality_deposit = 205,123,456.78 × 6% = 12,307,407.4068 -> 12,307,407.41
    # deduction (良好 10%) = 1,230,740.741 -> 1,230,740.74
    # settlement = 18,000,000.00 − 1,230,740.74 − 320,000.00 = 16,449,259.26
    assert moved["settlement_amount"]["old"] == SANYA_SETTLEMENT
    assert moved["settlement_amount"]["new"] == "16449259.26"


def test_missing_facts_are_a_400_with_the_cli_json(served):
    response = served.post("/api/rulesets/sanya_2024/run", json={"facts": {"assessment_grade": "良好"}})
    assert response.status_code == 400
    data = response.json()
    assert data["errors"] and {e["code"] for e in data["errors"]} == {"missing-fact"}
    assert "settlement_amount" in data["skipped"]


def test_requests_do_not_grow_the_engines_memory_of_file_texts(served):
    """Facts and ruleset texts go through one scratch path per worker thread, so the engine's
    memory of file texts (for excerpts) does not grow with every request of a long-running server."""
    from rulesengine.core import source
    for grade in ("优秀", "良好", "合格", "不合格"):
        served.post("/api/rulesets/sanya_2024/run", json={"facts_text": f"assessment_grade: {grade}\n"})
        served.post("/api/validate", json={"text": f"format: 1\nid: v_{grade}\n", "name": "draft"})
    before = len(source._TEXTS)
    for number in range(20):
        served.post("/api/rulesets/sanya_2024/run", json={"facts_text": f"prepaid_total: {number}.00\n"})
        served.post("/api/validate", json={"text": f"format: 1\nid: v{number}\n", "name": f"draft{number}"})
    assert len(source._TEXTS) - before < 10  # 40 requests: not one new text per request


def test_validate_runs_the_rulesets_own_tests_when_asked(served):
    text = (RULESETS / "sanya_2024.yaml").read_text(encoding="utf-8")
    result = served.post("/api/validate", json={"text": text, "tests": True}).json()
    assert result["valid"] and result["tests"] and all(t["passed"] for t in result["tests"])
    assert len(result["tests"]) == result["counts"]["tests"]
    # 优秀 deducts 0%: the test grade_excellent expects settlement 18,880,000.00; make the table say 5%
    wrong = text.replace("      - {key: 优秀, value: 0%}", "      - {key: 优秀, value: 5%}")
    assert wrong != text
    result = served.post("/api/validate", json={"text": wrong, "name": "draft", "tests": True}).json()
    failed = {t["id"]: t for t in result["tests"] if not t["passed"]}
    assert "grade_excellent" in failed
    assert any(p.startswith("draft.yaml:") and "settlement_amount" in p for p in failed["grade_excellent"]["problems"])
