"""R-CL-1/R-CL-2 defaults: the SPEC's category tree and keyword rules. Admins edit them later."""

from django.db import migrations

# (code, parent, name, English name, default level, quality, claim, batch)
CATEGORIES = [
    ("quality", None, "产品质量", "Product quality", 1, True, False, False),
    ("quality_general", "quality", "一般质量缺陷", "General defect", 1, True, False, False),
    ("quality_serious", "quality", "严重或批量质量缺陷", "Serious or batch defect", 3, True, False, True),
    ("quality_safety", "quality", "安全或健康伤害", "Safety or health harm", 3, True, False, False),
    ("logistics", None, "物流配送", "Logistics and delivery", 1, False, False, False),
    ("logistics_delay", "logistics", "配送延误", "Delivery delay", 1, False, False, False),
    ("logistics_damage", "logistics", "运输破损", "Damage in transit", 1, False, False, False),
    ("logistics_quantity", "logistics", "错发、漏发或数量不符", "Wrong or short quantity", 1, False, False, False),
    ("packaging", None, "包装问题", "Packaging", 1, False, False, False),
    ("spec_mismatch", None, "规格、型号或数量与合同不符", "Specification, model or quantity not as contracted", 1, False, False, False),
    ("service", None, "服务问题", "Service", 1, False, False, False),
    ("service_attitude", "service", "服务态度", "Service attitude", 2, False, False, False),
    ("service_speed", "service", "服务效率", "Service speed", 1, False, False, False),
    ("service_professional", "service", "专业能力", "Professionalism", 1, False, False, False),
    ("policy", None, "政策、合同或价格", "Policy, contract or pricing", 1, False, False, False),
    ("claim", None, "索赔", "Claim for compensation", 2, False, True, False),
    ("unjustified", None, "非正当理由", "Unjustified demand", 1, False, False, False),
    ("suggestion", None, "改进建议", "Improvement suggestion", 1, False, False, False),
    ("other", None, "其他", "Other", 1, False, False, False),
]

# (keywords, category code or None, level or None, weight)
RULES = [
    ("媒体,记者,报社,电视台,曝光,上热搜,发微博,网上曝光", None, 3, 5),
    ("12315,消协,消费者协会,市场监管,工商局,监管部门", None, 3, 5),
    ("敲诈,恐吓,投毒,篡改,恶意破坏", None, 3, 5),
    ("过敏,中毒,受伤,烫伤,划伤,住院,腹泻,呕吐,爆炸,起火,漏电,触电", "quality_safety", 3, 30),
    ("批量,整批,大批,多位顾客,多个客户,同一批次", "quality_serious", 3, 25),
    ("赔偿,索赔,赔付,补偿,精神损失", "claim", 2, 22),
    ("态度,骂人,不耐烦,冷漠,爱答不理,推诿,服务差", "service_attitude", 2, 20),
    ("异物,变质,发霉,过期,质量问题,故障,不能用,失灵,开裂,掉漆,异味,坏了", "quality_general", None, 10),
    ("没送到,延迟,迟迟,配送慢,物流慢,还没到,未送达", "logistics_delay", None, 15),
    ("破损,摔坏,压坏,碎了,运输损坏", "logistics_damage", None, 15),
    ("发错,少发,漏发,数量不对,少了一", "logistics_quantity", None, 15),
    ("包装", "packaging", None, 12),
    ("规格不符,型号不对,与合同不符,货不对板", "spec_mismatch", None, 15),
    ("多收费,乱收费,价格,合同条款,霸王条款", "policy", None, 12),
    ("效率低,太慢,等了很久,排队", "service_speed", None, 8),
    ("不专业,一问三不知", "service_professional", None, 10),
    ("建议,希望改进", "suggestion", None, 5),
    ("再次投诉,第二次投诉,又一次,还是没解决,多次投诉", None, 2, 5),
    ("情绪激动,非常生气,愤怒,气死", None, 2, 5),
    ("起诉,律师,法院,上访,投诉到", None, 2, 5),
]


def load(apps, schema_editor):
    Category = apps.get_model("complaints", "Category")
    KeywordRule = apps.get_model("complaints", "KeywordRule")
    by_code = {}
    for sort, (code, parent, name, name_en, level, quality, claim, batch) in enumerate(CATEGORIES):
        by_code[code] = Category.objects.create(
            code=code, parent=by_code.get(parent), name=name, name_en=name_en, default_level=level,
            is_quality=quality, is_claim=claim, is_batch=batch, sort=sort * 10,
        )
    for keywords, code, level, weight in RULES:
        KeywordRule.objects.create(keywords=keywords, category=by_code.get(code), level=level, weight=weight)


def unload(apps, schema_editor):
    apps.get_model("complaints", "KeywordRule").objects.all().delete()
    Category = apps.get_model("complaints", "Category")
    Category.objects.exclude(parent=None).delete()
    Category.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("complaints", "0002_relations")]
    operations = [migrations.RunPython(load, unload)]
