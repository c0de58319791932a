"""Mappings worked out on a thread of their own."""

from __future__ import annotations

import threading

import pytest

from engine.later import Later


def test_keys_are_known_before_the_values():
    release, finished = threading.Event(), threading.Event()

    def work():
        release.wait(5)
        finished.set()
        return {"a": "1", "b": "2"}

    later = Later(work, ["a", "b"], "test")

    assert list(later) == ["a", "b"] and "b" in later and len(later) == 2
    assert "c" not in later
    assert not finished.is_set()

    release.set()
    assert dict(later) == {"a": "1", "b": "2"}
    assert finished.is_set()


def test_reading_a_value_raises_what_the_thread_raised():
    def fail():
        raise ValueError("bad file")

    later = Later(fail, ["a"], "test")

    assert list(later) == ["a"]
    with pytest.raises(ValueError, match="bad file"):
        later["a"]


def test_a_key_not_promised_is_missing_without_waiting():
    release, finished = threading.Event(), threading.Event()

    def work():
        release.wait(5)
        finished.set()
        return {"a": "1"}

    later = Later(work, ["a"], "test")

    with pytest.raises(KeyError):
        later["z"]
    assert not finished.is_set()
    release.set()
    assert later["a"] == "1"
