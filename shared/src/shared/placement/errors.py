"""Why a binding could not be placed: :class:`NoFit` and the texts Karmada records.

Karmada turns a scheduling error into the binding's ``Scheduled=False`` condition
(``getConditionByError``): a ``FitError`` (no cluster passed the filters) is ``NoClusterFit``,
an ``UnschedulableError`` (not enough capacity) is ``Unschedulable``, anything else is
``SchedulerError``. Messages carry Karmada's wrapping (``failed to select clusters: ...``,
``failed to assign replicas: failed to scale up: ...``) because that is what the condition shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

NO_CLUSTER_FIT: Final = "NoClusterFit"
UNSCHEDULABLE: Final = "Unschedulable"
SCHEDULER_ERROR: Final = "SchedulerError"

NO_CLUSTERS_AVAILABLE: Final = "no clusters available to schedule"


class NoFit(Exception):  # noqa: N818 - the name the simulator, the fleet service and the CLI use
    """No placement.

    ``reason`` is the ``Scheduled=False`` condition reason, ``message`` its text, and
    ``excluded`` says for every cluster that is not part of a placement why it is not.
    """

    def __init__(self, reason: str, message: str, excluded: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.excluded: Mapping[str, str] = dict(excluded or {})

    def with_excluded(self, excluded: Mapping[str, str]) -> NoFit:
        """The same error with the diagnosis of the pass that raised it."""
        return NoFit(self.reason, self.message, excluded)


def fit_error(total_clusters: int, reason_counts: Mapping[str, int]) -> str:
    """``FitError.Error()``: ``0/N clusters are available: <count> <reason>, ...`` (sorted as strings)."""
    detail = ", ".join(sorted(f"{count} {reason}" for reason, count in reason_counts.items() if count))
    return f"0/{total_clusters} clusters are available: {detail}."


def select_failed(message: str) -> NoFit:
    """An error of the spread-constraint selection (``SchedulerError`` in Karmada)."""
    return NoFit(SCHEDULER_ERROR, f"failed to select clusters: {message}")


def assign_failed(message: str) -> NoFit:
    """An error of replica assignment that is not about capacity."""
    return NoFit(SCHEDULER_ERROR, f"failed to assign replicas: {message}")


def not_enough_capacity(available: int, *, stage: str) -> NoFit:
    """``dynamicDivideReplicas``: the candidates cannot hold the replicas to place.

    ``stage`` is the assignment mode that failed (``scale up``, ``scale down`` or
    ``do fresh scale``), which Karmada puts in the message.
    """
    return NoFit(
        UNSCHEDULABLE,
        f"failed to assign replicas: failed to {stage}: "
        f"Clusters available replicas {available} are not enough to schedule.",
    )


def overflow_not_enough() -> NoFit:
    """The overflow tiers together cannot hold the replicas."""
    return NoFit(UNSCHEDULABLE, "failed to assign replicas: Clusters available replicas are not enough to schedule.")
