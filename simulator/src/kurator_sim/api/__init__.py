"""The HTTP face of the simulator: the Kubernetes REST API of the Karmada host and, through
the Karmada cluster proxy, of each member (``server.build_app``)."""
