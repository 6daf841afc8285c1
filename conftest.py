"""Applies to every test run from the repository root, the chapter notebooks under nbmake included."""
from tools import kernel_wakeup

# nbmake executes each notebook with nbclient in this process (each xdist worker loads this file):
# without the fix, a widget cell can wait a whole cell timeout for a reply it already has.
kernel_wakeup.install()
