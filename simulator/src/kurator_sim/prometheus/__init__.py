"""A Prometheus-compatible query endpoint over simulated series of the fleet.

Modules, one job each: ``series`` (what the simulated Prometheus holds, computed from the
fleet at query time), ``lexer`` / ``parser`` / ``syntax`` (a PromQL subset with Prometheus's
type checks and error messages), ``functions`` and ``evaluator`` (evaluation at a point in
time), ``values`` (result values and their wire formatting) and ``api`` (the HTTP API:
``build_query_app(fleet, clock)``).
"""

from __future__ import annotations

from kurator_sim.prometheus.api import build_query_app

__all__ = ["build_query_app"]
