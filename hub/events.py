"""A tiny in-process publish/subscribe: services announce what changed, other modules react, and no
service imports (or starts work in) the module that reacts. E.g. hub.settings publishes
"settings.changed"; hub.flags subscribes and marks every case's flags stale for the worker."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

_subscribers: dict[str, list[Callable[..., Any]]] = defaultdict(list)


def subscribe(topic: str, handler: Callable[..., Any]) -> None:
    """Call handler(**payload) on every publish of topic (once per handler, however often subscribed)."""
    if handler not in _subscribers[topic]:
        _subscribers[topic].append(handler)


def publish(topic: str, **payload: Any) -> None:
    """Call the topic's handlers in order of subscription, in the caller's thread."""
    for handler in list(_subscribers.get(topic, ())):
        handler(**payload)
