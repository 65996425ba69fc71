"""The audit ledger of `rulesengine serve`: every run kept, and reproduced by rerun."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest

try:  # Starlette's test client needs httpx2 (or the older httpx); the `test` extra installs it
    from fastapi.testclient import TestClient
except (ImportError, RuntimeError) as missing:
    pytest.skip(f"the workbench's test client is not installed: {missing}", allow_module_level=True)

from rulesengine.core.i18n import set_language  # noqa: E402
from rulesengine.serve import create_app  # noqa: E402

RULESETS = Path(__file__).resolve().parents[1] / "rulesets"


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "rulesets"
    shutil.copytree(RULESETS, folder)
    app = create_app(str(folder), ledger=str(tmp_path / "ledger.sqlite3"))
    with TestClient(app, raise_server_exceptions=False) as client:
        client.folder, client.ledger = folder, tmp_path / "ledger.sqlite3"
        yield client
    set_language("en")


def _sha(data: str | bytes) -> str:
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode("utf-8")).hexdigest()


def test_a_run_is_kept_with_who_hashes_facts_and_output(served):
    response = served.post("/api/rulesets/sanya_2024/run", json={"example": "", "as_of": "2024-12-31"},
                           headers={"X-Rulesengine-User": quote("王会计")})
    number = int(response.headers["X-Rulesengine-Run"])
    record = served.get(f"/api/runs/{number}").json()
    assert record["who"] == "王会计" and record["command"] == "run"
    assert record["ruleset"] == "sanya_2024" and record["ruleset_id"] == "sanya_medical_group_2024"
    assert record["document_number"] == "三医保〔2024〕6号"
    assert record["files"] == {"sanya_2024.yaml": _sha((served.folder / "sanya_2024.yaml").read_bytes())}
    assert record["output"] == response.text and record["output_sha256"] == _sha(response.text)
    assert record["facts_sha256"] == _sha(record["facts"]) and "assessment_grade: 良好" in record["facts"]
    assert record["as_of"] == "2024-12-31"
    assert [r["run"] for r in served.get("/api/runs?ruleset=sanya_2024").json()] == [number]
    assert served.get("/api/runs?ruleset=zibo_2025").json() == []


def test_a_module_file_is_hashed_too(served):
    number = int(served.post("/api/rulesets/zibo_2025/run", json={"example": ""}).headers["X-Rulesengine-Run"])
    files = served.get(f"/api/runs/{number}").json()["files"]
    module = served.folder / "modules" / "dip_point_method.yaml"
    assert files["modules/dip_point_method.yaml"] == _sha(module.read_bytes())


@pytest.mark.parametrize("command", ["run", "explain"])
def test_rerun_reproduces_the_stored_output_byte_for_byte(served, command):
    response = served.post(f"/api/rulesets/sanya_2024/{command}",
                           json={"facts_text": "assessment_grade: 合格\n" + _example_rest(served)})
    assert response.status_code == 200, response.text
    number = int(response.headers["X-Rulesengine-Run"])
    again = served.post(f"/api/runs/{number}/rerun").json()
    assert again["identical"] is True
    assert again["rerun_sha256"] == again["output_sha256"] == _sha(response.text)


def _example_rest(served) -> str:
    """Sanya's example facts as YAML lines, without the grade."""
    import yaml
    facts = yaml.safe_load((served.folder / "sanya_2024.yaml").read_text(encoding="utf-8"))["examples"]["group_2024"]["facts"]
    return "".join(f"{k}: {v if not isinstance(v, bool) else str(v).lower()}\n"
                   for k, v in facts.items() if k != "assessment_grade")


def test_rerun_after_a_parameter_changed_names_the_file_the_parameter_and_the_values(served):
    number = int(served.post("/api/rulesets/sanya_2024/run", json={"example": ""}).headers["X-Rulesengine-Run"])
    path = served.folder / "sanya_2024.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    value: 5%\n    citation: 三(三)2", "    value: 6%\n    citation: 三(三)2"),
                    encoding="utf-8")
    again = served.post(f"/api/runs/{number}/rerun").json()
    assert again["identical"] is False
    assert again["changed_files"] == ["sanya_2024.yaml"]
    assert "quality_deposit_rate" in again["changed_declarations"]
    changed = {v["id"]: (v["stored"], v["now"]) for v in again["changed_values"]}
    # quality_deposit = 205,123,456.78 × 6% = 12,307,407.41; deduction 10% = 1,230,740.74;
    # settlement = 202,500,000.00 − 184,500,000.00 − 1,230,740.74 − 320,000.00 = 16,449,259.26
    assert changed["settlement_amount"] == ("16654382.72", "16449259.26")
    assert changed["quality_deposit"] == ("10256172.84", "12307407.41")
    # the stored run is unchanged: the ledger keeps what was computed then
    assert '"settlement_amount": "16654382.72"' in served.get(f"/api/runs/{number}").json()["output"]


def test_failed_checks_are_recorded(served):
    # a reasonable overspend above the actual one fails reasonable_overspend_within_overspend
    text = "reasonable_overspend: 6000000.00\n" + "".join(
        line + "\n" for line in _example_rest(served).splitlines() if not line.startswith("reasonable_overspend"))
    response = served.post("/api/rulesets/sanya_2024/run", json={"facts_text": "assessment_grade: 良好\n" + text})
    number = int(response.headers["X-Rulesengine-Run"])
    assert "reasonable_overspend_within_overspend" in served.get(f"/api/runs/{number}").json()["failed_checks"]


def test_unknown_run_is_404(served):
    assert served.get("/api/runs/999").json()["errors"][0]["code"] == "not-found"
    assert served.post("/api/runs/999/rerun").status_code == 404
    assert served.get("/api/runs/abc").status_code == 400


def test_the_ledger_is_plain_sqlite(served):
    served.post("/api/rulesets/sanya_2024/run", json={"example": ""})
    with sqlite3.connect(served.ledger) as db:
        (count,) = db.execute("SELECT count(*) FROM runs").fetchone()
        (stored,) = db.execute("SELECT count(*) FROM files").fetchone()
    assert count == 1 and stored == 1


def test_without_a_ledger_runs_work_and_history_says_it_is_off(tmp_path):
    app = create_app(str(RULESETS), ledger=None)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/rulesets/sanya_2024/run", json={"example": ""})
        assert response.status_code == 200 and "X-Rulesengine-Run" not in response.headers
        assert client.get("/api/runs").json()["errors"][0]["code"] == "usage"
    set_language("en")


def test_a_run_that_cannot_be_kept_is_a_500_with_a_message_not_a_result(served, monkeypatch):
    def broken():
        raise sqlite3.OperationalError("disk I/O error")
    monkeypatch.setattr(served.app.state.ledger, "_connect", broken)
    response = served.post("/api/rulesets/sanya_2024/run", json={"example": ""})
    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert error["code"] == "file-unwritable" and "disk I/O error" in error["message"]
    assert "settlement_amount" not in response.text
