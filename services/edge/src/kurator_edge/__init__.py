"""The edge service. Owns KubeEdge: edge nodes and node groups, and the edge sites they form.

Consumes ``kurator.intent.edge.>``, keeps the accepted desired state in the ``kurator_edge``
KV bucket and publishes ``kurator.status.edge.>``. Imports only ``shared``, never another service.
"""
