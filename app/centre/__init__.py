"""The centre's settings stored in the database and edited in the browser (issue 11 §3)."""
