"""Fixtures for the OAuth tests: the scripted world of ``support.oauth_world`` behind `responses`."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
import responses
from support.oauth_world import REDIRECT_URI, World

from mcp_sync.oauth import OAuth


@pytest.fixture
def world():
    """The scripted OAuth world, live for the duration of the test."""
    scripted = World()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in (responses.GET, responses.POST, responses.DELETE, responses.PUT):
            mock.add_callback(
                method, re.compile(r"https?://.*"), callback=scripted.on_request, content_type=None
            )
        yield scripted


@pytest.fixture
def make_oauth(world):
    """Builds OAuth objects that sign in through the world's headless redirect handler."""

    def make(**options: Any) -> OAuth:
        options.setdefault("redirect_handler", world.handler)
        options.setdefault("redirect_uri", REDIRECT_URI)
        return OAuth(**options)

    return make


@pytest.fixture
def session():
    """A plain requests session, closed after the test."""
    with requests.Session() as http:
        yield http
