"""Topology files that ship with the simulator."""
