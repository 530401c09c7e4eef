"""The controller manager: runs every simulated controller, restarting one that crashes.

``ControllerManager(fleet, clock, settings)`` builds the Karmada control plane and member
controllers of this package (cluster status and health, kubelet heartbeats, deployments,
detector, scheduler, taint manager, graceful eviction, binding and status controllers) from a
:class:`ControllerSettings` of Karmada's and Kubernetes' timings, and installs Karmada's
policy webhook on the host store. Other controllers join with :meth:`ControllerManager.add`
before :meth:`ControllerManager.run`. ``run`` runs them all as tasks until cancelled; a
controller whose ``run`` raises (or returns) is logged and started again after a backoff
(doubling from ``restart_backoff`` to ``restart_backoff_max`` simulated seconds, reset after a
minute of good running). Controllers must therefore tolerate ``run`` being called again.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

import structlog

from kurator_sim.clock import SimClock
from kurator_sim.controllers import karmada_webhook
from kurator_sim.controllers.clusters import DEFAULT_API_ENDPOINT, ClusterStatusController
from kurator_sim.controllers.karmada_binding import BindingController
from kurator_sim.controllers.karmada_cluster_health import ClusterHealthController
from kurator_sim.controllers.karmada_detector import ResourceDetector
from kurator_sim.controllers.karmada_graceful_eviction import GracefulEvictionController
from kurator_sim.controllers.karmada_scheduler import KarmadaScheduler
from kurator_sim.controllers.karmada_status import BindingStatusController
from kurator_sim.controllers.karmada_taint_manager import TaintManager
from kurator_sim.controllers.kube_nodes import NodeHeartbeatController
from kurator_sim.controllers.workloads import DeploymentController
from kurator_sim.fleet import Fleet

log = structlog.get_logger(__name__)


class Controller(Protocol):
    async def run(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ControllerSettings:
    """Timings in simulated seconds; defaults are Karmada's and Kubernetes' own."""

    cluster_status_update_frequency: float = 10.0
    """``--cluster-status-update-frequency``: Cluster status heartbeats (and Pull leases)."""
    cluster_lease_duration: float = 40.0
    """``--cluster-lease-duration`` of Pull-mode cluster leases."""
    cluster_monitor_period: float = 5.0
    """``--cluster-monitor-period``: how often the cluster controller checks heartbeats."""
    cluster_monitor_grace_period: float = 40.0
    """``--cluster-monitor-grace-period``: silence before a Pull cluster's Ready goes Unknown."""
    cluster_startup_grace_period: float = 60.0
    """``--cluster-startup-grace-period``: the same before a cluster's first status post."""
    cluster_failure_threshold: float = 30.0
    """``--cluster-failure-threshold``: consistent failed probes before Ready=False (Push)."""
    cluster_success_threshold: float = 30.0
    """``--cluster-success-threshold``: consistent good probes before Ready=True again (Push)."""
    no_execute_taints: bool = True
    """Play a ClusterTaintPolicy that adds not-ready/unreachable NoExecute taints (failover)."""
    taint_eviction: bool = True
    """``--enable-no-execute-taint-eviction`` with the ``Failover`` gate: evict from NoExecute clusters."""
    graceful_eviction: bool = True
    """The ``GracefulEviction`` gate: evicted copies stay until the workload is healthy elsewhere."""
    graceful_eviction_timeout: float = 600.0
    """``--graceful-eviction-timeout``."""
    cluster_taint_eviction_retry_frequency: float = 10.0
    """``--cluster-taint-eviction-retry-frequency``."""
    node_status_update_frequency: float = 10.0
    """kubelet ``nodeStatusUpdateFrequency`` (node lease renewals)."""
    node_status_report_frequency: float = 300.0
    """kubelet ``nodeStatusReportFrequency`` (unchanged node status is re-posted this often)."""
    workload_ready_delay: float = 2.0
    """How long a member's new pods take to become ready."""
    binding_retry: float = 5.0
    """How soon propagation to an unreachable or not-ready member is tried again."""
    register_members: bool = True
    """Join every topology member as a Karmada Cluster at start."""
    cluster_api_endpoint: str = DEFAULT_API_ENDPOINT
    """``spec.apiEndpoint`` of joined clusters (``{name}`` is the cluster name)."""
    restart_backoff: float = 1.0
    restart_backoff_max: float = 30.0


class ControllerManager:
    def __init__(
        self,
        fleet: Fleet,
        clock: SimClock | None = None,
        settings: ControllerSettings | None = None,
        *,
        install_webhooks: bool = True,
    ) -> None:
        self.fleet = fleet
        self.clock = clock or fleet.clock
        self.settings = settings or ControllerSettings()
        self.restarts: Counter[str] = Counter()
        self._controllers: list[tuple[str, Controller]] = []
        if install_webhooks:
            karmada_webhook.install(fleet.host)
        for controller in build_controllers(fleet, self.settings):
            self.add(controller)

    @property
    def controllers(self) -> dict[str, Controller]:
        return dict(self._controllers)

    def add(self, controller: Controller, *, name: str | None = None) -> None:
        """Run ``controller`` too (its class name unless ``name`` is given; names must be unique)."""
        label = name or type(controller).__name__
        if label in self.controllers:
            raise ValueError(f"a controller named {label!r} is already registered")
        self._controllers.append((label, controller))

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            for name, controller in self._controllers:
                tg.create_task(self._supervise(name, controller), name=f"controller:{name}")

    async def _supervise(self, name: str, controller: Controller) -> None:
        backoff = self.settings.restart_backoff
        while True:
            started = self.clock.elapsed()
            try:
                await controller.run()
                log.warning("controller.exited", controller=name)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("controller.crashed", controller=name)
            self.restarts[name] += 1
            if self.clock.elapsed() - started > 60.0:
                backoff = self.settings.restart_backoff
            await self.clock.sleep(backoff)
            backoff = min(backoff * 2, self.settings.restart_backoff_max)
            log.info("controller.restarting", controller=name, restarts=self.restarts[name])


def build_controllers(fleet: Fleet, settings: ControllerSettings) -> list[Controller]:
    """The controllers of this package, configured from ``settings``."""
    s = settings
    controllers: list[Controller] = [
        ClusterStatusController(
            fleet=fleet,
            status_update_frequency=s.cluster_status_update_frequency,
            success_threshold=s.cluster_success_threshold,
            failure_threshold=s.cluster_failure_threshold,
            lease_duration=s.cluster_lease_duration,
            register_members=s.register_members,
            api_endpoint=s.cluster_api_endpoint,
        ),
        ClusterHealthController(
            fleet=fleet,
            monitor_period=s.cluster_monitor_period,
            grace_period=s.cluster_monitor_grace_period,
            startup_grace_period=s.cluster_startup_grace_period,
            no_execute_taints=s.no_execute_taints,
            wait_for_eviction=s.taint_eviction,
        ),
        NodeHeartbeatController(
            fleet=fleet,
            status_update_frequency=s.node_status_update_frequency,
            status_report_frequency=s.node_status_report_frequency,
        ),
        DeploymentController(fleet=fleet, ready_delay=s.workload_ready_delay),
        ResourceDetector(fleet=fleet),
        KarmadaScheduler(fleet=fleet),
        BindingController(fleet=fleet, retry_seconds=s.binding_retry),
        BindingStatusController(fleet=fleet, retry_seconds=s.binding_retry),
    ]
    if s.taint_eviction:
        controllers.append(
            TaintManager(
                fleet=fleet,
                graceful_eviction=s.graceful_eviction,
                retry_frequency=s.cluster_taint_eviction_retry_frequency,
            )
        )
    if s.graceful_eviction:
        controllers.append(GracefulEvictionController(fleet=fleet, timeout=s.graceful_eviction_timeout))
    return controllers
