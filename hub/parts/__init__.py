"""The parts of ``hub up`` (see hub.runtime)."""
