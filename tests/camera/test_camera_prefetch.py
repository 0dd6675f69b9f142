"""k3dn.camera.prefetch: items in order, made ahead of the consumer in another thread, errors raised where they
happened, and a consumer that stops early stops the producer."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from k3dn.camera import Deblurrer
from k3dn.camera.prefetch import prefetch
from k3dn.camera.runners import Runner


def test_items_in_order_made_ahead_in_another_thread() -> None:
    made: list[tuple[int, str]] = []
    second_made = threading.Event()

    def items():
        for i in range(5):
            made.append((i, threading.current_thread().name))
            if i == 1:
                second_made.set()
            yield i

    it = prefetch(items(), depth=1)
    assert next(it) == 0
    assert second_made.wait(5), "item 1 must be made while the consumer still holds item 0"
    assert list(it) == [1, 2, 3, 4]
    assert {name for _, name in made} == {"k3dn-prefetch"}


def test_producer_error_is_raised_in_the_consumer_at_its_item() -> None:
    def items():
        yield 1
        raise OSError("disk gone")

    it = prefetch(items())
    assert next(it) == 1
    with pytest.raises(OSError, match="disk gone"):
        next(it)


def test_early_stop_stops_the_producer() -> None:
    made = []

    def items():
        for i in range(1000):
            made.append(i)
            yield i

    it = prefetch(items(), depth=2)
    assert next(it) == 0
    it.close()  # joins the producer
    assert len(made) <= 4, "the producer stops within depth + 1 items of the consumer"
    with pytest.raises(ValueError, match="depth"):
        next(prefetch([], depth=0))


class _Recording(Runner):
    """Output = the mean of the views; counts its calls."""

    name, precision, thread_safe = "recording", "fp32", True

    def __init__(self) -> None:
        super().__init__()
        self.input_shape = None
        self.calls = 0

    def _run(self, left, right):
        self.calls += 1
        return (left + right) / 2


def test_deblurrer_output_is_the_same_with_and_without_prefetch() -> None:
    rng = np.random.default_rng(0)
    left = (rng.random((150, 230, 3)) * 65535).astype(np.uint16)
    right = (rng.random((150, 230, 3)) * 65535).astype(np.uint16)
    runner = _Recording()
    a = Deblurrer(runner, tile=96, overlap=16)(left, right, black=100, white=60000)
    b = Deblurrer(runner, tile=96, overlap=16, prefetch=False)(left, right, black=100, white=60000)
    np.testing.assert_array_equal(a, b)
    assert runner.calls == 2 * len(Deblurrer(runner, tile=96, overlap=16).tiles(150, 230))
