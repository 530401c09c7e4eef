"""Objects, resource versions and watches: the etcd-plus-cacher part of the API server."""
