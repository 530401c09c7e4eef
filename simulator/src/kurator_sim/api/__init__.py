"""The HTTP face of the simulator: the Kubernetes REST API for the host and, through the Karmada cluster proxy, for each member."""
