"""UCN's and IPBeja's tables load into real PostgreSQL and MariaDB; VIKO's webhook bodies replay over HTTP."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hub.simulate import SqlLoadError, WebhookTargetUnavailable, load_sql, push_webhooks
from tests.conftest import require_service

SERVERS = {
    "postgresql": ("postgresql+psycopg2://postgres:postgres@127.0.0.1:5432/{db}", "postgresql+psycopg2://postgres:postgres@127.0.0.1:5432/postgres"),
    "mariadb": ("mysql+pymysql://root@127.0.0.1:3306/{db}", "mysql+pymysql://root@127.0.0.1:3306/mysql"),
}


@pytest.fixture(params=sorted(SERVERS))
def database_url(request):
    """A fresh database on the real server, dropped afterwards."""
    sa = pytest.importorskip("sqlalchemy")
    template, admin_url = SERVERS[request.param]
    name = f"sim_{uuid.uuid4().hex[:10]}"
    try:
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # noqa: BLE001 - any failure means the service is not usable here
        require_service(f"{request.param} on 127.0.0.1 (deploy/dev-services start)", str(exc).splitlines()[0])
    try:
        yield template.format(db=name)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


def test_sql_partners_load_with_the_same_rows(sim, database_url):
    import sqlalchemy as sa

    report = load_sql(sim.root, database_url)
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            for hei, db_file in (("ucn.dk", "esas.sqlite"), ("ipbeja.pt", "netpa.sqlite")):
                source = sqlite3.connect(sim.root / hei / db_file)
                for table, rows in report.rows.items():
                    if not source.execute("SELECT 1 FROM sqlite_master WHERE name=?", (table,)).fetchone():
                        continue
                    assert rows == source.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                    assert conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar() == rows
            latest = conn.execute(sa.text("SELECT MAX(id) FROM v_bedoemmelse")).scalar()
            assert latest == report.rows["esas_bedoemmelse"]
            label, stamp = conn.execute(sa.text("SELECT karakter, opdateret FROM v_bedoemmelse WHERE id = 1")).one()
            assert stamp.year >= 2025
    finally:
        engine.dispose()


def test_a_bad_database_url_says_how_to_fix_it(sim):
    with pytest.raises(SqlLoadError, match="127.0.0.1"):
        load_sql(sim.root, "postgresql+psycopg2://nobody:wrong@127.0.0.1:1/none")


def test_webhook_bodies_replay_byte_for_byte_with_the_token(sim):
    received: list[tuple[str, bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["Authorization"], body))
            self.send_response(202 if self.headers["Authorization"] == "Bearer s3cret" else 401)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        report = push_webhooks(sim.root, f"http://127.0.0.1:{server.server_address[1]}/hooks/viko", "s3cret")
    finally:
        server.shutdown()
        server.server_close()
    lines = (sim.root / "viko.lt/webhooks.jsonl").read_bytes().splitlines()
    assert report.posted == len(lines) == len(received)
    assert report.statuses == {202: len(lines)}
    assert [body for _, body in received] == lines  # bad bodies arrive as bad as they were written


def test_pushing_to_nobody_says_so(sim):
    with socket_closed_port() as port:
        with pytest.raises(WebhookTargetUnavailable, match="start="):
            push_webhooks(sim.root, f"http://127.0.0.1:{port}/hooks", "t", timeout=2)


class socket_closed_port:
    """A loopback port nobody listens on."""

    def __enter__(self) -> int:
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        return self.port

    def __exit__(self, *exc: object) -> None:
        pass
