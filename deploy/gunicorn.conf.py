"""Gunicorn settings for a Kesu web host (docs/deploy.md).

    gunicorn -c deploy/gunicorn.conf.py

Every value can be overridden by an environment variable (KESU_WEB_*) or on the command line.
Sync workers: Kesu's requests are short database round trips, so a process per request in
flight is simplest and isolates a slow request; put a buffering reverse proxy (nginx, the
cloud load balancer) in front so slow clients never hold a worker.
"""

from __future__ import annotations

import multiprocessing
import os

wsgi_app = "kesu.wsgi:application"
bind = os.environ.get("KESU_WEB_BIND", "0.0.0.0:8000")

# 2 × cores + 1, the usual figure for sync workers; capped so that a big box does not open
# more PostgreSQL connections than the server allows (each worker keeps one, CONN_MAX_AGE).
workers = int(os.environ.get("KESU_WEB_WORKERS", min(multiprocessing.cpu_count() * 2 + 1, 17)))
threads = int(os.environ.get("KESU_WEB_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"

# Import Django and the URL configuration once in the master: workers fork ready (faster
# start, shared memory pages). Database connections are opened lazily, never in the master.
preload_app = True

# A request that runs longer than this is killed and logged (a stuck query, a hung SMTP
# server would not be: notifications are sent by the worker, not in requests).
timeout = int(os.environ.get("KESU_WEB_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("KESU_WEB_GRACEFUL_TIMEOUT", "30"))
keepalive = 5  # behind a load balancer that reuses connections

# Recycle workers now and then so that no slow leak grows a worker past its memory budget
# (issue 6: under 150 MB RSS); the jitter keeps them from restarting together.
max_requests = int(os.environ.get("KESU_WEB_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10

# Access log on stdout (journald, docker logs) with the time taken in microseconds (%(D)s),
# the client as the proxy reports it, and the request id a proxy may set.
accesslog = os.environ.get("KESU_WEB_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("KESU_WEB_LOG_LEVEL", "info")
access_log_format = (
    '%({x-forwarded-for}i)s %(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" '
    "%(D)sus %({x-request-id}i)s"
)

# Trust X-Forwarded-* only from the proxies in front (comma-separated addresses).
forwarded_allow_ips = os.environ.get("KESU_WEB_FORWARDED_ALLOW_IPS", "127.0.0.1")

# Upload limit of the proxy in front should match KESU_MAX_ATTACHMENT_MB; gunicorn's own
# request-line and header limits stay at their defaults.


def post_fork(server, worker):  # gunicorn hook
    # Nothing should have connected in the master (preload_app), but a connection inherited
    # across fork would be shared by several processes: drop any.
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close()
