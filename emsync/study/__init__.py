"""The §6.3.3 user study: anonymised survey pages (`build`), a local web app that stores the
answers in DuckDB (`server`, `responses`) and the Tables 6.2-6.4 / Figs. 6.5-6.7 aggregation
(`report`). The command line is `emsync study build|serve|report` (docs/study.md)."""
