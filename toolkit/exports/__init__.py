"""Exports: the only place CSV, XLSX and JSON files are written. Streaming and formula-safe."""
