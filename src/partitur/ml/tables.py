"""Tables of the ml domain."""
