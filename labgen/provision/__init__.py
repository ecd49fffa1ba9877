"""Provisioning: roles declare idempotent tasks; the engine runs them on nodes in parallel."""
