"""Digest throughput: select, render and send every subscriber's digest to a local SMTP server.

    python bench/digest.py                                    # small: 500 subscribers x 200 papers
    python bench/digest.py --subscribers 10000 --papers 1000  # the target size (<= 60 s)

Papers are embedded first and stored, as the indexer does at ingest time, and that step is not
timed; the timed part is `DigestService.run()`: topic embeddings, scoring, planning the outbox,
rendering and sending over SMTP to an aiosmtpd sink in another process (so it does not share
the sender's GIL). `--embedder hashing` swaps the model for a bag-of-words stand-in.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np  # noqa: E402

from paperradar.config import Settings  # noqa: E402
from paperradar.digest.run import DigestService, embedding_functions  # noqa: E402
from paperradar.models import Paper  # noqa: E402
from paperradar.store import Store  # noqa: E402

from common import row  # noqa: E402  (bench/common.py)

TARGET_S = 60.0
FIELDS = {
    "cs.LG": ["gradient inversion", "federated learning", "diffusion models", "graph neural networks",
              "reinforcement learning", "normalizing flows", "contrastive learning", "model compression"],
    "cs.CV": ["image segmentation", "object detection", "neural radiance fields", "image super resolution",
              "video understanding", "3d reconstruction"],
    "cs.CL": ["machine translation", "retrieval augmented generation", "instruction tuning",
              "speech recognition", "summarization", "question answering"],
    "cs.CR": ["membership inference", "adversarial examples", "differential privacy", "model stealing"],
    "stat.ML": ["bayesian optimization", "variational inference", "causal inference", "gaussian processes"],
    "q-bio.BM": ["protein folding", "drug discovery", "molecular generation"],
}
WORDS = ("method model data training results performance approach network learning framework analysis "
         "efficient robust scalable novel benchmark dataset evaluation theory experiments large small").split()


def make_papers(n: int, rng: random.Random) -> list[Paper]:
    out = []
    cats = list(FIELDS)
    for i in range(n):
        cat = rng.choice(cats)
        topic = rng.choice(FIELDS[cat])
        other = rng.choice(FIELDS[rng.choice(cats)])
        title = f"{rng.choice(['Towards', 'Rethinking', 'Scaling', 'Efficient', 'Robust'])} {topic} with {other}"
        abstract = " ".join([f"We study {topic}."] + rng.choices(WORDS, k=60) + [f"Applications to {other}."])
        out.append(Paper(id=f"2501.{i:05d}", arxiv_id=f"2501.{i:05d}", title=title, abstract=abstract,
                         authors=[f"Author {rng.randrange(500)}" for _ in range(rng.randint(1, 6))],
                         categories=[cat]))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smtp_sink(port: int, ready, done, count, cpu) -> None:
    """An aiosmtpd server that accepts and counts every message, until `done` is set."""
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    done.wait()
    controller.stop()
    cpu.value = time.process_time()


def hashing_functions():
    import zlib

    def embed(texts):
        out = np.zeros((len(texts), 384), np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, zlib.crc32(w.encode()) % 384] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    return embed, lambda papers: embed([f"{p.title} {p.abstract}" for p in papers])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=500)
    ap.add_argument("--papers", type=int, default=200)
    ap.add_argument("--embedder", choices=["model", "hashing"], default="model")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        ready, done, count, sink_cpu = mp.Event(), mp.Event(), mp.Value("i", 0), mp.Value("d", 0.0)
        sink = mp.Process(target=smtp_sink, args=(port, ready, done, count, sink_cpu), daemon=True)
        sink.start()
        ready.wait(30)
        settings = Settings(data_dir=Path(tmp) / "data", smtp_url=f"smtp://127.0.0.1:{port}",
                            mail_from="paperradar <radar@bench.test>", base_url="https://radar.bench.test")
        store = Store.from_settings(settings)

        t = time.perf_counter()
        papers = make_papers(args.papers, rng)
        store.upsert_papers(papers)
        if args.embedder == "model":
            embed_texts, paper_vectors = embedding_functions(settings, store)
        else:
            embed_texts, paper_vectors = hashing_functions()
        paper_vectors(papers)  # what the indexer does at ingest: stores the vectors (untimed)
        topics = [t for ts in FIELDS.values() for t in ts]
        cats = list(FIELDS)
        for i in range(args.subscribers):
            store.add_subscriber(
                f"reader{i:05d}@bench.test", status="active",
                topics=rng.sample(topics, rng.randint(1, 3)),
                categories=rng.sample(cats, 1) if rng.random() < 0.3 else [],
                authors=[f"Author {rng.randrange(500)}"] if rng.random() < 0.2 else [])
        setup = time.perf_counter() - t

        service = DigestService(settings, store, embed_texts=embed_texts, paper_vectors=paper_vectors)
        t0, c0 = time.perf_counter(), time.process_time()
        plan = service.plan(service.clock().date())
        t1 = time.perf_counter()
        summary = service.send(service.clock().date())
        t2, c2 = time.perf_counter(), time.process_time()
        done.set()
        sink.join(10)
        store.close()

    total = t2 - t0
    full = args.subscribers >= 10_000 and args.papers >= 1_000
    print(f"digest: {args.subscribers} subscribers x {args.papers} new papers, embedder={args.embedder}, "
          f"{settings.smtp_connections} SMTP connections (setup, untimed: {setup:.1f} s)")
    print(row("select + plan outbox", t1 - t0, "s") + f"  ({plan.planned} digests, {plan.empty} empty)")
    print(row("render + send over SMTP", t2 - t1, "s") + f"  ({summary.sent} sent, "
          f"{summary.sent / max(t2 - t1, 1e-9):.0f} msg/s, server received {count.value})")
    if full:
        print(row("select, render, send 10,000 x 1,000", total, "s", TARGET_S))
    else:
        print(row("select, render, send (this size)", total, "s")
              + f"  (target {TARGET_S:.0f} s is for --subscribers 10000 --papers 1000)")
    print(f"  CPU: sender {c2 - c0:.1f} s, SMTP server {sink_cpu.value:.1f} s, on {os.cpu_count()} cores "
          f"(load average {os.getloadavg()[0]:.1f} at the end)")
    if summary.errors:
        print(f"  errors: {len(summary.errors)}, first: {summary.errors[0]}")


if __name__ == "__main__":
    main()
