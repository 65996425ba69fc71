"""批量清算 in the workbench: tables uploaded, a background job runs ``rulesengine batch``, results
and the pack downloaded (FastAPI TestClient).

The Zibo example as tables (tests/test_batch.py ``_zibo_tables``); the settlements are the ones
worked by hand in rulesets/zibo_2025.yaml's tests:
  H001 100,908.29 − 85,000 − 1,000 − 0 − 12,000 = 2,908.29; H002 −242.81; H003 742.31
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from pathlib import Path

import pytest

try:
    from fastapi.testclient import TestClient
except (ImportError, RuntimeError) as missing:
    pytest.skip(f"the workbench's test client is not installed: {missing}", allow_module_level=True)

from rulesengine.cli import main  # noqa: E402
from rulesengine.core.i18n import set_language  # noqa: E402
from rulesengine.serve import create_app  # noqa: E402
from test_batch import ZIBO, _zibo_tables  # noqa: E402

RULESETS = Path(__file__).resolve().parents[1] / "rulesets"
SETTLEMENTS = {"H001": "2908.29", "H002": "-242.81", "H003": "742.31"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    work = tmp_path_factory.mktemp("jobs")
    with TestClient(create_app(str(RULESETS), ledger=None, work_dir=str(work)),
                    raise_server_exceptions=False) as client:
        client.work = work
        yield client
    set_language("en")


def _upload(client, files: list[Path], facts: Path | None = None, names: dict | None = None, **data):
    parts = [("tables", ((names or {}).get(f.name, f.name), f.read_bytes())) for f in files]
    if facts is not None:
        parts.append(("facts", (facts.name, facts.read_bytes())))
    return client.post("/api/rulesets/zibo_2025/batch", files=parts, data=data)


def _finished(client, answer) -> dict:
    """Poll the job until it has ended (a bounded number of polls, no clock assertion)."""
    assert answer.status_code == 202, answer.text
    url = answer.json()["status_url"]
    for _attempt in range(600):
        job = client.get(url).json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    pytest.fail(f"the batch job did not end: {job}")


def _tables(tmp_path, edit=None) -> tuple[list[Path], Path]:
    args, folder = _zibo_tables(tmp_path, edit=edit)
    return [folder / "institutions.csv", folder / "cases.csv"], folder / "facts.json"


def test_zibo_tables_run_and_download(served, tmp_path):
    tables, facts = _tables(tmp_path)
    job = _finished(served, _upload(served, tables, facts))
    assert job["state"] == "done" and job["exit_status"] == 0, job
    assert job["summary"]["rows"] == 3 and not job["errors"]
    assert set(job["downloads"]) == {"csv", "xlsx", "pack"}
    answer = served.get(job["downloads"]["csv"])
    rows = {r["code"]: r for r in csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig")))}
    assert {k: rows[k]["settlement_amount"] for k in SETTLEMENTS} == SETTLEMENTS
    book = served.get(job["downloads"]["xlsx"])
    assert book.status_code == 200 and book.content[:2] == b"PK"
    openpyxl = pytest.importorskip("openpyxl")
    sheet = openpyxl.load_workbook(io.BytesIO(book.content)).worksheets[0]
    grid = list(sheet.iter_rows(values_only=True))
    column, code = grid[1].index("settlement_amount"), grid[1].index("code")
    assert {r[code]: f"{r[column]:.2f}" for r in grid[2:] if r[code] in SETTLEMENTS} == SETTLEMENTS
    pack = zipfile.ZipFile(io.BytesIO(served.get(job["downloads"]["pack"]).content))
    assert "index.html" in pack.namelist()
    assert sum(name.endswith(".xlsx") for name in pack.namelist()) == 3  # one 清算明细 per institution


def test_the_input_template_workbook_is_read_whole(served, tmp_path):
    template = tmp_path / "template.xlsx"
    assert main(["template", str(ZIBO), "-o", str(template), "--example"]) == 0
    job = _finished(served, _upload(served, [template]))
    assert job["state"] == "done", job
    rows = {r["code"]: r for r in csv.DictReader(io.StringIO(
        served.get(job["downloads"]["csv"]).content.decode("utf-8-sig")))}
    assert {k: rows[k]["settlement_amount"] for k in SETTLEMENTS} == SETTLEMENTS


def test_a_bad_row_is_located(served, tmp_path):
    def spoil(name, rows):
        if name == "cases":
            rows[2]["cost"] = "100000.005"  # C03, file row 4: three decimals
    tables, facts = _tables(tmp_path, edit=spoil)
    job = _finished(served, _upload(served, tables, facts))
    assert job["state"] == "failed" and job["exit_status"] == 1
    assert [(e["span"]["file"], e["span"]["line"], e["column"], e["code"]) for e in job["errors"]] == [
        ("cases.csv", 4, "cost", "bad-fact")]
    assert set(job["downloads"]) == {"errors"}
    report = served.get(job["downloads"]["errors"]).content.decode("utf-8-sig")
    assert "cases.csv,4,cost,bad-fact" in report
    assert str(served.work) not in str(job)  # the server's folders are not shown


def test_keep_going_computes_the_rest(served, tmp_path):
    def spoil(name, rows):
        if name == "cases":
            rows[5]["cost"] = "8000.001"  # C06 of H002 left out
    tables, facts = _tables(tmp_path, edit=spoil)
    job = _finished(served, _upload(served, tables, facts, keep_going="1"))
    assert job["state"] == "done" and job["summary"]["bad_rows"] == 1
    assert {"csv", "xlsx", "errors"} <= set(job["downloads"])


def test_a_path_traversal_file_name_stays_in_the_job_folder(served, tmp_path):
    tables, facts = _tables(tmp_path)
    names = {"institutions.csv": "../../../institutions.csv", "cases.csv": "..\\..\\cases.csv"}
    job = _finished(served, _upload(served, tables, facts, names=names))
    assert job["state"] == "done", job  # the names reduced to institutions.csv and cases.csv
    assert not (served.work.parent / "institutions.csv").exists()
    assert not (tmp_path.parent / "cases.csv").exists()
    written = {p.name for p in served.work.rglob("*.csv") if "in" == p.parent.name}
    assert written == {"institutions.csv", "cases.csv"}


def test_bad_uploads_are_4xx_json(served, tmp_path):
    tables, facts = _tables(tmp_path)
    answer = served.post("/api/rulesets/zibo_2025/batch", files=[("tables", ("evil.sh", b"rm -rf /"))])
    assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == "usage"
    answer = served.post("/api/rulesets/zibo_2025/batch", data={"keep_going": "1"})
    assert answer.status_code == 400 and "Traceback" not in answer.text
    answer = served.post("/api/rulesets/nowhere/batch", files=[("tables", ("a.csv", b"x\n1\n"))])
    assert answer.status_code == 404 and answer.json()["errors"][0]["code"] == "not-found"
    assert served.get("/api/jobs/../../etc").status_code == 404
    assert served.get("/api/jobs/" + "0" * 32).json()["errors"][0]["code"] == "not-found"
    huge = served.post("/api/rulesets/zibo_2025/batch", headers={"content-length": str(10 ** 9)},
                       content=b"")
    assert huge.status_code == 413


def test_an_unknown_table_is_the_clis_usage_error(served, tmp_path):
    other = tmp_path / "patients.csv"
    other.write_text("id\n1\n", encoding="utf-8")
    job = _finished(served, _upload(served, [other]))
    assert job["state"] == "failed" and job["errors"][0]["code"] == "usage"
    assert "patients.csv" in job["errors"][0]["message"] and str(served.work) not in job["errors"][0]["message"]


def test_the_batch_page(served):
    html = served.get("/rulesets/zibo_2025/batch").text
    assert "批量清算" in html and 'name="tables"' in html and "/api/rulesets/zibo_2025/batch" in html
    assert "<script src" not in html
    assert "/rulesets/zibo_2025/batch" in served.get("/").text


def test_a_refused_upload_leaves_no_job_and_jobs_at_once_are_bounded(served, tmp_path):
    from rulesengine.serve.jobs import MAX_RUNNING, Job
    jobs = served.app.state.jobs
    before = set(jobs._jobs)
    for _attempt in range(MAX_RUNNING + 1):  # refused uploads do not count as running jobs
        answer = served.post("/api/rulesets/zibo_2025/batch", files=[("tables", ("x.exe", b"MZ"))])
        assert answer.status_code == 400
    assert set(jobs._jobs) == before
    assert not [p for p in served.work.iterdir() if p.name not in before]
    busy = [Job(f"{i:032x}", "zibo_2025", str(tmp_path), state="running") for i in range(MAX_RUNNING)]
    jobs._jobs.update({job.id: job for job in busy})
    try:
        tables, facts = _tables(tmp_path)
        answer = _upload(served, tables, facts)
        assert answer.status_code == 409 and answer.json()["errors"][0]["code"] == "busy"
    finally:
        for job in busy:
            del jobs._jobs[job.id]


@pytest.mark.parametrize("inside", [False, True])
def test_a_bad_fact_is_located_in_the_uploaded_file(served, tmp_path, monkeypatch, inside):
    if inside:  # the server started in a folder above its work dir: messages show relative paths
        monkeypatch.chdir(served.work)
    tables, facts = _tables(tmp_path)
    facts.write_text(facts.read_text(encoding="utf-8").replace('"310000.00"', '"三十一万"'), encoding="utf-8")
    job = _finished(served, _upload(served, tables, facts))
    assert job["state"] == "failed" and job["errors"], job
    error = job["errors"][0]
    assert error["span"]["file"] == "facts.json" and error["span"]["line"] == 1, error
    assert "/in/" not in str(job) and str(served.work) not in str(job)
