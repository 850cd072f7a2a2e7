"""The resource bank, the timeline and the talking points of each event."""
