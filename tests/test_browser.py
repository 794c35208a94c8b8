"""The report in a real browser: headless Debian Chromium driven by playwright.

Screenshots go to test-output/ in the repository root (gitignored); the path is printed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from compare.cli import cli
from compare.report import write_atomic

from .conftest import ROOT
from .test_report import Tree, hostile_report

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
OUT = ROOT / "test-output"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is absent: install Debian's chromium (scripts/test.sh does, as root)"),
]

# Which page records what it was asked to fetch, which dialogs opened and which CSP
# violations fired (init scripts run outside the page's CSP).
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


READY = """() => document.documentElement.classList.contains('js')
    && (!document.querySelector('[data-sbs]') || document.querySelector('[data-sbs]').hasAttribute('data-connectors'))"""


class Watched:
    def __init__(self, page):
        self.page = page
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.route("**/*", self._route)
        page.add_init_script(WATCH)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route):
        url = route.request.url
        if url.startswith("file://"):
            route.continue_()
        else:
            self.requests.append(url)
            route.abort()

    def csp(self) -> list[str]:
        return self.page.evaluate("window.__csp")

    def assert_clean(self):
        assert self.requests == [], f"the page tried to fetch: {self.requests}"
        assert self.dialogs == [], f"a dialog opened: {self.dialogs}"
        assert self.csp() == [], f"CSP violations: {self.csp()}"
        assert self.errors == [], f"console/page errors: {self.errors}"


@pytest.fixture
def open_page(browser):
    contexts = []

    def _open(path: Path, width: int = 1280, height: int = 900, js: bool = True) -> Watched:
        ctx = browser.new_context(viewport={"width": width, "height": height}, java_script_enabled=js)
        contexts.append(ctx)
        watched = Watched(ctx.new_page())
        watched.page.goto(path.as_uri())
        if js:
            watched.page.wait_for_function(READY)
            watched.page.evaluate("document.fonts.ready.then(() => 1)")
            settle(watched.page)
        return watched

    yield _open
    for ctx in contexts:
        ctx.close()


def settle(page) -> None:
    """Let ResizeObserver and the scheduled redraw (two animation frames) run."""
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(r))))")


def shot(page, name: str) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


@pytest.fixture
def seed_report(tmp_path, fake_model) -> Path:
    out = tmp_path / "dprk-it-workers.html"
    result = CliRunner().invoke(cli, ["report", "dprk-it-workers", "-o", str(out),
                                      "--corpus", str(ROOT / "corpus"), "--threshold", "0.2"])
    assert result.exit_code == 0, result.output
    return out


GEOMETRY = """
() => {
  const sbs = document.querySelector('[data-sbs]');
  const svg = sbs.querySelector('svg.connectors');
  const s = svg.getBoundingClientRect();
  const box = e => { const r = e.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  return {
    svg: {left: s.left, top: s.top, display: getComputedStyle(svg).display},
    drawn: sbs.getAttribute('data-connectors'),
    links: [...document.querySelectorAll('li.response[data-claim]')].map(r => ({response: r.id, claim: r.dataset.claim, strength: r.dataset.strength})),
    paths: [...svg.querySelectorAll('path.conn')].map(p => ({
      d: p.getAttribute('d'), cls: p.getAttribute('class'),
      claim: p.dataset.claim, response: p.dataset.response,
      claimBox: box(document.getElementById(p.dataset.claim)),
      responseBox: box(document.getElementById(p.dataset.response)),
    })),
  };
}
"""


def check_connectors(page) -> int:
    g = page.evaluate(GEOMETRY)
    links = {l["response"]: l for l in g["links"]}
    assert links, "the seed report should have links"
    assert int(g["drawn"]) == len(g["paths"]) == len(links)
    for p in g["paths"]:
        link = links[p["response"]]
        assert p["claim"] == link["claim"], "a connector joins the wrong claim"
        assert f"s-{link['strength']}" in p["cls"].split()
        nums = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", p["d"])]
        x1, y1, x2, y2 = nums[0] + g["svg"]["left"], nums[1] + g["svg"]["top"], nums[-2] + g["svg"]["left"], nums[-1] + g["svg"]["top"]
        c, r = p["claimBox"], p["responseBox"]
        assert abs(x1 - c["right"]) <= 1.5, (p, x1)
        assert c["top"] <= y1 <= c["bottom"], (p, y1)
        assert abs(x2 - r["left"]) <= 1.5, (p, x2)
        assert r["top"] <= y2 <= r["bottom"], (p, y2)
    return len(g["paths"])


def test_connectors_sit_on_their_sentences_and_follow_resizes(open_page, seed_report):
    w = open_page(seed_report, 1280, 900)
    page = w.page
    assert page.evaluate("document.documentElement.classList.contains('js')")
    n = check_connectors(page)
    shot(page, "seed-1280")
    page.set_viewport_size({"width": 1000, "height": 800})
    settle(page)
    assert check_connectors(page) == n
    # fonts change (bigger text reflows every sentence): the connectors follow
    page.evaluate("document.querySelectorAll('.sent .text').forEach(e => e.style.fontSize = '23px')")
    settle(page)
    assert check_connectors(page) == n
    # opening an evidence panel moves everything below it
    page.click("li.response details > summary")
    settle(page)
    assert check_connectors(page) == n
    page.set_viewport_size({"width": 1280, "height": 900})
    settle(page)
    assert check_connectors(page) == n
    w.assert_clean()


def test_hover_and_focus_highlight_partners(open_page, seed_report):
    w = open_page(seed_report)
    page = w.page
    response = page.evaluate("document.querySelector('li.response[data-claim]').id")
    claim = page.evaluate(f"document.getElementById('{response}').dataset.claim")
    page.hover(f"#{response}")
    classes = page.evaluate("Object.fromEntries([...document.querySelectorAll('.sent')].map(e => [e.id, e.className]))")
    assert "is-active" in classes[response].split()
    assert "is-partner" in classes[claim].split()
    others = [i for i in classes if i not in (response, claim)]
    assert others and all("is-dimmed" in classes[i].split() for i in others)
    assert not any("is-dimmed" in classes[i].split() for i in (response, claim))
    # dimmed for real (after the short fade)
    page.wait_for_function(f"() => parseFloat(getComputedStyle(document.getElementById('{others[0]}')).opacity) < 0.6",
                           timeout=2000)
    paths = page.evaluate("[...document.querySelectorAll('path.conn')].map(p => [p.dataset.response, p.getAttribute('class')])")
    for rid, cls in paths:
        assert ("is-active" in cls.split()) == (rid == response)
        assert ("is-dimmed" in cls.split()) == (rid != response)
    shot(page, "seed-hover")
    # leaving clears the highlight
    page.mouse.move(2, 2)
    assert page.evaluate("document.querySelectorAll('.is-dimmed, .is-active, .is-partner').length") == 0
    # keyboard: Tab reaches the sentences, focus is visible and highlights the claim's responses
    page.focus(f"#{claim}")
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")
    focused = page.evaluate("document.activeElement.id")
    assert focused == claim
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    partners = page.evaluate(f"document.getElementById('{claim}').dataset.partners.split(' ')")
    assert response in partners
    for rid in partners:
        assert page.evaluate(f"document.getElementById('{rid}').classList.contains('is-partner')")
    page.keyboard.press("Escape")
    assert page.evaluate("document.querySelectorAll('.is-dimmed').length") == 0
    w.assert_clean()


def test_narrow_screen_stacks_and_keeps_text_labels(open_page, seed_report):
    w = open_page(seed_report, 390, 844)
    page = w.page
    g = page.evaluate(GEOMETRY)
    assert g["svg"]["display"] == "none" and g["drawn"] == "0" and g["paths"] == []
    stacked = page.evaluate("""() => {
        const c = document.querySelector('.claims-col').getBoundingClientRect();
        const r = document.querySelector('.responses-col').getBoundingClientRect();
        return {claimsBottom: c.bottom, responsesTop: r.top, width: document.documentElement.scrollWidth};
    }""")
    assert stacked["responsesTop"] >= stacked["claimsBottom"]
    assert stacked["width"] <= 390, "no horizontal scrolling at 390 px"
    labels = page.locator("li.response[data-claim] .status").first.inner_text()
    assert re.search(r"answers C\d+", labels)
    assert page.locator("li.claim.unanswered .status").first.inner_text().lower().startswith("unanswered")
    shot(page, "seed-390")
    # back to desktop width: the connectors come back
    page.set_viewport_size({"width": 1280, "height": 900})
    settle(page)
    assert check_connectors(page) > 0
    w.assert_clean()


def test_readable_with_javascript_off(open_page, seed_report):
    w = open_page(seed_report, js=False)
    page = w.page
    html_class = page.get_attribute("html", "class")
    assert "no-js" in html_class.split()
    assert page.locator("svg.connectors").is_hidden()
    assert page.locator("li.claim").count() > 10
    assert page.locator("li.response .status a[href^='#c']").count() >= 1
    assert page.locator(".badge.unanswered").count() >= 1
    assert page.locator("section.heat svg rect.cell").count() > 0
    shot(page, "seed-nojs")
    assert w.requests == [] and w.dialogs == []


def test_hostile_report_runs_nothing_and_changes_nothing(open_page, tmp_path):
    html, _, _ = hostile_report()
    path = tmp_path / "evil.html"
    write_atomic(path, html)
    w = open_page(path)
    page = w.page
    # poke at everything a user might touch
    for selector in ("h1", ".parties", ".provenance", "li.claim", "li.response", "section.heat rect.cell"):
        for i in range(page.locator(selector).count()):
            page.locator(selector).nth(i).hover()
    for i in range(page.locator("details > summary").count()):
        page.locator("details > summary").nth(i).click()
    for _ in range(12):
        page.keyboard.press("Tab")
    settle(page)
    # the DOM is the parsed HTML, plus only the connectors the script draws
    expected = [n.tag for n in Tree(html).root.iter() if n.tag != "#document"]
    actual = page.evaluate("""() => [...document.querySelectorAll('*')]
        .filter(e => !e.closest('svg.connectors') || e.matches('svg.connectors'))
        .map(e => e.tagName.toLowerCase())""")
    assert actual == [t.lower() for t in expected]
    assert page.evaluate("document.querySelectorAll('script').length") == 2
    assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert page.evaluate("[...document.querySelectorAll('*')].flatMap(e => [...e.attributes].map(a => a.name)).filter(n => n.startsWith('on'))") == []
    assert page.title().startswith("</title><script>")
    assert page.locator("h1").inner_text() == "</title><script>alert('title')</script><!--"
    hrefs = page.evaluate("[...document.querySelectorAll('a')].map(a => a.getAttribute('href')).filter(h => !h.startsWith('#'))")
    assert all(h.startswith("https://") for h in hrefs)
    shot(page, "hostile")
    w.assert_clean()


def test_index_page_links_every_report(open_page, tmp_path, fake_model):
    out = tmp_path / "site"
    result = CliRunner().invoke(cli, ["report", "--all", "-o", str(out), "--corpus", str(ROOT / "corpus")])
    assert result.exit_code == 0, result.output
    w = open_page(out / "index.html")
    page = w.page
    link = page.locator("table.pairs a").first
    href = link.get_attribute("href")
    assert (out / href).is_file()
    link.click()
    page.wait_for_selector("[data-sbs][data-connectors]", state="attached")
    assert page.url.endswith(href)
    shot(page, "index-target")
    w.assert_clean()
