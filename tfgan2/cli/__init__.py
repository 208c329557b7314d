"""absl command-line entry points; each is a thin shell over the library."""
