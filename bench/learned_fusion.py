"""A learned hybrid fusion, trained only on pseudo-queries made from each corpus, against the
hand-set fusion of `SearchService._ranked` on the three dev sets (issue 15).

    python bench/eval_all.py                                  # fills the cache first
    python bench/learned_fusion.py --cache /tmp/prB-cache [--scratch /tmp/lf]

No dev judgment is used to train or to choose anything: the dev sets are only evaluated, once,
with the two models fixed beforehand, and every figure is printed.

Pseudo-queries (known-item: the one relevant paper is the one the query was made from), drawn
with a fixed seed from each corpus (150 papers of the seeds, 300 of Daily Papers and Cranfield
per kind):
  title     the paper's title (":" and quotes made spaces, so no text reads as query syntax);
  terms     2-3 adjacent content words of the title (keyword-like, "short" queries);
  sentence  the abstract's opening sentence (6-50 words; in Cranfield, whose abstracts open
            with the title again, the first sentence after it).
Leakage: the target is scored with the text the query was taken from removed from BOTH its
keyword document and its vector. For title/terms the target is indexed and embedded without
its title (and, in Cranfield, without the abstract's copy of the title); for sentence, without
that sentence. Each batch of targets (1% of the corpus) gets a fresh tantivy index of the whole
corpus with just those papers edited (exact BM25 statistics) and their vectors re-embedded;
every other paper is as in the dev search. The "did you mean" step is skipped for pseudo-queries
(a title word now found only in the removed title would be "corrected" to another word).

Two learned fusions, both chosen on pseudo-queries only:
  A  grid   the hand-set form (w·bm25/max + (1-w)·minmax cosine, one Rocchio step) with the
            keyword weight w per query kind (short / long / acronym, SHORT_MAX) chosen by the
            pseudo-queries' nDCG@10 (mean of the three corpora, of their query kinds).
  B  linear a linear score over 9 candidate features × 3 query gates (1, short, acronym):
            BM25/max, in-keyword-list, cosine min-max and raw, cosine after the hand-set
            feedback step min-max and raw, and 1/log2(2+rank) in the keyword, cosine and
            feedback-cosine rankings. Trained with listwise softmax cross-entropy (the target
            against all of its query's candidates), parametrised as exp(τ)·(θ0 + δ)·x where θ0
            is exactly the hand-set fusion, with an L2 penalty on δ whose strength is chosen on
            a held-out half of the pseudo-queries (split by paper), then refitted on all.
Prints pseudo-query figures, then per dev set and per style: present vs A vs B with paired
bootstrap 95% intervals of each difference.
"""

from __future__ import annotations

import argparse
import itertools
import os
import pickle
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from paperradar.config import Settings
from paperradar.embed import paper_text
from paperradar.evaluate import paired_bootstrap
from paperradar.radar import Radar
from paperradar.search import analyze, fusion, metrics, service
from paperradar.search.lexical import LexicalIndex
from paperradar.search.query import parse

sys.path.insert(0, str(Path(__file__).parent))
from fusion_grid import fuse, open_set, retrieve  # noqa: E402
from lexical_variants import SETS  # noqa: E402

SEED = 15
PER_KIND = {"seeds": 150, "daily": 300, "cranfield": 300}
BATCH_SHARE = 0.01  # share of the corpus edited at once (each batch gets a fresh keyword index)
K = service.CANDIDATES
WS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)  # keyword weights the grid (A) chooses among
FEATURES = ("bm25n", "in_lex", "cos_mm", "cos_raw", "prf_mm", "prf_raw", "r_lex", "r_cos", "r_prf")
GATES = ("all", "short", "acronym")
LAMBDAS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
CODE = (service.LEXICAL_SHORT, service.LEXICAL_LONG, service.PRF_DOCS, service.PRF_WEIGHT, service.CANDIDATES,
        service.LEXICAL_ACRONYM, service.SHORT_MAX)


# --- candidates and features ---------------------------------------------------------------
def code_weight(content: int, acronym: bool, short=service.LEXICAL_SHORT, long=service.LEXICAL_LONG,
                short_max=service.SHORT_MAX, acronym_weight=service.LEXICAL_ACRONYM) -> float:
    return fusion.lexical_weight_for(content, short, long, short_max=short_max, acronym=acronym,
                                     acronym_weight=acronym_weight)


def _minmax(x: np.ndarray) -> np.ndarray:
    span = (x.max() - x.min()) or 1.0
    return (x - x.min()) / span


def _rank_feature(score: np.ndarray, ids: list[str]) -> np.ndarray:
    order = sorted(range(len(ids)), key=lambda i: (-score[i], ids[i]))
    out = np.empty(len(ids))
    out[order] = 1.0 / np.log2(2 + np.arange(len(ids)))
    return out


def features(c: dict) -> dict:
    """Everything later steps need from one query's candidates (`retrieve`'s dict): ids, the
    base features with the hand-set first pass's feedback, and the ranking for each keyword
    weight in WS (each with its own feedback step, as `fuse` does)."""
    lex = dict(c["lex"][:K])
    ids = [d for d in dict.fromkeys(list(lex) + c["sem"][:K]) if d in c["vectors"]]
    matrix = np.stack([c["vectors"][d] for d in ids]).astype(np.float64)
    qvec = c["qvec"].astype(np.float64)
    top = max(lex.values(), default=0.0) or 1.0
    bm25 = np.array([lex.get(d, 0.0) for d in ids])
    inlex = np.array([d in lex for d in ids], np.float64)
    cos = matrix @ qvec

    def fused_with(w: float):
        s1 = fusion.weighted_arrays(bm25, cos, w)
        first = sorted(range(len(ids)), key=lambda i: (-s1[i], ids[i]))[:service.PRF_DOCS]
        q2 = qvec + service.PRF_WEIGHT * matrix[first].mean(axis=0)
        q2 /= np.linalg.norm(q2) or 1.0
        cos2 = matrix @ q2
        return fusion.weighted_arrays(bm25, cos2, w), cos2

    by_w = {}
    for w in WS:
        s, _ = fused_with(w)
        by_w[w] = [ids[i] for i in sorted(range(len(ids)), key=lambda i: (-s[i], ids[i]))[:10]]
    w0 = code_weight(c["content"], c["acronym"])
    _, cos2 = fused_with(w0)
    lex_rank = np.zeros(len(ids))
    pos = {d: i for i, d in enumerate(ids)}
    for r, (d, _) in enumerate(c["lex"][:K]):
        if d in pos:
            lex_rank[pos[d]] = 1.0 / np.log2(2 + r)
    x = np.stack([bm25 / top, inlex, _minmax(cos), cos, _minmax(cos2), cos2, lex_rank,
                  _rank_feature(cos, ids), _rank_feature(cos2, ids)], axis=1)
    return {"ids": ids, "x": x, "content": c["content"], "acronym": c["acronym"], "by_w": by_w}


def gated(f: dict) -> np.ndarray:
    short = float(f["content"] <= service.SHORT_MAX)
    g = np.array([1.0, short, float(f["acronym"])])
    return (f["x"][:, :, None] * g[None, None, :]).reshape(len(f["ids"]), -1)


def theta0() -> np.ndarray:
    """The hand-set fusion in the gated linear form (with LEXICAL_ACRONYM None)."""
    assert service.LEXICAL_ACRONYM is None
    t = np.zeros((len(FEATURES), len(GATES)))
    s, lo = service.LEXICAL_SHORT, service.LEXICAL_LONG
    t[FEATURES.index("bm25n")] = [lo, s - lo, 0]
    t[FEATURES.index("prf_mm")] = [1 - lo, -(s - lo), 0]
    return t.reshape(-1)


def ranked_by(f: dict, theta: np.ndarray) -> list[str]:
    s = gated(f).astype(np.float64) @ theta
    return [f["ids"][i] for i in sorted(range(len(s)), key=lambda i: (-s[i], f["ids"][i]))]


# --- pseudo-queries ----------------------------------------------------------------------------
_SENT = re.compile(r"(?<=[.!?])\s+")


def _same(a: str, b: str) -> bool:
    return analyze.tokens(a) == analyze.tokens(b)


def _clean(text: str) -> str:
    """Make a title or sentence read as plain words to `parse` (no filters, phrases, exclusions)."""
    return re.sub(r"(?<!\S)-+", " ", re.sub(r"[:\"]", " ", text)).strip()


def pseudo_queries(papers: list, n: int, rng: np.random.Generator) -> dict[str, list[tuple]]:
    """{kind: [(target id, query text, edited paper)]}: title and terms share their targets."""
    from dataclasses import replace
    order = rng.permutation(len(papers))
    title_targets = [papers[i] for i in order if len(analyze.words(papers[i].title)) >= 3][:n]
    out = {"title": [], "terms": [], "sentence": []}
    for p in title_targets:
        sents = [s for s in _SENT.split(p.abstract.strip()) if s]
        abstract = " ".join(s for s in sents if not _same(s, p.title))  # Cranfield repeats the title
        edited = replace(p, title="", abstract=abstract)
        if len(abstract.split()) < 5:
            continue
        out["title"].append((p.id, _clean(p.title), edited))
        words = [w for w in _clean(re.sub(r"[,;()\[\]{}.?!]", " ", p.title)).split()
                 if analyze.words(w) and not all(x in analyze.STOPWORDS for x in analyze.words(w))]
        if len(words) >= 2:
            size = int(rng.integers(2, 4))
            start = int(rng.integers(0, max(1, len(words) - size + 1)))
            out["terms"].append((p.id, " ".join(words[start:start + size]), edited))
    used = {p.id for p in title_targets}
    rest = [papers[i] for i in rng.permutation(len(papers))]
    rest = [p for p in rest if p.id not in used] + [p for p in rest if p.id in used]  # fresh papers first
    for p in rest:
        if len(out["sentence"]) >= n:
            break
        sents = [s for s in _SENT.split(p.abstract.strip()) if s]
        if sents and _same(sents[0], p.title):
            sents = sents[1:]
        if not sents or not 6 <= len(sents[0].split()) <= 50:
            continue
        edited = replace(p, abstract=" ".join(sents[1:]))
        out["sentence"].append((p.id, _clean(sents[0]), edited))
    return out


def pseudo_candidates(r: Radar, name: str, n: int, scratch: Path, log) -> list[dict]:
    papers = [p for _, p in r.store.papers_changed_since(0) if not p.withdrawn]
    all_ids = list(r.vectors.row_of)
    vec = r.vectors.vectors_of(all_ids)
    all_ids = [d for d in all_ids if d in vec]
    matrix = np.stack([vec[d] for d in all_ids])
    row = {d: i for i, d in enumerate(all_ids)}
    rng = np.random.default_rng([SEED, list(SETS).index(name)])
    kinds = pseudo_queries(papers, n, rng)
    embedder, qembed = r.embedder(), r.search._embedder()
    batch = max(1, int(BATCH_SHARE * len(papers)))
    out = []
    for mod_kinds in (("title", "terms"), ("sentence",)):
        edits = {t: e for k in mod_kinds for t, _, e in kinds[k]}
        targets = list(edits)
        new_vecs = embedder.encode([paper_text(edits[t].title, edits[t].abstract) for t in targets])
        new_vec = dict(zip(targets, new_vecs))
        for b in range(0, len(targets), batch):
            chunk = set(targets[b:b + batch])
            folder = scratch / "index" / name
            shutil.rmtree(folder, ignore_errors=True)
            docs = [edits[p.id] if p.id in chunk else p for p in papers]
            li = LexicalIndex(folder / "lexical", lambda seq, docs=docs: ((i + 1, p) for i, p in enumerate(docs) if i + 1 > seq))
            li.sync()
            m = matrix.copy()
            for t in chunk:
                m[row[t]] = new_vec[t]
            for kind in mod_kinds:
                for target, text, _ in kinds[kind]:
                    if target not in chunk:
                        continue
                    q = parse(text)
                    if not q.has_text:
                        continue
                    qvec = qembed.encode_query(q.text)
                    scores = m @ qvec
                    top = np.argsort(-scores, kind="stable")[:K]
                    sem = [all_ids[i] for i in top]
                    hits, _ = li.search(q, limit=K)
                    ids = list(dict.fromkeys([h.id for h in hits] + sem))
                    content = [w for w in q.terms if w not in analyze.STOPWORDS] + [w for p in q.phrases for w in p]
                    c = {"lex": [(h.id, h.score) for h in hits], "sem": sem, "qvec": qvec,
                         "vectors": {d: m[row[d]] for d in ids if d in row}, "content": len(content),
                         "acronym": fusion.has_acronym(q.raw)}
                    f = features(c)
                    f.update(set=name, kind=kind, target=target, query=text)
                    out.append(f)
            del li
        log(f"{name}: {sum(len(kinds[k]) for k in mod_kinds)} {'/'.join(mod_kinds)} pseudo-queries")
    return out


# --- training ------------------------------------------------------------------------------------
def ndcg_known(ranked: list[str], target: str) -> float:
    return metrics.ndcg_at(ranked, {target: 1.0}, 10)


def group_weights(items: list[dict]) -> np.ndarray:
    """Each (set, kind) group weighs the same in all; queries equally within their group."""
    groups = {}
    for f in items:
        groups.setdefault((f["set"], f["kind"]), []).append(f)
    return np.array([1.0 / (len(groups) * len(groups[(f["set"], f["kind"])])) for f in items])


def fit(items: list[dict], lam: float, steps: int = 600, lr: float = 0.02) -> np.ndarray:
    """Adam on mean weighted softmax cross-entropy + lam·|δ|²; returns θ0 + δ (ranking ignores exp τ)."""
    items = [f for f in items if f["target"] in f["ids"]]
    qw = group_weights(items)
    X = np.concatenate([gated(f) for f in items]).astype(np.float64)
    seg = np.concatenate([np.full(len(f["ids"]), i) for i, f in enumerate(items)])
    starts = np.cumsum([0] + [len(f["ids"]) for f in items])[:-1]
    tgt = starts + np.array([f["ids"].index(f["target"]) for f in items])
    t0 = theta0()
    params = np.zeros(len(t0) + 1)
    params[-1] = np.log(10.0)
    m = np.zeros_like(params)
    v = np.zeros_like(params)
    for step in range(1, steps + 1):
        delta, tau = params[:-1], params[-1]
        theta = t0 + delta
        base = X @ theta
        s = np.exp(tau) * base
        smax = np.maximum.reduceat(s, starts)
        e = np.exp(s - smax[seg])
        z = np.add.reduceat(e, starts)
        p = e / z[seg]
        pw = p * qw[seg]
        # d loss / d s_i = w_q (p_i − [i is target])
        ds = pw.copy()
        ds[tgt] -= qw
        g_theta = np.exp(tau) * (X.T @ ds) + 2 * lam * delta
        g_tau = float(ds @ s)
        grad = np.append(g_theta, g_tau)
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad ** 2
        params -= lr * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
    return t0 + params[:-1]


def pseudo_score(items: list[dict], ranker) -> float:
    """Mean over (set, kind) groups of the known-item nDCG@10."""
    w = group_weights(items)
    return float(sum(wi * ndcg_known(ranker(f), f["target"]) for wi, f in zip(w, items)))


def grid_table(items: list[dict]) -> None:
    """Known-item nDCG@10 of each query under each keyword weight of WS (the grid's inputs)."""
    for f in items:
        f.setdefault("ndcg_w", {w: ndcg_known(r, f["target"]) for w, r in f["by_w"].items()})


def grid_pseudo(items: list[dict], setting) -> float:
    short, long, short_max, acr = setting
    w = group_weights(items)
    return float(sum(wi * f["ndcg_w"][code_weight(f["content"], f["acronym"], short, long, short_max, acr)]
                     for wi, f in zip(w, items)))


def grid_settings():
    for short, long, short_max, acr in itertools.product(WS, WS, (3, 4, 5), (None,) + WS):
        yield short, long, short_max, acr


def grid_ranker(setting):
    short, long, short_max, acr = setting
    return lambda f: f["by_w"][code_weight(f["content"], f["acronym"], short, long, short_max, acr)]


# --- main ------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/paperradar-eval-cache"))
    ap.add_argument("--scratch", type=Path, default=Path("/tmp/lf"))
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--reuse", action="store_true", help="reuse the candidates saved in --scratch by a former run")
    a = ap.parse_args()
    t_start = time.time()

    def log(msg):
        print(f"[{time.time() - t_start:6.0f}s] {msg}", file=sys.stderr, flush=True)

    a.scratch.mkdir(parents=True, exist_ok=True)
    saved = a.scratch / "candidates.pkl"
    model = Settings().embedding_name
    if a.reuse and saved.is_file():
        dev, pseudo = pickle.loads(saved.read_bytes())
    else:
        dev, pseudo = {}, []
        for name in a.sets.split(","):
            r, judged = open_set(a.cache, name)
            dev[name] = []
            for q in judged:
                c = retrieve(r, q.query, K)
                f = features(c) if c else None
                if f is not None:  # the features' hand-set ranking must be `paperradar eval`'s
                    assert f["by_w"][code_weight(f["content"], f["acronym"])] == fuse(c, *CODE)[:10], q.query
                    assert ranked_by(f, theta0())[:10] == fuse(c, *CODE)[:10], q.query
                dev[name].append((q, f))
            log(f"{name}: {len(judged)} dev queries retrieved")
            pseudo += pseudo_candidates(r, name, PER_KIND[name], a.scratch, log)
            r.close()
        saved.write_bytes(pickle.dumps((dev, pseudo)))
    t_retrieved = time.time()

    # pseudo-query figures
    print(f"{model}; pseudo-queries (known item, target edited out of its own text):")
    for (s, k) in sorted({(f["set"], f["kind"]) for f in pseudo}):
        g = [f for f in pseudo if (f["set"], f["kind"]) == (s, k)]
        found = np.mean([f["target"] in f["ids"] for f in g])
        short = np.mean([f["content"] <= service.SHORT_MAX for f in g])
        print(f"  {s:<9} {k:<8} n={len(g):<4} target among candidates {found:.2f}, short {short:.2f}, "
              f"present nDCG@10 {np.mean([ndcg_known(f['by_w'][code_weight(f['content'], f['acronym'])], f['target']) for f in g]):.3f}")

    # A: grid on pseudo-queries
    grid_table(pseudo)
    code_a = (CODE[0], CODE[1], CODE[6], CODE[5])
    best_a = max(grid_settings(), key=lambda st: (grid_pseudo(pseudo, st), st == code_a))
    print(f"A grid (short, long, short_max, acronym): present {code_a} pseudo {grid_pseudo(pseudo, code_a):.3f}"
          f" → chosen {best_a} pseudo {grid_pseudo(pseudo, best_a):.3f}")

    # B: linear, λ chosen on a held-out half of the pseudo-queries (split by paper)
    rng = np.random.default_rng(SEED)
    held = {t for t in sorted({f["target"] for f in pseudo}) if rng.random() < 0.5}
    train = [f for f in pseudo if f["target"] not in held]
    val = [f for f in pseudo if f["target"] in held]
    val_scores = {}
    for lam in LAMBDAS:
        th = fit(train, lam)
        val_scores[lam] = pseudo_score(val, lambda f, th=th: ranked_by(f, th)[:10])
    lam = max(LAMBDAS, key=lambda l: val_scores[l])
    print("B linear: held-out pseudo nDCG@10, present "
          f"{pseudo_score(val, lambda f: ranked_by(f, theta0())[:10]):.3f}; by λ "
          + ", ".join(f"{l:g} {s:.3f}" for l, s in val_scores.items()) + f" → λ {lam:g}")
    theta = fit(pseudo, lam)
    print(f"  θ (refit on all {len(pseudo)}; rows features, columns gates {GATES}; θ0 = hand-set):")
    for i, name in enumerate(FEATURES):
        print(f"    {name:<8} " + " ".join(f"{v:+.3f}" for v in theta.reshape(len(FEATURES), -1)[i])
              + "   θ0 " + " ".join(f"{v:+.2f}" for v in theta0().reshape(len(FEATURES), -1)[i]))
    print(f"  in-sample pseudo nDCG@10: present {pseudo_score(pseudo, lambda f: ranked_by(f, theta0())[:10]):.3f}, "
          f"B {pseudo_score(pseudo, lambda f: ranked_by(f, theta)[:10]):.3f}")

    # dev sets: evaluated once, every figure printed
    rankers = {"present": lambda f: ranked_by(f, theta0()), "A": grid_ranker(best_a),
               "B": lambda f: ranked_by(f, theta)}
    print("dev sets, nDCG@10: present → A grid, B linear (Δ vs present [95% paired bootstrap])")
    for name, rows in dev.items():
        scores = {k: np.array([metrics.ndcg_at(rk(f), q.gains, 10) if f else 0.0 for q, f in rows])
                  for k, rk in rankers.items()}
        styles = sorted({q.style for q, _ in rows})
        for style in ["all"] + (styles if len(styles) > 1 else []):
            mask = np.array([style == "all" or q.style == style for q, _ in rows])
            base = scores["present"][mask]
            cells = []
            for k in ("A", "B"):
                d, lo, hi = paired_bootstrap(scores[k][mask], base)
                cells.append(f"{k} {scores[k][mask].mean():.3f} Δ {d:+.3f} [{lo:+.3f}, {hi:+.3f}]")
            print(f"  {name:<9} {style:<8} n={mask.sum():<4} present {base.mean():.3f}   " + "   ".join(cells))
    print(f"time: retrieval {t_retrieved - t_start:.0f}s, training and evaluation {time.time() - t_retrieved:.0f}s")


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    main()
