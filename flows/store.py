"""Final stage: refresh the DuckDB feature store (one view per Parquet table under data/)."""

from prefect import flow

from emsync import env, store
from emsync.config import load_params


@flow(name="store")
def store_flow(db_path=None):
    return store.refresh(db_path)


if __name__ == "__main__":
    from emsync.runguard import enter_stage

    env.apply_defaults()
    enter_stage("store")  # share DVC's lock; exit with the parent
    p = load_params()
    tables = store_flow(str(p.path(p.paths.store)))
    print(f"feature store: {len(tables)} views in {p.paths.store}")
