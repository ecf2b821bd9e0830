"""Tables of the journey_maps domain."""
