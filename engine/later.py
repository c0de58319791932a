"""Mappings whose keys are known now and whose values a thread is still
working out.

Hashing input files and writing credit tables take a core each for
seconds on a large ledger, and hold no lock of the interpreter's, so a
run starts them early and reads their results only when it stores them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping


class Later(Mapping[str, str]):
    """The mapping ``work()`` returns, for ``keys``, computed on a thread
    started now. Asking which keys it has does not wait; reading a value
    waits for the thread and raises what the thread raised. The
    interpreter waits at exit for a thread that is not a ``daemon``."""

    def __init__(self, work: Callable[[], Mapping[str, str]],
                 keys: Iterable[str], name: str, daemon: bool = True):
        self._work = work
        self._keys = list(dict.fromkeys(keys))
        self._found: dict[str, str] = {}
        self._failed: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, name=f"attain-{name}", daemon=daemon
        )
        self._thread.start()

    def _run(self) -> None:
        try:
            self._found = dict(self._work())
        except BaseException as exc:
            self._failed.append(exc)

    def __getitem__(self, key: str) -> str:
        if key not in self._keys:
            raise KeyError(key)
        self._thread.join()
        if self._failed:
            raise self._failed[0]
        return self._found[key]

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)
