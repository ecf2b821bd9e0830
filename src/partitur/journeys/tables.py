"""Tables of the journeys domain."""
