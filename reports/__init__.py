"""The gate's report side: reads result files only (never imports conformance/ or load/)."""
