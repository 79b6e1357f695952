"""R-CM-2 defaults: the forbidden phrases of the seeds, with what to say instead."""

from django.db import migrations

PHRASES = [
    ("我不知道", "这个问题我马上帮您确认，稍后给您答复"),
    ("这个不关我的事", "我来帮您联系负责的同事，并跟进到底"),
    ("这是…的事，你找他吧", "我来帮您转给负责的部门，并把结果告诉您"),
    ("这种问题连小孩子都知道", "我再为您详细说明一下"),
    ("一分钱一分货", "我为您介绍一下这款产品的特点和保障"),
    ("绝对不可能有这种事发生", "感谢您告诉我们，我们马上核实"),
    ("我绝对没说过这种话", "可能是我没有解释清楚，我再说明一下"),
    ("我不懂怎么处理", "我请更有经验的同事一起来帮您处理"),
    ("公司的规定就是这样，我没有办法", "我理解您的心情，我们看看还有什么办法"),
    ("你看不懂中文吗", "可能我没有说清楚，我再解释一遍"),
    ("改天再通知你", "我会在约定的时间前给您回复"),
    ("这不是我们的事", "我来帮您协调相关方一起解决"),
]


def load(apps, schema_editor):
    ForbiddenPhrase = apps.get_model("comms", "ForbiddenPhrase")
    for phrase, advice in PHRASES:
        ForbiddenPhrase.objects.create(phrase=phrase, advice=advice)


def unload(apps, schema_editor):
    apps.get_model("comms", "ForbiddenPhrase").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("comms", "0002_forbidden_phrases")]
    operations = [migrations.RunPython(load, unload)]
