"""Execute: read live state into a plan, apply a plan, roll back, keep the journal."""
