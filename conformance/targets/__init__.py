"""The target of a run: the endpoint as data (`target`), resolved from what the user chose for the command line and
the pytest plugin alike (`resolve`); moto started on loopback (`moto`)."""
