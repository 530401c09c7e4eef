"""The Kubernetes boundary: the only part of ``shared`` that imports ``kubernetes_asyncio``.

Services reach Kubernetes (a real Karmada or the simulator) through here and through their
own ``adapters``; library errors are translated at this boundary (``shared.k8s.errors``).
"""
