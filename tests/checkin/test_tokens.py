"""The codes on the check-in screen: they rotate, expire, belong to one session and cannot be forged."""

import pytest

from participants.checkin import tokens


def refusal(code: str, session_id: int) -> tokens.CodeRefused:
    with pytest.raises(tokens.CodeRefused) as refused:
        tokens.read_code(code, session_id)
    return refused.value


def test_a_fresh_code_is_accepted_for_its_session():
    tokens.read_code(tokens.make_code(42), 42)


def test_the_code_is_short_enough_to_type():
    assert len(tokens.make_code(42)) <= 30


def test_the_code_stays_the_same_within_a_rotation_and_changes_after_it(settings, at):
    settings.PCP_CHECK_IN_ROTATE_SECONDS = 30
    at(0)
    now = tokens.time.time()
    into_window = now % 30
    at(-into_window)  # the first second of a window
    first = tokens.make_code(42)
    at(-into_window + 29)
    assert tokens.make_code(42) == first
    at(-into_window + 30)
    assert tokens.make_code(42) != first


def test_a_code_expires_after_its_validity(settings, at):
    settings.PCP_CHECK_IN_VALID_SECONDS = 60
    code = tokens.make_code(42)
    at(61)
    refused = refusal(code, 42)
    assert refused.code == "expired"
    assert "expired" in refused.message


def test_a_code_of_another_session_is_refused():
    refused = refusal(tokens.make_code(41), 42)
    assert refused.code == "other_session"
    assert "another session" in refused.message


@pytest.mark.parametrize("part", [0, 1, 2])
def test_a_tampered_code_is_refused_with_the_same_words_whatever_part_was_changed(part):
    pieces = tokens.make_code(42).split(".")
    pieces[part] = pieces[part][:-1] + ("A" if pieces[part][-1] != "A" else "B")
    refused = refusal(".".join(pieces), int(pieces[0]) if pieces[0].isdigit() else 42)
    assert refused.code == "invalid"
    assert refused.message == refusal("garbage", 42).message


def test_a_code_replayed_after_it_expired_is_refused_even_for_its_own_session(settings, at):
    settings.PCP_CHECK_IN_VALID_SECONDS = 60
    code = tokens.make_code(42)
    tokens.read_code(code, 42)
    at(120)
    assert refusal(code, 42).code == "expired"


def test_a_code_is_not_a_pass_and_a_pass_is_not_a_code():
    with pytest.raises(tokens.CodeRefused):
        tokens.read_pass(tokens.make_code(42), 42)
    assert refusal(tokens.make_pass(42), 42).code == "invalid"


def test_a_pass_lasts_long_enough_to_type_a_name_then_expires(settings, at):
    settings.PCP_CHECK_IN_PASS_SECONDS = 900
    issued = tokens.make_pass(42)
    at(600)
    tokens.read_pass(issued, 42)
    at(901)
    with pytest.raises(tokens.CodeRefused) as refused:
        tokens.read_pass(issued, 42)
    assert refused.value.code == "expired"
