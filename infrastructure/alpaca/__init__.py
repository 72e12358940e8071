"""Alpaca adapters (alpaca-py only): broker, bar feed, market clock; built from `AlpacaConfig`."""
