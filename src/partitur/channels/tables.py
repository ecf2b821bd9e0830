"""Tables of the channels domain."""
