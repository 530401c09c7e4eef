"""Simulated controllers: small loops that give objects believable life.

Each module exports one or more controllers: objects with ``async def run(self) -> None``
that watch stores of the fleet (``kurator_sim.fleet.Fleet``) and write back, like the real
controllers would (Karmada scheduler and binding controller, kube-controller-manager's
deployment controller, Velero, Volcano, KubeEdge). They use only the store API and the
simulated clock, never HTTP.
"""
