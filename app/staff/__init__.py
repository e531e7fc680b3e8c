"""Staff: accounts, shifts and duty, the console, statistics and the audit log."""
