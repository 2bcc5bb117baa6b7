"""Protocol conformance suite for Comprehend StopPiiEntitiesDetectionJob and Comprehend Medical StopPHIDetectionJob."""

__version__ = "0.1.0"
