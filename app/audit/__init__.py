"""The audit log (``repository.audit``)."""
