"""Layout-driven file readers and writers (delimited and fixed-width), driven by resources/layouts."""
