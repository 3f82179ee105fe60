"""Which new papers each subscriber gets, and why: small scoring functions over one batch.

For a paper p and a subscriber s the score is

    score(p, s) = max_t cos(v_p, v_t)                         best topic similarity (embeddings)
                + W_KEYWORD  * [some topic appears verbatim in the title or abstract]
                + W_CATEGORY * [p is in one of s's arXiv categories]
                + W_AUTHOR   * [one of p's authors is one of s's authors]
                + W_FEEDBACK * (max(0, max_l cos(v_p, v_l)) - max(0, max_d cos(v_p, v_d)))

where t ranges over s's topics, l over papers s asked "more like this" for and d over "less
like this". Papers scoring at least `threshold` are kept, best first, at most `top_n`; ties go
to the lower paper id so the choice is deterministic. Each pick carries its reasons in words.

Vectors come from outside (`embed_texts` for topics, precomputed paper vectors), L2-normalised,
so a dot product is the cosine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..models import Paper
from ..normalize import title_key

W_KEYWORD = 0.15
W_CATEGORY = 0.35  # alone it clears the default threshold: a category is an interest by itself
W_AUTHOR = 0.5
W_FEEDBACK = 0.3
TOPIC_REASON_FLOOR = 0.25  # below this a topic is not named as a reason
LIKED_REASON_FLOOR = 0.5

EmbedTexts = Callable[[list[str]], np.ndarray]


@dataclass
class Pick:
    paper: Paper
    score: float
    reasons: list[str] = field(default_factory=list)


@dataclass
class Feedback:
    """A subscriber's past opinions as vectors: rows of `liked` / `disliked`, titles for reasons."""

    liked: np.ndarray
    disliked: np.ndarray
    liked_titles: list[str] = field(default_factory=list)


def _padded(text: str) -> str:
    return f" {title_key(text)} "


class Ranker:
    """Scores one batch of candidate papers for any number of subscribers.

    Everything that depends only on the papers (vectors, normalised text, category and author
    lookups) and on distinct topic strings is computed once and shared across subscribers.
    """

    def __init__(self, papers: Sequence[Paper], paper_vectors: np.ndarray, embed_texts: EmbedTexts,
                 *, threshold: float = 0.3, top_n: int = 10):
        if len(papers) != len(paper_vectors):
            raise ValueError(f"{len(papers)} papers but {len(paper_vectors)} vectors")
        self.papers = list(papers)
        self.vectors = np.asarray(paper_vectors, dtype=np.float32).reshape(len(self.papers), -1)
        self.embed_texts = embed_texts
        self.threshold = threshold
        self.top_n = top_n
        self.index = {p.id: i for i, p in enumerate(self.papers)}
        self._text = [_padded(f"{p.title} {p.abstract}") for p in self.papers]
        self._by_category: dict[str, list[int]] = {}
        self._by_author: dict[str, list[tuple[int, str]]] = {}
        for i, p in enumerate(self.papers):
            for c in p.categories:
                self._by_category.setdefault(c.lower(), []).append(i)
            for a in p.authors:
                key = title_key(a)
                self._by_author.setdefault(key, []).append((i, a))
                last = key.rsplit(" ", 1)[-1]
                if last != key:
                    self._by_author.setdefault(last, []).append((i, a))
        self._topic_sims: dict[str, np.ndarray] = {}
        self._topic_words: dict[str, np.ndarray] = {}
        # Ties break on the paper id: order of the argsort below.
        self._id_rank = np.argsort(np.argsort([p.id for p in self.papers], kind="stable"))

    def add_topics(self, topics: Sequence[str]) -> None:
        """Embed the topics not seen yet, in one call (the expensive step of a run)."""
        fresh = list(dict.fromkeys(t for t in topics if t not in self._topic_sims))
        if not fresh:
            return
        vecs = np.asarray(self.embed_texts(fresh), dtype=np.float32).reshape(len(fresh), -1)
        sims = vecs @ self.vectors.T if len(self.papers) else np.zeros((len(fresh), 0), np.float32)
        for topic, row in zip(fresh, sims):
            self._topic_sims[topic] = row
            needle = _padded(topic)
            hit = [needle.strip() != "" and needle in text for text in self._text]
            self._topic_words[topic] = np.array(hit, dtype=bool)

    def pick(self, topics: Sequence[str], categories: Sequence[str], authors: Sequence[str],
             candidates: np.ndarray, feedback: Feedback | None = None) -> list[Pick]:
        """The subscriber's picks among the papers where `candidates` (bool mask) is True."""
        n = len(self.papers)
        if n == 0 or not candidates.any():
            return []
        self.add_topics(topics)
        score = np.zeros(n, dtype=np.float32)
        best_topic = np.full(n, -1, dtype=np.int64)
        keyword = np.zeros(n, dtype=bool)
        keyword_topic = np.full(n, -1, dtype=np.int64)
        if topics:
            sims = np.stack([self._topic_sims[t] for t in topics])
            best_topic = sims.argmax(axis=0)
            score += sims.max(axis=0)
            for k, t in enumerate(topics):
                words = self._topic_words[t] & ~keyword
                keyword_topic[words] = k
                keyword |= words
            score += W_KEYWORD * keyword
        cat_hit: dict[int, str] = {}
        for c in categories:
            for i in self._by_category.get(c.lower(), ()):
                cat_hit.setdefault(i, c)
        if cat_hit:
            score[list(cat_hit)] += W_CATEGORY
        author_hit: dict[int, str] = {}
        for a in authors:
            for i, name in self._by_author.get(title_key(a), ()):
                author_hit.setdefault(i, name)
        if author_hit:
            score[list(author_hit)] += W_AUTHOR
        liked_best = np.full(n, -1, dtype=np.int64)
        liked_sim = np.zeros(n, dtype=np.float32)
        if feedback is not None:
            if len(feedback.liked):
                s = feedback.liked @ self.vectors.T
                liked_best, liked_sim = s.argmax(axis=0), np.maximum(s.max(axis=0), 0)
                score += W_FEEDBACK * liked_sim
            if len(feedback.disliked):
                score -= W_FEEDBACK * np.maximum((feedback.disliked @ self.vectors.T).max(axis=0), 0)

        eligible = np.flatnonzero(candidates & (score >= self.threshold))
        # Highest score first, then lowest id: lexsort sorts by the last key first.
        order = eligible[np.lexsort((self._id_rank[eligible], -score[eligible]))][: self.top_n]
        picks = []
        for i in order:
            reasons = []
            if topics and sims[best_topic[i], i] >= TOPIC_REASON_FLOOR:
                reasons.append(f"matches your topic: {topics[best_topic[i]]}")
            if keyword[i]:
                reasons.append(f"mentions “{topics[keyword_topic[i]]}”")
            if i in cat_hit:
                reasons.append(f"in your category {cat_hit[i]}")
            if i in author_hit:
                reasons.append(f"by {author_hit[i]}")
            if liked_sim[i] >= LIKED_REASON_FLOOR:
                reasons.append(f"like a paper you wanted more of: {feedback.liked_titles[liked_best[i]]}")
            if not reasons:  # the score came from several weak signals together
                reasons.append(f"close to your interests (score {score[i]:.2f})")
            picks.append(Pick(self.papers[i], float(score[i]), reasons))
        return picks
