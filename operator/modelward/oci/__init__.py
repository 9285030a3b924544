"""The OCI distribution protocol: references, media types and an async registry client."""
