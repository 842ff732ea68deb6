"""Result types of 2026-07-28, and multi round-trip requests (``input_required``)."""

from __future__ import annotations

from typing import Any

import pytest

import mcp_sync

ELICIT_PARAMS = {
    "message": "Which region?",
    "requestedSchema": {"type": "object", "properties": {"region": {"type": "string"}}},
}
ELICIT_ANSWER = {"action": "accept", "content": {"region": "eu-north1"}}
SAMPLING_PARAMS = {
    "messages": [{"role": "user", "content": {"type": "text", "text": "Say hi"}}],
    "maxTokens": 10,
}
SAMPLING_ANSWER = {
    "role": "assistant",
    "content": {"type": "text", "text": "hi"},
    "model": "scripted-model",
    "stopReason": "endTurn",
}


def _elicit(params: dict[str, Any] = ELICIT_PARAMS) -> dict[str, Any]:
    return {"method": "elicitation/create", "params": params}


class Recorder:
    """A handler that records what it was called with and answers ``answer``."""

    def __init__(self, answer: Any):
        self.answer = answer
        self.calls: list[dict[str, Any]] = []

    def __call__(self, params: dict[str, Any]) -> Any:
        self.calls.append(params)
        return self.answer


# --- resultType -----------------------------------------------------------------------------


def test_result_without_result_type_is_treated_as_complete(server, client):
    server.script("tools/call", {"content": [{"type": "text", "text": "plain"}]})

    result = client.call_tool("echo", {"text": "x"})

    assert result.content[0].text == "plain"
    assert len(server.posts("tools/call")) == 1


def test_complete_result_type_is_returned(server, client):
    result = client.call_tool("echo", {"text": "x"})

    assert result.content[0].text == "x"


def test_unknown_result_type_raises_protocol_error(server, client):
    server.script("tools/call", {"resultType": "something_else", "content": []})

    with pytest.raises(mcp_sync.ProtocolError):
        client.call_tool("echo", {"text": "x"})


def test_a_result_over_max_message_size_raises_message_too_large(server, make_client):
    client = make_client(max_message_size=4096).connect()
    server.script("tools/call", server.text_result("x" * 5000), server.text_result("small"))

    with pytest.raises(mcp_sync.MessageTooLarge):
        client.call_tool("echo", {"text": "x"})
    assert client.call_tool("echo", {"text": "x"}).text == "small"


def test_input_required_on_a_list_request_raises_protocol_error(server, client):
    server.script("tools/list", server.input_required({"ask": _elicit()}, "s"))

    with pytest.raises(mcp_sync.ProtocolError):
        client.list_tools()


# --- input rounds ---------------------------------------------------------------------------


@pytest.fixture
def elicitation():
    return Recorder(ELICIT_ANSWER)


@pytest.fixture
def elicit_client(make_client, elicitation):
    return make_client(elicitation_handler=elicitation).connect()


def test_elicitation_input_request_calls_the_elicitation_handler_with_its_params(
    server, elicit_client, elicitation
):
    server.script("tools/call", server.input_required({"region": _elicit()}, "opaque-1"))

    elicit_client.call_tool("deploy", {})

    assert elicitation.calls == [ELICIT_PARAMS]


def test_input_round_is_retried_with_a_new_request_id(server, elicit_client):
    server.script("tools/call", server.input_required({"region": _elicit()}, "opaque-1"))

    elicit_client.call_tool("deploy", {})

    first, retry = server.posts("tools/call")
    assert retry.id != first.id


def test_input_round_retry_carries_the_handler_results_as_input_responses(server, elicit_client):
    server.script("tools/call", server.input_required({"region": _elicit()}, "opaque-1"))

    elicit_client.call_tool("deploy", {})

    first, retry = server.posts("tools/call")
    assert "inputResponses" not in first.params
    assert retry.params["inputResponses"] == {"region": ELICIT_ANSWER}


def test_input_round_retry_echoes_the_request_state(server, elicit_client):
    server.script("tools/call", server.input_required({"region": _elicit()}, "opaque-1"))

    elicit_client.call_tool("deploy", {})

    first, retry = server.posts("tools/call")
    assert "requestState" not in first.params
    assert retry.params["requestState"] == "opaque-1"


def test_input_round_retry_repeats_the_original_params(server, elicit_client):
    server.script("tools/call", server.input_required({"region": _elicit()}, "opaque-1"))

    elicit_client.call_tool("deploy", {"replicas": 2})

    first, retry = server.posts("tools/call")
    assert retry.params["name"] == first.params["name"] == "deploy"
    assert retry.params["arguments"] == first.params["arguments"] == {"replicas": 2}
    assert retry.headers.get("Mcp-Name") == "deploy"
    assert retry.meta == first.meta


def test_input_round_returns_the_final_result(server, elicit_client):
    server.script(
        "tools/call",
        server.input_required({"region": _elicit()}, "opaque-1"),
        server.text_result("deployed to eu-north1"),
    )

    result = elicit_client.call_tool("deploy", {})

    assert result.content[0].text == "deployed to eu-north1"


def test_input_required_without_request_state_retries_without_request_state(server, elicit_client):
    server.script("tools/call", server.input_required({"region": _elicit()}))

    elicit_client.call_tool("deploy", {})

    _, retry = server.posts("tools/call")
    assert "requestState" not in retry.params
    assert retry.params["inputResponses"] == {"region": ELICIT_ANSWER}


def test_each_round_carries_only_its_own_request_state(server, elicit_client):
    server.script(
        "tools/call",
        server.input_required({"a": _elicit()}, "state-1"),
        server.input_required({"b": _elicit()}),
    )

    elicit_client.call_tool("deploy", {})

    _, second, third = server.posts("tools/call")
    assert second.params["requestState"] == "state-1"
    assert "requestState" not in third.params
    assert third.params["inputResponses"] == {"b": ELICIT_ANSWER}


def test_sampling_input_request_goes_to_the_sampling_handler(server, make_client):
    sampling = Recorder(SAMPLING_ANSWER)
    client = make_client(sampling_handler=sampling).connect()
    server.script(
        "tools/call",
        server.input_required(
            {"draft": {"method": "sampling/createMessage", "params": SAMPLING_PARAMS}}, "s"
        ),
    )

    client.call_tool("write", {})

    assert sampling.calls == [SAMPLING_PARAMS]
    _, retry = server.posts("tools/call")
    assert retry.params["inputResponses"] == {"draft": SAMPLING_ANSWER}


def test_roots_input_request_is_answered_with_the_roots(server, make_client):
    client = make_client(roots=["file:///srv/project"]).connect()
    server.script("tools/call", server.input_required({"where": {"method": "roots/list"}}, "s"))

    client.call_tool("scan", {})

    _, retry = server.posts("tools/call")
    assert retry.params["inputResponses"] == {"where": {"roots": [{"uri": "file:///srv/project"}]}}


def test_several_input_requests_in_one_round_are_all_answered(server, make_client):
    sampling = Recorder(SAMPLING_ANSWER)
    elicitation = Recorder(ELICIT_ANSWER)
    client = make_client(
        sampling_handler=sampling, elicitation_handler=elicitation, roots=["file:///w"]
    ).connect()
    server.script(
        "tools/call",
        server.input_required(
            {
                "e": _elicit(),
                "s": {"method": "sampling/createMessage", "params": SAMPLING_PARAMS},
                "r": {"method": "roots/list"},
            },
            "s",
        ),
    )

    client.call_tool("all", {})

    _, retry = server.posts("tools/call")
    assert retry.params["inputResponses"] == {
        "e": ELICIT_ANSWER,
        "s": SAMPLING_ANSWER,
        "r": {"roots": [{"uri": "file:///w"}]},
    }


def test_input_required_on_resources_read_is_answered(server, elicit_client, elicitation):
    server.script("resources/read", server.input_required({"ok": _elicit()}, "r-1"))

    result = elicit_client.read_resource("file:///secret.txt")

    assert result.contents[0].text == "contents of file:///secret.txt"
    _, retry = server.posts("resources/read")
    assert retry.params["requestState"] == "r-1"
    assert retry.headers.get("Mcp-Name") == "file:///secret.txt"


def test_input_required_on_prompts_get_is_answered(server, elicit_client):
    server.script("prompts/get", server.input_required({"ok": _elicit()}, "p-1"))

    elicit_client.get_prompt("greeting")

    _, retry = server.posts("prompts/get")
    assert retry.params["inputResponses"] == {"ok": ELICIT_ANSWER}


def test_more_input_rounds_than_max_input_rounds_raise_protocol_error(server, make_client):
    client = make_client(elicitation_handler=Recorder(ELICIT_ANSWER), max_input_rounds=2).connect()
    server.on("tools/call", lambda seen: server.input_required({"again": _elicit()}, "loop"))

    with pytest.raises(mcp_sync.ProtocolError):
        client.call_tool("endless", {})

    assert len(server.posts("tools/call")) == 3  # the first request and two answered rounds


def test_max_input_rounds_allows_exactly_that_many_rounds(server, make_client):
    client = make_client(elicitation_handler=Recorder(ELICIT_ANSWER), max_input_rounds=2).connect()
    server.script(
        "tools/call",
        server.input_required({"a": _elicit()}, "1"),
        server.input_required({"b": _elicit()}, "2"),
    )

    result = client.call_tool("two-rounds", {})

    assert result.content[0].text == "called two-rounds"


def test_input_request_without_a_handler_raises_missing_handler_error(server, client):
    server.script("tools/call", server.input_required({"region": _elicit()}, "s"))

    with pytest.raises(mcp_sync.MissingHandlerError) as info:
        client.call_tool("deploy", {})

    assert info.value.capability == "elicitation"
    assert "elicitation" in str(info.value)
    assert len(server.posts("tools/call")) == 1


def test_sampling_input_request_without_a_handler_names_sampling(server, client):
    server.script(
        "tools/call",
        server.input_required(
            {"draft": {"method": "sampling/createMessage", "params": SAMPLING_PARAMS}}
        ),
    )

    with pytest.raises(mcp_sync.MissingHandlerError) as info:
        client.call_tool("write", {})

    assert info.value.capability == "sampling"
