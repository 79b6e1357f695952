"""Where the generator's texts come from.

1. Real complaint records, read at run time from ``../shared/data`` beside the repository (or
   ``--data-dir``) and never copied into the project (their licences are unclear; see each
   folder's SOURCE.md):
   - ``cn_tipdm2020``: Chinese citizens' complaints to a government message board, with the
     officials' written replies: summary (留言主题), description (留言详情) and reply (答复意见);
   - ``cfpb``: US consumer-finance complaints, used for the foreign (English-speaking) customers.
2. The project's own seed templates: the home-appliance problems, products and phrases of
   ``kesu demo`` (``kesu/complaints/management/commands/demo.py``), rendered with random
   models, order numbers and purchase times.

Every text is cleaned here (``clean_text`` until it changes nothing), so that what the
generator stores is what ``actions.register`` stores for the same input.
"""

from __future__ import annotations

import csv
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .fasttext import clean

MAX_DESCRIPTION = 1000  # a clerk's record of a long letter is a summary of it, not the letter
MAX_REPLY = 1500


@dataclass(frozen=True)
class Record:
    """One real complaint: what the customer wrote and, if known, the reply they got."""

    summary: str
    description: str
    reply: str = ""


@dataclass
class Sources:
    chinese: list[Record] = field(default_factory=list)
    english: list[Record] = field(default_factory=list)
    data_dir: Path | None = None

    def describe(self) -> str:
        where = str(self.data_dir) if self.data_dir else "no real records found"
        return (f"{len(self.chinese):,} Chinese and {len(self.english):,} English real records "
                f"({where}) + the demo's seed templates")


def default_data_dir() -> Path:
    from django.conf import settings

    return Path(settings.BASE_DIR).parent / "shared" / "data"


def _squash(text: str) -> str:
    """Trim each line (the board's export pads them with tabs) and drop empty lines."""
    lines = [line.strip() for line in (text or "").replace("\r\n", "\n").split("\n")]
    return clean("\n".join(line for line in lines if line))


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending at a sentence end where one is near."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    stop = max(head.rfind(mark) for mark in "。！？.!?")
    return head[: stop + 1] if stop >= limit // 2 else head


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def load(data_dir: Path | None = None) -> Sources:
    """Read the real records; a missing folder leaves only the seed templates (with a warning)."""
    data_dir = data_dir or default_data_dir()
    sources = Sources()
    tipdm = data_dir / "cn_tipdm2020"
    seen: set[str] = set()
    for name in ("cn_complaints_tipdm2020_replies.csv", "cn_complaints_tipdm2020_labeled.csv"):
        path = tipdm / name
        if not path.exists():
            continue
        for row in _read_csv(path):
            key = row.get("留言编号", "")
            summary = clean(_squash(row.get("留言主题", ""))[:200])
            description = clean(_cut(_squash(row.get("留言详情", "")), MAX_DESCRIPTION))
            if not summary or not description or key in seen:
                continue
            seen.add(key)
            reply = clean(_cut(_squash(row.get("答复意见", "")), MAX_REPLY))
            sources.chinese.append(Record(summary, description, reply))
    cfpb = data_dir / "cfpb" / "cfpb_sample.csv"
    if cfpb.exists():
        for row in _read_csv(cfpb):
            issue = " – ".join(p for p in (row.get("Issue", ""), row.get("Sub-issue", "")) if p)
            summary = clean(_squash(issue)[:200])
            narrative = re.sub(r"\s+", " ", row.get("Consumer complaint narrative", "")).strip()
            product = " / ".join(p for p in (row.get("Product", ""), row.get("Sub-product", "")) if p)
            description = clean(_cut(clean(narrative), MAX_DESCRIPTION)) or clean(
                f"{product}: {issue}. Company: {row.get('Company', '')}.")
            outcome = row.get("Company response to consumer", "") or "Closed with explanation"
            reply = clean(f"Dear customer, regarding your complaint “{summary}”: we have "
                               f"reviewed the matter with the department concerned. Outcome: "
                               f"{outcome}. Thank you for your patience.")
            if summary and description:
                sources.english.append(Record(summary, description, reply))
    if sources.chinese or sources.english:
        sources.data_dir = data_dir
    else:
        print(f"bench: no real records under {data_dir}; using the seed templates only",
              file=sys.stderr)
    return sources


# --- the seed templates ------------------------------------------------------------------


@dataclass(frozen=True)
class City:
    district: str
    area_code: str
    streets: tuple[str, ...]


CITIES = (
    City("北京市朝阳区", "010", ("朝阳门外大街", "东三环中路", "工体北路", "团结湖路", "金台路")),
    City("上海市徐汇区", "021", ("漕溪北路", "天钥桥路", "虹桥路", "宜山路", "肇嘉浜路")),
    City("广州市天河区", "020", ("天河路", "体育东路", "黄埔大道西", "天河北路", "林和西路")),
    City("天津市和平区", "022", ("南京路", "滨江道", "营口道", "西康路")),
    City("重庆市渝中区", "023", ("解放碑步行街", "中山一路", "民生路", "大坪正街")),
    City("南京市鼓楼区", "025", ("中山北路", "湖南路", "云南路", "广州路")),
    City("武汉市江汉区", "027", ("解放大道", "建设大道", "新华路", "江汉路")),
    City("成都市锦江区", "028", ("春熙路", "东大街", "红星路", "盐市口")),
    City("西安市雁塔区", "029", ("小寨东路", "长安南路", "雁塔路", "电子二路")),
)

ENGLISH_NAMES = ("Michael Brown", "Sarah Johnson", "David Miller", "Emma Wilson", "James Taylor",
                 "Olivia Davis", "Daniel Moore", "Sophie Anderson", "Thomas Clark", "Laura White")
ACCEPT_NOTES = ("", "", "已与客户电话联系，了解情况", "已联系客户，约定上门时间", "客户在店，已当面了解情况")
INVESTIGATE_NOTES = ("预约售后工程师上门检测", "已要求客户提供照片和购买凭证", "调取订单与配送记录核实",
                     "电话详细了解经过", "已转相关部门核实情况")
PLATFORM_RESULTS = ("已按平台要求反馈处理结果：已与消费者协商一致，问题已解决。",
                    "已反馈12315平台：经核实情况属实，已按三包规定为消费者处理完毕。")


def new_order_number(rng: random.Random, online: bool) -> str:
    """An order number that cannot trip a keyword rule (the rule "12315" matches any text
    containing those digits, order numbers included)."""
    while True:
        digits = f"{rng.randrange(10**12):012d}"
        if "12315" not in digits:
            return ("WS" if online else "MD") + digits


def months_phrase(days: int) -> str:
    """When the product was bought, relative to the complaint (the text never names a date,
    so it reads the same whenever the complaint is placed in time)."""
    if days < 15:
        return f"{days}天前"
    if days < 45:
        return "上个月"
    if days < 300:
        return f"{days // 30}个月前"
    return "一年多前"
