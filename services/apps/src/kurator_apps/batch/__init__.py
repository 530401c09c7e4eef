"""Volcano batch jobs: a gang placed whole on one member cluster, and followed there."""
