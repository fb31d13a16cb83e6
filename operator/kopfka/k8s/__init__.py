"""The only code that talks to the Kubernetes API: apply, read, patch status, label, delete."""
