"""The SPEC's default time limits (R-SLA-1 … R-SLA-8, R-SLA-11) and accountability rules (R-AC-1).
Administrators edit them afterwards; nothing in code repeats these numbers."""

from decimal import Decimal

from django.db import migrations

# (kind, name, length, unit, min level, max level, channel, market, escalates)
POLICIES = [
    ("first_contact", "首日联系（1 个工作日）", "1", "working_days", 1, 3, "", "any", True),
    ("resolution", "一级投诉 24 小时内解决", "24", "hours", 1, 1, "", "any", True),
    ("contact_again", "二、三级投诉 24 小时内再次联系", "24", "hours", 2, 3, "", "any", True),
    ("resolution", "二、三级投诉 48 小时内解决", "48", "hours", 2, 3, "", "any", True),
    ("answer", "责任单位 3 个工作日内回复原因及对策", "3", "working_days", 1, 3, "", "any", True),
    ("reply", "7 天内书面回复客户", "7", "days", 1, 3, "", "any", True),
    ("close", "国内客户 15 天内结案", "15", "days", 1, 3, "", "domestic", True),
    ("close", "国外客户 18 天内结案", "18", "days", 1, 3, "", "foreign", True),
    ("progress", "一级投诉每周至少联系一次", "7", "days", 1, 1, "", "any", False),
    ("progress", "二、三级投诉每 2 天至少联系一次", "2", "days", 2, 3, "", "any", False),
    ("promised_reply", "承诺回复时间（默认 24 小时）", "24", "hours", 1, 3, "", "any", True),
    ("platform_result", "12315 转办投诉 10 个工作日内反馈处理结果", "10", "working_days", 1, 3, "12315", "any", True),
]

# (code, name, min, max, proposed)
RULES = [
    ("first_contact_missed", "未在时限内首次联系客户", "30", "30", "30"),
    ("not_per_procedure", "未按程序处理导致客户投诉处理人", "30", "100", "30"),
    ("follow_up_skipped", "未回访或回访弄虚作假", "50", "100", "50"),
]


def load(apps, schema_editor):
    Policy = apps.get_model("sla", "Policy")
    for kind, name, length, unit, lo, hi, channel, market, escalates in POLICIES:
        Policy.objects.create(kind=kind, name=name, length=Decimal(length), unit=unit, min_level=lo,
                              max_level=hi, channel=channel, market=market, escalates=escalates)
    Rule = apps.get_model("sla", "AccountabilityRule")
    for code, name, lo, hi, amount in RULES:
        Rule.objects.create(code=code, name=name, amount_min=Decimal(lo), amount_max=Decimal(hi),
                            default_amount=Decimal(amount))


def unload(apps, schema_editor):
    apps.get_model("sla", "Policy").objects.all().delete()
    apps.get_model("sla", "AccountabilityRule").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("sla", "0003_business_calendar")]
    operations = [migrations.RunPython(load, unload)]
