"""The jobs service: batch jobs, their queue, launchers, logs and results."""
