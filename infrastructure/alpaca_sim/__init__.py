"""A local server that speaks Alpaca's trading, market-data and streaming protocols.

It lets the real alpaca-py clients (and so Openbell's Alpaca adapters) run against replayed
bars on a stepped or accelerated clock, with faults injected on demand. See `server.py`.
"""
