"""Staff authentication (argon2id, TOTP, server-side sessions, CSRF), headers and origin checks."""
