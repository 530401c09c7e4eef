"""Kurator ``Application``s rendered as upstream Kurator renders them: Flux objects on the host.

Pure code, no I/O. :func:`.render.render` turns an Application and its fleet's members
(:mod:`.members`) into one Flux source named after the application and, per sync policy and
selected member, a ``Kustomization`` or ``HelmRelease`` named by :func:`.names.delivery_name`
that reaches the member through its kubeconfig Secret (kurator-upstream.md 3.1-3.3), plus the
per-cluster status skeleton the service fills in as Flux reports.
"""
