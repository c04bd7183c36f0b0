"""Sphinx configuration of trialplan's documentation site.

Build (from the repository root, after ``pip install -e ".[docs]"``)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

What runs at build time:

* every ``docs/*.md`` page is read by ``_ext/mdpages.py`` into a notebook that
  MyST-NB executes, so its tables and figures are computed now;
* sphinx-gallery runs ``examples/*.py`` (``_ext/gallery.py``: the folder each
  example writes, its figures and its download links);
* ``_ext/apipages.py`` writes one page per public object from the modules'
  ``__all__`` (numpydoc docstrings) and the summary tables of ``api.md``;
* ``_ext/validation.py`` fills the tables of ``validation.md``.

Adding a page: write ``docs/<name>.md``. It appears under "Topics" unless it is
placed in ``NAVIGATION`` below (the one list of the site's sections and their
pages).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))

import trialplan  # noqa: E402

project = "trialplan"
author = "trialplan developers"
copyright = "trialplan developers"  # noqa: A001 - Sphinx's name
release = trialplan.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
    "sphinx_copybutton",
    "sphinx_gallery.gen_gallery",
    "apipages",
    "gallery",
    "navigation",
    "pagecheck",
    "validation",
]

# The site's sections, in order: (caption, landing page, pages). The landing page's
# "<!-- navigation -->" marker becomes the list of its pages. Any docs/*.md page not
# listed here is added to "Topics" (_ext/navigation.py), so a new page never breaks
# the build; list it here to place it elsewhere.
NAVIGATION = [
    (
        "User guide",
        "guide",
        ["user-guide", "tutorial", "spec", "cli", "app", "protocols", "scenarios", "tools"],
    ),
    (
        "Topics",
        "topics",
        [
            "factorial",
            "outcomes",
            "multiplicity",
            "sequential",
            "adaptive",
            "sequences",
            "randomization",
            "simulation",
            "explore",
            "performance",
        ],
    ),
    ("Examples", "auto_examples/index", []),
    ("Reference", "reference", ["api", "methods", "validation", "architecture"]),
]
navigation_topics = "Topics"

exclude_patterns = [
    "_build",
    "_ext",
    "Thumbs.db",
    ".DS_Store",
    # sphinx-gallery writes a notebook, a script and the example's own output
    # beside each page; they are downloads, not pages.
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.json",
    "auto_examples/*.md5",
    "auto_examples/output",
]
templates_path = []
suppress_warnings = []

# -- MyST and MyST-NB ---------------------------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist", "attrs_inline"]
myst_heading_anchors = 3
nb_custom_formats = {".md": ["mdpages.read_page", {}, False]}
nb_execution_mode = "auto"  # every page with code is executed (its cells have no output yet)
nb_execution_in_temp = True  # files the examples write go to a temporary folder
nb_execution_raise_on_error = True
nb_execution_timeout = 600
nb_merge_streams = True
nb_execution_show_tb = True

# -- API pages ----------------------------------------------------------------
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"  # numpydoc's Parameters section states the types
autodoc_member_order = "bysource"
autosummary_generate = False  # _ext/apipages.py writes the pages
# Modules whose __all__ is documented (an object under the first that exports it).
api_modules = [
    "trialplan",
    "trialplan.spending",
    "trialplan.boundaries",
    "trialplan.adaptive",
    "trialplan.synergy",
    "trialplan.randomization",
    "trialplan.simulate",
    "trialplan.scenarios",
    "trialplan.report",
    "trialplan.spec",
    "trialplan.assurance",
    "trialplan.app",
    "trialplan.cli",
]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- Gallery ------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",  # run every example
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "abort_on_example_error": True,
    "run_stale_examples": True,  # rerun unchanged scripts too: the library may have changed
    "reset_argv": "gallery.example_argv",
    "image_scrapers": ("matplotlib", "gallery.written_figures"),
    "capture_repr": (),
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "write_computation_times": False,
    "min_reported_time": 10**6,
}

# -- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"trialplan {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 5,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_static_path = ["_static"]
html_css_files = ["trialplan.css"]
html_show_sourcelink = True
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
