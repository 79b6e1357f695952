"""``kesu demo``: a demo organisation, its users and about 200 complaints in every state.

Every complaint is registered and moved on by ``kesu.complaints.actions`` with a simulated
clock (``now=``), so numbers, timelines, routing, repeat links, GM copies and deadline rows are
exactly what real use over the last 60 days would have produced. The random seed is fixed: two
fresh databases get the same demo (relative to the day it is loaded).

How it works:
  1. Build the unit tree and the users (one of each R-AX-1 role).
  2. Draw the cases: customers, products, problems, channels and a fate (the path the complaint
     takes), plus repeat complainants, duplicates, a batch problem and some fresh arrivals.
  3. Turn each case into a plan: registration, then timed steps (accept, transfer, answer, …).
  4. Run all steps of all plans in time order, so that the database sees one history; a step
     that falls after "now" is not run, which leaves recent complaints open part-way.

Idempotent: if the demo company unit exists the command changes nothing and says so.
"""

from __future__ import annotations

import random
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from kesu.complaints import actions
from kesu.complaints.models import Channel, Complaint, Demand, Status, Transfer
from kesu.org.models import Role, Unit, UnitKind, User

SEED = 10002  # ISO 10002, for luck
PASSWORD = "kesu-demo"
TOTAL = 200
DAYS = 60
SH = ZoneInfo("Asia/Shanghai")

COMPANY = "huaxia"
CENTRE = "huaxia-service"
BJ, SHX, GZ = "huaxia-bj-chaoyangmen", "huaxia-sh-xuhui", "huaxia-gz-tianhe"
QA, LOGISTICS, SALES = "huaxia-qa", "huaxia-logistics", "huaxia-sales"
GM_OFFICE = "huaxia-gm-office"
PLANT, ASSEMBLY = "huaxia-plant", "huaxia-plant-assembly"

# (code, name, kind, parent code, quality department)
UNITS = [
    (COMPANY, "华夏家电集团", UnitKind.COMPANY, None, False),
    (CENTRE, "客户服务中心", UnitKind.CENTRE, COMPANY, False),
    (BJ, "北京朝阳门店", UnitKind.BRANCH, CENTRE, False),
    (SHX, "上海徐汇门店", UnitKind.BRANCH, CENTRE, False),
    (GZ, "广州天河门店", UnitKind.BRANCH, CENTRE, False),
    (QA, "品质部", UnitKind.DEPARTMENT, COMPANY, True),
    (LOGISTICS, "物流部", UnitKind.DEPARTMENT, COMPANY, False),
    (SALES, "销售部", UnitKind.DEPARTMENT, COMPANY, False),
    (GM_OFFICE, "总经理办公室", UnitKind.DEPARTMENT, COMPANY, False),
    (PLANT, "顺德生产基地", UnitKind.DEPARTMENT, COMPANY, False),
    (ASSEMBLY, "总装一班", UnitKind.TEAM, PLANT, False),  # R-IV-2: manufacturing down to the team
]


@dataclass(frozen=True)
class Person:
    username: str
    name: str
    title: str
    role: str
    tier: int
    units: tuple[str, ...]
    superuser: bool = False


USERS = [
    Person("clerk", "赵静", "热线受理专员", Role.CLERK, 1, (CENTRE,)),
    Person("handler", "孙磊", "门店客服（北京朝阳）", Role.HANDLER, 1, (BJ,)),
    Person("handler2", "林晓燕", "门店客服（上海徐汇、广州天河）", Role.HANDLER, 1, (SHX, GZ)),
    Person("manager", "陈建国", "客服主管", Role.MANAGER, 2, (CENTRE,)),
    Person("director", "王志强", "销售中心总监", Role.DIRECTOR, 3, (COMPANY,)),
    Person("gm", "刘德明", "总经理", Role.GM, 3, (COMPANY,)),
    Person("qa", "周海涛", "品质工程师", Role.QA, 1, (QA,)),
    Person("logistics", "吴刚", "物流部专员", Role.RESPONDER, 1, (LOGISTICS,)),
    Person("sales", "郑丽", "销售部专员", Role.RESPONDER, 1, (SALES,)),
    Person("gmoffice", "黄婷", "总经理办公室主任", Role.GM_OFFICE, 3, (GM_OFFICE,)),
    Person("auditor", "何平", "内审专员（只读）", Role.AUDITOR, 1, (COMPANY,)),
    Person("admin", "马骏", "系统管理员", Role.ADMIN, 1, (COMPANY,), superuser=True),
]

# Who answers for a responsible unit, and how the unit is named to the customer.
RESPONDERS = {QA: "qa", LOGISTICS: "logistics", SALES: "sales"}
# R-IV-2: where the company is responsible, the unit and person the investigation names.
CULPRITS = {QA: (ASSEMBLY, "装配工 李强"), LOGISTICS: (LOGISTICS, "仓库拣货员 陈亮"),
            SALES: (SALES, "销售顾问 何琳")}


@dataclass(frozen=True)
class Findings:
    """What the investigation finds (R-IV-1) and the CAPA it leads to (R-IV-3)."""

    responsibility: str  # kesu.quality.models.Responsibility
    third_party: str
    unit: str | None  # the problem's responsible unit; None: the store itself
    cause: str
    measure: str
    batch: bool = False


UNIT_NAMES = {code: name for code, name, *_ in UNITS}


@dataclass(frozen=True)
class Store:
    name: str
    district: str
    area_code: str
    streets: tuple[str, ...]
    handler: str


STORES = {
    BJ: Store("北京朝阳门店", "北京市朝阳区", "010",
              ("朝阳门外大街", "东三环中路", "工体北路", "团结湖路", "呼家楼北街", "金台路"), "handler"),
    SHX: Store("上海徐汇门店", "上海市徐汇区", "021",
               ("漕溪北路", "天钥桥路", "虹桥路", "宜山路", "龙华中路", "肇嘉浜路"), "handler2"),
    GZ: Store("广州天河门店", "广州市天河区", "020",
              ("天河路", "体育东路", "黄埔大道西", "中山大道西", "天河北路", "林和西路"), "handler2"),
}

# kind: (models, lowest price, highest price, lot prefix)
PRODUCTS: dict[str, tuple[tuple[str, ...], int, int, str]] = {
    "电饭煲": (("HX-FB40A1 4升", "HX-FB50S2 IH 5升"), 299, 899, "FB"),
    "空调": (("KFR-35GW/HX3 1.5匹挂机", "KFR-26GW/HX1 大1匹挂机", "KFR-72LW/HX5 3匹柜机"), 2599, 8999, "KT"),
    "冰箱": (("BCD-520WK 对开门", "BCD-310T 三门", "BCD-456WP 十字门"), 1999, 6999, "BX"),
    "洗衣机": (("XQG100-B14 10公斤滚筒", "XQB80-H3 8公斤波轮", "XQG90-HBD 洗烘一体"), 1299, 4599, "XY"),
    "热水器": (("JSQ25-13HX 燃气", "DSZF-60HX 60升电热", "DSZF-80HX 80升电热"), 999, 3999, "RS"),
    "电视": (("HX-65E7 65英寸", "HX-55A5 55英寸", "HX-75U9 75英寸"), 2299, 8999, "TV"),
    "微波炉": (("MW20-M1 20升", "MW23-G5 23升光波"), 399, 1299, "WB"),
    "油烟机": (("CXW-220-HX8 侧吸式",), 1499, 3999, "YY"),
    "净水器": (("RO-600G HXJ9",), 1299, 2999, "JS"),
}


@dataclass(frozen=True)
class Problem:
    """What went wrong, in the words a clerk records, and how the company deals with it.

    A text may start with ``空调,冰箱|``: it then fits only those product kinds. ``causes`` and
    ``measures`` go in pairs (the same index); so do summaries and symptoms if ``paired``."""

    key: str
    category: str
    kinds: tuple[str, ...]
    summaries: tuple[str, ...]  # {k}: product kind
    symptoms: tuple[str, ...]
    demands: tuple[str, ...]
    unit: str | None  # the responsible unit it goes to; None: the front line handles it
    causes: tuple[str, ...]
    measures: tuple[str, ...]
    fixes: tuple[str, ...]  # {amt}: the money the fix costs the company
    weight: int
    amount: tuple[int, int] = (50, 200)
    quick: bool = False  # can be solved on the spot
    paired: bool = False  # the n-th summary goes with the n-th symptom (and cause, if as many)


def fits(text: str, kind: str) -> str | None:
    """The text without its kind tag if it fits the product kind, else None."""
    kinds, _sep, body = text.rpartition("|")
    return body if not kinds or kind in kinds.split(",") else None


def fitting(texts: tuple[str, ...], kind: str) -> list[str]:
    return [body for body in (fits(t, kind) for t in texts) if body is not None]


ANY = tuple(PRODUCTS)
PROBLEMS = [
    Problem(
        "no_cool", "quality_general", ("空调", "冰箱"),
        ("{k}不制冷", "新买的{k}制冷效果很差", "{k}开机很久温度也降不下来"),
        ("空调|开机一个多小时屋里还是很热，出风口吹的基本是常温风",
         "冰箱|冷藏室摸着一点都不凉，放进去的牛奶第二天就酸了",
         "冰箱|显示屏上温度一直在十几度，压缩机响一会儿就停",
         "空调|外机风扇在转，可连接管上结了一层霜"),
        (Demand.REPAIR, Demand.REPLACEMENT), QA,
        ("压缩机启动电容容量衰减，压缩机频繁启停", "冷媒管路焊点微漏，系统冷媒不足",
         "温度传感器接插件接触不良，主板误判温度"),
        ("更换启动电容并复测；对同批次在库电容抽检50只", "补焊漏点、抽真空后重新加注冷媒；焊接工序增加检漏",
         "更换传感器线束；要求供应商改进端子压接工艺并提交8D报告"),
        ("安排工程师上门维修，更换故障部件，并延长整机保修一年", "为您办理同型号换新，旧机回收检测"),
        10,
    ),
    Problem(
        "leak", "quality_general", ("洗衣机", "空调", "热水器", "净水器"),
        ("{k}漏水", "{k}底部一直往外渗水", "{k}用了没多久就漏水"),
        ("洗衣机|洗衣服的时候底下淌了一地水，卫生间门口的地垫全湿了", "空调|内机一直往下滴水，正好滴在沙发上",
         "热水器,净水器|进水口接头一直在滴水，下面只好接了个盆", "净水器|滤芯座那里渗水，橱柜底板都泡胀了"),
        (Demand.REPAIR, Demand.REPLACEMENT), QA,
        ("洗衣机|排水管卡箍未卡到位，运行振动后松脱", "空调|内机排水管安装坡度不足，冷凝水倒流",
         "洗衣机,热水器,净水器|进水阀密封圈尺寸偏差，属批次来料不良"),
        ("重新紧固卡箍并做通水试验；安装作业指导书增加卡箍确认项", "重新调整排水管坡度并做排水测试；对安装师傅复训",
         "更换密封圈；对该批次来料全检并向供应商索赔"),
        ("上门更换漏水部件并清理现场，另赠送一次免费清洗服务", "为您更换新机并承担上门安装费用"),
        10,
    ),
    Problem(
        "noise", "quality_general", ("冰箱", "洗衣机", "空调", "油烟机"),
        ("{k}异响", "{k}运行时噪音特别大", "{k}晚上咔咔响影响睡觉"),
        ("晚上能听到一阵一阵的咔咔声", "洗衣机|脱水的时候整台机器晃得厉害，砰砰直响",
         "开机后有很尖的嗡嗡声，关机就没了", "空调,油烟机|风机转起来声音像拖拉机一样"),
        (Demand.REPAIR, Demand.REPLACEMENT, Demand.EXPLANATION), QA,
        ("冰箱,空调,油烟机|风扇电机轴承润滑不良", "洗衣机|运输螺栓未拆除，导致脱水时剧烈振动",
         "冰箱,空调|压缩机减震垫安装偏位", "洗衣机|电机固定螺栓松动"),
        ("更换风扇电机；对该批次电机增加噪音检测工位", "拆除运输螺栓并调平；送装环节增加运输螺栓拆除确认",
         "重新安装减震垫并复测噪音；总装线增加目视检查", "紧固电机螺栓并加防松胶；总装扭矩100%检查"),
        ("安排师傅上门检修，更换异响部件", "为您更换同型号新机"),
        9,
    ),
    Problem(
        "no_heat", "quality_general", ("电饭煲", "微波炉", "热水器"),
        ("{k}不加热", "{k}通电后不工作", "{k}突然不加热了"),
        ("电饭煲|按了煮饭键指示灯亮着，但锅里一直不热，米饭是夹生的", "微波炉|转盘在转，可热了五分钟饭还是凉的",
         "热水器|洗澡洗到一半水突然变凉，显示屏报E4", "插上电源没有任何反应，换了插座也一样"),
        (Demand.REPLACEMENT, Demand.REPAIR, Demand.REFUND), QA,
        ("电饭煲|温控器触点氧化，加热回路不通", "微波炉|磁控管老化，输出功率不足", "热水器|加热管温度保护器误动作"),
        ("更换温控器；要求供应商整改触点镀层工艺", "更换磁控管；对该批次磁控管做寿命抽检",
         "更换温度保护器并调整安装位置"),
        ("为您办理换新，并赠送价值{amt}元的配件礼包", "上门更换故障部件，免收维修费"),
        8,
    ),
    Problem(
        "tv_screen", "quality_general", ("电视",),
        ("电视黑屏", "电视屏幕出现竖线", "电视开机后反复重启"),
        ("看着看着突然黑屏，声音还有", "屏幕左边有两条彩色竖线，越来越明显",
         "开机停在开机画面然后自己重启，来回好几次"),
        (Demand.REPAIR, Demand.REPLACEMENT), QA,
        ("屏幕排线接触不良", "主板电源模块电容鼓包", "系统固件升级中断"),
        ("重新插接排线并加固；生产线增加排线卡扣检查", "更换电源板；向电容供应商发出整改通知",
         "上门刷写固件；研发已修复升级包"),
        ("上门维修并赠送一年延保", "为您更换新机"),
        6, paired=True,
    ),
    Problem(
        "shock", "quality_safety", ("热水器", "洗衣机"),
        ("热水器|洗澡时热水器漏电，人被电了一下", "摸{k}外壳有触电发麻的感觉"),
        ("热水器|洗澡时手碰到花洒水管一阵发麻，吓得赶紧关了电源", "家里老人碰到机身被电了一下，现在谁都不敢用",
         "用电笔测机身外壳有电"),
        (Demand.COMPENSATION, Demand.EXPLANATION, Demand.REPLACEMENT), QA,
        ("热水器|住宅插座无接地线，加热管绝缘层局部破损导致外壳带电", "电源线在机身穿线孔处磨损，绝缘破损"),
        ("更换加热管与防电墙组件；协助客户整改插座接地；该批次绝缘耐压100%复测",
         "更换电源线并加装护线套；总装工序增加穿线孔毛刺检查"),
        ("立即停用并免费更换整机，安排电工检测家中线路接地，承担体检费用{amt}元",
         "上门检测并更换整机，当面致歉并补偿{amt}元"),
        2, (500, 3000),
    ),
    Problem(
        "fire", "quality_safety", ("微波炉", "电饭煲"),
        ("{k}使用中冒烟起火", "电饭煲|{k}排气口喷汁把手烫伤了"),
        ("微波炉|加热一碗饭的时候里面突然打火花、冒黑烟", "电饭煲|开盖时排气阀喷出热米汤，手背烫起了水泡，去医院处理过",
         "机器背后冒烟有焦糊味，插头都烧黑了"),
        (Demand.COMPENSATION, Demand.REFUND), QA,
        ("微波炉|波导盖板受油污碳化引起打火", "电饭煲|排气阀密封圈装配不到位，压力释放异常",
         "电源插头与线材压接不良，局部过热"),
        ("更换波导盖板；说明书增加清洁提示", "更换排气阀组件；装配工序增加气密检测", "对该批次电源线全检并更换供应商"),
        ("全额退款，并承担医药费及误工费共计{amt}元", "更换新机，赔付损失{amt}元并书面致歉"),
        2, (300, 2500),
    ),
    Problem(
        "delay", "logistics_delay", ("冰箱", "洗衣机", "空调", "电视", "油烟机"),
        ("送货延迟", "约好的送货时间没人来", "下单一周了{k}还没送到"),
        ("说好周六上午送货，等了一整天也没人来，打电话也没人接", "订单显示已出库五天了，物流信息一直不更新",
         "专门请了假在家等送货，结果临时通知改期"),
        (Demand.APOLOGY, Demand.OTHER), LOGISTICS,
        ("第三方承运商排班失误，订单漏派", "区域仓库该型号缺货，未及时告知客户", "配送系统地址解析错误，订单被分到其他站点"),
        ("承运商按合同考核；配送前一天增加电话确认", "调整库存预警阈值，缺货订单24小时内告知客户",
         "修正地址解析规则；调度员每日核对异常订单"),
        ("加急配送并当天安装，赠送{amt}元延误补偿券", "协调专车配送，赠送{amt}元购物券表示歉意"),
        9, (50, 150),
    ),
    Problem(
        "damage", "logistics_damage", ("冰箱", "电视", "洗衣机", "空调"),
        ("{k}运输破损", "{k}送到时外壳凹了一块", "开箱发现{k}有磕碰"),
        ("冰箱,洗衣机,空调|拆开包装发现侧板凹进去一大块，当场拍了照", "电视|外箱一角压塌了，拆开一看屏幕有裂纹",
         "冰箱|送来的冰箱门把手断了，送货师傅说不是他们弄的", "外箱一角压塌了，机身上有一道明显的磕痕"),
        (Demand.REPLACEMENT, Demand.REFUND), LOGISTICS,
        ("承运商装卸未按规范操作，堆码超高", "运输途中急刹车导致货物倾倒"),
        ("破损损失由承运商承担；装车加装护角并限制堆码层数", "运输车辆加装固定绑带；推行签收前开箱验机"),
        ("为您免费换新，破损损失由承运商承担", "为您办理退货退款，另赠送{amt}元购物券"),
        7, (100, 200),
    ),
    Problem(
        "missing", "logistics_quantity", ("空调", "电视", "洗衣机", "净水器"),
        ("空调|空调少发安装挂架", "电视,空调|{k}少了遥控器", "洗衣机,净水器|{k}少发进水管"),
        ("空调|安装时发现没有挂架，师傅装不了白跑一趟", "电视,空调|箱子里没有遥控器，说明书上写着有",
         "洗衣机,净水器|缺少进水管，机器没法用"),
        (Demand.OTHER,), LOGISTICS,
        ("仓库拣货漏拣配件", "配件包在包装工位漏放"),
        ("补发配件；仓库出库增加配件清单核对", "向生产线反馈漏装；包装工位增加称重检测"),
        ("当天补发配件并安排师傅上门安装", "快递补发缺少的配件，另赠送{amt}元话费"),
        6, (20, 50), quick=True, paired=True,
    ),
    Problem(
        "wrong_model", "spec_mismatch", ("空调", "冰箱", "洗衣机"),
        ("送来的型号不对", "买的和送来的不是一个型号"),
        ("空调|买的是变频的，送来的是定频的", "订的是银色款，送来的是金色款，型号也不一样",
         "洗衣机|合同上写的十公斤，送来的是八公斤"),
        (Demand.REPLACEMENT, Demand.REFUND), SALES,
        ("门店开单员录错型号", "仓库发货时错拿相近型号"),
        ("为客户换货；开单系统增加型号二次确认", "仓库按库位复核；发货前扫码比对"),
        ("上门换回正确型号并承担往返运费", "为您办理退货退款"),
        4,
    ),
    Problem(
        "attitude", "service_attitude", ("空调", "热水器", "油烟机", "洗衣机"),
        ("安装师傅态度差", "售后师傅服务态度恶劣", "安装师傅私自加收费用"),
        ("师傅进门不穿鞋套，提醒了一句他就很不耐烦", "问他为什么要收材料费，他说不装就走，说话很冲",
         "装完要收三百块辅材费，说是规定，还不给收据"),
        (Demand.APOLOGY, Demand.REFUND), LOGISTICS,
        ("安装服务商人员未按服务规范操作", "安装师傅违规收取辅材费"),
        ("安装服务商对该师傅停工培训；全员复训服务规范", "退还违规收费；按合同对服务商罚款并通报"),
        ("由服务商负责人上门道歉，并退还多收的{amt}元", "向您书面致歉，并退还费用{amt}元"),
        7, (100, 300), paired=True,
    ),
    Problem(
        "slow_repair", "service_speed", ("冰箱", "洗衣机", "空调", "热水器"),
        ("报修三天没人上门", "售后电话一直打不通", "维修一拖再拖"),
        ("三天前就报修了，到现在没人联系", "400电话打了十几次一直排队", "师傅来看过说要等配件，一周了没消息"),
        (Demand.REPAIR, Demand.EXPLANATION), None,
        ("旺季报修量大，网点派工积压", "配件调拨延误"),
        ("增加旺季临时派工人员；超48小时未派工自动提醒", "配件改由总仓直发"),
        ("当日派工上门维修，维修费全免", "优先安排师傅上门，配件已从总仓加急调拨"),
        6, paired=True,
    ),
    Problem(
        "invoice", "policy", ANY,
        ("发票开成了普票", "发票抬头开错了", "一个多月了还没收到电子发票"),
        ("单位报销需要专票，门店给开成了普票", "发票上的公司名称少了两个字，没法报销", "付款时说会发电子发票到邮箱，一直没收到"),
        (Demand.OTHER,), SALES,
        ("门店开票员录入抬头错误", "电子发票推送邮箱填写错误"),
        ("红冲后重新开具；开票前与客户核对抬头", "重新推送电子发票；开票系统增加邮箱格式校验"),
        ("已重新开具正确的发票并快递给您", "已重新推送电子发票并电话确认您已收到"),
        5, quick=True, paired=True,
    ),
    Problem(
        "price", "policy", ("空调", "冰箱", "电视", "洗衣机"),
        ("买完就降价，要求补差价", "以旧换新补贴没有到账"),
        ("买了不到一周，同款在店里便宜了五百", "说好以旧换新补贴三百，旧机拉走一个月了钱还没到"),
        (Demand.REFUND, Demand.OTHER), SALES,
        ("门店未向客户说明价保规则", "补贴申报材料缺失，财务未审核"),
        ("按价保政策退还差价；门店销售培训价保规则", "补齐申报材料，补贴3个工作日内到账"),
        ("按价保政策退还差价{amt}元", "补贴{amt}元已发放至您的账户"),
        5, (100, 500), paired=True,
    ),
    Problem(
        "claim_food", "claim", ("冰箱",),
        ("冰箱坏了食物全部变质，要求赔偿",),
        ("冷冻室里的肉和海鲜全化了发臭，损失一千多块", "刚囤的年货全坏了"),
        (Demand.COMPENSATION,), QA,
        ("压缩机过载保护器失效导致停机",),
        ("更换压缩机及保护器；该批次保护器抽检",),
        ("上门维修冰箱，并赔偿食品损失{amt}元",),
        3, (500, 2500),
    ),
    Problem(
        "claim_water", "claim", ("洗衣机", "热水器"),
        ("{k}漏水泡坏木地板，要求赔偿", "{k}漏水淹了楼下邻居家，要求赔偿损失"),
        ("下班回来家里全是水，木地板都泡起鼓了", "楼下邻居找上门，说天花板在往下滴水"),
        (Demand.COMPENSATION,), QA,
        ("洗衣机|进水管接头螺母开裂", "热水器|安全阀泄压管未接排水"),
        ("更换接头并对该批次螺母全检", "安装规范补充泄压管引流要求并复训安装师傅"),
        ("赔偿地板维修费用{amt}元并更换新机", "承担楼下邻居房屋修复费用{amt}元并更换新机"),
        3, (1500, 12000),
    ),
    Problem(
        "unjustified", "unjustified", ("空调", "冰箱", "洗衣机", "电视", "电饭煲"),
        ("已过保修期要求免费换新", "自行拆机后要求免费保修", "人为损坏要求免费更换"),
        ("机器用了六年，现在坏了要求免费换新的", "自己找外面师傅拆过机，现在要求按保修免费修", "搬家时摔坏了，要求厂家免费换一台"),
        (Demand.REPLACEMENT, Demand.REFUND), QA,
        ("经核实产品已超过整机保修期", "检测结果：机身封条已被拆动，系非授权维修",
         "检测结果：外壳有明显跌落撞击痕迹，属人为损坏"),
        ("不属于三包范围，提供有偿维修优惠方案",) * 3,
        (),
        4, paired=True,
    ),
    Problem(
        "suggestion", "suggestion", ANY,
        ("建议增加线上预约安装时间段", "说明书字太小，建议提供视频教程", "建议延长清洗服务的预约时间"),
        ("每次预约安装只能选上午或下午，上班族很不方便，希望能选具体时间段", "说明书上的字太小，家里老人看不清，希望能扫码看视频",
         "晚上和周末约不到清洗师傅，希望增加晚间和周末的服务时段"),
        (Demand.OTHER,), SALES,
        ("",), ("",), (),
        3, paired=True,
    ),
    Problem(
        "packaging", "packaging", ("电饭煲", "微波炉", "净水器"),
        ("包装破损", "外包装泡沫碎了撒一地"),
        ("快递送来的箱子湿了一角，里面泡沫也碎了", "包装箱封口胶带是开的，担心是别人退回的机器"),
        (Demand.EXPLANATION, Demand.REPLACEMENT), LOGISTICS,
        ("快递途中受潮", "包装箱封口胶带粘性不足"),
        ("更换防潮包装材料", "更换封口胶带供应商并增加封箱检查"),
        ("为您换新，并改用加厚防潮包装发货",),
        3, quick=True,
    ),
]
# How long before the complaint the product was bought (days), where it matters.
BOUGHT_DAYS = {"delay": (2, 10), "damage": (1, 6), "missing": (1, 6), "wrong_model": (1, 6),
               "packaging": (1, 6), "attitude": (1, 10), "price": (3, 7), "invoice": (30, 60),
               "unjustified": (400, 2200)}
# Problems a third party (carrier, installer) caused; the company still answers to the customer.
THIRD_PARTY = {"delay", "damage", "attitude", "packaging"}
BY_KEY = {p.key: p for p in PROBLEMS}

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程"
            "魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金贾夏方邹熊白孟秦邱侯江薛段雷龙史陶贺毛郝顾龚邵万钱严")
MALE = ("伟", "强", "磊", "军", "勇", "涛", "超", "刚", "平", "建华", "志强", "晓东", "海涛", "浩然",
        "宇轩", "俊杰", "思远", "建国", "国庆", "文博", "子豪", "立新", "永刚", "海峰")
FEMALE = ("芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀英", "桂英", "红梅", "玉兰", "海燕", "婷",
          "雪", "欣怡", "佳怡", "子涵", "梓萱", "雨桐", "淑珍", "丽华", "晓红", "春梅")
# Foreign customers living in Shanghai: name, salutation, phone as given (+country code).
FOREIGNERS = [("Michael Brown", "Brown先生", "+1 415 555 0134"), ("田中由美", "田中女士", "+81 90 1234 5678"),
              ("Anna Müller", "Müller女士", "+49 151 2345 6789")]
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                   "152", "155", "156", "157", "158", "159", "166", "173", "176", "177", "180",
                   "181", "182",
                   "185", "186", "187", "188", "189", "191", "198", "199")

# R-IN-1: how complaints arrive at a home-appliance company (weights).
CHANNELS = [
    (Channel.PHONE, 34), (Channel.WECHAT, 19), (Channel.WEB, 15), (Channel.VISIT, 10),
    (Channel.EMAIL, 5), (Channel.LETTER, 3), (Channel.SMS, 3), (Channel.SOCIAL, 2),
    (Channel.DEALER, 2), (Channel.TRANSFER_12315, 1), (Channel.MEDIA, 1), (Channel.INTERNAL, 2),
]
OPENINGS = {
    Channel.PHONE: "客户来电反映：", Channel.WECHAT: "微信公众号留言：", Channel.WEB: "官网在线留言：",
    Channel.VISIT: "客户到店反映：", Channel.EMAIL: "客户来邮件反映：", Channel.LETTER: "客户来信反映：",
    Channel.SMS: "客户短信反映：", Channel.SOCIAL: "舆情监测：网友在微博发帖称，",
    Channel.DEALER: "经销商反映：", Channel.TRANSFER_12315: "12315平台转办，消费者诉称：",
    Channel.MEDIA: "《都市生活报》记者来电核实读者爆料：", Channel.INTERNAL: "门店员工上报：",
}
# Hours of the day (Shanghai) a complaint of the channel arrives.
CHANNEL_HOURS = {Channel.WEB: (7, 23), Channel.WECHAT: (7, 23), Channel.EMAIL: (7, 23),
                 Channel.SOCIAL: (8, 23), Channel.LETTER: (9, 17), Channel.TRANSFER_12315: (9, 17),
                 Channel.MEDIA: (9, 18)}
DEMAND_SENTENCES = {
    Demand.REPAIR: ("希望尽快安排师傅上门维修。", "要求上门检测维修。"),
    Demand.REPLACEMENT: ("要求换一台新的。", "要求更换同型号新机。"),
    Demand.REFUND: ("要求退货退款。",),
    Demand.COMPENSATION: ("要求赔偿损失。", "要求厂家赔偿并给个说法。"),
    Demand.APOLOGY: ("要求当面道歉。", "希望公司给个道歉。"),
    Demand.EXPLANATION: ("希望给个合理的解释。",),
    Demand.OTHER: ("希望尽快处理。",),
}
DEMAND_DETAILS = {
    Demand.REPAIR: "上门维修", Demand.REPLACEMENT: "换新机", Demand.REFUND: "退货退款",
    Demand.COMPENSATION: "赔偿损失", Demand.APOLOGY: "当面道歉", Demand.EXPLANATION: "书面说明原因",
    Demand.OTHER: "尽快处理",
}
# What the customer asks for where the demand's generic wording would not fit the problem.
ASKS = {
    "attitude": (("要求师傅当面道歉，退还多收的钱。", "希望公司严肃处理这个师傅。"), "道歉并退还费用"),
    "price": (("要求按价保补差价。", "要求尽快把补贴打到账上。"), "补差价或补贴到账"),
    "invoice": (("要求尽快重开发票。",), "重开发票"),
    "missing": (("要求尽快补发配件。",), "补发配件"),
    "delay": (("要求尽快送货，并给个说法。",), "尽快送货"),
}
IMPACTS = ("", "", "", "家里有老人和孩子，很着急。", "已经影响正常生活好几天了。",
           "前后打了好几次电话都没有结果。", "客户说话比较急，反复强调要尽快解决。")
SATISFIED = ("非常满意（1分）", "满意（2分）", "满意（2分）", "可以接受（3分）")
REVIEW_NOTES = ("处理及时，记录完整，同意归档。", "责任已明确，纠正措施已落实，同意结案。",
                "处理过程符合规范，同意结案。")
CLOSE_REASONS = ("客户满意，问题已解决。", "已按处理方案执行完毕，回访满意。", "客户认可处理结果，结案。")
MISUSE = ("检测发现机器内部有进水痕迹，属使用不当造成", "检测发现电源接在了无保护的拖线板上，属使用不当造成",
          "检测未发现质量问题，系未按说明书操作")

Step = Callable[[Complaint, datetime], None]


@dataclass
class Case:
    """One complaint to be: what is registered, and the path it will take (``fate``)."""

    key: int
    t0: datetime
    problem: Problem
    channel: str
    store: str
    recorder: str
    fate: str
    salutation: str
    intake: dict[str, Any]
    variant: int = 0  # which summary/symptom of a paired problem
    base: int | None = None  # the earlier complaint a repeat or duplicate refers to
    steps: list[tuple[datetime, Step]] = field(default_factory=list)
    t: datetime | None = None  # the plan's clock while steps are added


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def table(rows: list[list[str]]) -> str:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(_pad(cell, w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Demo:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.cutoff = now - timedelta(minutes=5)
        self.rng = random.Random(SEED)
        self.units: dict[str, Unit] = {}
        self.users: dict[str, User] = {}
        self.cases: list[Case] = []
        self.complaints: dict[int, Complaint] = {}
        self.open_transfer: dict[int, int] = {}
        self.phones: set[str] = set()
        self.batch_lot = ""
        self.batch_capa: Any = None  # the batch problem's CAPA, which covers all its complaints

    # --- 1. organisation ---------------------------------------------------------------------

    def build_org(self) -> None:
        for code, name, kind, parent, quality in UNITS:
            self.units[code] = Unit.objects.create(
                code=code, name=name, kind=kind, parent=self.units.get(parent) if parent else None,
                is_quality=quality,
            )
        # One hash for the shared demo password: hashing costs about a second per call and
        # every demo user has the same password anyway.
        password = make_password(PASSWORD)
        for person in USERS:
            user = User(username=person.username, display_name=person.name, role=person.role,
                        tier=person.tier, is_staff=person.superuser, is_superuser=person.superuser,
                        first_name=person.name[1:], last_name=person.name[0], password=password,
                        email=f"{person.username}@huaxia-demo.example")
            user.save()
            user.units.set([self.units[c] for c in person.units])
            self.users[person.username] = user

    # --- 2. cases ------------------------------------------------------------------------------

    def pick(self, weighted: list[tuple[Any, int]]) -> Any:
        return self.rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]

    def customer(self, store: str) -> tuple[str, str, str, str]:
        """A name, a salutation, a phone as a clerk might type it, and an address."""
        rng = self.rng
        surname = rng.choice(SURNAMES)
        male = rng.random() < 0.5
        title = "先生" if male else "女士"
        given = MALE if male else FEMALE
        name = surname + title if rng.random() < 0.15 else surname + rng.choice(given)
        info = STORES[store]
        while True:
            if rng.random() < 0.07:
                phone = f"{info.area_code}-{rng.randint(5, 8)}{rng.randint(0, 9999999):07d}"
            else:
                phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99999999):08d}"
            if phone not in self.phones:
                break
        self.phones.add(phone)
        if len(phone) == 11 and rng.random() < 0.2:
            phone = rng.choice([f"{phone[:3]} {phone[3:7]} {phone[7:]}", f"+86 {phone}",
                                f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"])
        address = (f"{info.district}{rng.choice(info.streets)}{rng.randint(1, 300)}号"
                   f"{rng.randint(1, 20)}号楼{rng.randint(1, 6)}单元"
                   f"{rng.randint(1, 28)}{rng.randint(1, 4):02d}室")
        return name, surname + title, phone, address

    def arrival(self, days_ago: int, channel: str) -> datetime:
        lo, hi = CHANNEL_HOURS.get(channel, (9, 20))
        day = self.now.astimezone(SH).date() - timedelta(days=days_ago)
        minutes = self.rng.randint(lo * 60, hi * 60 - 1)
        t = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=SH)
        # Keep the whole demo in the past whatever time of day it is loaded.
        return t - timedelta(days=1) if t > self.cutoff - timedelta(minutes=30) else t

    def new_case(self, t0: datetime, problem: Problem, channel: str, *, fate: str = "",
                 store: str | None = None, kind: str | None = None, anonymous: bool = False,
                 foreign: bool = False) -> Case:
        rng = self.rng
        store = store or self.pick([(BJ, 45), (SHX, 35), (GZ, 20)])
        kind = kind or rng.choice(problem.kinds)
        models, low, high, lot_prefix = PRODUCTS[kind]
        model = rng.choice(models)
        name, salutation, phone, address = self.customer(store)
        if foreign:
            earlier = sum(c.intake["foreign"] for c in self.cases)
            name, salutation, phone = FOREIGNERS[earlier % len(FOREIGNERS)]
        low_days, high_days = BOUGHT_DAYS.get(problem.key, (5, 400))
        bought_days = rng.randint(low_days, high_days)
        bought = (t0 - timedelta(days=bought_days)).astimezone(SH).date()
        online = rng.random() < 0.4
        order = f"{'WS' if online else 'MD'}{bought:%Y%m%d}{rng.randint(10000, 99999)}"
        lot = ""
        if problem.category.startswith("quality") or problem.unit == QA:
            made = bought - timedelta(days=rng.randint(20, 90))
            lot = f"{lot_prefix}{made:%y%m}{rng.choice('ABCD')}{rng.randint(1, 30):02d}"
        demand = rng.choice(problem.demands)
        asks, detail = ASKS.get(problem.key, (DEMAND_SENTENCES[demand], DEMAND_DETAILS[demand]))
        when = (f"{bought_days}天前" if bought_days < 15 else "上个月" if bought_days < 45
                else f"{bought.year}年{bought.month}月" if bought_days > 300 else f"{bought.month}月份")
        where = f"在官方商城下单（订单号{order}）" if online else f"在{STORES[store].name}"
        variant = 0
        if problem.paired:
            options = [i for i, (a, b) in enumerate(zip(problem.summaries, problem.symptoms))
                       if fits(a, kind) is not None and fits(b, kind) is not None]
            variant = rng.choice(options)
            summary = fits(problem.summaries[variant], kind) or ""
            symptom = fits(problem.symptoms[variant], kind) or ""
        else:
            summary = rng.choice(fitting(problem.summaries, kind))
            symptom = rng.choice(fitting(problem.symptoms, kind))
        summary = summary.format(k=kind)
        impact = rng.choice(IMPACTS)
        if bought_days < 7 and "好几天" in impact:
            impact = ""
        if problem.key == "suggestion":
            description = f"{OPENINGS[channel]}{symptom}。"
        else:
            description = (f"{OPENINGS[channel]}{when}{where}购买的{kind}（{model}），{symptom}。"
                           f"{impact}{rng.choice(asks)}")
        recorder = STORES[store].handler if channel == Channel.VISIT else "clerk"
        intake: dict[str, Any] = {
            "channel": channel, "summary": summary, "description": description,
            "customer_name": "" if anonymous else name, "anonymous": anonymous,
            "contact_phone": "" if anonymous else phone, "address": "" if anonymous else address,
            "category": problem.category, "product": f"{kind} {model}", "lot_number": lot,
            "order_number": "" if anonymous else order, "quantity": 1, "delivery_date": bought,
            "store": STORES[store].name, "region": STORES[store].district,
            "purchase_amount": Decimal(rng.randrange(low, high + 1, 100)),
            "demand": demand, "demand_detail": detail, "foreign": foreign,
            "unit": store,
        }
        if problem.key == "suggestion":
            intake.update(product="", lot_number="", order_number="", delivery_date=None,
                          purchase_amount=None, quantity=None)
        if channel == Channel.DEALER:
            intake["complainant_type"] = "dealer"
        elif channel == Channel.INTERNAL:
            intake["complainant_type"] = "employee"
        case = Case(key=len(self.cases), t0=t0, problem=problem, channel=channel, store=store,
                    recorder=recorder, fate=fate or self.fate_for(problem), salutation=salutation,
                    intake=intake, variant=variant)
        self.cases.append(case)
        return case

    def fate_for(self, problem: Problem) -> str:
        if problem.key == "unjustified":
            return "invalid"
        if problem.key == "suggestion":
            return "suggestion"
        if problem.key == "wrong_model" and self.rng.random() < 0.3:
            return "bounce"
        choices = [("standard", 62), ("hold", 7), ("hold_forever", 3), ("escalate", 8),
                   ("reopen", 5)]
        if problem.quick:
            choices.append(("quick", 30))
        if problem.category.startswith("quality") and problem.category != "quality_safety":
            choices.append(("misuse", 4))
        return self.pick(choices)

    def draw_cases(self) -> None:
        rng = self.rng
        weighted = [(p, p.weight) for p in PROBLEMS]
        # Special cases first so that the remainder tops the demo up to TOTAL.
        # fresh arrivals (registered, accepted), anonymous, batch, foreign, stalled states, 12315
        specials = 3 + 2 + 2 + 5 + 2 + 4 + 2
        repeats, duplicates = 9, 2
        base_count = TOTAL - specials - repeats - duplicates
        for _ in range(base_count):
            channel = self.pick(CHANNELS)
            t0 = self.arrival(rng.randint(0, DAYS - 1), channel)
            self.new_case(t0, self.pick(weighted), channel)

        # Anonymous letters and posts (R-IN-2): no name, no contact, still answered.
        anonymous = ((rng.randint(20, 50), Channel.LETTER), (rng.randint(3, 15), Channel.WEB))
        for days_ago, channel in anonymous:
            case = self.new_case(self.arrival(days_ago, channel), BY_KEY["attitude"], channel,
                                 anonymous=True, fate="anonymous")
            case.intake.update(summary="匿名反映门店安装师傅私自加收费用", product="", lot_number="",
                               delivery_date=None, purchase_amount=None, demand=Demand.OTHER,
                               demand_detail="核查并处理")
            case.intake["description"] = (f"{OPENINGS[channel]}{STORES[case.store].name}安排的安装师傅"
                                          "装完机器要收辅材费和打孔费，不给收据，希望公司查一查。")
        # Foreign customers (R-SLA-6: 18 days to close).
        for days_ago in (rng.randint(25, 45), rng.randint(2, 10)):
            t0 = self.arrival(days_ago, Channel.EMAIL)
            problem = BY_KEY[rng.choice(["damage", "no_heat", "invoice"])]
            self.new_case(t0, problem, Channel.EMAIL, store=SHX, foreign=True)
        self.draw_batch()
        # R-SLA-11: complaints transferred from the 12315 platform (level 3 by channel, R-CL-4).
        for days_ago in (rng.randint(30, 50), rng.randint(10, 25)):
            problem = BY_KEY[rng.choice(["no_cool", "leak", "delay", "attitude"])]
            t0 = self.arrival(days_ago, Channel.TRANSFER_12315)
            self.new_case(t0, problem, Channel.TRANSFER_12315)

        # Repeat complainants (R-IN-7): the same customer about the same order within 30 days.
        olds = [c for c in self.cases if c.base is None and not c.intake["anonymous"]
                and c.problem.key not in {"suggestion", "unjustified"}
                and self.now - c.t0 > timedelta(days=10)]
        for base in rng.sample(olds, repeats):
            gap = rng.uniform(4, min(26, (self.now - base.t0).days - 1))
            t0 = self.working(base.t0 + timedelta(days=gap), office=False)
            if t0 > self.cutoff - timedelta(hours=1):
                t0 = self.cutoff - timedelta(hours=rng.uniform(1, 6))
            self.follow_on(base, t0, fate="standard",
                           summary=f"{base.intake['summary']}，问题还是没解决",
                           text=f"客户再次来电：{base.intake['summary']}的问题，上次反映后到现在还没有彻底解决，"
                                f"订单号{base.intake['order_number'] or '同前'}。已经是第二次投诉了，要求尽快彻底解决。")
        # Duplicates: the same customer writes online and then calls about it the same day.
        online = [c for c in self.cases
                  if c.channel in {Channel.WEB, Channel.WECHAT} and c.base is None
                  and c.fate in {"standard", "escalate", "hold"}
                  and self.now - c.t0 > timedelta(days=5)]
        for base in rng.sample(online, duplicates):
            t0 = self.working(base.t0 + timedelta(hours=rng.uniform(1, 3)), office=False)
            self.follow_on(base, t0, fate="duplicate", channel=Channel.PHONE,
                           summary=base.intake["summary"],
                           text=f"客户来电：已在网上留言反映{base.intake['summary']}，怕没人看到，再打电话说一下。")
        # Complaints that sit in a state a demo should show: a large claim waiting for the
        # director's approval, resolutions waiting for the customer's consent, and a closed
        # complaint the customer has just reopened.
        self.new_case(self.arrival(rng.randint(7, 8), Channel.PHONE), BY_KEY["claim_water"],
                      Channel.PHONE, fate="awaiting")
        for _ in range(2):
            t0 = self.arrival(rng.randint(7, 9), Channel.PHONE)
            problem = BY_KEY[rng.choice(["no_cool", "damage", "leak"])]
            self.new_case(t0, problem, Channel.PHONE, fate="proposed")
        t0 = self.arrival(rng.randint(24, 28), Channel.WECHAT)
        self.new_case(t0, BY_KEY["no_heat"], Channel.WECHAT, fate="reopened")
        # Fresh arrivals: registered minutes ago, not yet (or only just) called back.
        for fate in ("fresh", "fresh", "fresh", "fresh_accepted", "fresh_accepted"):
            channel = rng.choice([Channel.WEB, Channel.WECHAT])
            t0 = self.cutoff - timedelta(minutes=rng.randint(45, 180))
            self.new_case(t0, self.pick(weighted), channel, fate=fate)
        assert len(self.cases) == TOTAL, len(self.cases)

    def follow_on(self, base: Case, t0: datetime, *, fate: str, summary: str, text: str,
                  channel: str = Channel.PHONE) -> Case:
        case = self.new_case(t0, base.problem, channel, fate=fate, store=base.store)
        case.base, case.salutation, case.recorder = base.key, base.salutation, "clerk"
        for name in ("customer_name", "contact_phone", "address", "order_number", "product",
                     "lot_number", "delivery_date", "purchase_amount", "demand", "demand_detail"):
            case.intake[name] = base.intake[name]
        case.intake.update(channel=channel, summary=summary[:200], description=text)
        return case

    def draw_batch(self) -> None:
        """One lot of air conditioners with noisy outdoor fans: four customers in a week, then a
        dealer reports the whole lot (R-CL-3: batch quality problems are level 3)."""
        rng = self.rng
        start = rng.randint(30, 40)
        lot = f"KT{(self.now - timedelta(days=120)).astimezone(SH):%y%m}B07"
        model = "KFR-35GW/HX3 1.5匹挂机"
        problem = BY_KEY["noise"]
        for i in range(4):
            channel = rng.choice([Channel.PHONE, Channel.WECHAT, Channel.VISIT])
            case = self.new_case(self.arrival(start - i * 2, channel), problem, channel, kind="空调",
                                 fate="batch")
            case.intake.update(product=f"空调 {model}", lot_number=lot, summary="空调外机异响",
                               description=f"{OPENINGS[channel]}新装的空调外机运行时嗡嗡响还带咔哒声，"
                                           f"晚上吵得睡不着，机身标签批号{lot}。希望尽快上门检修。",
                               demand=Demand.REPAIR, demand_detail="上门维修")
        case = self.new_case(self.arrival(start - 8, Channel.DEALER), problem, Channel.DEALER,
                             kind="空调", fate="batch_dealer", store=GZ)
        case.salutation = "何经理"
        case.intake.update(
            product=f"空调 {model}", lot_number=lot, category="quality_serious",
            summary=f"同一批次空调外机异响，批号{lot}", quantity=40, defective_quantity=9,
            customer_name="广州恒达电器商行（何经理）", complainant_type="dealer",
            description=f"经销商反映：上月进货的{model}共40台，已安装的用户中有9台反映外机异响，"
                        f"批号均为{lot}，多个客户要求退换，希望厂家派人排查整批产品。",
            demand=Demand.EXPLANATION, demand_detail="排查整批产品并承担退换费用",
            purchase_amount=Decimal("119960.00"),
            delivery_date=(case.t0 - timedelta(days=35)).astimezone(SH).date(),
            order_number=f"PF{(case.t0 - timedelta(days=38)).astimezone(SH):%Y%m%d}0031",
        )
        self.batch_lot = lot

    # --- 3. plans ------------------------------------------------------------------------------

    def working(self, t: datetime, *, office: bool) -> datetime:
        """Move ``t`` into staff hours: customer service 08:00–21:00 every day; departments
        09:00–18:00 on weekdays."""
        start, end = (9, 18) if office else (8, 21)
        local = t.astimezone(SH)
        if local.hour >= end:
            local = (local + timedelta(days=1)).replace(hour=start, minute=self.rng.randint(0, 50))
        elif local.hour < start:
            local = local.replace(hour=start, minute=self.rng.randint(0, 50))
        while office and local.weekday() >= 5:
            local = (local + timedelta(days=1)).replace(hour=start, minute=self.rng.randint(0, 50))
        return local

    def then(self, case: Case, lo: float, hi: float, step: Step, *, office: bool = False) -> None:
        """Add a step ``lo``–``hi`` hours after the previous one."""
        t = (case.t or case.t0) + timedelta(hours=self.rng.uniform(lo, hi))
        case.t = self.working(t, office=office)
        case.steps.append((case.t, step))

    def plan(self, case: Case) -> None:
        rng, p = self.rng, case.problem
        kind = case.intake["product"].split(" ")[0]
        pairs = [(c, m) for c, m in zip(p.causes, p.measures) if fits(c, kind) is not None]
        if p.paired and len(p.causes) == len(p.summaries):
            pairs = [(p.causes[case.variant], p.measures[case.variant])]
        cause, measure = rng.choice(pairs)
        cause = fits(cause, kind) or cause.rpartition("|")[2]
        batch = bool(self.batch_lot) and case.intake["lot_number"] == self.batch_lot
        if batch:
            cause = "风扇电机轴承润滑脂用量不足，同批次普遍存在"
            measure = f"批号{self.batch_lot}在库产品全部返工更换电机；已售产品主动上门排查；供应商8D整改"
        elif case.fate == "misuse":
            cause, measure = rng.choice(MISUSE), "不属于三包范围，建议有偿维修"
        fix = rng.choice(p.fixes) if p.fixes else ""
        amount = None
        if "{amt}" in fix:
            amount = Decimal(rng.randrange(p.amount[0], p.amount[1] + 1, 10))
        if case.fate == "awaiting":
            fix, amount = p.fixes[0], Decimal(rng.randrange(6000, 9001, 100))
        elif case.fate == "batch_dealer":
            fix, amount = "对该批次已售产品逐台上门排查并免费更换风扇电机，经销商库存全部退回返工，退换费用由公司承担", None
        fix = fix.format(amt=amount)
        sal = case.salutation
        checked_by = UNIT_NAMES[p.unit] if p.unit else "我们"
        reply_text = (f"{sal}您好：关于您反映的“{case.intake['summary']}”，经{checked_by}核实，"
                      f"原因是{cause}。我们已{fix}。给您带来的不便深表歉意，感谢您对华夏家电的理解与支持。")
        if case.fate == "fresh":
            return  # just arrived: nobody has called back yet
        if case.fate == "fresh_accepted":
            # Not moved into staff hours: a fresh arrival is accepted within the hour.
            case.steps.append((case.t0 + timedelta(minutes=rng.randint(10, 40)), self.s_accept()))
            return
        if case.fate == "duplicate":
            self.then(case, 0.5, 3, self.s_merge(case.base))
            return
        if case.fate == "anonymous":
            self.plan_anonymous(case)
            return

        self.then(case, 0.15, 3, self.s_directive())
        self.then(case, 0.05, 3, self.s_accept())
        if rng.random() < 0.5:
            self.then(case, 0.02, 0.3, self.s_message(
                f"{sal}您好，您的投诉已受理，我们会在24小时内给您处理意见，请保持电话畅通。"))
        elif rng.random() < 0.4:
            self.then(case, 0.02, 0.3, self.s_promise())
        if case.recorder == "clerk" and rng.random() < 0.5 and case.fate != "quick":
            self.then(case, 0.1, 1.5, self.s_handover(case.store))
        if case.fate == "quick":
            self.then(case, 0.1, 1.0, self.s_reply(
                f"{sal}您好：我们已{fix}。给您带来的不便深表歉意，感谢您的理解与支持。"))
            self.then(case, 2, 30, self.s_review())
            self.then(case, 0.1, 3, self.s_close("当场解决，客户签字确认满意（R-FU-4 免回访）。"))
            return
        if case.fate == "suggestion":
            self.then(case, 0.5, 5, self.s_transfer(SALES, "客户建议，请销售部评估是否采纳"))
            self.then(case, 8, 60, self.s_answer("客户建议", "已纳入下季度服务改进计划评估"), office=True)
            self.then(case, 1, 24, self.s_reply(f"{sal}您好：感谢您的宝贵建议，已转相关部门纳入服务改进计划，"
                                                "欢迎继续监督我们的工作。"))
            self.then(case, 4, 48, self.s_review())
            self.then(case, 0.1, 3, self.s_close("建议已转相关部门，已答复客户。"))
            return

        self.then(case, 0.5, 6, self.s_investigate(rng.choice(
            ["预约售后工程师上门检测", "已要求客户提供照片和购买凭证", "调取订单与配送记录核实", "电话详细了解经过"])))
        if case.fate == "escalate":
            self.then(case, 4, 40, self.s_escalate(rng.choice([
                "客户再次来电，情绪激动，认为处理太慢，表示要找媒体曝光", "客户要求赔偿金额超出一线处理权限",
                "客户对处理方案不认可，要求主管出面"])))
        if case.fate in {"hold", "hold_forever"}:
            self.then(case, 0.5, 8, self.s_message(f"{sal}您好，请您提供购买发票和故障部位的照片，收到后我们马上安排处理。"))
            self.then(case, 0.05, 0.5, self.s_hold("等待客户提供购买凭证及故障照片"))
            if case.fate == "hold_forever":
                return
            self.then(case, 24, 120, self.s_resume(rng.choice(["客户已通过微信发来发票和照片", "客户回电补充了情况"])))
        if case.fate == "bounce":
            for unit, answer in ((LOGISTICS, "仓库按出库单发货，型号与单据一致，请销售部核实开单"),
                                 (SALES, "开单型号与客户合同一致，疑为仓库错拿，请物流部复核"),
                                 (LOGISTICS, "复核监控确认为仓库错拿相近型号")):
                self.then(case, 0.5, 4, self.s_transfer(unit, f"请{UNIT_NAMES[unit]}核实发货型号"))
                self.then(case, 3, 30, self.s_answer("型号不符", answer), office=True)
            self.then(case, 0.5, 4, self.s_transfer(SALES, "请销售部出具换货单"))
            self.then(case, 2, 20, self.s_answer(cause, measure), office=True)
        elif p.unit:
            self.then(case, 0.3, 4, self.s_transfer(p.unit, f"请{UNIT_NAMES[p.unit]}调查原因并提出对策"))
            if rng.random() < 0.3:
                self.then(case, 0.2, 6, self.s_message(
                    f"{sal}您好，您反映的问题已转{UNIT_NAMES[p.unit]}调查，预计三个工作日内给您答复。"))
            self.then(case, 0.5, 8, self.s_gm_note())
            self.then(case, 3, 50, self.s_answer(cause, measure), office=True)
        if case.fate in {"invalid", "misuse"}:
            self.then(case, 0.5, 8, self.s_judge(False, f"{cause}，不属于公司责任。"))
            self.then(case, 0.2, 6, self.s_invalid(
                f"{cause}，不属于三包范围", f"{sal}您好：经品质部检测，{cause}，不属于免费保修范围。我们可为您提供八折有偿维修，"
                "如有疑问请致电客服热线，感谢您的理解。"))
            if rng.random() < 0.6:
                self.then(case, 6, 60, self.s_review())
                self.then(case, 0.1, 4, self.s_close("无效投诉，已书面答复客户。"))
            return
        if batch:
            verdict = "品质部检测确认为批次性质量问题，责任在电机供应商；公司对客户承担责任并向供应商追偿。"
            findings = Findings("supplier", "华达微电机有限公司（风扇电机供应商）", p.unit, cause, measure, batch=True)
        elif p.key in THIRD_PARTY:
            verdict = "经核实投诉有效，责任在第三方服务商，公司对客户承担首问责任。"
            carrier = p.key in {"delay", "damage", "packaging"}
            findings = Findings("carrier" if carrier else "other_company",
                                "顺达物流（合作承运商）" if carrier else "安家家电安装服务部（合作安装商）",
                                p.unit, cause, measure)
        else:
            verdict = "经核实情况属实，属公司责任。"
            findings = Findings("company", "", p.unit, cause, measure)
        self.then(case, 0.5, 8, self.s_judge(True, verdict, findings))
        self.then(case, 0.3, 6, self.s_propose(fix, amount))
        if case.fate == "proposed":
            self.then(case, 0.1, 2, self.s_message(f"{sal}您好，我们的处理方案是：{fix}。请您确认是否同意，我们收到答复后立即安排。"))
            return
        reject = (case.fate == "standard" and amount is not None and amount > 2000
                  and rng.random() < 0.5)
        self.then(case, 0.3, 4, self.s_approve_or_resolve(reject=reject))
        if case.fate == "awaiting":
            self.then(case, 1, 4, self.s_note("已电话请示王总监，总监出差中，返回后审批。", "manager"))
            return
        self.then(case, 6, 72, self.s_approved())  # after a rejection's redraft (≤ 5 h)
        self.then(case, 4, 60, self.s_reply(reply_text))
        if case.channel == Channel.TRANSFER_12315:
            self.then(case, 0.2, 4, self.s_platform_result(
                f"经核实，{cause}。已{fix}，消费者表示接受。回复函已上传。"))
        if case.fate == "reopen":
            # The 4-point visit escalates one level and reopens by itself (R-FU-3).
            self.then(case, 20, 60, self.s_follow_up("回访：客户表示不满意（4分），认为问题没有彻底解决。"))
            self.then(case, 1, 10, self.s_investigate("主管安排二次上门检测"))
            self.then(case, 4, 30, self.s_propose("为客户办理整机换新，并赠送一年延保", None))
            self.then(case, 0.3, 4, self.s_approve_or_resolve(reject=False))
            self.then(case, 6, 48, self.s_reply(f"{sal}您好：经再次检测，我们已为您办理整机换新并赠送一年延保，"
                                                "再次为给您带来的不便致歉。"))
        self.then(case, 20, 60, self.s_follow_up(f"电话回访：客户表示{rng.choice(SATISFIED)}。"))
        self.then(case, 3, 40, self.s_review())
        self.then(case, 0.1, 4, self.s_close(rng.choice(CLOSE_REASONS)))
        case.steps.append((case.t, self.s_capa_done()))
        if case.fate == "reopened":
            self.then(case, 24, 96, self.s_reopen("客户来电反映同样问题再次出现，重新处理"))

    def plan_anonymous(self, case: Case) -> None:
        """No contact: investigated and answered on file; no follow-up visit (R-FU-4)."""
        self.then(case, 1, 8, self.s_accept())
        self.then(case, 0.5, 6, self.s_investigate("匿名投诉，无法联系投诉人，调取该门店近期安装单核查"))
        self.then(case, 0.5, 4, self.s_transfer(LOGISTICS, "请物流部核查安装服务商收费情况"))
        self.then(case, 8, 60, self.s_answer("安装师傅违规收取辅材费", "退还相关客户费用；服务商按合同罚款并通报"),
                  office=True)
        self.then(case, 1, 12, self.s_judge(True, "经核查情况属实，属服务商违规。", Findings(
            "other_company", "安家家电安装服务部（合作安装商）", LOGISTICS, "安装师傅违规收取辅材费",
            "退还相关客户费用；服务商按合同罚款并通报")))
        self.then(case, 0.5, 6, self.s_propose("逐户回访近一个月的安装客户并退还违规收费", None))
        self.then(case, 0.3, 4, self.s_approve_or_resolve(reject=False))
        self.then(case, 24, 72, self.s_reply("匿名来信已收悉。经核查情况属实，已责令服务商整改并退还相关费用，感谢您的监督。"))
        self.then(case, 6, 48, self.s_review())
        self.then(case, 0.1, 4, self.s_close("匿名投诉，已整改并存档答复（免回访）。"))

    # --- steps: each runs one action as the right person ----------------------------------------

    def reviewer(self, c: Complaint) -> User:
        if c.reviewer is not None and c.reviewer.tier >= c.reviewer_tier:
            return c.reviewer
        return self.users["manager" if c.reviewer_tier == 2 else "director"]

    def s_directive(self) -> Step:
        """Level 3: tier 3 directs the handling (R-RT-2)."""
        def run(c: Complaint, at: datetime) -> None:
            if c.level == 3:
                actions.note(c, by=self.users["director"], now=at, text=(
                    f"已阅。请{c.owner.name}牵头处理，相关部门配合，24小时内给客户明确答复，每日报进展。"))
        return run

    def s_gm_note(self) -> Step:
        def run(c: Complaint, at: datetime) -> None:
            if c.level == 3 and c.category.code in {"quality_safety", "quality_serious"}:
                actions.note(c, by=self.users["gm"], now=at,
                             text="高度重视，确保客户安全，品质部尽快出检测结论，处理结果报我。")
                if at + timedelta(minutes=20) <= self.cutoff:
                    actions.note(c, by=self.users["gmoffice"], now=at + timedelta(minutes=20),
                                 text="已列入总经理督办事项，请按期反馈。")
        return run

    def s_accept(self) -> Step:
        def run(c: Complaint, at: datetime) -> None:
            if c.anonymous:
                note = "匿名投诉，无法联系投诉人，登记受理"
            elif c.channel == Channel.VISIT:
                note = "客户在店，已当面了解情况"
            else:
                note = "已与客户电话联系，了解情况"
            actions.accept(c, by=c.owner, now=at, note=note)
        return run

    def s_message(self, text: str) -> Step:
        def run(c: Complaint, at: datetime) -> None:
            if c.status not in {Status.MERGED, Status.CLOSED} and not c.anonymous:
                actions.message(c, by=c.owner, text=text, now=at)
        return run

    def s_note(self, text: str, who: str) -> Step:
        def run(c: Complaint, at: datetime) -> None:
            actions.note(c, by=c.owner if who == "owner" else self.users[who], text=text, now=at)
        return run

    def s_promise(self) -> Step:
        """R-SLA-8: no answer on the spot: the handler promises a reply time (default 24 h)."""
        def run(c: Complaint, at: datetime) -> None:
            actions.promise_reply(c, by=c.owner, now=at, note="需核实后答复，已告知客户24小时内回电")
        return run

    def s_platform_result(self, result: str) -> Step:
        """R-SLA-11: the handling result goes back to the 12315 platform."""
        def run(c: Complaint, at: datetime) -> None:
            actions.report_platform_result(c, by=c.owner, result=result, now=at)
        return run

    def s_handover(self, store: str) -> Step:
        """A level-1 complaint taken at the hotline goes to the store's handler (R-IN-5)."""
        def run(c: Complaint, at: datetime) -> None:
            if c.level == 1 and c.owner.username == "clerk":
                handler = self.users[STORES[store].handler]
                actions.transfer(c, by=c.owner, to_unit=self.units[store], to_user=handler,
                                 new_handler=True, now=at, reason=f"转{STORES[store].name}就近上门处理")
        return run

    def s_investigate(self, note: str) -> Step:
        def run(c: Complaint, at: datetime) -> None:
            actions.investigate(c, by=c.owner, note=note, now=at)
        return run

    def s_escalate(self, reason: str) -> Step:
        def run(c: Complaint, at: datetime) -> None:
            if c.level < 3:
                actions.escalate(c, by=c.owner, reason=reason, now=at)
        return run

    def s_hold(self, reason: str) -> Step:
        def run(c: Complaint, at: datetime) -> None:
            actions.hold(c, by=c.owner, reason=reason, now=at)
        return run

    def s_resume(self, note: str) -> Step:
        def run(c: Complaint, at: datetime) -> None:
            actions.resume(c, by=c.owner, note=note, now=at)
        return run

    def s_transfer(self, unit: str, reason: str) -> Step:
        def run(c: Complaint, at: datetime) -> None:
            row = actions.transfer(c, by=c.owner, to_unit=self.units[unit],
                                   to_user=self.users[RESPONDERS[unit]], reason=reason, now=at)
            self.open_transfer[c.pk] = row.pk
        return run

    def s_answer(self, cause: str, measure: str) -> Step:
        def run(c: Complaint, at: datetime) -> None:
            row_id = self.open_transfer.pop(c.pk)
            unit = Transfer.objects.get(pk=row_id).to_unit.code
            actions.answer(c, by=self.users[RESPONDERS[unit]], transfer_id=row_id, cause=cause,
                           countermeasure=measure, now=at)
        return run

    def s_judge(self, valid: bool, reason: str, findings: Findings | None = None) -> Step:
        """Judged valid: first the investigation's findings, and after the judgement the CAPA
        (the four no-lets-go need both before closing, R-IV-6)."""
        def run(c: Complaint, at: datetime) -> None:
            by = self.users["qa"] if c.category.is_quality else c.owner
            if findings is not None:
                self.investigate(c, by=by, at=at, findings=findings)
            responsible = valid if findings is None else findings.responsibility == "company"
            actions.judge(c, by=by, valid=valid, company_responsible=responsible, reason=reason, now=at)
            if findings is not None:
                self.capa(c, by=by, at=at, findings=findings)
        return run

    def investigate(self, c: Complaint, *, by: User, at: datetime, findings: Findings) -> None:
        from kesu.quality import actions as quality

        unit, person = (self.units[CULPRITS[findings.unit][0]], CULPRITS[findings.unit][1]) \
            if findings.unit in CULPRITS else (c.unit, "当班店员")
        company = findings.responsibility == "company"
        quality.record_investigation(
            c, by=by, now=at, facts=f"经核实：{findings.cause}。", responsibility=findings.responsibility,
            evidence="现场照片、购买凭证及相关单据已归档" if c.category.is_quality else "通话录音及相关单据已归档",
            inspection_result=f"检测结论：{findings.cause}" if by.role == Role.QA else "",
            responsible_unit=unit if company else None, responsible_person=person if company else "",
            third_party=findings.third_party)

    def capa(self, c: Complaint, *, by: User, at: datetime, findings: Findings) -> None:
        """R-IV-3: a CAPA per complaint; the batch problem's complaints share one (R-IV-4)."""
        from kesu.quality import actions as quality

        if findings.batch and self.batch_capa is not None:
            quality.link_capa(c, by=by, capa=self.batch_capa, now=at)
            return
        group = "material" if c.category.is_quality else ("method" if findings.unit else "people")
        owner = self.users[RESPONDERS.get(findings.unit or "", "") or c.owner.username]
        due = timezone.localdate(at) + timedelta(days=14)
        planned = [quality.PlannedAction("corrective", findings.measure, owner, due)]
        if c.category.is_quality:
            planned.append(quality.PlannedAction("preventive", "将该缺陷纳入来料及出厂检验项目，每班抽检并记录",
                                                 self.users["qa"], due + timedelta(days=16)))
        else:
            planned.append(quality.PlannedAction("preventive", "纳入月度服务质量例会通报，修订相关作业规范",
                                                 self.users["manager"], due + timedelta(days=16)))
        capa = quality.open_capa(c, by=by, now=at, title=c.summary[:60], causes=[(group, findings.cause)],
                                 actions=planned)
        if findings.batch:
            self.batch_capa = capa

    def s_capa_done(self) -> Step:
        """By the close the owners have done their corrective actions and QA confirmed the
        effect of those it does not own itself (R-IV-4)."""
        def run(c: Complaint, at: datetime) -> None:
            from kesu.quality import actions as quality
            from kesu.quality.models import ActionKind, ActionState, CapaAction

            for action in CapaAction.objects.filter(capa__complaints=c, kind=ActionKind.CORRECTIVE,
                                                    state=ActionState.OPEN).select_related("capa", "owner"):
                quality.complete_action(action, by=action.owner, now=at, result=f"已完成：{action.description}")
                if action.owner.role != Role.QA:
                    quality.verify_action(action, by=self.users["qa"], effective=True, now=at,
                                          note="抽查回访，同类问题未再发生")
        return run

    def s_invalid(self, reason: str, reply: str) -> Step:
        def run(c: Complaint, at: datetime) -> None:
            actions.mark_invalid(c, by=c.owner, reason=reason, reply=reply, now=at)
        return run

    def s_propose(self, resolution: str, amount: Decimal | None) -> Step:
        def run(c: Complaint, at: datetime) -> None:
            actions.propose(c, by=c.owner, resolution=resolution, amount=amount, now=at)
        return run

    @staticmethod
    def limit(user: User) -> Decimal | None:
        """R-RS-2 approval limits; the GM has none."""
        if user.role == Role.GM:
            return None
        return Decimal({1: 200, 2: 2000, 3: 10000}[user.tier])

    def approver(self, amount: Decimal) -> User:
        for username in ("manager", "director", "gm"):
            user = self.users[username]
            limit = self.limit(user)
            if limit is None or amount <= limit:
                return user
        return self.users["gm"]

    def s_approve_or_resolve(self, *, reject: bool) -> Step:
        """Within the handler's limit the resolution is carried out; beyond it, it waits for
        approval (R-RS-2). Quality resolutions with a cost get QA's sign-off first."""
        def run(c: Complaint, at: datetime) -> None:
            amount = c.resolution_amount or Decimal(0)
            if amount > 0 and c.category.is_quality:
                actions.note(c, by=self.users["qa"], now=at - timedelta(minutes=10),
                             text="品质部会签：同意该处理方案。")
            limit = self.limit(c.owner)
            if limit is not None and amount > limit:
                actions.request_approval(c, by=c.owner, now=at,
                                         note=f"赔付{amount}元，超出本人核决权限，报请审批")
                if reject and at + timedelta(hours=5) <= self.cutoff:
                    approver = self.approver(amount)
                    actions.reject(c, by=approver, now=at + timedelta(hours=2),
                                   reason="赔付金额偏高，请与客户再协商，附维修费用明细后重新报批")
                    actions.request_approval(c, by=c.owner, now=at + timedelta(hours=5),
                                             note="已与客户协商并补充维修费用明细，重新报批")
            else:
                actions.resolve(c, by=c.owner, now=at, note="按方案执行")
        return run

    def s_approved(self) -> Step:
        def run(c: Complaint, at: datetime) -> None:
            if c.status == Status.AWAITING_APPROVAL:
                approver = self.approver(c.resolution_amount or Decimal(0))
                actions.approve(c, by=approver, now=at, note="同意按方案处理")
        return run

    def s_reply(self, text: str) -> Step:
        def run(c: Complaint, at: datetime) -> None:
            actions.reply(c, by=c.owner, message=text, now=at)
        return run

    def s_follow_up(self, note: str) -> Step:
        """The follow-up visit by phone with the satisfaction the note gives ("（2分）", R-FU-1)."""
        def run(c: Complaint, at: datetime) -> None:
            from kesu.followups import actions as followups

            actions.start_follow_up(c, by=c.owner, note=note, now=at)
            score = re.search(r"（(\d)分）", note)
            if score:
                followups.record_visit(c, by=c.owner, method="phone", satisfaction=int(score.group(1)),
                                       notes=note, now=at)
        return run

    def s_review(self) -> Step:
        def run(c: Complaint, at: datetime) -> None:
            actions.review(c, by=self.reviewer(c), note=self.rng.choice(REVIEW_NOTES), now=at)
        return run

    def s_close(self, reason: str) -> Step:
        def run(c: Complaint, at: datetime) -> None:
            actions.close(c, by=c.owner, reason=reason, now=at)
        return run

    def s_reopen(self, reason: str) -> Step:
        def run(c: Complaint, at: datetime) -> None:
            actions.reopen(c, by=c.owner, reason=reason, now=at)
        return run

    def s_merge(self, base_key: int | None) -> Step:
        def run(c: Complaint, at: datetime) -> None:
            into = self.fetch(base_key) if base_key is not None else None
            if into is not None and into.status not in {Status.MERGED, Status.CLOSED}:
                actions.merge(c, by=self.users["manager"], into=into, now=at,
                              reason=f"同一客户就同一事项重复反映，合并至{into.number}处理")
        return run

    # --- 4. run --------------------------------------------------------------------------------

    def fetch(self, key: int) -> Complaint:
        # The actions update the instance they are given (version, state, owner, …), and the
        # only action that changes a second complaint (merge) is given this same instance, so
        # the copies held here stay current without re-reading them.
        return self.complaints[key]

    def run(self) -> None:
        self.build_org()
        self.draw_cases()
        for case in self.cases:
            self.plan(case)
        queue: list[tuple[datetime, int, int, Step | None]] = []
        for case in self.cases:
            queue.append((case.t0, case.key, 0, None))
            queue.extend((t, case.key, i, step) for i, (t, step) in enumerate(case.steps, 1))
        queue.sort(key=lambda item: (item[0], item[1], item[2]))
        for at, key, _index, step in queue:
            if at > self.cutoff:
                continue  # the future: leaves the complaint where it is today
            if step is None:
                self.register(self.cases[key])
            else:
                step(self.fetch(key), at)

    def register(self, case: Case) -> None:
        intake = actions.Intake(**case.intake)
        result = actions.register(intake, by=self.users[case.recorder], now=case.t0)
        self.complaints[case.key] = result.complaint


class Command(BaseCommand):
    help = "Load the demo organisation, users and about 200 complaints (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if Unit.objects.filter(code=COMPANY).exists():
            self.stdout.write("The demo data is already loaded; nothing changed.")
        else:
            taken = sorted(User.objects.filter(username__in=[p.username for p in USERS])
                           .values_list("username", flat=True))
            if taken:
                raise CommandError("Cannot load the demo: these usernames already exist: "
                                   + ", ".join(taken))
            with transaction.atomic():
                Demo(timezone.now()).run()
            self.stdout.write(self.style.SUCCESS(
                f"Loaded the demo in {time.monotonic() - started:.1f} s."))
            self.report_states()
        self.report_logins()

    def report_states(self) -> None:
        company = Unit.objects.get(code=COMPANY)
        counts = Counter(Complaint.objects.filter(unit__path__startswith=company.path)
                         .values_list("status", flat=True))
        rows = [["状态 state", "数量 count"]]
        rows += [[f"{Status(s).label} ({s})", str(counts[s])] for s in Status.values if counts[s]]
        rows.append(["合计 total", str(sum(counts.values()))])
        self.stdout.write("\n" + table(rows) + "\n")

    def report_logins(self) -> None:
        titles = {p.username: p.title for p in USERS}
        rows = [["用户名 username", "姓名 name", "职务", "角色 role", "级别 tier", "单位 units"]]
        users = User.objects.filter(username__in=titles).prefetch_related("units")
        for user in sorted(users, key=lambda u: list(titles).index(u.username)):
            role = user.role + (" (superuser)" if user.is_superuser else "")
            rows.append([user.username, user.name, titles[user.username], role, str(user.tier),
                         "、".join(u.name for u in user.units.all())])
        self.stdout.write("\n" + table(rows))
        self.stdout.write(f"\nPassword for every demo user: {PASSWORD}"
                          "   (admin: /admin/, API: /api/v1/docs)\n")
