"""A synthetic legacy file in the columns of Kesu's own export (field codes as headers), for the
tests and for measuring throughput: ``python -m kesu.imports.synthetic OUT.csv ROWS``.

Rows spread over the twelve months of 2025 (numbers restart monthly, R-IN-4), a third of the
customers complain more than once (customers are deduplicated by phone), and the state mix is
what a legacy system hands over: mostly closed, some open.
"""

from __future__ import annotations

import csv
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

HEADER = ["source_id", "status", "level", "category", "channel", "received_at", "customer_name",
          "anonymous", "contact_phone", "other_contact", "address", "complainant_type", "summary",
          "description", "product", "lot_number", "order_number", "quantity", "defective_quantity",
          "delivery_date", "store", "region", "purchase_amount", "demand", "demand_detail", "foreign",
          "unit", "replied_at", "closed_at", "closing_reason"]
PROBLEMS = [("电饭煲用了三天就不加热了", "quality_general", "电饭煲 RC-3000"),
            ("空调外机噪音很大，晚上睡不着", "quality_general", "空调 KFR-35"),
            ("送货迟到两天，客服一直推诿", "logistics_delay", "冰箱 BCD-520"),
            ("收到的洗衣机外壳有破损", "logistics_damage", "洗衣机 XQB-80"),
            ("安装师傅态度很差，还多收费", "service_attitude", "热水器 JSQ-16"),
            ("包装盒被压坏，配件少了一个", "packaging", "微波炉 M1-230")]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
STATES = ["closed"] * 7 + ["accepted", "investigating", "registered"]
CHANNELS = ["phone", "phone", "web", "wechat", "visit", "email", "letter"]


def rows(n: int, seed: int = 7, start: int = 1) -> list[list[str]]:
    rng = random.Random(seed)
    customers = max(n * 2 // 3, 1)
    out = []
    base = datetime(2025, 1, 1, 8, 0)
    for i in range(start, start + n):
        text, category, product = rng.choice(PROBLEMS)
        who = rng.randrange(customers)
        name = SURNAMES[who % len(SURNAMES)] + GIVEN[(who // len(SURNAMES)) % len(GIVEN)]
        phone = f"13{who % 10}{who:08d}"[:11]
        received = base + timedelta(minutes=rng.randrange(365 * 24 * 60))
        status = rng.choice(STATES)
        closed = received + timedelta(days=rng.randint(1, 14)) if status == "closed" else None
        fmt = "%Y-%m-%d %H:%M:%S"
        out.append([
            f"L{i:08d}", status, "", category, rng.choice(CHANNELS), received.strftime(fmt), name, "否",
            phone, "", f"北京市朝阳区建国路{who % 200 + 1}号", "consumer", text,
            f"{name}反映：{text}。购买于{rng.randint(1, 11)}个月前，希望尽快处理。", product, "",
            f"DD{i:010d}", "1", "", "", "北京门店", "北京", f"{rng.randint(199, 8999)}.00",
            rng.choice(["repair", "replacement", "refund", ""]), "", "否", "",
            closed.strftime(fmt) if closed else "", closed.strftime(fmt) if closed else "",
            "已处理完毕，客户满意" if closed else "",
        ])
    return out


def write(path: Path, n: int, *, seed: int = 7, encoding: str = "utf-8-sig", start: int = 1) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows(n, seed, start))
    return path


if __name__ == "__main__":
    write(Path(sys.argv[1]), int(sys.argv[2]))
