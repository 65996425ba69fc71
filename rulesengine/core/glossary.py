"""The shared vocabulary of ../shared/BRIEF.md: ids that mean the same in every regime.

A ruleset uses these ids for its declarations where the concept matches (or names one with
``concept:``); ``rulesengine compare`` lines rulesets up by them.
"""

from __future__ import annotations

GLOSSARY: dict[str, str] = {
    "fund_accounting_amount": "统筹基金记账金额",
    "global_budget": "总额预算",
    "monthly_prepayment": "月度预付",
    "prepaid_total": "预付累计金额",
    "payable": "应支付金额",
    "settlement_amount": "决算金额",
    "quality_deposit": "质量保证金",
    "smart_audit_deduction": "智能审核扣款",
    "assessment_grade": "考核等次",
    "surplus_retained": "结余留用",
    "overspend_fund_share": "合理超支分担（基金分担）",
    "risk_reserve": "风险储备金",
    "adjustment_fund": "调剂金",
    "critical_illness_fund": "大病保险基金",
    "general_outpatient": "普通门诊统筹支出",
    "chronic_outpatient": "门诊慢性病（特殊疾病）",
    "two_diseases_outpatient": "门诊\"两病\"",
    "dip_points": "分值",
    "point_value": "点值",
    "institution_coefficient": "医疗机构系数",
    "lead_hospital": "牵头医院",
    "member": "成员单位",
    "budget_transfer": "调剂出让额",
    "rebalanced_result": "再平衡分配",
}
