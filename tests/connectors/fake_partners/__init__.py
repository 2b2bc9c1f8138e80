"""A partners package for discovery tests: one working connector, one module that cannot be imported."""
