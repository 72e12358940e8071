"""Live updates over the `/ws` WebSocket: the notification-log tailer, topics and connections.

`api/routes/ws.py` documents the protocol; these modules implement it.
"""
