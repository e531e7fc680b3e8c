"""Triage, queue and routing: pure rules in engine.py, applied by service.py in one transaction."""
