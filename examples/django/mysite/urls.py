from __future__ import annotations

from django.urls import path
from mcptools import views

urlpatterns = [
    path("tools/", views.list_tools, name="list-tools"),
    path("add/", views.add, name="add"),
]
