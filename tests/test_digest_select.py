"""Choosing papers: scores, reasons, threshold and top N, windows, frequency, and feedback."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from fakes.digest_world import Clock, add_papers, paper, service, settings_for, subscribe
from fakes.hashing_embedder import embed_texts, paper_vectors
from fakes.smtp_server import FakeSMTP
from paperradar.digest.select import W_AUTHOR, W_CATEGORY, W_KEYWORD, Ranker
from paperradar.store import Store


def ranker(papers, **kw):
    return Ranker(papers, paper_vectors(papers), embed_texts, **kw)


PAPERS = [
    paper("a", "Gradient inversion attacks on federated learning", "Images recovered from gradients.",
          categories=["cs.CR"], authors=["Grace Hopper"]),
    paper("b", "Protein folding with diffusion", "Structures from sequences.", categories=["q-bio.BM"]),
    paper("c", "Galaxy surveys", "Telescopes and galaxies.", categories=["astro-ph.GA"], authors=["Vera Rubin"]),
]
ALL = np.ones(3, dtype=bool)


def test_score_is_topic_similarity_plus_keyword_category_and_author_bonuses():
    r = ranker(PAPERS, threshold=-10, top_n=10)
    sim = float(embed_texts(["gradient inversion"])[0] @ paper_vectors(PAPERS[:1])[0])
    [top] = r.pick(["gradient inversion"], [], [], np.array([True, False, False]))
    assert top.score == pytest.approx(sim + W_KEYWORD, abs=1e-5)
    assert top.reasons == ["matches your topic: gradient inversion", "mentions “gradient inversion”"]
    [cat] = r.pick([], ["CS.cr"], [], np.array([True, False, False]))
    assert cat.score == pytest.approx(W_CATEGORY) and cat.reasons == ["in your category CS.cr"]
    [by] = r.pick([], [], ["vera rubin"], np.array([False, False, True]))
    assert by.score == pytest.approx(W_AUTHOR) and by.reasons == ["by Vera Rubin"]
    [surname] = r.pick([], [], ["Rubin"], np.array([False, False, True]))
    assert surname.reasons == ["by Vera Rubin"]


def test_threshold_top_n_candidates_and_deterministic_ties():
    r = ranker(PAPERS, threshold=0.3, top_n=10)
    picks = r.pick(["gradient inversion"], [], [], ALL)
    assert [p.paper.id for p in picks] == ["a"]  # the others are below the threshold
    assert r.pick(["gradient inversion"], [], [], np.array([False, True, True])) == []
    # equal scores (category only): lower id first, and top_n cuts
    r2 = ranker(PAPERS, threshold=0.3, top_n=2)
    assert [p.paper.id for p in r2.pick([], ["cs.CR", "q-bio.BM", "astro-ph.GA"], [], ALL)] == ["a", "b"]


def test_topics_are_embedded_once_per_run():
    calls = []

    def counting(texts):
        calls.append(list(texts))
        return embed_texts(texts)

    r = Ranker(PAPERS, paper_vectors(PAPERS), counting)
    r.add_topics(["gradient inversion", "protein folding", "gradient inversion"])
    for _ in range(3):
        r.pick(["gradient inversion", "protein folding"], [], [], ALL)
    assert calls == [["gradient inversion", "protein folding"]]


def test_a_new_version_keeps_its_first_seen_time(tmp_path):
    store = Store.from_settings(settings_for(tmp_path / "data"))
    store.upsert_papers([paper("2401.00001", "Old paper", "v1 text", version=1)])
    first = store.get_paper("2401.00001").first_seen_at
    later = first + dt.timedelta(seconds=1)
    store.upsert_papers([paper("2401.00001", "Old paper", "v2 text, revised", version=2)])
    assert store.get_paper("2401.00001").first_seen_at == first
    assert store.get_paper("2401.00001").abstract == "v2 text, revised"
    assert store.papers_first_seen_between(later - dt.timedelta(seconds=1), later + dt.timedelta(days=1)) == []


@pytest.fixture
def smtp():
    with FakeSMTP() as server:
        yield server


def test_weekly_and_paused_subscribers(tmp_path, smtp):
    settings = settings_for(tmp_path / "data", smtp_url=smtp.url)
    store = Store.from_settings(settings)
    add_papers(store, "2401", [("Gradient inversion attacks", "")])
    subscribe(store, "weekly@example.com", ["gradient inversion"], frequency="weekly", send_empty=True)
    subscribe(store, "paused@example.com", ["gradient inversion"], status="paused")
    clock = Clock()
    svc = service(settings, store, clock=clock)
    assert svc.run().send.sent == 1
    for day in range(1, 8):
        clock.advance(days=1)
        report = svc.run()
        assert report.plan.not_due == (1 if day < 7 else 0)
    assert [m.recipient for m in smtp.received()] == ["weekly@example.com"] * 2


# Day 1: two papers both readers get. Reader A then says "less like this" to the first and
# "more like this" to the second; reader B says nothing. Day 2 brings one paper like each.
DAY1 = [("Machine learning for gradient inversion attacks", "Attacks recover images from gradients."),
        ("Machine learning for protein folding", "Structures of proteins predicted.")]
DAY2 = [("Machine learning reveals images through gradient inversion", "Attacks recover private images from gradients."),
        ("Machine learning predicts protein folding", "Protein structures predicted from sequences.")]


def titles(mail) -> list[str]:
    text = mail.message.get_body(("plain",)).get_content()
    return [line.split(". ", 1)[1] for line in text.splitlines() if line[:1].isdigit() and ". " in line]


def test_feedback_changes_the_next_digest(tmp_path, smtp):
    settings = settings_for(tmp_path / "data", smtp_url=smtp.url)
    store = Store.from_settings(settings)
    day1 = add_papers(store, "2401", DAY1)
    a = subscribe(store, "a@example.com", ["learning machines"])
    subscribe(store, "b@example.com", ["learning machines"])
    clock = Clock()
    svc = service(settings, store, clock=clock)
    svc.run()
    assert sorted(titles(smtp.received("a@example.com")[0])) == sorted(t for t, _ in DAY1)
    assert sorted(titles(smtp.received("b@example.com")[0])) == sorted(t for t, _ in DAY1)

    store.put_feedback(a.id, day1[0], -1)  # less like the gradient-inversion paper
    store.put_feedback(a.id, day1[1], +1)  # more like the protein paper
    clock.advance(days=1)
    add_papers(store, "2402", DAY2)
    svc.run()
    b_day2 = smtp.received("b@example.com")[1]
    a_day2 = smtp.received("a@example.com")[1]
    assert sorted(titles(b_day2)) == sorted(t for t, _ in DAY2)  # no feedback: both
    assert titles(a_day2) == ["Machine learning predicts protein folding"]
    assert "like a paper you wanted more of: Machine learning for protein folding" in \
        a_day2.message.get_body(("plain",)).get_content()
