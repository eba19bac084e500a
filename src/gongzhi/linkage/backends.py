"""Where Splink runs its SQL: DuckDB in this process (default), or Spark for province-scale runs.

The backend is chosen by ``GONGZHI_LINKAGE_BACKEND`` (``duckdb`` | ``spark``) or the CLI's
``--backend``. ``GONGZHI_LINKAGE_SPARK_MASTER`` names the Spark master (default ``local[2]``:
Spark in this process's JVM, for tests and single-machine runs); on a cluster it is the
cluster's master URL. Spark needs the optional extra: ``pip install -e '.[spark]'`` and Java 17.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

Backend = Literal["duckdb", "spark"]


class LinkageSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GONGZHI_LINKAGE_", env_file=".env", extra="ignore"
    )

    backend: Backend = "duckdb"
    spark_master: str = "local[2]"
    # DuckDB's worker threads; the default (None) lets DuckDB use every core.
    duckdb_threads: int | None = None


def spark_available() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=4)
def spark_session(master: str = "local[2]") -> Any:
    """A Spark session with Splink's similarity functions (jaro_winkler…) on the classpath.

    Small local sessions: few shuffle partitions, no UI, so a test starts in seconds.
    """
    import tempfile

    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    scratch = tempfile.mkdtemp(prefix="gongzhi-spark-")
    builder = SparkSession.builder.master(master)
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # In-process Spark talks to itself over the loopback interface only.
        builder = builder.config("spark.driver.host", "127.0.0.1").config(
            "spark.driver.bindAddress", "127.0.0.1"
        )
    session = (
        builder.appName("gongzhi-linkage")
        .config("spark.jars", similarity_jar_location())
        # Few partitions: on one machine every extra task is overhead (Splink runs hundreds
        # of small queries); a cluster's master sets its own.
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # Spark's default warehouse is ./spark-warehouse in whatever directory runs it.
        .config("spark.sql.warehouse.dir", os.path.join(scratch, "warehouse"))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    session.sparkContext.setCheckpointDir(os.path.join(scratch, "checkpoints"))
    return session


def make_db_api(backend: Backend, settings: LinkageSettings | None = None) -> Any:
    """A fresh Splink database API for one linkage run."""
    settings = settings or LinkageSettings()
    if backend == "spark":
        if not spark_available():
            raise RuntimeError(
                "the Spark backend needs pyspark: pip install -e '.[spark]' (and Java 17)"
            )
        from splink import SparkAPI

        return SparkAPI(
            spark_session=spark_session(settings.spark_master),
            # Local runs keep intermediate tables in memory; a cluster writes them as Parquet
            # under the checkpoint directory.
            break_lineage_method="persist"
            if settings.spark_master.startswith("local")
            else "parquet",
            num_partitions_on_repartition=2,
        )
    import duckdb
    from splink import DuckDBAPI

    connection = duckdb.connect(":memory:")
    if settings.duckdb_threads:
        connection.execute(f"SET threads = {int(settings.duckdb_threads)}")
    return DuckDBAPI(connection=connection)
