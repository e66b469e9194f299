//! Reports over run folders: tables, plots, HTML.
