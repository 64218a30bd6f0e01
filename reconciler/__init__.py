"""bucketshare: reconcile declared cross-account S3 bucket shares with live bucket policies."""

__version__ = "0.1.0"
