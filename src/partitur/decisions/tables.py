"""Tables of the decisions domain."""
