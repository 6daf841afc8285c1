"""Model families, one file each, all following :mod:`madlib.core.protocol`."""
