"""Fixtures: the loopback provider server and an environment pointing every provider at it
(`support.loopback_fixtures`, shared with the streaming tests)."""

from support.loopback_fixtures import loopback, loopback_server, provider_env

__all__ = ["loopback", "loopback_server", "provider_env"]
