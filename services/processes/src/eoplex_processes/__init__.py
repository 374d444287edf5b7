"""The processes service: predefined processes, user-defined processes and validation."""
