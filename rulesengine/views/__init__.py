"""Stage 4, evaluations and traces -> what people and systems read: text and JSON, HTML and
Markdown reports, dependency pictures, the 清算明细 workbook."""
