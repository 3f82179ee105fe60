"""Naming topics by their distinctive words: class-based TF-IDF (BERTopic's c-TF-IDF).

    weight(t, c) = tf(t, c) · log(1 + A / f(t))

tf(t, c) is how often stem t occurs in topic c's titles and abstracts (titles count twice),
f(t) how often it occurs in all topics, A the average number of words per topic. Stems are
shown as the word most often written for them ("inversion", not "invers").
"""

from __future__ import annotations

import math
from collections import Counter

from ..search.analyze import STOPWORDS, stems, words

EXTRA_STOPWORDS = frozenset("paper propose proposed method methods approach show results model models "
                            "based new also can two one our however across well first work".split())
MIN_LENGTH = 3


def tokenize(docs: list[str]) -> tuple[list[Counter], dict[str, str]]:
    """Each document's stem counts, and each stem's most frequent written form (across all
    documents): done once and shared by both levels of naming."""
    per_doc, forms = [], {}
    seen: Counter = Counter()
    for text in docs:
        ws = [w for w in words(text) if len(w) >= MIN_LENGTH and not w.isdigit()
              and w not in STOPWORDS and w not in EXTRA_STOPWORDS]
        seen.update(ws)
        per_doc.append(Counter(stems(ws)))
    for w, _ in sorted(seen.items(), key=lambda kv: -kv[1]):
        forms.setdefault(stems([w])[0], w)
    return per_doc, forms


def distinctive_terms(tokens: tuple[list[Counter], dict[str, str]], labels: list[int], k: int,
                      top: int = 8) -> list[list[str]]:
    """For each of the k topics, its `top` most distinctive words, best first (from `tokenize`)."""
    per_doc, forms = tokens
    counts = [Counter() for _ in range(k)]
    for c, label in zip(per_doc, labels):
        counts[label].update(c)
    total = Counter()
    for c in counts:
        total.update(c)
    avg = sum(total.values()) / max(1, k)
    out = []
    for c in counts:
        weights = {t: n * math.log(1 + avg / total[t]) for t, n in c.items()}
        best = sorted(weights, key=lambda t: (-weights[t], t))[:top]
        out.append([forms.get(t, t) for t in best])
    return out


def name_of(terms: list[str], n: int = 3) -> str:
    return " · ".join(terms[:n]) if terms else "unnamed"
