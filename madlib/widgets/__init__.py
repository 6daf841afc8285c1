"""Interactive explorers, one module per chapter (named by the chapter's key).

Each module has ``explorer_figure(...)`` (one setting, a matplotlib Figure: it works without a
kernel) and an ipywidgets explorer over it for a live kernel.
"""
