"""The audit ledger from the command line (issue 15 item 4): run/explain/workbook record,
history lists and shows, rerun recomputes from the stored facts and the current files."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from rulesengine.cli import main
from conftest import ROOT, SANYA

RATE = "    value: 5%\n    citation: 三(三)2"  # Sanya's quality_deposit_rate


@pytest.fixture
def folder(tmp_path):
    """A copy of Sanya's ruleset (and the modules folder) that a test may edit."""
    shutil.copy(SANYA, tmp_path / "sanya_2024.yaml")
    shutil.copytree(ROOT / "rulesets" / "modules", tmp_path / "modules")
    return tmp_path


def _runs(ledger) -> list[tuple]:
    with sqlite3.connect(ledger) as db:
        return db.execute("SELECT id, command, ruleset, ruleset_id, who FROM runs").fetchall()


def test_run_history_rerun_identical_then_a_changed_parameter(folder, tmp_path, capsys):
    ledger, ruleset = str(tmp_path / "ledger.sqlite3"), folder / "sanya_2024.yaml"
    assert main(["run", str(ruleset), "--example", "--ledger", ledger]) == 0
    assert "run 1" in capsys.readouterr().err
    assert [r[:4] for r in _runs(ledger)] == [(1, "run", "sanya_2024", "sanya_medical_group_2024")]

    assert main(["history", "--ledger", ledger]) == 0
    listed = capsys.readouterr().out
    assert "sanya_2024" in listed and "三医保〔2024〕6号" in listed and "0 failed checks" in listed
    assert main(["history", "show", "1", "--ledger", ledger]) == 0
    shown = capsys.readouterr().out
    # settlement = 202,500,000.00 − 184,500,000.00 − 1,025,617.28 − 320,000.00 = 16,654,382.72
    assert '"settlement_amount": "16654382.72"' in shown and "assessment_grade" in shown

    assert main(["rerun", "1", "--ledger", ledger]) == 0
    assert "identical" in capsys.readouterr().out

    text = ruleset.read_text(encoding="utf-8")
    assert RATE in text
    ruleset.write_text(text.replace(RATE, RATE.replace("5%", "6%")), encoding="utf-8")
    assert main(["rerun", "1", "--ledger", ledger]) == 1
    said = capsys.readouterr().out
    assert "different" in said and "sanya_2024.yaml" in said and "quality_deposit_rate" in said
    # quality_deposit = 205,123,456.78 × 6% = 12,307,407.41; deduction 10% = 1,230,740.74;
    # settlement = 202,500,000.00 − 184,500,000.00 − 1,230,740.74 − 320,000.00 = 16,449,259.26
    assert "settlement_amount: 16654382.72 -> 16449259.26" in said


def test_explain_and_workbook_record_and_rerun_identical(folder, tmp_path, capsys):
    ledger, ruleset = str(tmp_path / "ledger.sqlite3"), str(folder / "sanya_2024.yaml")
    assert main(["explain", ruleset, "settlement_amount", "--example", "--ledger", ledger]) == 0
    assert main(["workbook", ruleset, "--example", "-o", str(tmp_path / "b.xlsx"), "--ledger", ledger]) == 0
    assert [r[1] for r in _runs(ledger)] == ["explain", "workbook"]
    assert main(["rerun", "1", "--ledger", ledger]) == 0
    assert main(["rerun", "2", "--ledger", ledger]) == 0
    assert main(["history", "--ruleset", "sanya_medical_group_2024", "--ledger", ledger]) == 0
    assert capsys.readouterr().out.count("sanya_2024 (") == 2


def test_the_environment_names_the_ledger_and_no_ledger_records_nothing(folder, tmp_path, monkeypatch, capsys):
    ledger, ruleset = tmp_path / "env.sqlite3", str(folder / "sanya_2024.yaml")
    monkeypatch.setenv("RULESENGINE_LEDGER", str(ledger))
    assert main(["run", ruleset, "--example", "--no-ledger"]) == 0
    assert not ledger.exists()
    assert main(["run", ruleset, "--example"]) == 0
    assert len(_runs(ledger)) == 1
    monkeypatch.setenv("RULESENGINE_LEDGER", "off")
    assert main(["run", ruleset, "--example"]) == 0
    assert len(_runs(ledger)) == 1


def test_a_ledger_that_cannot_be_written_does_not_stop_the_run(folder, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    assert main(["run", str(folder / "sanya_2024.yaml"), "--example", "--ledger", str(blocker / "l.sqlite3")]) == 0
    said = capsys.readouterr()
    assert "16,654,382.72" in said.out and "not recorded" in said.err and "Traceback" not in said.err


def test_unknown_run_missing_and_bad_ledger_exit_2(folder, tmp_path, capsys):
    ledger = str(tmp_path / "ledger.sqlite3")
    assert main(["run", str(folder / "sanya_2024.yaml"), "--example", "--ledger", ledger]) == 0
    capsys.readouterr()
    assert main(["rerun", "7", "--ledger", ledger]) == 2
    assert "no run number 7" in capsys.readouterr().err
    assert main(["history", "show", "7", "--ledger", ledger]) == 2
    assert main(["history", "--ledger", str(tmp_path / "none.sqlite3")]) == 2
    assert "no ledger at" in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite3").exists()  # reading never creates a ledger
    bad = tmp_path / "bad.sqlite3"
    bad.write_text("not a database\n" * 100, encoding="utf-8")
    assert main(["rerun", "1", "--ledger", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.sqlite3" in err and "Traceback" not in err


def test_the_default_ledger_is_the_workbenchs(folder, tmp_path, monkeypatch):
    monkeypatch.delenv("RULESENGINE_LEDGER")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert main(["run", str(folder / "sanya_2024.yaml"), "--example"]) == 0
    assert len(_runs(tmp_path / "data" / "rulesengine" / "ledger.sqlite3")) == 1


def test_history_of_one_ruleset(folder, tmp_path, capsys):
    ledger = str(tmp_path / "ledger.sqlite3")
    assert main(["run", str(folder / "sanya_2024.yaml"), "--example", "--ledger", ledger]) == 0
    assert main(["run", str(ROOT / "rulesets" / "zibo_2025.yaml"), "--example", "--ledger", ledger]) == 0
    capsys.readouterr()
    assert main(["history", "--ruleset", "zibo_2025", "--ledger", ledger]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].split()[0] == "2" and "zibo_2025" in lines[0]


def test_the_notice_is_chinese(folder, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    assert main(["--lang", "zh", "run", str(folder / "sanya_2024.yaml"), "--example",
                 "--ledger", str(blocker / "l.sqlite3")]) == 0
    assert "提示：本次运行未能记入台账" in capsys.readouterr().err
