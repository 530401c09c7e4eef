"""Which ``FederatedDeployment`` status changes may wait for more news before they are published.

A rollout's status moves in steps: the handler's answer (``Progressing``, nothing ready), the
fleet having applied the generation (``propagation.appliedGeneration``), replicas getting ready
one cluster after another, ``Available``. Under load those steps come far apart - further than
the publisher's short coalescing pause - and each would be one more status (its publish, its
acknowledgement, its copy read back from the status stream) though a reader waits for the next
milestone, not for the counters on the way.

So, as the fleet's status writer does (``kurator_fleet.watchers.publishing``), a change that moves
no milestone (:func:`milestone`: the phase, the generation, a condition's status or reason, which
clusters are desired and which failed; not the ready counters, messages, the applied generation
or where companions went) is held back while the publisher is busy, up to ``settle`` after it was
first held, so that it usually goes out with the next step in one message. A milestone is never
held (a held change goes out with it), and as soon as the publisher is quiet again
(:meth:`Settling.window`) everything held goes out: held back is only ever "later, with more
news", never "not at all". A publisher that is not busy holds nothing: a few rollouts at a time
show every step at once.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from datetime import timedelta
from typing import Any, Final

At = tuple[str, str]
"""``(namespace, name)`` of a FederatedDeployment."""

DEFAULT_SETTLE: Final = timedelta(seconds=5)
"""As long as the fleet's status writer holds its own details (``status_settle_seconds``)."""
BUSY_AT: Final = 4.0
"""FederatedDeployments per publishing window, on average: with windows of some 25 ms, well over
a hundred changes a second - a load, not people or tests applying a few at a time."""
_WEIGHT: Final = 0.25
"""Weight of the newest window in the average (about the last four windows count)."""


def milestone(body: Mapping[str, Any] | None) -> Hashable:
    """What of a ``status`` document a reader waits for (module docstring); ``None``: no status."""
    if body is None:
        return None
    conditions = tuple((c.get("type"), c.get("status"), c.get("reason")) for c in body.get("conditions") or ())
    clusters = tuple((c.get("name"), c.get("desired"), c.get("failure")) for c in body.get("clusters") or ())
    return body.get("phase"), body.get("observedGeneration"), conditions, clusters


class Settling:
    """The held-back FederatedDeployments and since when (times in seconds of one monotonic clock)."""

    def __init__(self, *, settle: timedelta = DEFAULT_SETTLE, busy_at: float = BUSY_AT) -> None:
        self._settle = settle.total_seconds()
        self._busy_at = busy_at
        self._average = 0.0
        self._held: dict[At, float] = {}
        """Insertion order is the order they were first held in (a re-hold keeps its place)."""
        self._busy = False

    def __contains__(self, at: At) -> bool:
        return at in self._held

    def __len__(self) -> int:
        return len(self._held)

    @property
    def busy(self) -> bool:
        return self._busy

    def window(self, changed: int) -> None:
        """A publishing window takes ``changed`` FederatedDeployments that changed (not counting
        what is due again). Busy from an average of ``busy_at`` on, quiet again under a quarter
        of that: a pause between two waves of a load keeps it busy, as the waves go on."""
        self._average += _WEIGHT * (changed - self._average)
        if self._average >= self._busy_at:
            self._busy = True
        elif self._average < self._busy_at / 4:
            self._busy = False

    def hold(self, at: At, *, before: Mapping[str, Any] | None, after: Mapping[str, Any], now: float) -> bool:
        """Whether the change of ``at``'s status from ``before`` (on the bus) to ``after`` waits
        (``True``: then ``at`` is evaluated again once it is :meth:`due`, if nothing else does first)."""
        if self._settle <= 0 or not self._busy or milestone(before) != milestone(after):
            self._held.pop(at, None)
            return False
        since = self._held.setdefault(at, now)
        if now - since >= self._settle:
            del self._held[at]
            return False
        return True

    def drop(self, at: At) -> None:
        """``at``'s status went out (or it is gone): nothing held any more."""
        self._held.pop(at, None)

    def due(self, now: float) -> list[At]:
        """What must be evaluated again now: everything held when the publisher is quiet, else
        what has waited ``settle``."""
        if not self._busy:
            return list(self._held)
        out = []
        for at, since in self._held.items():
            if now - since < self._settle:
                break  # held in time order: the rest waited less
            out.append(at)
        return out

    def next_due(self, now: float) -> float | None:
        """Seconds until the first held change has waited ``settle`` (``None``: nothing held)."""
        for since in self._held.values():
            return max(0.0, since + self._settle - now)
        return None
