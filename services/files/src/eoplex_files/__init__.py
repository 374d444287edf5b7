"""The files service: the user workspace in S3."""
