"""The production profile (issue 6, docs/deploy.md): gunicorn with deploy/gunicorn.conf.py,
/healthz as a load balancer sees it, attachments on an S3-compatible store (a real moto S3
server over HTTP), and read-replica routing of list queries."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.db.utils import load_backend
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kesu import replica
from kesu import settings as kesu_settings
from kesu.complaints.models import Attachment

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# --- /healthz ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_answers_a_load_balancer_probing_by_address_over_http(settings):
    settings.SECURE_SSL_REDIRECT = True  # production behind TLS: everything else redirects
    response = Client().get("/healthz", HTTP_HOST="10.0.3.7:8000")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert Client().head("/healthz", HTTP_HOST="10.0.3.7").status_code == 200
    # Every other path still checks the host.
    assert Client().get("/login/", HTTP_HOST="10.0.3.7").status_code == 400


def test_gunicorn_serves_with_the_deploy_config(tmp_path):
    """deploy/gunicorn.conf.py loads, preloads the app, serves /healthz and writes the access
    log with the time taken."""
    port = free_port()
    env = {**os.environ, "KESU_DATA_DIR": str(tmp_path), "KESU_WEB_BIND": f"127.0.0.1:{port}",
           "KESU_WEB_WORKERS": "1", "KESU_DATABASE_URL": ""}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": "192.0.2.1"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "Booting worker" in output
    access = [line for line in output.splitlines() if '"GET /healthz HTTP/1.1" 200' in line]
    assert access and access[-1].split()[-2].endswith("us"), output


# --- S3-compatible attachment storage -------------------------------------------------------


@pytest.fixture(scope="module")
def s3_server():
    """A real S3-compatible HTTP server (moto's), with a bucket."""
    boto3 = pytest.importorskip("boto3")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/moto-api/")
        client = boto3.client("s3", endpoint_url=url, region_name="cn-north-1",
                              aws_access_key_id="kesu", aws_secret_access_key="kesu-secret")
        client.create_bucket(Bucket="kesu-attachments",
                             CreateBucketConfiguration={"LocationConstraint": "cn-north-1"})
        yield url, client
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_attachments_go_to_the_s3_bucket_and_come_back_through_the_api(s3_server, settings, api, register):
    url, client = s3_server
    storage = kesu_settings.s3_storage({
        "KESU_S3_BUCKET": "kesu-attachments", "KESU_S3_ENDPOINT_URL": url, "KESU_S3_REGION": "cn-north-1",
        "KESU_S3_ACCESS_KEY_ID": "kesu", "KESU_S3_SECRET_ACCESS_KEY": "kesu-secret",
        "KESU_S3_ADDRESSING_STYLE": "path",
    })
    assert storage is not None
    settings.STORAGES = {**settings.STORAGES, "default": storage}  # resets default_storage
    complaint = register()
    response = api("clerk").upload(f"/complaints/{complaint.number}/attachments",
                                   {"file": SimpleUploadedFile("发票.png", PNG, content_type="image/png")})
    assert response.status_code == 201, response.content
    row = Attachment.objects.get(complaint=complaint)
    assert default_storage.__class__.__name__ == "S3Storage"
    # The object is in the bucket under the prefix, private, with the bytes uploaded.
    key = f"attachments/{row.file.name}"
    assert client.get_object(Bucket="kesu-attachments", Key=key)["Body"].read() == PNG
    acl = client.get_object_acl(Bucket="kesu-attachments", Key=key)
    assert all(g["Grantee"].get("URI", "").endswith("AllUsers") is False for g in acl["Grants"])
    # And it is read back through the permission-checked download endpoint.
    download = api("clerk").get(f"/complaints/{complaint.number}/attachments/{row.pk}")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG


def test_s3_storage_is_off_without_a_bucket():
    assert kesu_settings.s3_storage({}) is None
    assert kesu_settings.s3_storage({"KESU_S3_ENDPOINT_URL": "http://minio:9000"}) is None


# --- read replica ----------------------------------------------------------------------------


@pytest.fixture
def replica_alias(settings):
    """A 'replica' alias: a second connection to the test database (as a streaming replica
    is another server with the same data)."""
    conf = {**connections["default"].settings_dict, "TEST": {"MIRROR": "default"}}
    settings.DATABASES = {**settings.DATABASES, replica.REPLICA: conf}
    connection = load_backend(conf["ENGINE"]).DatabaseWrapper(conf, alias=replica.REPLICA)
    connections[replica.REPLICA] = connection
    try:
        yield connection
    finally:
        connection.close()
        del connections[replica.REPLICA]


@pytest.mark.django_db(transaction=True)
def test_list_queries_marked_for_it_read_from_the_replica_and_writes_never_do(replica_alias, api, register, org):
    complaint = register()
    default = connections["default"]
    with CaptureQueriesContext(replica_alias) as on_replica, CaptureQueriesContext(default) as on_default:
        response = api("clerk").get("/complaints")
    assert response.status_code == 200
    assert [c["number"] for c in response.json()["items"]] == [complaint.number]
    assert any("complaints_complaint" in q["sql"] for q in on_replica.captured_queries)
    assert not any('FROM "complaints_complaint"' in q["sql"] for q in on_default.captured_queries)
    # A complaint page is read from the primary: the user may have just changed it.
    with CaptureQueriesContext(replica_alias) as on_replica:
        assert api("clerk").get(f"/complaints/{complaint.number}").status_code == 200
    assert not on_replica.captured_queries
    # An object read from the replica is saved to the primary.
    with replica.reads():
        unit = type(org["beijing"]).objects.get(pk=org["beijing"].pk)
    assert unit._state.db == replica.REPLICA
    unit.name = "北京旗舰店"
    with CaptureQueriesContext(replica_alias) as on_replica:
        unit.save(update_fields=["name"])
    assert not on_replica.captured_queries
    assert type(unit).objects.get(pk=unit.pk).name == "北京旗舰店"
    health = Client().get("/healthz").json()
    assert health["replica"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_workbench_queues_read_their_rows_from_the_replica(replica_alias, register, org):
    complaint = register()
    client = Client()
    client.force_login(org["clerk"])
    default = connections["default"]
    with CaptureQueriesContext(replica_alias) as on_replica, CaptureQueriesContext(default) as on_default:
        page = client.get("/queue/units/")
    assert page.status_code == 200 and complaint.number in page.content.decode()
    assert any('FROM "complaints_complaint"' in q["sql"] for q in on_replica.captured_queries)
    assert not any('FROM "complaints_complaint"' in q["sql"] for q in on_default.captured_queries)
    # The complaint page is read from the primary: the user may have just changed it.
    with CaptureQueriesContext(replica_alias) as on_replica:
        assert client.get(f"/c/{complaint.number}/").status_code == 200
    assert not on_replica.captured_queries


@pytest.mark.django_db(transaction=True)
def test_exports_read_their_rows_from_the_replica_and_log_on_the_primary(replica_alias, api, register):
    complaint = register()
    default = connections["default"]
    with CaptureQueriesContext(replica_alias) as on_replica, CaptureQueriesContext(default) as on_default:
        response = api("manager").get("/complaints/export", {"format": "csv"})
        body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response.status_code == 200 and complaint.number in body
    assert any('FROM "complaints_complaint"' in q["sql"] for q in on_replica.captured_queries)
    assert not any('FROM "complaints_complaint"' in q["sql"] for q in on_default.captured_queries)
    # The export's log row (who exported what, R-AX-2) is written to the primary.
    assert not any(q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE")) for q in on_replica.captured_queries)
    assert any("imports_exportlog" in q["sql"] and q["sql"].lstrip().upper().startswith("UPDATE")
               for q in on_default.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_ended_is_replaced_before_the_next_request(api):
    """A server restart, fail-over or terminated session between two requests costs a reconnect,
    not an error: the health check (kesu/lib/postgresql/base.py) notices the server's goodbye
    on the socket; a connection with nothing to read is used without a SELECT 1."""
    import select
    import time

    import psycopg
    from django.db import close_old_connections, connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's connection handling")
    client = api("clerk")
    assert client.get("/me").status_code == 200
    pid = connection.connection.info.backend_pid
    close_old_connections()  # the end of a request: the next one checks the connection again
    assert client.get("/me").status_code == 200
    assert connection.connection.info.backend_pid == pid  # a quiet connection is kept

    close_old_connections()
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while not select.select([connection.connection.fileno()], [], [], 0.1)[0]:
        assert time.monotonic() < deadline, "the server did not close the connection"
    r = client.get("/me")
    assert r.status_code == 200, r.content
    assert connection.connection.info.backend_pid != pid


@pytest.mark.django_db
def test_bulk_inserts_write_the_same_rows_below_and_above_the_unnest_threshold(org):
    """kesu/lib/postgresql/compiler.py writes small multi-row INSERTs as VALUES and large ones
    through UNNEST: both must store exactly what they were given."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kesu.lib.postgresql.compiler import UNNEST_FROM
    from kesu.org.models import Unit

    for count in (3, UNNEST_FROM + 5):
        units = [Unit(name=f"门店{count}-{i}", code=f"u{count}-{i}", path=f"/x{count}-{i}/", is_quality=i % 2 == 0)
                 for i in range(count)]
        with CaptureQueriesContext(connection) as queries:
            Unit.objects.bulk_create(units)
        assert len(queries) == 1
        if connection.vendor == "postgresql":
            assert ("UNNEST" in queries[0]["sql"]) == (count >= UNNEST_FROM)
        stored = list(Unit.objects.filter(code__startswith=f"u{count}-").order_by("id")
                      .values_list("name", "code", "path", "is_quality"))
        assert stored == [(u.name, u.code, u.path, u.is_quality) for u in units]


# --- Prepared statements (kesu/settings.py, kesu/lib/postgresql/base.py) ----------------------

def test_the_prepare_threshold_setting_is_read_and_checked(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    for value, expected in (("off", None), ("0", 0), ("7", 7)):
        monkeypatch.setenv("KESU_DB_PREPARE_THRESHOLD", value)
        assert kesu_settings._prepare_threshold() == expected
    monkeypatch.delenv("KESU_DB_PREPARE_THRESHOLD")
    db = {"ENGINE": "django.db.backends.postgresql", "NAME": "kesu"}
    kesu_settings._postgresql(db)
    assert db["ENGINE"] == "kesu.lib.postgresql"
    assert db["OPTIONS"] == {"server_side_binding": True, "prepare_threshold": 5}
    for bad in ("five", "-1"):
        monkeypatch.setenv("KESU_DB_PREPARE_THRESHOLD", bad)
        with pytest.raises(ImproperlyConfigured, match="KESU_DB_PREPARE_THRESHOLD"):
            kesu_settings._prepare_threshold()


@pytest.mark.django_db
def test_registrations_run_as_prepared_statements_and_store_what_was_sent(api):
    """After a few registrations on one connection the server holds the complaint's INSERT as a
    prepared statement, so it no longer parses and plans it; the wide statements (more than 50
    parameters) keep their converted form between runs too; and every complaint reads back as
    it was registered."""
    from django.db import connection

    from kesu.lib.postgresql.base import _long_statement

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's prepared statements")
    threshold = connection.settings_dict["OPTIONS"]["prepare_threshold"]
    assert threshold is not None and threshold <= 5
    client = api("clerk")
    _long_statement.cache_clear()
    numbers = []
    for i in range(threshold + 2):
        r = client.post("/complaints", {"channel": "phone", "customer_name": f"顾客{i}",
                                        "contact_phone": f"1380000{i:04d}", "summary": f"第{i}次投诉：空调不制冷",
                                        "order_number": f"DD-P{i}"})
        assert r.status_code == 201, r.content
        numbers.append(r.json()["complaint"]["number"])
    prepared = [row[0] for row in connection.cursor().execute("SELECT statement FROM pg_prepared_statements")]
    assert any(s.startswith('INSERT INTO "complaints_complaint"') for s in prepared), prepared
    assert _long_statement.cache_info().hits >= threshold
    for i, number in enumerate(numbers):
        detail = client.get(f"/complaints/{number}").json()
        assert (detail["summary"], detail["order_number"], detail["contact_phone"][-4:]) == (
            f"第{i}次投诉：空调不制冷", f"DD-P{i}", f"{i:04d}")
