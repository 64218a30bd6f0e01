"""Declare: read reconciler.yaml and the shares/ tree into located, checked declarations."""
