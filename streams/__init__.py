"""Wirewatch streams: the Faust app, topic names, records and agents."""
