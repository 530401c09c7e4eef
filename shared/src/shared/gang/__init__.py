"""Gang fit: would all of a Volcano job's gang fit on a cluster's nodes, and if not, why not.

Pure code over plain Kubernetes dicts (v1 ``Node``, pod templates, ``batch.volcano.sh`` ``Job``),
shared by the simulator's Volcano and the apps service's cluster choice so that both decide the
same way. Modules, bottom up:

* :mod:`.resources` - resource lists as exact decimals and a pod's effective request;
* :mod:`.nodes` - a node as the scheduler sees it (allocatable, labels, taints, readiness);
* :mod:`.pods` - a pod to place and the gang a job asks for (``minAvailable``);
* :mod:`.predicates` - why one pod cannot go on one node (structured, not worded);
* :mod:`.packing` - placing pods on nodes, reserving as it goes;
* :mod:`.shortfall` - what the gang is missing, per resource and node selection;
* :mod:`.fit` - the whole decision for one cluster, and ranking several clusters.

Imports only :mod:`shared.contracts`.
"""
