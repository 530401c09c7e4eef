"""Which objects applied with a ``FederatedDeployment`` belong to it, and so follow it.

In the FederatedDeployment's namespace, like Karmada's dependency propagation but also for the
objects that point *at* the workload:

* a ``Service`` whose ``selector`` is non-empty and matched by the pod template's labels (a
  Service without a selector selects no pods of ours);
* an ``Ingress`` with a backend (default or in a rule) that is one of those Services;
* a ``ConfigMap`` or ``Secret`` the pod template uses: volumes (also projected), ``env``
  ``valueFrom`` and ``envFrom`` of every container, init and ephemeral container, and
  ``imagePullSecrets``; plus the TLS Secrets of the Ingresses above.

References to ConfigMaps and Secrets that were not applied with it are reported as missing: they
may already exist in the members, but Karmada cannot propagate what it does not hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.contracts.models import workloads

Companion = workloads.Service | workloads.Ingress | workloads.ConfigMap | workloads.Secret


@dataclass(frozen=True, slots=True)
class References:
    config_maps: frozenset[str]
    secrets: frozenset[str]


def pod_references(pod_spec: Mapping[str, Any]) -> References:
    """The ConfigMaps and Secrets a pod spec mounts or reads."""
    config_maps: set[str] = set()
    secrets: set[str] = set()
    for volume in pod_spec.get("volumes") or ():
        if name := (volume.get("configMap") or {}).get("name"):
            config_maps.add(name)
        if name := (volume.get("secret") or {}).get("secretName"):
            secrets.add(name)
        for source in (volume.get("projected") or {}).get("sources") or ():
            if name := (source.get("configMap") or {}).get("name"):
                config_maps.add(name)
            if name := (source.get("secret") or {}).get("name"):
                secrets.add(name)
    containers = [
        *(pod_spec.get("containers") or ()),
        *(pod_spec.get("initContainers") or ()),
        *(pod_spec.get("ephemeralContainers") or ()),
    ]
    for container in containers:
        for env in container.get("env") or ():
            source = env.get("valueFrom") or {}
            if name := (source.get("configMapKeyRef") or {}).get("name"):
                config_maps.add(name)
            if name := (source.get("secretKeyRef") or {}).get("name"):
                secrets.add(name)
        for env_from in container.get("envFrom") or ():
            if name := (env_from.get("configMapRef") or {}).get("name"):
                config_maps.add(name)
            if name := (env_from.get("secretRef") or {}).get("name"):
                secrets.add(name)
    for pull in pod_spec.get("imagePullSecrets") or ():
        if name := pull.get("name"):
            secrets.add(name)
    return References(frozenset(config_maps), frozenset(secrets))


def _backends(ingress: workloads.Ingress) -> Iterable[str]:
    backends = [ingress.spec.default_backend] if ingress.spec.default_backend else []
    for rule in ingress.spec.rules or ():
        backends += [path.backend for path in (rule.http.paths if rule.http else ())]
    return (b.service.name for b in backends if b.service is not None)


def _tls_secrets(ingress: workloads.Ingress) -> Iterable[str]:
    return (str(t["secretName"]) for t in ingress.spec.tls or () if t.get("secretName"))


@dataclass(frozen=True, slots=True)
class Found:
    services: tuple[workloads.Service, ...]
    ingresses: tuple[workloads.Ingress, ...]
    config_maps: tuple[workloads.ConfigMap, ...]
    secrets: tuple[workloads.Secret, ...]
    missing: tuple[str, ...]
    """``ConfigMap/<name>`` and ``Secret/<name>`` referenced but not applied with it."""

    @property
    def all(self) -> tuple[Companion, ...]:
        """Every companion: Services, Ingresses, ConfigMaps, Secrets, each by name."""
        return (*self.services, *self.ingresses, *self.config_maps, *self.secrets)


def find(
    *, namespace: str | None, pod_labels: Mapping[str, str], pod_spec: Mapping[str, Any], applied: Sequence[Companion]
) -> Found:
    """The companions among ``applied`` of a workload in ``namespace`` (module docstring)."""
    here = [o for o in applied if (o.metadata.namespace or None) == (namespace or None)]
    services = [
        s
        for s in here
        if isinstance(s, workloads.Service)
        and s.spec.selector
        and all(pod_labels.get(k) == v for k, v in s.spec.selector.items())
    ]
    service_names = {s.metadata.name for s in services}
    ingresses = [i for i in here if isinstance(i, workloads.Ingress) and service_names & set(_backends(i))]
    refs = pod_references(pod_spec)
    secret_names = set(refs.secrets) | {name for i in ingresses for name in _tls_secrets(i)}
    config_maps = [c for c in here if isinstance(c, workloads.ConfigMap) and c.metadata.name in refs.config_maps]
    secrets = [s for s in here if isinstance(s, workloads.Secret) and s.metadata.name in secret_names]
    missing = [f"ConfigMap/{n}" for n in sorted(refs.config_maps - {c.metadata.name for c in config_maps})]
    missing += [f"Secret/{n}" for n in sorted(secret_names - {s.metadata.name for s in secrets})]

    def by_name(objs: list[Any]) -> tuple[Any, ...]:
        return tuple(sorted(objs, key=lambda o: o.metadata.name))

    return Found(by_name(services), by_name(ingresses), by_name(config_maps), by_name(secrets), tuple(missing))
