"""The conformance suite as pytest tests: `pytest --pyargs conformance.suite [--endpoint-url URL]`."""
