"""Final stage: refresh the DuckDB feature store (one view per Parquet table under data/)."""
from emsync import env

env.apply_defaults()

from prefect import flow  # noqa: E402

from emsync import store  # noqa: E402
from emsync.config import load_params  # noqa: E402


@flow(name="store")
def store_flow(db_path=None):
    return store.refresh(db_path)


if __name__ == "__main__":
    p = load_params()
    tables = store_flow(str(p.path(p.paths.store)))
    print(f"feature store: {len(tables)} views in {p.paths.store}")
