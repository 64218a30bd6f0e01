"""Live: the records the AWS edge returns and the planner reads (policies, bucket facts)."""
