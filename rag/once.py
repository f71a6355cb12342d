"""``load_once``: a cache for loaders of heavy things (models, clients) that are asked for from
several threads at once, such as the UI's warm-up and a question typed the moment the page
appears. ``functools.lru_cache`` alone lets both threads load; here the second waits for the
first and gets its result.

>>> calls = []
>>> @load_once(maxsize=2)
... def load(name):
...     calls.append(name)
...     return name.upper()
>>> load("a"), load("a"), calls
('A', 'A', ['a'])
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def load_once(maxsize: int | None = None) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        cached = lru_cache(maxsize=maxsize)(fn)
        lock = threading.RLock()

        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return cached(*args, **kwargs)

        wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
