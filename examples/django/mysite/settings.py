"""Settings of the example site: just enough Django to serve two JSON views.

Run it against the demo server of ``mcp-sync demo --serve`` (which takes port 8000):

    MCP_SERVER_URL=http://127.0.0.1:8000/mcp python manage.py runserver 8001
"""

from __future__ import annotations

import os
from typing import Any

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure: for this example only")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = ["mcptools"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "mysite.urls"
DATABASES: dict[str, Any] = {}
USE_TZ = True

# The MCP server the views talk to; read when the client is first needed.
MCP_SERVER_URL = os.environ.get("MCP_SERVER_URL", "http://127.0.0.1:8000/mcp")
