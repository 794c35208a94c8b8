"""`compare add` and `compare list`: a corpus that grows safely."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from compare.cli import cli
from compare.corpus import (
    Pair,
    add_pair,
    cleanup_stale,
    list_pairs,
    load_pair,
    validate_slug,
)
from compare.errors import CompareError
from compare.segment import segment

from .conftest import ROOT

CLAIM = "The agency seized 17 web domains. The company paid $5 million in fines.\n"
RESPONSE = "We never paid any fines to the company. The weather was nice.\n"

ARTICLE_HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Statement</title></head>
<body>
<nav><a href="/">Home</a> | <a href="/news">News</a> | <a href="/about">About us</a></nav>
<div class="cookie-banner">We use cookies to improve your experience.</div>
<article>
<h1>Spokesperson rejects the accusation</h1>
<p>The spokesperson said the accusation was an absurd smear campaign against the state.
It is a continuation of the hostile policy pursued by successive administrations.</p>
<p>The so-called cyber threat does not exist, the spokesperson added, and the charges
were fabricated to tarnish the image of the country in the eyes of the world.</p>
<p>The statement concluded that the country would take all necessary measures to
protect its citizens and its sovereignty against such provocations.</p>
</article>
<footer>Copyright 2024 Example News. All rights reserved.</footer>
</body></html>
"""


def run(args, input=None):
    return CliRunner().invoke(cli, args, input=input)


@pytest.fixture
def docs(tmp_path):
    c = tmp_path / "claim.txt"
    r = tmp_path / "response.txt"
    c.write_text(CLAIM, encoding="utf-8")
    r.write_text(RESPONSE, encoding="utf-8")
    return c, r


@pytest.fixture
def corpus(tmp_path):
    return tmp_path / "corpus"


def add(corpus, slug, claim, response, *extra, input=None):
    return run(["add", slug, "--claim", str(claim), "--response", str(response),
                "--corpus", str(corpus), *extra], input=input)


# --- adding from files and stdin -------------------------------------------------


def test_add_from_files_writes_the_documented_format(docs, corpus):
    c, r = docs
    result = add(corpus, "doj-vs-kcna", c, r, "--title", "IT workers", "--claimant", "DOJ",
                 "--respondent", "KCNA", "--date", "2024-05-16", "--source", "https://example.org/a")
    assert result.exit_code == 0, result.output
    assert "added" in result.output and "2 claim sentences" in result.output
    folder = corpus / "doj-vs-kcna"
    assert sorted(p.name for p in folder.iterdir()) == ["claim.txt", "meta.json", "response.txt"]
    assert (folder / "claim.txt").read_text(encoding="utf-8") == CLAIM
    assert (folder / "response.txt").read_text(encoding="utf-8") == RESPONSE
    raw = (folder / "meta.json").read_text(encoding="utf-8")
    meta = json.loads(raw)
    assert raw == json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert list(meta) == sorted(meta)
    assert meta["title"] == "IT workers" and meta["claimant"] == "DOJ" and meta["respondent"] == "KCNA"
    assert meta["date"] == "2024-05-16" and meta["sources"] == ["https://example.org/a"]
    assert meta["added"].endswith("Z") and meta["added"][:4].isdigit()
    # Nothing else is left in the corpus folder (no temp folders, no lock file).
    assert [p.name for p in corpus.iterdir()] == ["doj-vs-kcna"]
    pair = load_pair("doj-vs-kcna", corpus)
    assert pair.claim == CLAIM and pair.title == "IT workers"


def test_add_from_stdin(docs, corpus):
    c, _ = docs
    result = add(corpus, "from-stdin", c, "-", input=RESPONSE)
    assert result.exit_code == 0, result.output
    assert (corpus / "from-stdin" / "response.txt").read_text(encoding="utf-8") == RESPONSE


def test_only_one_side_may_be_stdin(corpus):
    result = add(corpus, "both-stdin", "-", "-", input=RESPONSE)
    assert result.exit_code == 1
    assert "only one of --claim and --response" in result.output
    assert not corpus.exists() or not any(corpus.iterdir())


def test_text_without_trailing_newline_gets_one(tmp_path, corpus):
    c = tmp_path / "c.txt"
    c.write_text("No newline at the end.", encoding="utf-8")
    assert add(corpus, "nl", c, "-", input="A response.").exit_code == 0
    assert (corpus / "nl" / "claim.txt").read_text(encoding="utf-8") == "No newline at the end.\n"


@pytest.mark.parametrize("value", ["2024-13-01", "16/05/2024", "2024-5-6", "yesterday", "2024-02-30"])
def test_bad_date_is_refused(docs, corpus, value):
    c, r = docs
    result = add(corpus, "dated", c, r, "--date", value)
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output
    assert not (corpus / "dated").exists()


# --- hostile slugs ----------------------------------------------------------------


@pytest.mark.parametrize(
    "slug",
    ["../x", "..", ".", ".hidden", "a/b", "/abs", "", "Upper", "UPPER", "a" * 81, "-lead", "a b",
     "a\\b", "tab\there", "a\x00b", "é"],
)
def test_hostile_slugs_are_refused(docs, corpus, tmp_path, slug):
    c, r = docs
    with pytest.raises(CompareError):
        validate_slug(slug)
    result = add(corpus, slug, c, r)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    # Nothing was written anywhere: not in the corpus, not next to it.
    assert not corpus.exists() or not any(corpus.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claim.txt", "response.txt"]


def test_longest_valid_slug_is_accepted(docs, corpus):
    c, r = docs
    assert add(corpus, "a" * 80, c, r).exit_code == 0


# --- encodings and binary input ---------------------------------------------------


def test_latin1_refused_then_accepted_with_encoding(tmp_path, docs, corpus):
    c, _ = docs
    r = tmp_path / "latin1.txt"
    r.write_bytes("Le porte-parole a déclaré que c'était faux.\n".encode("latin-1"))
    result = add(corpus, "latin", c, r)
    assert result.exit_code == 1
    assert "not valid utf-8" in result.output and "--encoding" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (corpus / "latin").exists()
    result = add(corpus, "latin", c, r, "--encoding", "latin-1")
    assert result.exit_code == 0, result.output
    stored = (corpus / "latin" / "response.txt").read_bytes()
    assert stored.decode("utf-8") == "Le porte-parole a déclaré que c'était faux.\n"


def test_utf8_bom_wins_over_the_encoding_given_for_the_other_document(tmp_path, corpus):
    # Review finding: --encoding cp1252 (for a cp1252 response) turned a claim saved as UTF-8
    # with a byte-order mark into "ï»¿The minister lied."
    c, r = tmp_path / "bom.txt", tmp_path / "cp.txt"
    c.write_bytes("\ufeffThe minister lied about the café.\n".encode("utf-8"))
    r.write_bytes("Le porte-parole a déclaré que c'était faux.\n".encode("cp1252"))
    result = add(corpus, "enc", c, r, "--encoding", "cp1252")
    assert result.exit_code == 0, result.output
    assert (corpus / "enc" / "claim.txt").read_text(encoding="utf-8") == "The minister lied about the café.\n"
    assert (corpus / "enc" / "response.txt").read_text(encoding="utf-8") == "Le porte-parole a déclaré que c'était faux.\n"


def test_unknown_encoding_is_one_line(docs, corpus):
    c, r = docs
    result = add(corpus, "enc", c, r, "--encoding", "no-such-codec")
    assert result.exit_code == 1
    assert "unknown encoding" in result.output


def test_binary_input_is_refused(tmp_path, docs, corpus):
    c, _ = docs
    b = tmp_path / "image.png"
    b.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    result = add(corpus, "binary", c, b)
    assert result.exit_code == 1
    assert "binary" in result.output
    assert not (corpus / "binary").exists()


@pytest.mark.parametrize("content", [b"", b"   \n\t\n"])
def test_empty_input_is_refused(tmp_path, docs, corpus, content):
    c, _ = docs
    e = tmp_path / "empty.txt"
    e.write_bytes(content)
    result = add(corpus, "empty", c, e)
    assert result.exit_code == 1
    assert "empty" in result.output
    assert not (corpus / "empty").exists()


def test_missing_file_is_one_line(docs, corpus, tmp_path):
    c, _ = docs
    result = add(corpus, "missing", c, tmp_path / "nope.txt")
    assert result.exit_code == 1
    assert "not found" in result.output


def test_utf8_bom_is_dropped(tmp_path, docs, corpus):
    c, _ = docs
    r = tmp_path / "bom.txt"
    r.write_bytes("\ufeffA response with a BOM.\n".encode("utf-8"))
    assert add(corpus, "bom", c, r).exit_code == 0
    assert (corpus / "bom" / "response.txt").read_text(encoding="utf-8") == "A response with a BOM.\n"


# --- --force and duplicates -------------------------------------------------------


def test_existing_pair_is_kept_without_force(docs, corpus, tmp_path):
    c, r = docs
    assert add(corpus, "p", c, r, "--title", "first").exit_code == 0
    other = tmp_path / "other.txt"
    other.write_text("A different response altogether.\n", encoding="utf-8")
    result = add(corpus, "p", c, other, "--title", "second")
    assert result.exit_code == 1
    assert "already exists" in result.output and "--force" in result.output
    assert load_pair("p", corpus).title == "first"
    assert load_pair("p", corpus).response == RESPONSE


def test_force_replaces_whole_pair(docs, corpus, tmp_path):
    c, r = docs
    assert add(corpus, "p", c, r, "--title", "first", "--source", "https://a.example/").exit_code == 0
    other = tmp_path / "other.txt"
    other.write_text("A different response altogether.\n", encoding="utf-8")
    result = add(corpus, "p", c, other, "--title", "second", "--force")
    assert result.exit_code == 0, result.output
    assert "replaced" in result.output
    pair = load_pair("p", corpus)
    assert pair.title == "second" and pair.response == "A different response altogether.\n"
    assert pair.sources == []  # a replacement is a new pair, not a merge
    assert [p.name for p in corpus.iterdir()] == ["p"]  # the old version is gone, no leftovers
    # Review finding: the dropped source was not mentioned anywhere.
    assert "sources is now empty: give each --source again to keep it" in result.output


def test_force_names_every_stored_value_it_clears(docs, corpus):
    c, r = docs
    assert add(corpus, "p", c, r, "--respondent", "Norway MFA", "--date", "2025-01-02").exit_code == 0
    result = add(corpus, "p", c, r, "--title", "Svalbard station", "--force")
    assert result.exit_code == 0, result.output
    assert "respondent and date are now empty: give --respondent and --date again to keep them" in result.output
    again = add(corpus, "p", c, r, "--title", "Svalbard station", "--force")
    assert "now empty" not in again.output


def test_force_keeps_what_the_user_added_by_hand(docs, corpus, tmp_path):
    # Regression: --force swapped the whole folder, losing the user's notes.
    c, r = docs
    assert add(corpus, "p", c, r, "--title", "first").exit_code == 0
    (corpus / "p" / "notes.md").write_text("checked with the ministry\n", encoding="utf-8")
    (corpus / "p" / "scans").mkdir()
    (corpus / "p" / "scans" / "page1.txt").write_text("scan\n", encoding="utf-8")
    meta = json.loads((corpus / "p" / "meta.json").read_text(encoding="utf-8"))
    (corpus / "p" / "meta.json").write_text(json.dumps({**meta, "reviewer": "A. Editor", "title": "x"}),
                                            encoding="utf-8")
    other = tmp_path / "other.txt"
    other.write_text("A different response altogether.\n", encoding="utf-8")
    result = add(corpus, "p", c, other, "--title", "second", "--force")
    assert result.exit_code == 0, result.output
    assert "kept from the replaced pair: notes.md, scans, meta.json: reviewer" in result.output
    assert (corpus / "p" / "notes.md").read_text(encoding="utf-8") == "checked with the ministry\n"
    assert (corpus / "p" / "scans" / "page1.txt").exists()
    new_meta = json.loads((corpus / "p" / "meta.json").read_text(encoding="utf-8"))
    assert new_meta["reviewer"] == "A. Editor" and new_meta["title"] == "second"
    assert load_pair("p", corpus).response == "A different response altogether.\n"
    assert [p.name for p in corpus.iterdir()] == ["p"]


def test_force_skips_pipes_and_warns_about_unreadable_meta(docs, corpus, tmp_path):
    c, r = docs
    assert add(corpus, "p", c, r).exit_code == 0
    os.mkfifo(corpus / "p" / "pipe")
    (corpus / "p" / "meta.json").write_text("[1, 2]", encoding="utf-8")
    result = add(corpus, "p", c, r, "--title", "again", "--force")
    assert result.exit_code == 0, result.output
    assert "pipe (not a file or folder)" in result.output
    assert "was not a JSON object" in result.output
    assert load_pair("p", corpus).title == "again"


def test_force_refuses_to_drop_a_file_it_cannot_copy(docs, corpus, monkeypatch):
    import shutil

    c, r = docs
    assert add(corpus, "p", c, r, "--title", "first").exit_code == 0
    (corpus / "p" / "secret.txt").write_text("mine\n", encoding="utf-8")
    real_copy2 = shutil.copy2

    def copy2(src, dst, **kw):  # as for a file only its owner may read, when not root
        if str(src).endswith("secret.txt"):
            raise PermissionError(13, "Permission denied", str(src))
        return real_copy2(src, dst, **kw)

    monkeypatch.setattr(shutil, "copy2", copy2)
    result = add(corpus, "p", c, r, "--title", "second", "--force")
    assert result.exit_code != 0
    assert "cannot keep" in result.output and "secret.txt" in result.output
    assert "Traceback" not in result.output
    assert load_pair("p", corpus).title == "first"  # nothing replaced, nothing lost
    assert (corpus / "p" / "secret.txt").exists()
    assert sorted(p.name for p in corpus.iterdir()) == ["p"]  # no temporary folder left


def test_force_same_slug_same_content_is_not_a_duplicate_of_itself(docs, corpus):
    c, r = docs
    assert add(corpus, "p", c, r).exit_code == 0
    result = add(corpus, "p", c, r, "--force")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output


def test_exact_duplicate_is_refused_unless_forced(docs, corpus):
    c, r = docs
    assert add(corpus, "first", c, r).exit_code == 0
    result = add(corpus, "second", c, r)
    assert result.exit_code == 1
    assert "first" in result.output and "already in the corpus" in result.output
    assert not (corpus / "second").exists()
    result = add(corpus, "second", c, r, "--force")
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and "first" in result.output
    assert (corpus / "second").is_dir()


def test_whitespace_only_differences_still_count_as_duplicates(tmp_path, docs, corpus):
    c, r = docs
    assert add(corpus, "first", c, r).exit_code == 0
    reflowed = tmp_path / "reflowed.txt"
    reflowed.write_text(CLAIM.replace(". ", ".\n\n"), encoding="utf-8")
    result = add(corpus, "second", reflowed, r)
    assert result.exit_code == 1
    assert "first" in result.output


def test_one_sided_duplicate_is_added_with_a_warning(tmp_path, docs, corpus):
    c, r = docs
    assert add(corpus, "first", c, r).exit_code == 0
    other = tmp_path / "other.txt"
    other.write_text("A different response altogether.\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["add", "second", "--claim", str(c), "--response", str(other), "--corpus", str(corpus)]
    )
    assert result.exit_code == 0, result.output
    assert "same claim" in result.stderr and "first" in result.stderr
    assert "same claim" not in result.stdout
    other_claim = tmp_path / "other-claim.txt"
    other_claim.write_text("Something else was claimed.\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["add", "third", "--claim", str(other_claim), "--response", str(r), "--corpus", str(corpus)]
    )
    assert result.exit_code == 0
    assert "same response" in result.stderr and "first" in result.stderr


# --- atomicity helpers ------------------------------------------------------------


def test_stale_temp_folders_are_cleaned_and_fresh_ones_kept(docs, corpus):
    c, r = docs
    corpus.mkdir()
    stale = corpus / ".tmp-old-abc123"
    stale.mkdir()
    (stale / "claim.txt").write_text("half", encoding="utf-8")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fresh = corpus / ".tmp-busy-def456"  # maybe another add at work right now
    fresh.mkdir()
    assert add(corpus, "p", c, r).exit_code == 0
    assert not stale.exists()
    assert fresh.exists()
    assert [p.slug for p in list_pairs(corpus)] == ["p"]


def test_force_without_atomic_swap(docs, corpus, tmp_path, monkeypatch):
    # Where renameat2(RENAME_EXCHANGE) is missing, --force moves the old pair aside first.
    monkeypatch.setattr("compare.corpus._exchange", lambda a, b: False)
    c, r = docs
    assert add(corpus, "p", c, r, "--title", "first").exit_code == 0
    other = tmp_path / "other.txt"
    other.write_text("A different response altogether.\n", encoding="utf-8")
    result = add(corpus, "p", c, other, "--title", "second", "--force")
    assert result.exit_code == 0, result.output
    assert load_pair("p", corpus).title == "second"
    assert [p.name for p in corpus.iterdir()] == ["p"]


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=90))
def test_any_accepted_slug_is_a_plain_child_folder(slug):
    try:
        validate_slug(slug)
    except CompareError:
        return
    root = Path("/corpus")
    target = root / slug
    assert target.parent == root and target.name == slug
    assert not slug.startswith((".", "-")) and "/" not in slug and "\\" not in slug
    assert slug == slug.lower() and 1 <= len(slug) <= 80


def test_interrupted_replacement_is_put_back(corpus):
    # A replacement killed between moving the old pair aside and moving the new
    # one in (possible only without an atomic swap) loses nothing.
    corpus.mkdir()
    aside = corpus / ".old-keep-123-abcd"
    aside.mkdir()
    (aside / "claim.txt").write_text("Old claim.\n", encoding="utf-8")
    (aside / "response.txt").write_text("Old response.\n", encoding="utf-8")
    assert list_pairs(corpus) == []
    cleanup_stale(corpus, max_age=0)
    assert [p.slug for p in list_pairs(corpus)] == ["keep"]
    assert load_pair("keep", corpus).claim == "Old claim.\n"


def test_incomplete_and_hidden_folders_are_not_pairs(docs, corpus):
    c, r = docs
    assert add(corpus, "whole", c, r).exit_code == 0
    (corpus / "half").mkdir()
    (corpus / "half" / "claim.txt").write_text("Only a claim.\n", encoding="utf-8")
    (corpus / ".tmp-x-1").mkdir()
    for name in ("claim.txt", "response.txt"):
        (corpus / ".tmp-x-1" / name).write_text("Hidden.\n", encoding="utf-8")
    assert [p.slug for p in list_pairs(corpus)] == ["whole"]


def test_add_pair_library_refuses_empty_text(corpus):
    with pytest.raises(CompareError, match="empty"):
        add_pair(corpus, Pair(slug="x", claim="  ", response="Fine."))


# --- list -----------------------------------------------------------------------


def test_list_text_and_json(docs, corpus, tmp_path):
    c, r = docs
    assert add(corpus, "beta", c, r, "--title", "Second pair", "--claimant", "DOJ",
               "--respondent", "KCNA", "--date", "2024-05-16").exit_code == 0
    other = tmp_path / "o.txt"
    other.write_text("One sentence only.\n", encoding="utf-8")
    assert add(corpus, "alpha", other, "-", input="First. Second. Third.\n").exit_code == 0
    result = run(["list", "--corpus", str(corpus)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["SLUG", "DATE", "CLAIM", "RESP"]
    assert lines[1].split()[:4] == ["alpha", "-", "1", "3"]
    assert lines[2].split()[:4] == ["beta", "2024-05-16", "2", "2"]
    assert "DOJ / KCNA" in lines[2] and "Second pair" in lines[2]
    data = json.loads(run(["list", "--corpus", str(corpus), "--format", "json"]).output)
    assert [d["slug"] for d in data] == ["alpha", "beta"]
    assert set(data[1]) == {"slug", "title", "claimant", "respondent", "date", "sources", "added",
                            "claim_sentences", "response_sentences"}
    assert data[1]["claim_sentences"] == 2 and data[1]["response_sentences"] == 2
    assert data[1]["claimant"] == "DOJ" and data[1]["sources"] == []


def test_list_shows_which_party_is_missing(docs, corpus):
    # Review finding: a pair with only a respondent listed "Norway MFA", read as the claimant.
    c, r = docs
    assert add(corpus, "one", c, r, "--respondent", "Norway MFA").exit_code == 0
    line = run(["list", "--corpus", str(corpus)]).output.splitlines()[1]
    assert "- / Norway MFA" in line


def test_list_empty_corpus(corpus):
    result = CliRunner().invoke(cli, ["list", "--corpus", str(corpus)])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no pairs" in result.stderr
    assert json.loads(run(["list", "--corpus", str(corpus), "--format", "json"]).output) == []


def test_list_uses_compare_corpus_env(docs, corpus, monkeypatch):
    c, r = docs
    monkeypatch.setenv("COMPARE_CORPUS", str(corpus))
    assert run(["add", "env-pair", "--claim", str(c), "--response", str(r)]).exit_code == 0
    assert (corpus / "env-pair").is_dir()
    assert "env-pair" in run(["list"]).output


def test_seed_corpus_lists():
    data = json.loads(run(["list", "--corpus", str(ROOT / "corpus"), "--format", "json"]).output)
    assert "dprk-it-workers" in [d["slug"] for d in data]


# --- fetching URLs from a local server -------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802
        route = self.routes.get(self.path)
        if route is None:
            self.send_error(404, "Not Found")
            return
        status, ctype, body, delay, send_length = route
        if status in (301, 302):
            self.send_response(status)
            self.send_header("Location", ctype)
            self.end_headers()
            return
        if delay:
            time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            if send_length:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    routes = {
        "/article.html": (200, "text/html; charset=utf-8", ARTICLE_HTML.encode(), 0, True),
        "/statement.txt": (200, "text/plain; charset=utf-8", RESPONSE.encode(), 0, True),
        "/latin1.txt": (200, "text/plain; charset=iso-8859-1", "Déclaration officielle.\n".encode("latin-1"), 0, True),
        "/empty.html": (200, "text/html", b"<html><head><script>var x = 1;</script></head><body></body></html>", 0, True),
        "/big.txt": (200, "text/plain", b"Word. " * 50_000, 0, True),
        "/big-unsized.txt": (200, "text/plain", b"Word. " * 50_000, 0, False),
        "/slow.txt": (200, "text/plain", RESPONSE.encode(), 3, True),
        "/image.png": (200, "image/png", b"\x89PNG\r\n\x1a\n\x00\x00", 0, True),
        "/moved": (302, "/statement.txt", b"", 0, True),
        "/to-file": (302, "file:///etc/passwd", b"", 0, True),
        "/to-ftp": (302, "ftp://127.0.0.1/x.txt", b"", 0, True),
    }
    handler = type("Handler", (_Handler,), {"routes": routes})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_add_html_article_from_url(server, docs, corpus):
    c, _ = docs
    url = server + "/article.html"
    result = add(corpus, "web", c, url, "--source", "https://example.org/claim")
    assert result.exit_code == 0, result.output
    pair = load_pair("web", corpus)
    assert "absurd smear campaign" in pair.response
    assert "sovereignty against such provocations" in pair.response
    assert "<p>" not in pair.response and "cookies" not in pair.response
    assert "All rights reserved" not in pair.response
    assert pair.sources == ["https://example.org/claim", url]
    # Review finding: the heading was read as the start of the first sentence.
    sentences = [x.text for x in segment(pair.response)]
    assert sentences[0] == "Spokesperson rejects the accusation"
    assert sentences[1].startswith("The spokesperson said the accusation")


def test_a_line_break_inside_a_fetched_paragraph_is_a_space():
    # Review finding: reading the extractor's plain text, a <br> became a paragraph break
    # and cut "made by the<br>United States Department ..." into two sentences.
    from compare.fetch import _extract_article

    html = ("<html><body><article><h1>Statement by the spokesperson</h1><p>The charges made by the"
            "<br>United States Department of Justice are <b>baseless</b>. We reject them.</p>"
            "<ul><li>First point.</li><li>Second point.</li></ul><p>We will talk &amp; listen.</p>"
            "</article></body></html>").encode()
    text = _extract_article(html, "utf-8", "page")
    assert [x.text for x in segment(text)] == [
        "Statement by the spokesperson",
        "The charges made by the United States Department of Justice are baseless.",
        "We reject them.",
        "- First point.",
        "- Second point.",
        "We will talk & listen.",
    ]


def test_add_plain_text_url(server, corpus):
    url = server + "/statement.txt"
    result = add(corpus, "plain", url, "-", input="A response.\n")
    assert result.exit_code == 0, result.output
    pair = load_pair("plain", corpus)
    assert pair.claim == RESPONSE
    assert pair.sources == [url]


def test_url_charset_is_honoured(server, docs, corpus):
    c, _ = docs
    assert add(corpus, "latin-url", c, server + "/latin1.txt").exit_code == 0
    assert load_pair("latin-url", corpus).response == "Déclaration officielle.\n"


def test_url_404_is_one_line(server, docs, corpus):
    c, _ = docs
    result = add(corpus, "missing", c, server + "/nope.html")
    assert result.exit_code == 1
    assert "HTTP 404" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (corpus / "missing").exists()


def test_page_without_article_text(server, docs, corpus):
    c, _ = docs
    result = add(corpus, "noarticle", c, server + "/empty.html")
    assert result.exit_code == 1
    assert "no article text" in result.output
    assert not (corpus / "noarticle").exists()


@pytest.mark.parametrize("path", ["/big.txt", "/big-unsized.txt"])
def test_too_large_response_is_refused(server, docs, corpus, monkeypatch, path):
    c, _ = docs
    monkeypatch.setenv("COMPARE_FETCH_MAX_BYTES", "100000")
    result = add(corpus, "big", c, server + path)
    assert result.exit_code == 1
    assert "too large" in result.output and "COMPARE_FETCH_MAX_BYTES" in result.output
    assert not (corpus / "big").exists()


def test_slow_server_times_out(server, docs, corpus, monkeypatch):
    c, _ = docs
    monkeypatch.setenv("COMPARE_FETCH_TIMEOUT", "0.3")
    start = time.monotonic()
    result = add(corpus, "slow", c, server + "/slow.txt")
    assert time.monotonic() - start < 2.5
    assert result.exit_code == 1
    assert "no answer within 0.3 s" in result.output
    assert not (corpus / "slow").exists()


@pytest.mark.parametrize("setting", ["soon", "nan", "inf", "-1"])
def test_bad_fetch_limit_setting(server, docs, corpus, monkeypatch, setting):
    c, _ = docs
    monkeypatch.setenv("COMPARE_FETCH_TIMEOUT", setting)
    result = add(corpus, "x", c, server + "/statement.txt")
    assert result.exit_code == 1 and "COMPARE_FETCH_TIMEOUT" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_non_text_content_type_is_refused(server, docs, corpus):
    c, _ = docs
    result = add(corpus, "img", c, server + "/image.png")
    assert result.exit_code == 1
    assert "image/png" in result.output


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x.txt", "gopher://x/"])
def test_non_http_schemes_are_refused(docs, corpus, url):
    c, _ = docs
    result = add(corpus, "scheme", c, url)
    assert result.exit_code == 1
    assert "only http:// and https://" in result.output


def test_redirects_are_followed_only_to_http(server, corpus):
    result = add(corpus, "moved", server + "/moved", "-", input="A response.\n")
    assert result.exit_code == 0, result.output
    assert load_pair("moved", corpus).claim == RESPONSE
    for path in ("/to-file", "/to-ftp"):
        result = add(corpus, "elsewhere", server + path, "-", input="A response.\n")
        assert result.exit_code == 1
        assert "non-http(s)" in result.output or "is not allowed" in result.output
        assert len(result.output.strip().splitlines()) == 1
    assert not (corpus / "elsewhere").exists()


def test_unreachable_host_is_one_line(docs, corpus, monkeypatch):
    c, _ = docs
    monkeypatch.setenv("COMPARE_FETCH_TIMEOUT", "2")
    # Port 9 on localhost: nothing listens there, the connection is refused at once.
    result = add(corpus, "down", c, "http://127.0.0.1:9/x.txt")
    assert result.exit_code == 1
    assert "cannot fetch response URL" in result.output
    assert "Traceback" not in result.output


# --- add stays light --------------------------------------------------------------


def test_add_does_not_import_torch(tmp_path, docs, server):
    c, r = docs
    code = (
        "import sys\n"
        "from compare.cli import cli\n"
        "try:\n"
        f"    cli(['add', 'light', '--claim', {str(c)!r}, '--response', {server + '/article.html'!r},"
        f" '--corpus', {str(tmp_path / 'corpus')!r}], prog_name='compare')\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    env = {**os.environ, "NO_PROXY": "127.0.0.1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout
    assert (tmp_path / "corpus" / "light" / "meta.json").exists()


@pytest.mark.parametrize("path", ["/body.txt", "/headers.txt"])
def test_trickling_server_is_cut_off_at_the_total_timeout(docs, corpus, monkeypatch, path):
    """Regression: resp.read(65536) waited for 64 KB, so 1 byte/s outlived the timeout."""
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")

    class Trickle(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path == "/headers.txt":  # the headers themselves never end
                self.wfile.write(b"HTTP/1.0 200 OK\r\nX-Slow: ")
            else:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "60")
                self.end_headers()
            try:
                for _ in range(60):  # 30 s at most, then the thread ends by itself
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        c, _ = docs
        monkeypatch.setenv("COMPARE_FETCH_TIMEOUT", "1")
        start = time.monotonic()
        result = add(corpus, "trickle", c, f"http://127.0.0.1:{httpd.server_address[1]}{path}")
        elapsed = time.monotonic() - start
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert elapsed < 10, elapsed
    assert result.exit_code == 1
    assert "no answer within 1 s" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (corpus / "trickle").exists()


# --- regressions: wide encodings, hand-edited meta.json, unknown slugs -------------


def test_utf16_accepted_with_encoding_despite_nul_bytes(tmp_path, docs, corpus):
    """Regression: the NUL-byte check ran before decoding, so --encoding utf-16 never worked."""
    c = tmp_path / "claim16.txt"
    c.write_bytes(CLAIM.encode("utf-16"))  # --encoding applies to both documents
    r = tmp_path / "utf16.txt"
    text = "Le porte-parole a déclaré que c'était faux.\n"
    r.write_bytes(text.encode("utf-16"))
    refused = add(corpus, "wide", c, r)
    assert refused.exit_code == 1
    assert "binary" in refused.output or "not valid utf-8" in refused.output
    assert not (corpus / "wide").exists()
    for enc in ("utf-16", "UTF16"):
        result = add(corpus, "wide", c, r, "--encoding", enc, "--force")
        assert result.exit_code == 0, result.output
        assert (corpus / "wide" / "response.txt").read_bytes().decode("utf-8") == text
        assert (corpus / "wide" / "claim.txt").read_bytes().decode("utf-8") == CLAIM
    c32, r32 = tmp_path / "c32.txt", tmp_path / "r32.txt"
    text32 = "Die Sprecherin wies die Vorwürfe zurück.\n"
    c32.write_bytes(CLAIM.encode("utf-32-le"))
    r32.write_bytes(text32.encode("utf-32-le"))
    result = add(corpus, "wide32", c32, r32, "--encoding", "utf-32-le")
    assert result.exit_code == 0, result.output
    assert (load_pair("wide32", corpus).claim, load_pair("wide32", corpus).response) == (CLAIM, text32)


def test_utf16_text_with_nul_characters_is_still_binary(tmp_path, docs, corpus):
    c = tmp_path / "claim16.txt"
    c.write_bytes(CLAIM.encode("utf-16"))
    r = tmp_path / "nul16.txt"
    r.write_bytes("Some text\x00\x00 with NULs inside.\n".encode("utf-16"))
    result = add(corpus, "nul16", c, r, "--encoding", "utf-16")
    assert result.exit_code == 1
    assert "binary" in result.output
    assert not (corpus / "nul16").exists()


def _hand_made_pair(corpus, slug, meta_text):
    folder = corpus / slug
    folder.mkdir(parents=True)
    (folder / "claim.txt").write_text("A claim.\n", encoding="utf-8")
    (folder / "response.txt").write_text("A response.\n", encoding="utf-8")
    (folder / "meta.json").write_text(meta_text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("meta_text, fragment", [
    ("[]", "must hold a JSON object"),
    ('"just a string"', "must hold a JSON object"),
    ("5", "must hold a JSON object"),
    ('{"sources": 5}', "'sources' must be a list"),
    ('{"sources": [1, 2]}', "'sources' must be a list"),
    ('{"title": {"a": 1}}', "'title' must be text"),
])
def test_meta_json_of_the_wrong_shape_is_one_clear_error(corpus, meta_text, fragment):
    """Regression: valid JSON that was not an object (or had wrong types) gave a traceback."""
    _hand_made_pair(corpus, "odd", meta_text)
    with pytest.raises(CompareError) as info:
        load_pair("odd", corpus)
    message = str(info.value)
    assert fragment in message and "meta.json" in message and "fix or remove it" in message
    result = run(["list", "--corpus", str(corpus)])
    assert "Traceback" not in result.output
    assert "skipped pair 'odd'" in result.output


def test_meta_json_nulls_are_empty_not_none(corpus):
    """Regression: {"title": null} was shown as "None"."""
    _hand_made_pair(corpus, "nulls", '{"title": null, "claimant": null, "date": null, "sources": null,'
                                     ' "added": null, "respondent": 7}')
    pair = load_pair("nulls", corpus)
    assert (pair.title, pair.claimant, pair.date, pair.added) == ("", "", "", "")
    assert pair.respondent == "7" and pair.sources == []
    result = run(["list", "--corpus", str(corpus)])
    assert result.exit_code == 0, result.output
    assert "None" not in result.output
    single = _hand_made_pair(corpus, "one-source", '{"sources": "https://example.org/a"}')
    assert load_pair(single.name, corpus).sources == ["https://example.org/a"]


def test_unknown_slug_is_reported_even_with_a_broken_pair(docs, corpus):
    """Regression: listing known slugs loaded every pair, so a broken one hid 'no pair'."""
    c, r = docs
    assert add(corpus, "good", c, r).exit_code == 0
    _hand_made_pair(corpus, "broken", "[")
    with pytest.raises(CompareError) as info:
        load_pair("nope", corpus)
    message = str(info.value)
    assert message.startswith("no pair 'nope'")
    assert "broken" in message and "good" in message
