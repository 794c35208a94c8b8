"""Behaviour of the matcher: thresholds, abstention, evidence, context, JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from compare import decode, rhetoric
from compare.align import DEFAULT_THRESHOLD, align, lead_claim, match
from compare.evidence import lexical, terms
from compare.segment import Sentence

CLAIM = (
    "The agency seized 17 web domains used by the scheme. "
    "The company paid $5 million in fines to regulators. "
    "Investigators interviewed 31 former employees in Texas. "
    "The board approved the merger last spring."
)
RESPONSE = (
    "We never paid any fines to regulators.\n"
    "Lovely sunny weather, honestly.\n"
    "None of the 17 domains belonged to us."
)


def _sentences(texts):
    out, pos = [], 0
    for t in texts:
        out.append(Sentence(t, pos, pos + len(t)))
        pos += len(t) + 1
    return out


def _unit(rows):
    m = np.asarray(rows, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_links_follow_threshold_monotonically(fake_model):
    counts = []
    for t in (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0):
        a = match(CLAIM, RESPONSE, threshold=t)
        counts.append(sum(l.claim is not None for l in a.links))
        for link in a.links:
            assert (link.claim is not None) == (link.score >= t)
    assert counts == sorted(counts, reverse=True)
    assert counts[0] == 3 and counts[-1] == 0


def test_below_threshold_answers_none_and_unanswered_is_consistent(fake_model):
    a = match(CLAIM, RESPONSE)
    weather = a.links[1]
    assert weather.claim is None
    assert weather.score < DEFAULT_THRESHOLD
    answered = {l.claim for l in a.links if l.claim is not None}
    assert a.unanswered == [i for i in range(len(a.claims)) if i not in answered]
    for i in range(len(a.claims)):
        assert (i in a.unanswered) == (a.answered_by(i) == [])


def test_candidates_sorted_and_top_candidate_is_the_link(fake_model):
    a = match(CLAIM, RESPONSE)
    for link in a.links:
        scores = [c.score for c in link.candidates]
        assert scores == sorted(scores, reverse=True)
        assert len(link.candidates) == min(3, len(a.claims))
        assert link.score == pytest.approx(link.candidates[0].score)
        if link.claim is not None:
            assert link.claim == link.candidates[0].claim
        assert a.similarity[link.response, link.candidates[0].claim] == pytest.approx(link.score)
    assert a.similarity.shape == (len(a.responses), len(a.claims))
    assert ((a.similarity >= 0) & (a.similarity <= 1)).all()


def test_expected_links_on_a_small_pair(fake_model):
    a = match(CLAIM, RESPONSE)
    assert [l.claim for l in a.links] == [1, None, 0]
    assert a.unanswered == [2, 3]


def test_shared_rare_number_lifts_the_right_claim():
    # Two claims equally close in embedding space; only the response shares "412" with one.
    claims = _sentences(["Auditors found 412 unverified accounts.", "Auditors found many unverified accounts."])
    responses = _sentences(["The 412 figure is wrong."])
    cv = _unit([[1, 0, 0], [1, 0, 0]])
    rv = _unit([[1, 0.2, 0]])
    a = align(claims, responses, cv, rv, model="unit")
    assert a.links[0].candidates[0].claim == 0
    assert "412" in a.links[0].evidence["shared_terms"]
    assert a.links[0].evidence["specific"] > 0


def test_terms_mark_numbers_acronyms_and_names_as_specific():
    t = terms('The FBI said Mr. Ortega sold 1,200 units, calling it "a grave violation".')
    assert {"1200", "fbi", "ortega"} <= t.specific
    assert "“grave violation”" in t.specific
    assert "said" not in t.words  # a function word
    lex = lexical(["The FBI seized 17 domains."], ["The FBI lied.", "We lied."])
    assert lex.overlap[0, 0] > lex.overlap[1, 0] == 0
    assert lex.shared[0][0] == ["fbi"]


def test_context_carries_a_claim_through_a_paragraph():
    # Sentence 1 has no evidence of its own; its paragraph neighbour answers claim 1.
    claims = _sentences(["Claim about alpha.", "Claim about beta.", "Claim about gamma."])
    responses = _sentences(["About beta.", "More on that.", "About alpha.", "About gamma."])
    cv = _unit([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
    rv = _unit([[0.05, 1, 0, 0.2], [0, 0, 0, 1], [1, 0.05, 0, 0.2], [0, 0.05, 1, 0.2]])
    flat = align(claims, responses, cv, rv, model="unit", paragraph_starts=[True, True, True, True])
    para = align(claims, responses, cv, rv, model="unit", paragraph_starts=[True, False, True, True])
    # Alone, sentence 1 is a toss-up; inside beta's paragraph it leans to beta.
    assert para.links[1].evidence["context"] > flat.links[1].evidence["context"]
    assert para.links[1].candidates[0].claim == 1
    # Strong evidence elsewhere is not overridden.
    assert [para.links[i].candidates[0].claim for i in (0, 2, 3)] == [1, 0, 2]


def test_transitions_and_posterior_are_distributions():
    t = decode.transitions(5, stay=0.6, forward=0.3, reach=1.0)
    assert np.allclose(t.sum(axis=1), 1) and (t > 0).all()
    assert t[1, 1] > t[1, 2] > t[1, 4] > 0 and t[1, 2] > t[1, 0]
    emission = decode.softmax(np.random.default_rng(0).normal(size=(6, 5)))
    post, ll = decode.posterior(emission, t, loglik=True)
    assert np.allclose(post.sum(axis=1), 1) and np.isfinite(ll)
    # Independent (uniform) transitions give back the emission itself.
    flat = decode.posterior(emission, np.full((5, 5), 0.2))
    assert np.allclose(flat, emission)


def test_evidence_is_in_the_json_and_small(fake_model):
    data = json.loads(json.dumps(match(CLAIM, RESPONSE).to_dict()))
    assert set(data) >= {"model", "threshold", "claims", "responses", "links", "unanswered"}
    for link in data["links"]:
        ev = link["evidence"]
        assert {"cosine", "lexical", "shared_terms", "context", "order"} <= set(ev)
        assert len(ev["shared_terms"]) <= 5
        assert set(link) >= {"response", "claim", "score", "relation", "candidates"}
    assert "fine" in data["links"][0]["evidence"]["shared_terms"]
    moves = {m for _, m, _ in rhetoric.prototypes()}
    assert all(link["evidence"]["move"] in moves for link in data["links"])
    assert all("denial_cue" in link["evidence"] for link in data["links"])


def test_evidence_names_the_denial_cue_and_the_move():
    claims = _sentences(["The agency seized 17 domains.", "The company paid fines."])
    responses = _sentences(["The story about fines is a sheer fabrication.", "They will regret this provocation."])
    cv = _unit([[1, 0, 0], [0, 1, 0]])
    rv = _unit([[0.1, 1, 0.2], [0.3, 0.6, 0.5]])
    a = align(claims, responses, cv, rv, model="unit", rhetoric=np.array([[0.4, 0.1], [0.4, 0.1]]),
              moves=["motive-attack", "threat-warning"])
    assert a.links[0].evidence["denial_cue"] == "fabrication"
    assert a.links[1].evidence["denial_cue"] is None
    assert [l.evidence["move"] for l in a.links] == ["motive-attack", "threat-warning"]
    plain = align(claims, responses, cv, rv, model="unit")
    assert "move" not in plain.links[0].evidence
    assert plain.links[0].evidence["denial_cue"] == "fabrication"  # text only: no prototypes needed


def test_a_general_denial_answers_the_lead_claim():
    # "We have never cheated anybody" shares no word with any claim: in a document not
    # answered in order, a denial like that answers the central (first) accusation.
    claims = _sentences(["The company deceived its investors about its revenue for years.", "Its finance chief sold shares in May.",
                         "The auditor resigned in June."])
    cv = _unit([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    rv = _unit([[0.55, 0.1, 0.6]])
    denial = align(claims, _sentences(["We have never cheated anybody."]), cv, rv, model="unit")
    other = align(claims, _sentences(["We regret the delay."]), cv, rv, model="unit")
    assert denial.links[0].candidates[0].claim == 0
    assert other.links[0].candidates[0].claim == 2
    assert denial.links[0].evidence["lead_denial"] > 1  # the evidence says why
    assert "lead_denial" not in other.links[0].evidence
    # A byline pasted above the story is not the lead.
    bylined = _sentences(["By Jane Doe, Reuters", *[c.text for c in claims]])
    cv4 = _unit([[0, 0, 0.1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert lead_claim([c.text for c in bylined]) == 1
    assert align(bylined, _sentences(["We have never cheated anybody."]), cv4, rv,
                 model="unit").links[0].candidates[0].claim == 1
    # ...but not when the denial names what it answers (shared words outweigh the prior).
    named = align(claims, _sentences(["The auditor has never resigned."]), cv, rv, model="unit")
    assert named.links[0].candidates[0].claim == 2


def test_empty_sides_are_handled_purely():
    claims = _sentences(["Only claim."])
    a = align(claims, [], np.zeros((1, 3)), np.zeros((0, 3)), model="unit")
    assert a.links == [] and a.unanswered == [0]


@pytest.mark.model
def test_real_model_matches_the_seed_rebuttal(seed_pair):
    from compare.segment import segment

    result = match(seed_pair["claim"], seed_pair["response"])
    target = next(l for l in seed_pair["links"] if "lambasted the U.S. judicial system" in l["response"])
    accepted = set()
    for anchor in target["claims"]:
        mid = seed_pair["claim"].index(anchor) + len(anchor) // 2
        accepted |= {i for i, s in enumerate(result.claims) if s.start <= mid < s.end}
    response_index = next(
        i for i, s in enumerate(result.responses) if "lambasted the U.S. judicial system" in s.text
    )
    assert result.links[response_index].claim in accepted
    assert segment(seed_pair["claim"])  # the shared data is readable with the current segmenter


def test_rhetoric_prototypes_cover_both_kinds_of_moves():
    from compare import rhetoric

    protos = rhetoric.prototypes()
    moves = {}
    for kind, move, sentence in protos:
        moves.setdefault((kind, move), []).append(sentence)
        assert sentence and not sentence.startswith("#")
    kinds = {k for k, _ in moves}
    assert kinds == {"none", "answer"}
    assert {m for k, m in moves if k == "answer"} >= {"denial", "correction", "justification", "concession"}
    assert {m for k, m in moves if k == "none"} >= {"counter-accusation", "threat-warning", "procedure-legal"}
    assert all(len(s) >= 8 for s in moves.values())


def test_every_move_that_answers_nothing_reads_in_words():
    from compare import rhetoric
    from compare.textview import MOVE_LABELS

    none_moves = {move for kind, move, _ in rhetoric.prototypes() if kind == "none"}
    assert none_moves and none_moves <= set(MOVE_LABELS)


def test_prototype_closeness_cancels_the_general_similarity_level():
    from compare.rhetoric import Prototypes

    p = Prototypes(_unit([[1, 0, 0], [0, 1, 0], [0, 0, 1]]).astype(np.float64), ("none", "answer", "answer"), ("a", "b", "c"))
    out = p.best(_unit([[1, 0.1, 0.1], [0.1, 1, 0.1]]))
    assert out.shape == (2, 2)
    assert out[0, 0] > out[0, 1] and out[1, 1] > out[1, 0]
    # A uniform rise of every prototype cosine changes nothing.
    assert np.allclose(p.best(_unit([[1, 1, 1]])), 0)


def _rhetoric_pair(rhetoric):
    claims = _sentences(["The agency seized 17 domains.", "The company paid fines."])
    responses = _sentences(["We never paid fines.", "They will regret this provocation."])
    cv = _unit([[1, 0, 0], [0, 1, 0]])
    rv = _unit([[0.1, 1, 0.2], [0.3, 0.6, 0.5]])
    return align(claims, responses, cv, rv, model="unit", rhetoric=rhetoric)


def test_a_none_leaning_move_only_lowers_the_score():
    plain = _rhetoric_pair(None)
    answer_like = _rhetoric_pair(np.array([[0.1, 0.3], [0.1, 0.3]]))
    threat_like = _rhetoric_pair(np.array([[0.1, 0.3], [0.4, 0.1]]))
    # Leaning to an answering move is no evidence for linking: the clipped lean is 0.
    assert [l.score for l in answer_like.links] == pytest.approx([l.score for l in plain.links])
    assert threat_like.links[0].score == pytest.approx(plain.links[0].score)
    assert threat_like.links[1].score < plain.links[1].score
    assert threat_like.links[1].evidence["none_lean"] == pytest.approx(0.3)
    # The chosen claim never depends on the rhetoric, only whether it is kept.
    assert [l.candidates[0].claim for l in threat_like.links] == [l.candidates[0].claim for l in plain.links]


def test_denial_cues_mark_falsity_and_past_never_only():
    from compare.rhetoric import denial_cue

    texts = [
        "The charges are a sheer fabrication.",
        "These claims are baseless and without merit.",
        "Our company has never paid a bribe.",
        "We have nothing to do with the attack.",
        "No one will believe the absurd story about our hackers.",
        "They can never stop our progress.",  # a vow, not a denial
        "We will not comment on ongoing proceedings.",  # plain negation is no cue
        "Thank you for your support.",
    ]
    assert [denial_cue(t) is not None for t in texts] == [True, True, True, True, True, False, False, False]


def test_denial_cue_exceptions_and_spelling_variants():
    from compare.rhetoric import cue_pattern, denial_cue

    assert denial_cue("We are denying every word of it.") == "denying"
    assert denial_cue("The story is a made-up tale.") == "made-up"
    assert denial_cue("A denial-of-service attack took the site down.") is None  # regression
    assert denial_cue("A distributed denial of service attack; we deny it.") == "deny"
    with pytest.raises(ValueError):
        cue_pattern(["*"])  # would match every sentence


def test_a_denial_cue_cancels_the_lean():
    claims = _sentences(["The agency seized 17 domains.", "The company paid fines."])
    responses = _sentences(["The story about fines is a fabrication.", "They will regret this provocation."])
    cv = _unit([[1, 0, 0], [0, 1, 0]])
    rv = _unit([[0.1, 1, 0.2], [0.3, 0.6, 0.5]])
    leaning = np.array([[0.4, 0.1], [0.4, 0.1]])
    result = align(claims, responses, cv, rv, model="unit", rhetoric=leaning)
    plain = align(claims, responses, cv, rv, model="unit", rhetoric=None)
    assert result.links[0].evidence["none_lean"] == 0
    assert result.links[0].score == pytest.approx(plain.links[0].score)
    assert result.links[1].score < plain.links[1].score


def test_match_embeds_the_prototypes_once_per_embedder(fake_model):
    from compare import rhetoric
    from compare.embed import open_embedder

    embedder = open_embedder()
    match(CLAIM, RESPONSE, embedder=embedder)
    n = len(rhetoric.prototypes())
    assert len(fake_model.calls) == 1 and len(fake_model.calls[0]) >= n
    calls = len(fake_model.calls)
    a = match(CLAIM, "A brand new sentence about fines.", embedder=embedder)
    assert [len(c) for c in fake_model.calls[calls:]] == [1]  # only the new sentence
    assert "none_lean" in a.links[0].evidence


def test_opening_paragraph_penalty_follows_the_sequence_weight(monkeypatch):
    from compare import align as A

    claims = ["Summary of the paper.", "Point about alpha.", "Point about beta."]
    responses = ["About alpha.", "About beta.", "More on beta."]
    cv = _unit([[1, 0.3, 0.3], [0.3, 1, 0], [0.3, 0, 1]])
    rv = _unit([[0.5, 1, 0.1], [0.5, 0.1, 1], [0.4, 0.1, 1]])

    def run(penalty, claim_paras):
        monkeypatch.setattr(A, "OPENING_PENALTY", penalty)
        return A.analyse(claims, responses, cv, rv, [True, False, False], claim_paras)

    off, on = run(0.0, [True, True, False]), run(2.0, [True, True, False])
    factor = np.exp(-2.0 * on.sequence_weight)
    ratio_off = off.context[:, 0] / off.context[:, 1]
    assert np.allclose(on.context[:, 0] / on.context[:, 1], ratio_off * factor)
    assert np.allclose(on.context.sum(axis=1), 1)
    # The abstention evidence (context gain of the chosen claim) is taken before the penalty.
    same = on.best == off.best
    assert np.allclose(on.link_features[same, 0], off.link_features[same, 0])
    # A claim document that is a single paragraph gets no penalty at all.
    assert np.allclose(run(2.0, [True, False, False]).context, run(0.0, [True, False, False]).context)


def test_a_response_on_one_line_counts_each_sentence_as_its_own_paragraph(fake_model):
    from compare.align import paragraph_starts
    from compare.segment import segment

    one_line = "We never paid fines. The domains were not ours. Nobody in Texas was interviewed."
    sentences = segment(one_line)
    assert paragraph_starts(one_line, sentences) == [True, False, False]  # claims: one paragraph
    assert paragraph_starts(one_line, sentences, one_line_unknown=True) == [True, True, True]
    broken = "We never paid fines. The domains were not ours.\nNobody in Texas was interviewed."
    assert paragraph_starts(broken, segment(broken), one_line_unknown=True) == [True, False, True]
    # match() reads a one-line response exactly as the same sentences on lines of their own.
    a = match(CLAIM, one_line)
    b = match(CLAIM, one_line.replace(". ", ".\n"))
    assert [(l.claim, l.score) for l in a.links] == [(l.claim, l.score) for l in b.links]


def test_the_tuned_cosine_is_a_sixth_feature_that_can_decide_the_claim():
    # Two claims the plain evidence cannot tell apart (same vector, same words); only the
    # tuned model's cosine separates them, so it alone picks the claim, either way round.
    claims = _sentences(["Auditors found unverified accounts.", "Auditors found unverified accounts again."])
    responses = _sentences(["The accounts were verified."])
    cv, rv = _unit([[1, 0, 0], [1, 0, 0]]), _unit([[1, 0.3, 0]])
    assert decode.pair_features(rv @ cv.T, np.zeros((1, 2)), np.zeros((1, 2))).shape[-1] == len(decode.FEATURES)
    for favoured in (0, 1):
        tuned = np.array([[0.2, 0.2]])
        tuned[0, favoured] = 0.8
        a = align(claims, responses, cv, rv, model="unit", tuned_similarity=tuned)
        assert a.links[0].candidates[0].claim == favoured
        assert a.links[0].evidence["tuned_cosine"] == 0.8
        assert a.links[0].evidence["tuned_cosine_z"] > 0
    plain = align(claims, responses, cv, rv, model="unit")
    assert "tuned_cosine" not in plain.links[0].evidence


def test_a_tuned_similarity_of_the_wrong_shape_is_refused():
    claims = _sentences(["One claim.", "Another claim."])
    responses = _sentences(["An answer."])
    with pytest.raises(ValueError, match="tuned_similarity"):
        align(claims, responses, _unit([[1, 0], [0, 1]]), _unit([[1, 1]]), model="unit",
              tuned_similarity=np.zeros((2, 1)))


def test_match_asks_the_embedder_for_its_tuned_companion(monkeypatch):
    from tests.conftest import FakeModel
    from compare import embed

    class Tuned(FakeModel):
        name = "fake-tuned"

    base, tuned = FakeModel(), Tuned(dim=32)
    combined = embed.CombinedModel((base,), (1.0,), "fake-default", tuned=tuned)
    embedder = embed.Embedder(combined, None, progress=False)
    a = match(CLAIM, RESPONSE, embedder=embedder)
    assert tuned.calls and tuned.calls[0][: 4] == [s.text for s in a.claims]
    assert all("tuned_cosine" in link.evidence for link in a.links)
    assert a.model == "fake-default" and a.tuned_model == "fake-tuned"
    assert a.to_dict()["tuned_model"] == "fake-tuned"
    assert a.model_label == "fake-default with fake-tuned"  # what the text view and report show
    alone = match(CLAIM, RESPONSE, embedder=embed.Embedder(base, None, progress=False))
    assert all("tuned_cosine" not in link.evidence for link in alone.links)
    assert alone.tuned_model is None and alone.to_dict()["tuned_model"] is None
    assert alone.model_label == "fake-bow"


def test_the_tuned_constants_apply_only_with_a_tuned_similarity(monkeypatch):
    # Review finding: nothing noticed if the tuned path used the plain abstention constants.
    from compare import align as A

    claims = _sentences(["Auditors found unverified accounts.", "The board met in May."])
    responses = _sentences(["The accounts were verified."])
    cv, rv = _unit([[1, 0, 0], [0, 1, 0]]), _unit([[1, 0.3, 0]])
    tuned = np.array([[0.7, 0.1]])

    def scores():
        plain = align(claims, responses, cv, rv, model="unit").links[0].score
        with_tuned = align(claims, responses, cv, rv, model="unit", tuned_similarity=tuned).links[0].score
        return plain, with_tuned

    before = scores()
    monkeypatch.setattr(A, "TUNED_LINK_BIAS", A.TUNED_LINK_BIAS - 3.0)
    after = scores()
    assert after[0] == before[0] and after[1] < before[1]
    monkeypatch.setattr(A, "LINK_BIAS", A.LINK_BIAS - 3.0)
    assert scores()[0] < before[0] and scores()[1] == after[1]
