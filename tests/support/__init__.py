"""Helpers shared by the test suites (server virtualenv, server subprocesses)."""
