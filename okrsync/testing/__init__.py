"""Testing aids for the core and for connector packages.

- :class:`InMemoryConnector`: the connector protocol's reference behaviour, in memory.
- :class:`Driver` and :class:`Capability`: what a connector package provides so the
  connector contract suite (:mod:`okrsync.testing.contract`, which needs pytest)
  runs against its connector.

Importing this package does not import pytest.
"""

from __future__ import annotations

from okrsync.testing.driver import Capability, Driver
from okrsync.testing.memory import InMemoryConnector

__all__ = ["Capability", "Driver", "InMemoryConnector"]
