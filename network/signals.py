"""How a lower area tells the areas above it that something happened, without importing them.

An area publishes a `Signal` and sends it in the caller's transaction; an area above connects a
receiver when its package is imported (its `__init__.py`). `network/models.py` imports every
area's models, and so every area's package, before any work is done (the app, the simulator and
the tests all load it), so every receiver is in place. Sending a signal nobody receives raises:
a missed reaction would be a silent behaviour change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Signal:
    def __init__(self, name: str) -> None:
        self.name = name
        self._receivers: list[Callable[..., None]] = []

    def connect(self, receiver: Callable[..., None]) -> Callable[..., None]:
        """Call `receiver` on every send (once, however often it connects); usable as a decorator."""
        if receiver not in self._receivers:
            self._receivers.append(receiver)
        return receiver

    def send(self, *args: Any, **kwargs: Any) -> None:
        """Call every receiver, in the order they connected. Raises RuntimeError if there is none."""
        if not self._receivers:
            raise RuntimeError(f"nobody receives {self.name}: the area above was not imported")
        for receiver in self._receivers:
            receiver(*args, **kwargs)
