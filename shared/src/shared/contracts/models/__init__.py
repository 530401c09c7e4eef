"""Pydantic models for every kind in the routing table (``shared.contracts.kinds``).

One module per integrated system (``karmada``, ``fleet``, ``workloads``, ``apps``, ``istio``,
``volcano``, ``kubeedge``, ``monitoring``, ``backup``; larger ones split their spec parts into
``karmada_placement``, ``karmada_override``, ``flux``, ``pods``; shared pieces in ``common``).
Each model validates the rules a user would hit first (required fields, names, enums,
cross-field rules) so that a bad intent is rejected with a reason naming the field before
anything is written anywhere.

Conventions:

* Specs of kinds another system consumes as written (Karmada, Kubernetes workloads, Istio,
  Volcano, KubeEdge ``NodeGroup``, Prometheus Operator) are ``PassThrough`` models: fields we
  do not model reach that system untouched. Kurator's own kinds (``Fleet``,
  ``FederatedDeployment``, ``EdgeNode``, ``BackupPolicy``, ...) are plain ``WireModel``s.
* Optional fields default to ``None`` (not ``[]``/``{}``) so that ``to_wire()`` gives back
  what was written: absent stays absent, and ``{}`` (for example "select everything") stays ``{}``.
* Map entries are reported as ``labels[key]``, list items as ``tasks[1]``.
"""
