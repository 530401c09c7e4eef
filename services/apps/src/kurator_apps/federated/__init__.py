"""``FederatedDeployment``: a Deployment template and where its replicas run, across the fleet.

Pure code, no I/O:

* :mod:`.placement` - the Karmada placement that yields exactly the requested replicas per
  cluster, and the replicas each cluster should run;
* :mod:`.division` - Karmada's Webster division, to predict weighted placements;
* :mod:`.companions` - which Services, Ingresses, ConfigMaps and Secrets applied alongside
  belong to it and follow it;
* :mod:`.plan` - all of it together: the Deployment and companions to propagate, with their
  placement;
* :mod:`.status` - desired versus ready replicas per cluster as a phase, conditions and events.
"""
