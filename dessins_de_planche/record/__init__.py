"""Session recording: a show's event stream on disk, replayed live or re-rendered at print size."""
