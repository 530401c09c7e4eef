"""The fleet simulator: one process that speaks the Kubernetes REST API and plays a Karmada
control plane plus its member clusters (KWOK-style: objects, no real pods).

It is the embedded default backend of ``kurator up`` and the test double for every
Kubernetes integration. Layers: ``machinery`` (pure: schemas, patches, selectors),
``store`` (objects, resource versions, watches), ``api`` (HTTP: discovery, CRUD, watch,
errors), ``controllers`` (simulated Karmada, Velero, Volcano, KubeEdge, workloads),
``faults`` and ``topology``.
"""
