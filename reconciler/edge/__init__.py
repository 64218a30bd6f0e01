"""Edge: the only code that talks to the outside (AWS through boto3, git, the moto sandbox)."""
