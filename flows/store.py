"""Final stage: refresh the DuckDB feature store (one view per Parquet table under data/)."""

from prefect import flow

from emsync.pipeline import store


@flow(name="store")
def store_flow(db_path=None):
    return store.refresh(db_path)


if __name__ == "__main__":
    from emsync.pipeline import flowkit

    flowkit.main(
        "store",
        lambda p: store_flow(str(p.path(p.paths.store))),
        summary=lambda tables, p: f"feature store: {len(tables)} views in {p.paths.store}",
    )
