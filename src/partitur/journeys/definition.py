"""Journey definitions: the versioned document model and its validation."""
