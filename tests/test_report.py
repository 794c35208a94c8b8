"""The HTML report, parsed: structure, counts, marks, escaping, self-containment, --all."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from compare.align import Alignment, Candidate, Link
from compare.cli import cli
from compare.corpus import Pair
from compare.report import evidence_value, render, safe_url, script_json, strength, strength_bands
from compare.segment import Sentence

from .conftest import ROOT

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: "Node | None"):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node] = []
        self.texts: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self.texts) + "".join(c.text for c in self.children)

    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def iter(self):
        yield self
        for c in self.children:
            yield from c.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs):
        for n in self.iter():
            if tag and n.tag != tag:
                continue
            if cls and cls not in n.classes():
                continue
            if any(n.attrs.get(k.replace("_", "-")) != v for k, v in attrs.items()):
                continue
            yield n

    def find(self, *args, **kw) -> "Node":
        found = list(self.find_all(*args, **kw))
        assert len(found) == 1, (args, kw, len(found))
        return found[0]


class Tree(HTMLParser):
    """A small DOM from the stdlib parser; raw text of <script>/<style> kept verbatim."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.cur = self.root
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, dict(attrs), self.cur))

    def handle_endtag(self, tag):
        node = self.cur
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.cur = node.parent

    def handle_data(self, data):
        self.cur.texts.append(data)


def sent(text: str) -> Sentence:
    return Sentence(text, 0, len(text))


def make_alignment(claims, responses, sim, threshold=0.35, evidence=None, model="test-model"):
    """An Alignment from a similarity matrix (responses x claims), the way align() picks links."""
    sim = np.asarray(sim, dtype=float)
    links = []
    for r in range(len(responses)):
        order = list(np.argsort(-sim[r], kind="stable")[:3])
        cands = [Candidate(int(c), float(sim[r, c])) for c in order]
        best = cands[0]
        links.append(Link(r, best.claim if best.score >= threshold else None, best.score, cands,
                          evidence=(evidence or {}).get(r, {"cosine": round(best.score, 4)})))
    answered = {l.claim for l in links if l.claim is not None}
    return Alignment(model=model, threshold=threshold, claims=[sent(c) for c in claims],
                     responses=[sent(r) for r in responses], links=links,
                     unanswered=[i for i in range(len(claims)) if i not in answered], similarity=sim)


CLAIMS = ["The agency seized 17 web domains.", "The company paid $5 million.", "Four nationals are at large."]
RESPONSES = ["No domains were ever seized.", "The nationals are innocent.", "The weather was fine."]
SIM = [[0.90, 0.20, 0.10],   # R0 -> C0 strong
       [0.05, 0.15, 0.38],   # R1 -> C2 weak
       [0.10, 0.12, 0.08]]   # R2 -> nothing specific
PAIR = Pair(slug="demo", claim="", response="", title="Demo pair", claimant="The Agency",
            respondent="The Ministry", date="2026-01-02", sources=["https://example.org/story"],
            added="2026-11-28")


@pytest.fixture
def demo():
    alignment = make_alignment(CLAIMS, RESPONSES, SIM)
    html = render(alignment, PAIR, generated="2026-11-28 05:00 UTC")
    return html, Tree(html).root


def test_document_structure(demo):
    html, doc = demo
    assert html.startswith("<!DOCTYPE html>")
    assert doc.find("html").attrs.get("lang") == "en"
    assert doc.find("h1").text.strip() == "Demo pair"
    assert doc.find("head").find("title").text == "Demo pair — compare"
    assert len(list(doc.find_all("main"))) == 1
    headings = [n.text.strip() for n in doc.find_all("h2")]
    assert any("Side by side" in h for h in headings) and any("Match scores" in h for h in headings)
    claims = list(doc.find_all("li", cls="claim"))
    responses = list(doc.find_all("li", cls="response"))
    assert [c.attrs["id"] for c in claims] == ["c0", "c1", "c2"]            # document order
    assert [r.attrs["id"] for r in responses] == ["r0", "r1", "r2"]
    assert [c.find("span", cls="text").text for c in claims] == CLAIMS
    assert all(n.attrs.get("tabindex") == "0" for n in claims + responses)  # keyboard reachable
    # claims come before the responses in source order (left column, then right)
    assert html.index('id="c2"') < html.index('id="r0"')


def test_summary_counts(demo):
    _, doc = demo
    count = {n.attrs["data-count"]: n.text.strip() for n in doc.iter() if "data-count" in n.attrs}
    assert count == {"answered": "2", "unanswered": "1", "nospecific": "1", "strong": "1", "moderate": "0", "weak": "1"}
    coverage = doc.find("div", id="fig-coverage").text
    assert "of 3" in coverage and "67%" in coverage
    assert "of 3" in doc.find("div", id="fig-nospecific").text
    method = doc.find("p", cls="method").text
    for needle in ("The Agency", "The Ministry", "test-model", "0.35", "2026-11-28 05:00 UTC"):
        assert needle in method


def test_the_tuned_companion_is_named_with_the_model():
    # Results depend on the adapter, so the report says which one made them.
    alignment = make_alignment(CLAIMS, RESPONSES, SIM)
    alignment.tuned_model = "minilm-rebuttal@0123456789"
    doc = Tree(render(alignment, PAIR, generated="now")).root
    for node in (doc.find("p", cls="method"), doc.find("footer")):
        assert "test-model with minilm-rebuttal@0123456789" in node.text


def test_links_and_unanswered_marks_are_text(demo):
    _, doc = demo
    r0 = doc.find("li", id="r0")
    assert r0.attrs["data-claim"] == "c0" and r0.attrs["data-strength"] == "strong"
    assert "s-strong" in r0.classes()
    status = r0.find("span", cls="status")
    assert "strong" in status.text and "answers" in status.text
    assert status.find("a").attrs["href"] == "#c0"
    r1 = doc.find("li", id="r1")
    assert r1.attrs["data-strength"] == "weak" and "weak" in r1.find("span", cls="status").text
    r2 = doc.find("li", id="r2")
    assert "nospecific" in r2.classes() and "data-claim" not in r2.attrs
    assert "No specific claim" in r2.find("span", cls="status").text
    c1 = doc.find("li", id="c1")
    assert "unanswered" in c1.classes() and "Unanswered" in c1.find("span", cls="status").text
    c0 = doc.find("li", id="c0")
    assert c0.attrs["data-partners"] == "r0"
    assert [a.attrs["href"] for a in c0.find("span", cls="status").find_all("a")] == ["#r0"]


def test_evidence_is_rendered_generically():
    evidence = {0: {"cosine": 0.9, "shared_terms": ["domains", "seized"], "idf": {"domains": 2.5},
                    "negated": True, "count": 3}}
    alignment = make_alignment(CLAIMS, RESPONSES, SIM, evidence=evidence)
    doc = Tree(render(alignment, PAIR)).root
    details = next(doc.find("li", id="r0").find_all("details"))  # Evidence, with "All figures" inside
    pairs = dict(zip([d.text for d in details.find_all("dt")], [d.text for d in details.find_all("dd")]))
    # The raw figures fold inside "All figures"; the reason and the candidates come first.
    figures = details.find("details", cls="figures")
    assert "All figures" in figures.find("summary").text
    assert {d.text for d in figures.find_all("dt")} == {"cosine", "shared_terms", "idf", "negated", "count"}
    assert pairs["cosine"] == "0.9"
    assert pairs["shared_terms"] == "domains, seized"
    assert pairs["idf"] == "domains: 2.5"
    assert pairs["negated"] == "true" and pairs["count"] == "3"
    assert "C0" in pairs["candidates"]


def test_a_withheld_sentence_says_what_it_reads_as():
    evidence = {2: {"cosine": 0.12, "none_lean": 0.2, "move": "counter-accusation", "denial_cue": None},
                0: {"cosine": 0.9, "none_lean": 0.0, "move": "denial", "denial_cue": "were ever"}}
    doc = Tree(render(make_alignment(CLAIMS, RESPONSES, SIM, evidence=evidence), PAIR)).root
    status = doc.find("li", id="r2").find("span", cls="status").text
    assert "reads as a counter-accusation" in status
    assert "reads as" not in doc.find("li", id="r0").find("span", cls="status").text
    details = next(doc.find("li", id="r0").find_all("details"))  # Evidence, with "All figures" inside
    pairs = dict(zip([d.text for d in details.find_all("dt")], [d.text for d in details.find_all("dd")]))
    assert 'denies ("were ever")' in pairs["why"]


def test_a_score_just_under_the_threshold_never_reads_as_the_threshold():
    from compare.textview import render_text

    sim = [[0.90, 0.20, 0.10], [0.05, 0.15, 0.40], [0.2974, 0.12, 0.08]]
    alignment = make_alignment(CLAIMS, RESPONSES, sim, threshold=0.30)
    status = Tree(render(alignment, PAIR)).root.find("li", id="r2").find("span", cls="status").text
    assert "best score 0.29" in status and "below the threshold 0.30" in status
    text = render_text(alignment)
    assert "best score 0.29" in text and "C0 0.29" in text and "C0 0.30" not in text
    # Above the threshold, and far below it, scores are rounded as usual.
    assert "(score 0.90)" in text and "C2 0.08" in text


@pytest.mark.parametrize("evidence", [
    {"cosine": "0.9"}, {"cosine": None}, {"shared_terms": [1, 2]}, {"move": 5, "none_lean": 0.3},
    {"none_lean": "high", "denial_cue": 7}, {"context": [0.1], "alone": "x"},
])
def test_odd_evidence_values_never_break_the_report(evidence):
    # Review finding: the one-line summary formatted evidence values without checking types.
    doc = Tree(render(make_alignment(CLAIMS, RESPONSES, SIM, evidence={0: evidence}), PAIR)).root
    assert doc.find("li", id="r0") is not None


def test_heatmap_cells_have_tooltips_and_chosen_marks(demo):
    _, doc = demo
    heat = doc.find("section", cls="heat").find("svg", role="img")
    cells = list(heat.find_all("rect", cls="cell"))
    assert len(cells) == 9
    titles = [c.find("title").text for c in cells]
    assert titles[0].startswith("R0 × C0: score 0.90") and "chosen link, strong" in titles[0]
    assert "R0: No domains were ever seized." in titles[0] and "C0: The agency seized 17 web domains." in titles[0]
    assert "not chosen" in titles[1]
    chosen = list(heat.find_all("rect", cls="chosen"))
    assert sorted(c.attrs["data-strength"] for c in chosen) == ["strong", "weak"]


def test_missing_or_misshapen_similarity_is_tolerated():
    for sim in (None, np.zeros((2, 2))):
        alignment = make_alignment(CLAIMS, RESPONSES, SIM)
        alignment.similarity = sim
        doc = Tree(render(alignment, PAIR)).root
        assert "No score matrix" in doc.find("section", cls="heat").text
        assert len(list(doc.find_all("li", cls="response"))) == 3


def _style_and_script(doc):
    style = doc.find("style").text
    scripts = list(doc.find_all("script"))
    code = [s for s in scripts if "type" not in s.attrs]
    assert len(code) == 1
    return style, code[0].text, scripts


def test_self_contained_no_external_urls(demo):
    html, doc = demo
    style, js, scripts = _style_and_script(doc)
    assert len(scripts) == 2 and {s.attrs.get("type") for s in scripts} == {None, "application/json"}
    for node in doc.iter():
        assert "src" not in node.attrs and "srcset" not in node.attrs, node.tag
        assert node.tag not in {"link", "img", "iframe", "object", "embed", "base", "form"}
        for name, value in node.attrs.items():
            if name == "xmlns":
                assert value == "http://www.w3.org/2000/svg"
                continue
            if name == "href":
                if value.startswith("#"):
                    continue
                assert value == "https://example.org/story"  # the user's source link only
                assert node.attrs.get("rel") == "noopener noreferrer"
            elif value and re.search(r"(?i)\b(https?:|//)", value) and name != "content":
                pytest.fail(f"external URL in {node.tag}[{name}]: {value}")
    assert "@import" not in style
    assert not re.search(r"url\(\s*['\"]?(?!#)", style + html.split("<body", 1)[1].split("<script", 1)[0])
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", style + js)
    assert "fetch(" not in js and "XMLHttpRequest" not in js and "import(" not in js


def test_csp_forbids_fetches_and_pins_the_inline_code(demo):
    _, doc = demo
    meta = [m for m in doc.find_all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert len(meta) == 1
    policy = dict(part.strip().split(" ", 1) for part in meta[0].attrs["content"].split(";"))
    assert policy["default-src"] == "'none'"
    assert "unsafe-inline" not in meta[0].attrs["content"]
    style, js, _ = _style_and_script(doc)

    def digest(text):
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert policy["style-src"] == digest(style)
    assert policy["script-src"] == digest(js)
    head = doc.find("head")
    first = [n.tag for n in head.children]
    assert first.index("meta") < first.index("style")  # policy precedes the code it governs


def test_no_style_attributes_since_csp_would_block_them(demo):
    _, doc = demo
    assert not [n.tag for n in doc.iter() if "style" in n.attrs]


def test_print_and_narrow_layouts_exist(demo):
    _, doc = demo
    style = doc.find("style").text
    assert "@media print" in style
    narrow = style.split("@media (max-width: 760px)", 1)[1].split("@media", 1)[0]
    assert ".connectors { display: none; }" in narrow


# --- contrast: WCAG AA for the palette in the CSS variables -----------------------------

TEXT_PAIRS = [  # (foreground, background): text must reach 4.5:1
    ("--ink", "--paper"), ("--ink", "--panel"), ("--muted", "--paper"), ("--muted", "--panel"),
    ("--link", "--paper"), ("--on-strong", "--strong"), ("--on-moderate", "--moderate"),
    ("--on-weak", "--weak"), ("--unanswered", "--unanswered-bg"), ("--nospecific", "--nospecific-bg"),
    ("--muted", "--unanswered-bg"), ("--muted", "--nospecific-bg"), ("--link", "--unanswered-bg"),
    ("--link", "--nospecific-bg"), ("--ink", "--unanswered-bg"), ("--ink", "--nospecific-bg"),
]
GRAPHIC_PAIRS = [  # lines, borders, focus rings: 3:1 (WCAG 1.4.11)
    ("--strong", "--paper"), ("--moderate", "--paper"), ("--weak", "--paper"), ("--focus", "--paper"),
    ("--unanswered", "--paper"), ("--nospecific", "--paper"), ("--focus", "--unanswered-bg"),
]


def _luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    chans = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in chans]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_helper_matches_wcag_examples():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


def test_palette_meets_wcag_aa(demo):
    _, doc = demo
    root_block = re.search(r":root\s*\{([^}]*)\}", doc.find("style").text).group(1)
    palette = dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{3,6})\s*;", root_block))
    failures = []
    for pairs, minimum in ((TEXT_PAIRS, 4.5), (GRAPHIC_PAIRS, 3.0)):
        for fg, bg in pairs:
            ratio = contrast(palette[fg], palette[bg])
            if ratio < minimum:
                failures.append(f"{fg} on {bg}: {ratio:.2f} < {minimum}")
    assert not failures, failures


# --- hostile input ---------------------------------------------------------------------

HOSTILE_TITLE = "</title><script>alert('title')</script><!--"
HOSTILE_CLAIMANT = '<img src=x onerror=alert(1)>"\'</script><script>alert(2)</script>'
HOSTILE_RESPONDENT = '"><svg onload=alert(3)><a href="javascript:alert(4)">x</a>'
HOSTILE_CLAIMS = ["<script>alert('c0')</script> The agency seized domains.",
                  "</script><script>alert('c1')</script>\u2028<!-- <style>body{display:none}</style>"]
HOSTILE_RESPONSES = ["<img src=x onerror=alert(5)> seized domains never.",
                     "<iframe src=javascript:alert(6)></iframe> &amp; &lt;b&gt;"]
HOSTILE_SOURCES = ["javascript:alert(7)", "JaVaScRiPt:alert(8)", "data:text/html,<script>alert(9)</script>",
                   "https://example.org/a?b=1&c=<x>", "https://example.org/ok?q=1&r=2", "//evil.example/x",
                   "vbscript:msgbox(1)", " https://example.org/space"]


def hostile_report() -> tuple[str, Alignment, Pair]:
    evidence = {0: {"<b onclick=alert(10)>key</b>": "</script><script>alert(11)</script>"}}
    alignment = make_alignment(HOSTILE_CLAIMS, HOSTILE_RESPONSES, [[0.9, 0.1], [0.1, 0.2]],
                               evidence=evidence, model="<script>alert('model')</script>")
    pair = Pair(slug="evil", claim="", response="", title=HOSTILE_TITLE, claimant=HOSTILE_CLAIMANT,
                respondent=HOSTILE_RESPONDENT, date="<b>2026</b>", sources=HOSTILE_SOURCES,
                added="</div><script>alert(12)</script>")
    return render(alignment, pair, generated="now"), alignment, pair


ALLOWED_TAGS = {
    "#document", "html", "head", "meta", "title", "style", "body", "a", "header", "p", "h1", "h2", "h3",
    "ul", "ol", "li", "span", "div", "main", "section", "dl", "dt", "dd", "svg", "title", "desc", "text",
    "rect", "defs", "lineargradient", "stop", "path", "strong", "details", "summary", "footer", "code",
    "script", "br",
}


def test_hostile_input_stays_text():
    html, alignment, pair = hostile_report()
    doc = Tree(html).root
    tags = {n.tag for n in doc.iter()}
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    for node in doc.iter():
        for name in node.attrs:
            assert not name.startswith("on"), (node.tag, name)
    scripts = list(doc.find_all("script"))
    assert len(scripts) == 2  # ours: the code and the JSON data block
    # every href is an in-page anchor or one of the two real http(s) sources
    hrefs = [n.attrs["href"] for n in doc.find_all("a")]
    external = [h for h in hrefs if not h.startswith("#")]
    assert external == ["https://example.org/ok?q=1&r=2", "https://example.org/space"], external
    for a in doc.find_all("a"):
        if not a.attrs["href"].startswith("#"):
            assert a.attrs["rel"] == "noopener noreferrer"
    # the text survives, as text
    assert doc.find("head").find("title").text == f"{HOSTILE_TITLE} — compare"
    assert doc.find("h1").text == HOSTILE_TITLE
    assert HOSTILE_CLAIMANT in doc.find("ul", cls="parties").text
    provenance = doc.find("div", cls="provenance").text
    for source in HOSTILE_SOURCES:
        assert source.strip() in provenance
    assert [n.find("span", cls="text").text for n in doc.find_all("li", cls="claim")] == HOSTILE_CLAIMS
    details = next(doc.find("li", id="r0").find_all("details"))  # Evidence, with "All figures" inside
    assert "<b onclick=alert(10)>key</b>" in [d.text for d in details.find_all("dt")]
    # the embedded data block is inert and round-trips
    data_block = [s for s in scripts if s.attrs.get("type") == "application/json"][0]
    raw = data_block.text
    assert "<" not in raw and ">" not in raw and "\u2028" not in raw
    data = json.loads(raw)
    assert data["pair"]["title"] == HOSTILE_TITLE
    assert data["claims"][1]["text"] == HOSTILE_CLAIMS[1]
    assert data["model"] == alignment.model


def test_safe_url_allows_only_absolute_http():
    assert safe_url("https://example.org/x?y=1&z=2") == "https://example.org/x?y=1&z=2"
    assert safe_url("http://example.org") == "http://example.org"
    for bad in ("javascript:alert(1)", "JAVASCRIPT:alert(1)", "java\nscript:alert(1)", "data:text/html,x",
                "//example.org", "/relative", "example.org", "https://", "https://a b", "", None,
                "https://example.org/\"onmouseover=x", "seed article: some prose"):
        assert safe_url(bad) is None, bad


def test_script_json_cannot_close_the_script_element():
    text = script_json({"x": "</script><!--<script>\u2028&"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(str(text)) == {"x": "</script><!--<script>\u2028&"}


def test_strength_bands_and_evidence_values():
    assert [strength(s, 0.35) for s in (0.61, 0.55, 0.45, 0.35, 0.34, None)] == \
        ["strong", "strong", "moderate", "weak", "none", "none"]
    assert evidence_value(np.float32(0.5)) == "0.5"
    assert evidence_value([1, "a", None]) == "1, a, null"
    assert evidence_value(np.array([0.25, 0.5])) == "0.25, 0.5"


def test_strength_does_not_depend_on_the_threshold():
    # Review finding: with bands at threshold + margin, -t 0.6 called a 0.62 link "weak"
    # and -t 0.1 called a 0.29 link "moderate".
    assert strength(0.62, 0.6) == strength(0.62, 0.3) == "strong"
    assert strength(0.29, 0.1) == "weak"
    assert strength(0.45, 0.1) == strength(0.45, 0.3) == "moderate"
    assert strength_bands(0.3) == [("strong", 0.55), ("moderate", 0.40), ("weak", 0.3)]
    assert strength_bands(0.6) == [("strong", 0.6)]
    assert strength_bands(0.45) == [("strong", 0.55), ("moderate", 0.45)]
    # Judged as printed (two decimals): "0.55" is never "moderate", nor two bands "0.55 or more".
    assert strength(0.548, 0.3) == "strong" and strength(0.398, 0.3) == "moderate"
    assert strength_bands(0.549) == [("strong", 0.55)] and strength(0.549, 0.549) == "strong"
    assert strength_bands(0.396) == [("strong", 0.55), ("moderate", 0.40)]


def test_summary_counts_only_the_bands_the_threshold_allows():
    html = render(make_alignment(CLAIMS, RESPONSES, SIM, threshold=0.6), PAIR)
    counts = {n.attrs["data-count"]: n.text for n in Tree(html).root.find_all("span") if "data-count" in n.attrs}
    assert counts.get("strong") == "1" and "moderate" not in counts and "weak" not in counts


def test_legend_names_only_the_bands_the_threshold_allows():
    at = {}
    for t in (0.3, 0.6):
        html = render(make_alignment(CLAIMS, RESPONSES, SIM, threshold=t), PAIR)
        at[t] = Tree(html).root.find("section", cls="legend").text
    assert "moderate" in at[0.3] and "weak" in at[0.3]
    assert "strong" in at[0.6] and "moderate" not in at[0.6] and "weak" not in at[0.6]
    assert "0.60 or more (the threshold)" in at[0.6]


# --- the CLI: --all and its errors -----------------------------------------------------


def _corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    for slug, title, claim, response in (
        ("alpha", "Alpha & <Omega>", "The agency seized 17 web domains. The company paid fines.",
         "No web domains were seized."),
        ("beta", "", "Four nationals are at large. The defendants stole currency.",
         "The weather was fine today."),
    ):
        folder = root / slug
        folder.mkdir(parents=True)
        (folder / "claim.txt").write_text(claim + "\n", encoding="utf-8")
        (folder / "response.txt").write_text(response + "\n", encoding="utf-8")
        (folder / "meta.json").write_text(json.dumps({"title": title, "claimant": "DOJ",
                                                      "respondent": "KCNA"}), encoding="utf-8")
    return root


def test_report_all_writes_every_pair_and_an_index(tmp_path, fake_model):
    root = _corpus(tmp_path)
    out = tmp_path / "site"
    result = CliRunner().invoke(cli, ["report", "--all", "-o", str(out), "--corpus", str(root)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out / "index.html")
    assert {p.name for p in out.iterdir()} == {"index.html", "alpha.html", "beta.html"}
    doc = Tree((out / "index.html").read_text(encoding="utf-8")).root
    rows = {r.attrs["data-slug"]: r for r in doc.find_all("tr") if "data-slug" in r.attrs}
    assert list(rows) == ["alpha", "beta"]
    assert rows["alpha"].find("a").attrs["href"] == "alpha.html"
    assert rows["alpha"].find("a").text == "Alpha & <Omega>"
    assert rows["beta"].find("a").text == "beta"  # no title: the slug
    for slug, row in rows.items():
        cells = [td for td in row.find_all("td") if "data-coverage" in td.attrs]
        assert len(cells) == 1 and re.fullmatch(r"\d+%", cells[0].attrs["data-coverage"])
        assert re.search(r"\d+ of 2 \(\d+%\)", cells[0].text)
        report = Tree((out / f"{slug}.html").read_text(encoding="utf-8")).root
        answered = [n for n in report.iter() if n.attrs.get("data-count") == "answered"][0].text
        assert f"{answered} of 2" in cells[0].text
    assert next(rows["alpha"].find_all("td")).text == "DOJ"
    assert len(fake_model.calls) >= 1


def _one_line_error(result) -> str:
    assert result.exit_code != 0
    lines = [l for l in result.output.splitlines() if l.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.mark.parametrize("args, needle", [
    (["report", "--all"], "-o DIR"),
    (["report", "--all", "alpha", "-o", "{out}"], "no SLUG"),
    (["report", "--all", "-o", "{out}", "--corpus", "{empty}"], "has no pairs"),
    (["report", "alpha", "-o", "{tmp}"], "is a folder"),
])
def test_report_all_errors_are_one_line(tmp_path, fake_model, args, needle):
    root = _corpus(tmp_path)
    (tmp_path / "empty").mkdir()
    args = [a.format(out=tmp_path / "site", empty=tmp_path / "empty", tmp=tmp_path) for a in args]
    if "--corpus" not in args:
        args += ["--corpus", str(root)]
    assert needle in _one_line_error(CliRunner().invoke(cli, args))


def test_seed_report_renders_with_real_corpus(tmp_path, fake_model):
    out = tmp_path / "seed.html"
    result = CliRunner().invoke(cli, ["report", "dprk-it-workers", "-o", str(out), "--corpus", str(ROOT / "corpus")])
    assert result.exit_code == 0, result.output
    doc = Tree(out.read_text(encoding="utf-8")).root
    assert "Department of Justice" in doc.find("ul", cls="parties").text
    n_claims = len(list(doc.find_all("li", cls="claim")))
    n_unanswered = len(list(doc.find_all("li", cls="unanswered")))
    shown = [n for n in doc.iter() if n.attrs.get("data-count") == "unanswered"][0].text
    assert int(shown) == n_unanswered and n_claims > 10


# --- property: whatever the text, it comes back as the same text and adds no markup -----

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PIECES = list("<>&\"'/=!-[]`;:() abcXYZ019\u2028é") + ["</script>", "<!--", "-->", "javascript:", "{{", "{%", "]]>",
                                                       "<img src=x onerror=alert(1)>", "&amp;", "&#60;"]
NASTY = st.lists(st.sampled_from(PIECES), min_size=1, max_size=25).map("".join).filter(lambda s: s.strip())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=NASTY, claim=NASTY, response=NASTY)
def test_any_text_round_trips_as_text(title, claim, response):
    alignment = make_alignment([claim], [response], [[0.9]])
    pair = Pair(slug="p", claim="", response="", title=title, claimant=claim, respondent=response,
                sources=[title])
    html = render(alignment, pair, generated="now")
    doc = Tree(html).root
    assert {n.tag for n in doc.iter()} <= ALLOWED_TAGS
    assert len(list(doc.find_all("script"))) == 2
    assert doc.find("h1").text == title
    assert doc.find("li", id="c0").find("span", cls="text").text == claim
    assert doc.find("li", id="r0").find("span", cls="text").text == response
    data = [s for s in doc.find_all("script") if s.attrs.get("type") == "application/json"][0].text
    assert json.loads(data)["pair"]["title"] == title


def test_added_timestamp_is_shown_as_a_day():
    from compare.report import day

    assert day("2026-11-28T05:05:00Z") == "2026-11-28"
    assert day("2026-11-28") == "2026-11-28"
    assert day("sometime") == "sometime"
