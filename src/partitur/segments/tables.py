"""Tables of the segments domain."""
