"""The listening corpus: real recorded hits and rendered tunes placed on podorhythm patterns."""
