"""Root conftest: registers the shared test plugin for every package's tests."""

pytest_plugins = ["shared.testing.fixtures"]
