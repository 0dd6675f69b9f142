"""`prefetch`: produce the items of an iterable in a background thread, a bounded number ahead of the consumer.

The camera pipeline overlaps its stages with it: `Deblurrer` prepares tile i+1 (crop, levels, gain, padding, NCHW)
while the runner computes tile i, and `k3dn deblur` decodes the next pair of a batch while the current one runs.
The runtimes (ExecuTorch, LiteRT, ONNX Runtime, PyTorch) and the codecs (OpenCV, zlib) release the GIL while they
work, and numpy does for large arrays, so the two threads overlap in fact, not only in name.

An exception raised by the producer is raised in the consumer at the item where it happened; a consumer that stops
early (an error, a break) stops the producer before it makes another item.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetch(items: Iterable[T], depth: int = 1, name: str = "k3dn-prefetch") -> Iterator[T]:
    """Yield `items` in order, made by a daemon thread at most `depth` items ahead of the consumer."""
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            put(_Failed(exc))
            return
        put(_DONE)

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        stop.set()
        worker.join()
