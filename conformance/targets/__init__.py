"""Third-party targets the suite can start by itself on loopback (`conformance run --target NAME`)."""
