"""The web app through a real uvicorn on 127.0.0.1: pages, JSON API, errors, OpenAPI."""

from markupsafe import escape
import re

import pytest


def test_home_is_the_latest_daily_list_and_months_page(http):
    page1 = http.get("/")
    assert page1.status_code == 200
    assert "Friday, August 21, 2026" in page1.text and "17 papers" in page1.text
    month = http.get("/papers/month/2026-08")
    assert month.text.count('class="paper listed"') == 20 and 'rel="next"' in month.text
    page2 = http.get("/papers/month/2026-08?sort=votes&page=2")
    first = re.findall(r'<h2><a href="/papers/([^"]+)"', month.text)[0]
    assert f'href="/papers/{first}"' not in page2.text
    assert 'rel="prev"' in page2.text


def test_search_page_highlights(http):
    r = http.get("/search", params={"q": "gradient inversion"})
    assert r.status_code == 200
    assert "<mark>" in r.text and "Results for" in r.text


def test_search_page_escapes_the_query(http):
    r = http.get("/search", params={"q": '<script>alert("x")</script>'})
    assert r.status_code == 200
    assert "<script>alert" not in r.text and "&lt;script&gt;" in r.text


@pytest.mark.parametrize("q", ['"unbalanced', "NEAR(", "-", "don't", "x" * 1000, "*"])
def test_hostile_queries_are_never_500(http, q):
    assert http.get("/search", params={"q": q}).status_code == 200
    assert http.get("/api/papers/search", params={"q": q}).status_code == 200


def test_oversized_queries_are_refused_with_a_message(http):
    # over the handlers' 1,000 characters, within the 8 KiB query string (test_limits: 414 beyond)
    assert http.get("/search", params={"q": "x" * 2_000}).status_code == 400
    r = http.get("/api/papers/search", params={"q": "x" * 2_000})
    assert r.status_code == 400 and "q" in r.json()["error"]


def test_bad_filter_is_a_400_with_a_message(http):
    r = http.get("/api/papers/search", params={"q": "flows from:yesterday"})
    assert r.status_code == 400
    assert r.json()["error"].startswith("from: expects a date")
    page = http.get("/search", params={"q": "flows to:2020-02-31"})
    assert page.status_code == 400 and "to: expects a date" in page.text


def test_paper_page(http):
    first = http.get("/api/papers/search", params={"q": "normalizing flows", "limit": 1}).json()[0]
    r = http.get(f"/papers/{first['id']}")
    assert r.status_code == 200
    assert first["title"] in r.text
    assert "Where it was seen" in r.text


def test_api_search_shape_and_order(http):
    items = http.get("/api/papers/search", params={"q": "normalizing flows", "limit": 5}).json()
    assert len(items) == 5
    assert {"id", "title", "summary", "score", "authors", "publishedAt"} <= set(items[0])
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    # the next page is linked (as GitHub's API does), and continues where this one ended
    r = http.get("/api/papers/search", params={"q": "normalizing flows", "limit": 5, "mode": "lexical"})
    nxt = r.links["next"]["url"]
    assert "offset=5" in nxt and "mode=lexical" in nxt
    more = http.get(nxt).json()
    assert more and not {i["id"] for i in more} & {i["id"] for i in r.json()}


def test_api_paper_and_404s(http):
    hit = http.get("/api/papers/search", params={"q": "distillation", "limit": 1}).json()[0]
    paper = http.get(f"/api/papers/{hit['id']}").json()
    assert paper["id"] == hit["id"] and paper["seenOn"]
    missing = http.get("/api/papers/does-not-exist")
    assert missing.status_code == 404 and missing.json()["error"] == "no paper with id 'does-not-exist'"
    old_style = http.get("/papers/hep-th/9901001")  # an old arXiv id's slash: a paper, not a list
    assert old_style.status_code == 404 and "hep-th/9901001" in old_style.text
    page = http.get("/papers/does-not-exist")
    assert page.status_code == 404 and "Not found" in page.text
    assert http.get("/no/such/page").status_code == 404


def test_api_validation_errors_are_400_json(http):
    r = http.get("/api/papers/search", params={"q": "x", "limit": "many"})
    assert r.status_code == 400 and "limit" in r.json()["error"]
    newest = http.get("/api/papers/search", params={"q": ""})  # no query: the newest papers, as on Hugging Face
    assert newest.status_code == 200 and len(newest.json()) == 20
    assert http.get("/api/papers/search", params={"offset": -1}).status_code == 400


def test_openapi_docs(http):
    assert http.get("/docs").status_code == 200
    spec = http.get("/openapi.json").json()
    assert "/api/papers/search" in spec["paths"]


def test_no_external_assets(http):
    html = http.get("/").text
    # scripts, stylesheets and icons come from this server; links to arXiv or code are not assets
    assert not re.search(r'src="(https?:)?//', html) and not re.search(r'<link[^>]+href="(https?:)?//', html)
    assert http.get("/static/style.css").status_code == 200


def test_api_modes_and_similar(http):
    for mode in ("hybrid", "lexical", "vector"):
        r = http.get("/api/papers/search", params={"q": "neural operator learning", "mode": mode, "limit": 5})
        assert r.status_code == 200 and len(r.json()) == 5
    assert http.get("/api/papers/search", params={"q": "x", "mode": "magic"}).status_code == 400
    first = http.get("/api/papers/search", params={"q": "knowledge distillation", "limit": 1}).json()[0]
    similar = http.get(f"/api/papers/{first['id']}/similar", params={"limit": 5}).json()
    assert len(similar) == 5 and first["id"] not in {s["id"] for s in similar}
    assert http.get("/api/papers/nope/similar").status_code == 404
    page = http.get(f"/papers/{first['id']}")
    assert "Similar papers" in page.text and str(escape(similar[0]["title"])) in page.text
