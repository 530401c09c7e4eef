"""Istio traffic: from a ``VirtualService`` intent to the Istio config the mesh's primaries hold.

Pure code, no I/O. :func:`.derive.plan` validates the intent with Istio's rules and derives:

* the ``VirtualService`` to write: ``networking.istio.io/v1``, hosts unchanged, every route's
  weights normalised to integers summing to 100;
* one ``DestinationRule`` per destination host whose routes name subsets, with one subset per
  referenced subset selecting that cluster's endpoints by ``topology.istio.io/cluster`` - unless
  the user gave a ``DestinationRule`` for that host, which is then used as written and only
  checked (every referenced subset must be defined);
* optional locality load balancing on the derived rules (:mod:`.locality`).

Which member cluster a subset stands for is :mod:`.subsets`' rule; which clusters are the
mesh's primaries (where the config is written) is :mod:`.mesh`'s; :mod:`.readiness` says
whether every referenced subset's cluster exists, is ready and runs the service.
"""
