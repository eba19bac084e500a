"""Authentication, permissions and the policy decision; later crypto and masking."""
