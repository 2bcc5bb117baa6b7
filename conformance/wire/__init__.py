"""The wire: HTTP requests and answers as data, JSON and CBOR as the protocols use them, SigV4, credentials,
redaction. The lowest layer: it imports nothing else of the package."""
