"""Shared test setup. Fixtures for each tier live in their own modules."""

pytest_plugins = ["fixtures_gl", "fixtures_jack", "fixtures_x"]
