"""Unit tests of the emulator's pure policy cores."""
