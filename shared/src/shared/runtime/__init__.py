"""What every service process is made of: settings, logging, telemetry, metrics, health,
the generic intent processor, and the lifecycle that wires them together.
"""
