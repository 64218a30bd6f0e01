"""Import: turn a hand-written live bucket policy into declarations."""
