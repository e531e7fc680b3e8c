"""Organisation transcript export (CRYPTO.md §2-§4): the period key opens, the device signs."""
