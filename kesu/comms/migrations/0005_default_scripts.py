"""R-CM-1 defaults: the standard scripts (客服标准话术) of the seeds — the customer-service
regulation's attachment 一 (来电接听话术, 致电话术: 礼貌接听, 礼貌询问, the five 业务受理 answers,
礼貌结束; 催款, 宣导调查, 节点回复, 已完成业务回复), the handling manual's 标准问候语, 确认问题,
表示同情, 跟进与确认, and the property-management standard's 约定回复时间 and 服务上移 wording.
Placeholders in braces are filled from the complaint (``kesu.comms.scripts``)."""

from django.db import migrations

SCRIPTS = [
    # (situation, title, text)
    ("greeting", "礼貌接听", "您好！{unit}客服部，我是{handler}。有什么可以帮到您？"),
    ("greeting", "标准问候", "您好，感谢您选择我们的服务，请问有什么可以帮助您的吗？"),
    ("greeting", "致电问候", "{customer_name}您好！我是{company}客服{handler}。今天致电给您，是关于您反映的“{summary}”（投诉编号 {number}）。"),
    ("clarifying", "确认问题", "您遇到的问题是“{summary}”，对吗？"),
    ("clarifying", "了解详情", "为了尽快帮您处理，请问事情发生的时间、地点，涉及的门店和人员、产品及编码是？您还有其他联系方式吗？"),
    ("clarifying", "表示同情", "我能理解这给您带来的不便，对此我表示诚挚的歉意。"),
    ("solve_now", "可以直接解决", "您说的这个问题，具体是这样的：……"),
    ("solve_now", "提供方案", "针对您的问题，这里有几种解决方案：……您觉得这些方案是否可以解决您的问题呢？"),
    ("refer", "指引解决并回电", "您说的这个问题，具体可由{responsible_unit}解决，我马上致电给他们说明，让他们给您电话。如还有问题，欢迎来电。"),
    ("record_callback", "记录并回复", "您所说的内容我已记录下来了，投诉编号是 {number}。我会在{expected_date}前回复您。"),
    ("check_unit", "与其他部门核实", "您说的这个问题可能与{responsible_unit}有关，我先帮您了解一下，{expected_date}前再回复您。"),
    ("report_up", "汇报后回复", "您说的内容我已记录下来了，我需要向主管汇报后才能回复您，{expected_date}前我会给您电话。"),
    ("report_up", "请上级沟通", "您好，关于您的事情，我已经和上级取得联系，请您稍等一下，我们的主管马上与您沟通，共同设法妥善处理您的要求。"),
    ("closing", "来电结束", "谢谢您的来电，再见。"),
    ("closing", "致电结束", "今天跟您说的就是这个事，谢谢，再见。"),
    ("payment_reminder", "催款", "{customer_name}您好！您的订单已扫描，总共……元，请您尽快打款到账号，以便发货。"),
    ("survey", "宣导调查", "{customer_name}您好！您对……一事了解吗？具体是……"),
    ("survey", "满意度回访", "{customer_name}您好！关于您反映的“{summary}”（投诉编号 {number}），请问问题是否已经解决？您对我们的处理是：非常满意、满意、可理解/接受、不满意，还是很不满意？"),
    ("progress", "节点回复", "{customer_name}您好！您的投诉（编号 {number}）目前的进展是：{status}。我会尽快跟进处理，请您放心。"),
    ("completion", "已完成业务回复", "{customer_name}您好！您的投诉（编号 {number}）已处理完毕，具体结果是：……请您知悉。"),
]


def load(apps, schema_editor):
    Script = apps.get_model("comms", "Script")
    for order, (situation, title, text) in enumerate(SCRIPTS):
        Script.objects.create(situation=situation, title=title, text=text, order=order)


def unload(apps, schema_editor):
    apps.get_model("comms", "Script").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("comms", "0004_scripts")]
    operations = [migrations.RunPython(load, unload)]
