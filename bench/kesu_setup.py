"""Run in a child process against one benchmark database (``KESU_DATABASE_URL``): the user the
load client acts as (an API token and a logged-in session), and the request samples drawn from
the data (numbers, phones, search words, intake payloads).

    python -m bench.kesu_setup OUT.json [--samples 200] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
from pathlib import Path

CJK = re.compile(r"[\u4e00-\u9fff]+")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kesu.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db.models import Max, Min

    from kesu.complaints.models import Complaint
    from kesu.org.models import ApiToken, Role, User

    rng = random.Random(args.seed)
    # A tier-2 manager of the service centre: sees every store's complaints (R-AX-1), has a
    # review queue, and may register. The generator's bench organisation has two.
    user = (User.objects.filter(username="bench-manager").first()
            or User.objects.filter(role=Role.MANAGER, is_active=True).order_by("id").first())
    if user is None:
        print("no manager in this database: run kesu bench generate first", file=sys.stderr)
        return 1
    _, token = ApiToken.objects.issue(user, name="bench run")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.set_expiry(86400)
    session.save()

    bounds = Complaint.objects.aggregate(lo=Min("id"), hi=Max("id"))
    lo, hi = bounds["lo"], bounds["hi"]
    picked: list[dict] = []
    fields = ("id", "number", "contact_phone", "summary", "description", "customer_name", "channel",
              "status", "level")
    tries = 0
    # Twice the samples: the second half are the intake's payloads. Were they the complaints
    # the search words come from, every word would be in the complaints the intake registers,
    # at the top of the table, where the search's estimate samples (complaints/search.py).
    while len(picked) < 2 * args.samples and tries < args.samples * 40:
        tries += 1
        wanted = [rng.randint(lo, hi) for _ in range(50)]
        picked += list(Complaint.objects.filter(id__in=wanted).values(*fields))
    picked, posted = picked[: args.samples], picked[args.samples: 2 * args.samples]
    words2, words4 = [], []
    for c in picked:
        runs = [r for r in CJK.findall(c["summary"] + c["description"]) if len(r) >= 4]
        if runs:
            run = rng.choice(runs)
            i = rng.randrange(len(run) - 3)
            words4.append(run[i:i + 4])
            words2.append(run[i:i + 2])
    payloads = []
    for c in posted or picked:
        payloads.append({
            "channel": "phone", "summary": c["summary"][:200], "description": c["description"][:10000],
            # Anonymous and id-only complaints of the data have no name; a phone intake needs one.
            "customer_name": c["customer_name"][:100] or "王先生",
            "contact_phone": f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
        })
    out = {
        "user": user.username, "user_id": user.pk, "token": token, "session": session.session_key,
        "count": Complaint.objects.count(), "min_id": lo, "max_id": hi,
        "numbers": [c["number"] for c in picked],
        "phones": [c["contact_phone"] for c in picked if c["contact_phone"]],
        "words2": words2, "words4": words4, "payloads": payloads,
        "ids": [c["id"] - lo + 1 for c in picked],  # the peer's ticket ids: loaded in id order
    }
    args.out.write_text(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
