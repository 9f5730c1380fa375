"""The loopback server's fixtures (`support.loopback_fixtures`) for the streaming tests."""

from support.loopback_fixtures import loopback, loopback_server, provider_env

__all__ = ["loopback", "loopback_server", "provider_env"]
