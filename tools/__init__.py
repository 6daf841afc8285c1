"""Site tooling that is not part of the library: the browser check of the rendered book."""
