"""Simulated traders and the settlement path of the demo (`perpx demo`).

Everything here lives outside engine/core: strategies read a snapshot of the
engine's state and a seeded `random.Random`, and return signed commands.
"""
