"""311 multi-channel intake gateway."""
