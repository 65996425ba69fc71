"""The workbench in a real browser: Playwright driving the Debian chromium, against a live server.

Skips cleanly when chromium or the playwright package is absent. Screenshots of each page go to
the test's temporary folder.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed "
                                "(Debian: apt-get install chromium fonts-noto-cjk)")
sync_api = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")

from rulesengine.core.i18n import set_language  # noqa: E402
from rulesengine.serve import create_app  # noqa: E402

RULESETS = Path(__file__).resolve().parents[1] / "rulesets"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    shutil.copytree(RULESETS, tmp / "rulesets")
    app = create_app(str(tmp / "rulesets"), ledger=str(tmp / "ledger.sqlite3"))
    port = _free_port()
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    for _ in range(200):  # up to 10 s for the server to listen (not a timing assertion)
        if instance.started:
            break
        time.sleep(0.05)
    assert instance.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)
    set_language("en")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                  args=["--headless", "--no-sandbox", "--disable-gpu"])
        except sync_api.Error as exc:
            pytest.skip(f"chromium does not start under Playwright: {exc}")
        yield chromium
        chromium.close()


def test_calc_page_loads_the_example_computes_and_changes_with_the_grade(server, browser, tmp_path):
    page = browser.new_page()
    page.goto(server + "/")
    assert "三亚市紧密型医疗集团总额预算管理实施方案" in page.content()
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)
    page.goto(server + "/rulesets/sanya_2024/calc")
    page.click("a.example")  # 载入示例
    assert page.input_value("#f-fund_accounting_amount") == "205123456.78"
    page.fill("#user", "李科长")
    page.click("#compute")
    report = page.frame_locator("#report")
    # settlement = 202,500,000.00 − 184,500,000.00 − 1,025,617.28 − 320,000.00
    sync_api.expect(report.locator("body")).to_contain_text("16,654,382.72")
    sync_api.expect(report.locator("body")).to_contain_text("医疗集团年度清算统筹基金决算金额")
    sync_api.expect(page.locator("#run")).to_contain_text("已记入审计台账")
    page.screenshot(path=str(tmp_path / "calc.png"), full_page=True)
    # graded 合格: 18,000,000.00 − 10,256,172.84 × 30% (3,076,851.85) − 320,000.00 = 14,603,148.15
    page.select_option("#f-assessment_grade", "合格")
    page.click("#compute")
    sync_api.expect(page.frame_locator("#report").locator("body")).to_contain_text("14,603,148.15")
    page.goto(server + "/runs")
    sync_api.expect(page.locator("#runs")).to_contain_text("李科长")
    page.screenshot(path=str(tmp_path / "history.png"), full_page=True)
    page.close()


def test_editor_shows_a_formula_error_at_its_line_as_she_types(server, browser, tmp_path):
    page = browser.new_page()
    page.goto(server + "/edit?source=sanya_2024")
    text = page.input_value("#text")
    broken = text.replace("formula: payable - prepaid_total -", "formula: payable - prepaid_totl -")
    line = next(i for i, l in enumerate(broken.splitlines(), 1) if "prepaid_totl" in l)
    page.fill("#text", broken)  # an input event: validated without submitting
    sync_api.expect(page.locator("#errors")).to_contain_text(f"ruleset.yaml:{line}:")
    sync_api.expect(page.locator("#errors")).to_contain_text("prepaid_total")
    sync_api.expect(page.locator("#gutter .err")).to_have_text(str(line))
    page.click("#errors .where")  # the error's place: the cursor goes to its line
    start = sum(len(l) + 1 for l in broken.split("\n")[:line - 1])
    assert page.evaluate("document.getElementById('text').selectionStart") == start
    page.screenshot(path=str(tmp_path / "edit.png"), full_page=True)
    page.close()


def test_calc_page_recomputes_when_the_grade_changes(server, browser, tmp_path):
    page = browser.new_page()
    page.goto(server + "/rulesets/sanya_2024/calc?example=group_2024")
    page.select_option("#f-assessment_grade", "合格")  # a change: no button pressed
    # graded 合格: 18,000,000.00 − 10,256,172.84 × 30% (3,076,851.85) − 320,000.00 = 14,603,148.15
    report = page.frame_locator("#report")
    sync_api.expect(report.locator("body")).to_contain_text("14,603,148.15")
    report.locator("details").first.wait_for()  # the explanation tree is there
    page.fill("#f-smart_audit_deduction", "0")  # typed: recomputed after a pause
    # 14,603,148.15 + 320,000.00 = 14,923,148.15
    sync_api.expect(page.frame_locator("#report").locator("body")).to_contain_text("14,923,148.15")
    page.screenshot(path=str(tmp_path / "calc-live.png"), full_page=True)
    page.close()


def test_batch_page_uploads_the_template_and_downloads_the_pack(server, browser, tmp_path):
    from rulesengine.cli import main
    template = tmp_path / "输入模板.xlsx"
    assert main(["template", str(RULESETS / "zibo_2025.yaml"), "-o", str(template), "--example"]) == 0
    page = browser.new_page()
    page.goto(server + "/rulesets/zibo_2025/batch")
    page.set_input_files("#tables", str(template))
    page.click("#start")
    sync_api.expect(page.locator("#download-pack")).to_be_visible(timeout=60000)
    page.screenshot(path=str(tmp_path / "batch.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#download-pack")
    assert download.value.suggested_filename == "zibo_2025-pack.zip"
    page.close()
