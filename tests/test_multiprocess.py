"""Several processes on one store: what one commits, the others serve within 2 seconds.

Real `paperradar serve` processes (subprocesses on loopback ports) and a real CLI `ingest`:
- PostgreSQL (pgserver, pgvector): two servers with separate data dirs on one database; a paper
  the CLI ingests (from a third data dir) is found on both by keyword and by meaning and has
  similar papers; a form token and a mailed link minted by one server work on the other.
- SQLite: one server and a concurrent `ingest` into its data dir.
The delay is measured from the moment the CLI exits (its transaction committed earlier, and it
embedded the paper before exiting); each server's follower looks at the feed every 0.5 s.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from conftest import free_port
from fakes.community import csrf_of, wait_for_mail
from fakes.smtp_server import FakeSMTP

FRESH_WITHIN_S = 2.0
TITLE = "Quokkanet: Marsupial Gait Telemetry for Zorbling Hyperspectral Kangaroo Tracking"
PAGE = f"""Get trending papers in your email inbox!

Subscribe

byAK and the research community

Mar 11

{TITLE}

We present Quokkanet, a system that tracks kangaroos, wallabies and quokkas across hyperspectral drone imagery using zorbling gait telemetry. It follows marsupials through dense bushland better than earlier animal tracking methods. Field trials in Western Australia show the telemetry identifies individual animals by the rhythm of their hops.
"""


def env_for(data_dir: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERRADAR_")}
    env.update({"PAPERRADAR_DATA_DIR": str(data_dir), "PAPERRADAR_API_RATE_LIMIT": "0", "PAPERRADAR_WORKERS": "1",
                "PAPERRADAR_MODELS_DIR": os.environ["PAPERRADAR_MODELS_DIR"]})
    env.update({f"PAPERRADAR_{k.upper()}": str(v) for k, v in extra.items()})
    return env


class Server:
    """`paperradar serve` in a subprocess, ready once its home page answers."""

    def __init__(self, data_dir: Path, **settings):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"serve-{self.port}.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([sys.executable, "-m", "paperradar", "serve", "--port", str(self.port)],
                                     env=env_for(data_dir, **settings), stdout=open(self.log, "w"),
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 240
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/api/papers/search?q=", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                self.stop()
                raise AssertionError(f"serve did not start: {self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    # what a client sees
    def keyword(self, q: str) -> list[str]:
        return [p["id"] for p in httpx.get(f"{self.url}/api/papers/search",
                                           params={"q": q, "mode": "lexical", "limit": 5}, timeout=10).json()]

    def meaning(self, q: str) -> list[str]:
        return [p["id"] for p in httpx.get(f"{self.url}/api/papers/search",
                                           params={"q": q, "mode": "vector", "limit": 5}, timeout=10).json()]

    def similar_on_page(self, paper_id: str) -> list[str]:
        html = httpx.get(f"{self.url}/papers/{paper_id}", timeout=10).text
        section = html.split('<section class="similar">', 1)
        return re.findall(r'href="/papers/([^"]+)"', section[1].split("</section>", 1)[0]) if len(section) == 2 else []


def ingest(data_dir: Path, page: Path, **settings) -> subprocess.CompletedProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.run([sys.executable, "-m", "paperradar", "ingest", "pages", str(page)],
                          env=env_for(data_dir, **settings), capture_output=True, text=True, timeout=300)


def wait_until_fresh(servers: list[Server], since: float) -> dict[str, float]:
    """Poll every server until the new paper is found by keyword and by meaning and its page
    lists similar papers; {what on which server: seconds after `since`}."""
    found: dict[str, float] = {}
    paper_id = None
    deadline = since + 15  # measured precisely below; polling on past the target shows by how much it is missed
    while time.time() < deadline and len(found) < 3 * len(servers):
        for i, s in enumerate(servers):
            if f"keyword@{i}" not in found:
                ids = s.keyword("quokkanet zorbling marsupial telemetry")
                if ids:
                    paper_id = ids[0]
                    found[f"keyword@{i}"] = time.time() - since
            if paper_id and f"meaning@{i}" not in found and paper_id in s.meaning(
                    "tracking kangaroos and wallabies from drone images by how they hop"):
                found[f"meaning@{i}"] = time.time() - since
            if paper_id and f"similar@{i}" not in found and s.similar_on_page(paper_id):
                found[f"similar@{i}"] = time.time() - since
        time.sleep(0.05)
    return found


@pytest.fixture
def pg_url(postgres):
    name = f"t_{uuid.uuid4().hex[:16]}"
    postgres.psql(f"CREATE DATABASE {name};")
    return postgres.get_uri(name).replace("postgresql://", "postgresql+psycopg://", 1)


def test_two_servers_on_one_postgresql_serve_what_a_third_process_ingests(tmp_path, pg_url):
    page = tmp_path / "quokka.txt"
    page.write_text(PAGE)
    with FakeSMTP() as smtp:
        a = Server(tmp_path / "a", database_url=pg_url, smtp_url=smtp.url)
        try:
            b = Server(tmp_path / "b", database_url=pg_url, smtp_url=smtp.url)
            try:
                assert a.keyword("quokkanet") == [] and b.keyword("quokkanet") == []
                done = ingest(tmp_path / "cli", page, database_url=pg_url)
                exited = time.time()
                assert done.returncode == 0, done.stderr
                found = wait_until_fresh([a, b], exited)
                print("seconds from the CLI's exit:", {k: round(v, 2) for k, v in sorted(found.items())})
                assert len(found) == 6, found
                assert max(found.values()) <= FRESH_WITHIN_S, found

                # A form rendered by A is accepted by B (one secret in the store) ...
                with httpx.Client(timeout=10) as browser:
                    token = csrf_of(browser.get(f"{a.url}/subscribe").text)
                    r = browser.post(f"{b.url}/subscribe", data={"email": "wombat@example.org",
                                                                 "topics": "kangaroo tracking", "csrf_token": token})
                    assert r.status_code == 200, r.text[:500]
                    # ... and the confirmation link B mailed opens and confirms on A.
                    [mail] = wait_for_mail(smtp, "wombat@example.org")
                    text = mail.message.get_body(("plain",)).get_content()
                    link = re.search(r"http://127\.0\.0\.1:\d+/confirm\?t=([\w.\-]+)", text).group(1)
                    page_a = browser.get(f"{a.url}/confirm", params={"t": link})
                    assert page_a.status_code == 200, page_a.text[:500]
                    r = browser.post(f"{a.url}/confirm", data={"t": link, "csrf_token": csrf_of(page_a.text)})
                    assert r.status_code == 200 and "wombat@example.org" in r.text, r.text[:500]
            finally:
                b.stop()
        finally:
            a.stop()


def test_a_server_serves_what_a_concurrent_ingest_adds_to_its_sqlite_data_dir(tmp_path):
    page = tmp_path / "quokka.txt"
    page.write_text(PAGE)
    server = Server(tmp_path / "data")
    try:
        assert server.keyword("quokkanet") == []
        done = ingest(tmp_path / "data", page)
        exited = time.time()
        assert done.returncode == 0, done.stderr
        found = wait_until_fresh([server], exited)
        print("seconds from the CLI's exit:", {k: round(v, 2) for k, v in sorted(found.items())})
        assert len(found) == 3, found
        assert max(found.values()) <= FRESH_WITHIN_S, found
    finally:
        server.stop()


def test_vector_files_written_by_another_process_are_picked_up_by_refresh(tmp_path):
    """Two opens of one vector folder stand for two processes: the reader takes on the rows the
    writer appended (new, replaced, withdrawn) without reopening, and refuses appended bytes
    that fail their checksum."""
    import numpy as np

    from paperradar.search.vectors import VectorIndex

    rng = np.random.default_rng(5)

    def vecs(n):
        m = rng.standard_normal((n, 16)).astype(np.float32)
        return m / np.linalg.norm(m, axis=1, keepdims=True)

    folder = tmp_path / "vectors"
    writer = VectorIndex(folder, "m", 16)
    first = vecs(20)
    writer.apply([(f"p{i}", v) for i, v in enumerate(first)], [], seq=20)
    reader = VectorIndex(folder, "m", 16)
    assert len(reader) == 20 and reader.refresh() is False  # nothing new: one stat

    more, replaced = vecs(5), vecs(1)[0]
    writer.apply([(f"q{i}", v) for i, v in enumerate(more)] + [("p3", replaced)], ["p7"], seq=27)
    assert reader.refresh() is True
    assert reader.seq == 27 and len(reader) == len(writer) == 24
    assert reader.vector("p7") is None and np.allclose(reader.vector("p3"), replaced)
    for q in vecs(5):
        assert [h.id for h in reader.search(q, 5)] == [h.id for h in writer.search(q, 5)]
    from paperradar.search.keys import paper_key  # filtered search sees the new rows too

    assert [h.id for h in reader.search(more[2], 1, allowed=np.array([paper_key("q2")]))] == ["q2"]

    # Bytes appended and recorded, then changed on disk: the reader does not take them on.
    writer.apply([("r0", vecs(1)[0])], [], seq=28)
    with open(folder / "vectors.f32", "r+b") as f:
        f.seek(-4, 2)
        f.write(b"\x00\x00\x80\x7f")
    reader.refresh()
    assert reader.vector("r0") is None and reader.problem and "checksum" in reader.problem


def test_the_follower_waits_out_a_busy_index_and_catches_up(tmp_path):
    """In one process: papers another store connection commits become searchable through
    `Radar.follow`; while another writer holds the keyword index, the follower keeps looking
    (no error, no crash) and catches up once it is free."""
    from conftest import make_settings
    from paperradar.models import Paper
    from paperradar.radar import Radar
    from paperradar.search.writelock import WriterLock
    from paperradar.store import Store

    def paper(pid, title):
        return Paper(id=pid, title=title, abstract=f"{title}. A study of it, in two sentences.", authors=["A. B"])

    settings = make_settings(tmp_path / "data", follow_interval_s=0.05)
    radar = Radar(settings)
    other = Store(settings.db_url)  # stands for another process's connection
    try:
        radar.store.upsert_papers([paper("x1", "Wombat burrow acoustics")])
        radar.sync_indexes()
        radar.follow()
        radar.follow()  # a second call does nothing
        other.upsert_papers([paper("x2", "Echidna spine mechanics")])
        deadline = time.time() + 10
        while not radar.search.search("echidna", mode="lexical").hits and time.time() < deadline:
            time.sleep(0.05)
        assert [h.paper.id for h in radar.search.search("echidna", mode="lexical").hits] == ["x2"]
        while radar.vectors.vector("x2") is None and time.time() < deadline:
            time.sleep(0.05)
        assert radar.vectors.vector("x2") is not None

        busy = WriterLock(radar.lexical.lock.path, "keyword index", 1.0)
        with busy.held():  # another process writing the keyword index
            looks = radar.follower.looks
            other.upsert_papers([paper("x3", "Platypus electroreception")])
            time.sleep(1.0)
            assert radar.search.search("platypus", mode="lexical").hits == []
            assert radar.follower.last_error is None and radar.follower.looks >= looks + 2  # still looking
        while not radar.search.search("platypus", mode="lexical").hits and time.time() < deadline + 5:
            time.sleep(0.05)
        assert [h.paper.id for h in radar.search.search("platypus", mode="lexical").hits] == ["x3"]
    finally:
        other.close()
        radar.close()
    assert radar.follower is None  # close stopped it


def test_rows_appended_past_another_process_ann_index_are_searched_and_kept(tmp_path):
    """With an ANN index (above its threshold), rows the reader takes on by `refresh` are not in
    its ANN: they are scored exactly, and when the reader itself writes next they join its ANN
    at their own row numbers."""
    import numpy as np

    from paperradar.search.vectors import VectorIndex

    rng = np.random.default_rng(11)

    def vecs(n):
        m = rng.standard_normal((n, 16)).astype(np.float32)
        return m / np.linalg.norm(m, axis=1, keepdims=True)

    folder = tmp_path / "vectors"
    writer = VectorIndex(folder, "m", 16, ann_threshold=300)
    writer.apply([(f"p{i}", v) for i, v in enumerate(vecs(400))], [], seq=400)
    writer.flush()
    reader = VectorIndex(folder, "m", 16, ann_threshold=300)
    assert reader.ann is not None and reader.ann.ntotal == 400
    fresh = vecs(3)
    writer.apply([(f"n{i}", v) for i, v in enumerate(fresh)], ["p5"], seq=403)
    writer.flush()
    assert reader.refresh() is True
    assert reader.ann.ntotal == 400 and len(reader.ids) == 403  # the new rows are not in its ANN
    for i, v in enumerate(fresh):
        assert reader.search(v, 1)[0].id == f"n{i}"
    assert "p5" not in {h.id for h in reader.search(writer.vector("p6"), 400)}
    # The reader writes next: the rows it took on enter its ANN first, at their row numbers.
    own = vecs(1)[0]
    reader.apply([("own", own)], [], seq=404)
    assert reader.ann.ntotal == len(reader.ids) == 404
    assert reader.search(own, 1)[0].id == "own" and reader.search(fresh[1], 1)[0].id == "n1"


def test_a_follower_that_finds_the_vectors_done_elsewhere_still_looks_at_them(tmp_path, pg_url):
    """Two processes follow one PostgreSQL. B's follower waits for A's writer lock, then finds
    A's work done: it must still load the new paper among the newest it scores exactly (the
    HNSW walk may never reach a paper unlike its neighbours), not settle on a position it never
    looked at. Found at a million papers, where it left one worker blind to a fresh paper."""
    import threading

    from conftest import make_settings
    from paperradar.follow import Follower
    from paperradar.models import Paper
    from paperradar.radar import Radar

    def paper(pid, title):
        return Paper(id=pid, title=title, abstract=f"{title}. A study of it, in two sentences.", authors=["A. B"])

    a = Radar(make_settings(tmp_path / "a", database_url=pg_url, follow_interval_s=0))
    b = Radar(make_settings(tmp_path / "b", database_url=pg_url, follow_interval_s=0))
    try:
        a.store.upsert_papers([paper("w1", "Wombat burrow acoustics")])
        a.sync_indexes()
        follower = Follower(b, 0.5)
        follower.once()
        a.store.upsert_papers([paper("w2", "Glacier calving seismology in the Yukon")])
        with a.vectors.lock.held():  # A is embedding the new paper while B looks
            looking = threading.Thread(target=follower.once)
            looking.start()
            time.sleep(0.1)  # B waits for the lock (0.2 s at most)
            a.indexer.sync_vectors()  # reentrant: A's lock, held by this thread
        looking.join()
        for _ in range(20):  # until B's follower settles on the newest position
            if follower.once() == 0 and b.vectors.seq == b.store.max_seq():
                break
        assert "w2" in b.vectors.recent_ids
        assert "w2" in [h.paper.id for h in b.search.search("glacier calving in the Yukon", mode="vector").hits]
    finally:
        a.close()
        b.close()
