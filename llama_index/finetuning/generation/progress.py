"""How fast the writer answers, measured as a generation runs: the progress bar, the estimate
learned from the first chunks, and the time limit of the next call.

Example::

    clock = WriterClock(total=40, request_timeout=120.0, show_progress=True, first_wave=4)
    limit = clock.timeout()            # 120 s until a call has answered
    clock.answered(seconds=95.0)       # a call that took 95 s: the limit becomes 380 s
    clock.chunk_done()                 # one more chunk on the bar; after the first wave, the
                                       # measured time a chunk and the time left are logged

An estimate made before the run (the command line's, from a quiet machine) can be 2-4x low
on a loaded one; the first wave of chunks says what this machine does, so the run logs that
(once) and the bar shows it. A fixed time limit per call failed chunks of a local writer
that was slow only because the machine was busy: the limit grows with the slowest call that
answered (:data:`TIMEOUT_SCALE` times it), so a writer is cut off only when it is far slower
than it has been.
"""

from __future__ import annotations

import logging
import time
from typing import Any

logger = logging.getLogger(__name__)

# A call may take this many times the slowest call that answered before it counts as failed.
TIMEOUT_SCALE = 4.0


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


class WriterClock:
    """The bar (tqdm, only for ``show_progress``), the learned estimate and the call limit.

    ``first_wave``: how many chunks finish before the estimate is said (the calls in flight
    at once: the first ones all start together, so fewer would say too little).
    """

    def __init__(
        self, total: int, request_timeout: float | None, show_progress: bool, first_wave: int
    ) -> None:
        self.total, self.request_timeout = total, request_timeout
        self.first_wave = max(1, min(first_wave, total))
        self.slowest = 0.0
        self.done = 0
        self.started = time.monotonic()
        self.bar: Any = None
        if show_progress and total:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="Generating questions", unit="chunk")

    def timeout(self) -> float | None:
        """The limit of the next call: ``request_timeout``, or more once calls were slow."""
        if self.request_timeout is None:
            return None
        return max(self.request_timeout, TIMEOUT_SCALE * self.slowest)

    def answered(self, seconds: float) -> None:
        """A call answered after ``seconds``."""
        self.slowest = max(self.slowest, seconds)

    def per_chunk(self) -> float | None:
        """Measured seconds a chunk (wall clock, calls in flight together), once any finished."""
        return (time.monotonic() - self.started) / self.done if self.done else None

    def chunk_done(self) -> None:
        """A chunk was asked to the end (with or without questions)."""
        self.done += 1
        per_chunk = self.per_chunk() or 0.0
        left = self.total - self.done
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(f"{per_chunk:.1f} s a chunk", refresh=False)
        if self.done == self.first_wave and left:
            logger.info(
                "measured on the first %d chunks: %.1f s a chunk, so about %s for the %d left",
                self.done, per_chunk, _duration(per_chunk * left), left,
            )  # fmt: skip

    def close(self) -> None:
        """End the bar; a bar of a run that finished no chunk is taken off the screen."""
        if self.bar is not None:
            if not self.done:
                self.bar.leave = False
            self.bar.close()
