"""This area's part of the apps service (see :mod:`kurator_apps.extensions`): Kurator ``Application``.

With Kubernetes configured: the ``application`` handler (:mod:`.handler`) writing Flux objects to
the host through :mod:`kurator_apps.adapters.flux`, and the resync (:mod:`.resync`) that
re-renders on Fleet changes, in one replica at a time. Without Kubernetes the runtime's
default applies (the desired state is recorded and answered ``Accepted``).
"""

from __future__ import annotations

from datetime import timedelta

from kurator_apps.adapters import flux
from kurator_apps.applications import bus, handler, resync
from shared.runtime.extensions import Background, Extensions, ServiceContext


def build(context: ServiceContext, *, resync_every: timedelta = resync.STATUS_SYNC_INTERVAL) -> Extensions:
    """``resync_every``: how often every Application is reconciled again (tests shorten it)."""
    if context.kube is None:
        return Extensions()
    applications = handler.ApplicationHandler(flux=flux.FluxHost(context.kube), statuses=bus.BusStatuses(context.js))
    sweeps = resync.Resync(
        handler=applications,
        desired=context.desired,
        publisher=context.publisher,
        js=context.js,
        interval=resync_every,
    )
    return Extensions(
        handlers={resync.TOKEN: applications},
        background=(Background(name="applications-resync", run=sweeps.run),),
    )
