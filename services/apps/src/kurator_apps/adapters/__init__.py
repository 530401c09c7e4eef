"""The apps service's adapters: the only modules that know how Kubernetes objects are reached."""
