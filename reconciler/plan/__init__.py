"""Plan: compare desired statements with live policies; the Plan as data and as a JSON file."""
