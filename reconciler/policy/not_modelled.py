"""The refusal every statement reader raises: a statement no grant of ours expresses."""


class NotModelled(ValueError):
    """A statement (or a grantee's statements) that no grants of ours express; str() says why."""
