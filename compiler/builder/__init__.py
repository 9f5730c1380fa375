"""The seed-compatible Python API (`Pipeline`, the step factories, the executors)."""
