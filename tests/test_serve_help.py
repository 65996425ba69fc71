"""帮助: the Chinese guides of docs/zh served at /help, names from a fixed list only."""

from __future__ import annotations

import pytest

try:  # Starlette's test client needs httpx2 (or the older httpx); the `test` extra installs it
    from fastapi.testclient import TestClient
except (ImportError, RuntimeError) as missing:
    pytest.skip(f"the workbench's test client is not installed: {missing}", allow_module_level=True)

from rulesengine.core.i18n import set_language  # noqa: E402
from rulesengine.serve import create_app  # noqa: E402
from rulesengine.serve.help import render_guide  # noqa: E402


def test_help_lists_the_guides_and_serves_only_them(tmp_path):
    with TestClient(create_app(str(tmp_path)), raise_server_exceptions=False) as client:
        home = client.get("/", headers={"accept": "text/html"}).text
        index = client.get("/help", headers={"accept": "text/html"})
        clearing = client.get("/help/clearing", headers={"accept": "text/html"})
        outside = client.get("/help/../../etc/passwd", headers={"accept": "text/html"})
        encoded = client.get("/help/..%2F..%2Fetc%2Fpasswd", headers={"accept": "text/html"})
    set_language("en")
    assert 'href="/help">帮助</a>' in home                       # the navigation opens the guide
    assert index.status_code == 200
    for name, title in [("clearing", "年终清算：从模板到清算包"), ("explanation", "如何阅读计算说明"),
                        ("authoring", "编写规则集"), ("workbench", "网页工作台")]:
        assert f'href="/help/{name}"' in index.text and title in index.text
    assert clearing.status_code == 200 and "<h1>年终清算：从模板到清算包</h1>" in clearing.text
    assert 'href="/help/explanation"' in clearing.text          # a link between guides stays in /help
    assert outside.status_code == 404 and "root:" not in outside.text
    assert encoded.status_code == 404 and "root:" not in encoded.text


def test_a_guide_is_escaped_and_keeps_no_link_off_the_list():
    page = render_guide("# 标题\n\n<script>alert(1)</script> [源码](../../README.md) [指南](clearing.md#编码)")
    assert "<script>" not in page and "&lt;script&gt;" in page    # raw HTML is text
    assert "../../README.md" not in page and "源码" in page       # not a guide: plain text
    assert 'href="/help/clearing"' in page                      # a guide's own page (headings carry no anchors)
