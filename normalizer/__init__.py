"""Understanding what residents wrote: pure functions composed by ``normalizer.normalize``."""
