"""The Splink models (persons, legal entities) and one linkage run: train, predict, cluster.

See docs/linkage.md for the comparisons, their levels and how to read match weights.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from gongzhi.linkage.backends import Backend, LinkageSettings, make_db_api

# Progress callback: (step label, steps done, steps in all).
Progress = Callable[[str, int, int], None]

DEFAULT_CLUSTER_PROBABILITY = 0.95
# Pairs below this match weight are dropped at prediction: they can never reach a cluster
# threshold and are not worth keeping for the explanation page.
PREDICT_MIN_MATCH_WEIGHT = -5.0


BOTH_VALID_DIFFERENT_M = 1e-15
# Starting u of levels that random pairs almost never reach (a typo of each other's ID or
# phone): kept when the random sample holds no such pair, instead of leaving no u at all.
RARE_U = 1e-7


def _else_level() -> Any:
    """The "different" level, with a starting m that stands if EM never sees the level among
    its likely matches (Splink would otherwise leave it without an m)."""
    import splink.comparison_level_library as cll

    return cll.ElseLevel().configure(label_for_charts="不同 / different", m_probability=0.001)


def _id_comparison(column: str, valid_column: str, *, checksum_aware: bool, label: str) -> Any:
    """Identifier comparison. Checksum-aware: two identifiers whose check characters are both
    right and that differ belong to two different people or companies (a strong negative);
    only when one of them fails its check may it be a typo of the other (partial credit)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    one_invalid = cll.CustomLevel(
        f"NOT ({valid_column}_l AND {valid_column}_r)", base_dialect_str="duckdb"
    )
    levels: list[Any] = [
        cll.NullLevel(column),
        cll.ExactMatchLevel(column).configure(label_for_charts="相同 / exact"),
    ]
    if checksum_aware:
        levels += [
            # Not learnt: EM would count twins and siblings (same birth date, household, phone,
            # a name a character away) as one person and soften this level until they merge.
            # The fixed m gives a weight of about -50: two valid numbers that differ outweigh
            # every other agreement together (name, birth date, sex, village and phone reach
            # about +45), so only a chain through a third record can join them.
            cll.CustomLevel(
                f"{valid_column}_l AND {valid_column}_r", base_dialect_str="duckdb"
            ).configure(
                label_for_charts="均有效但不同 / both valid, different",
                m_probability=BOTH_VALID_DIFFERENT_M,
                fix_m_probability=True,
            ),
            cll.And(one_invalid, cll.LevenshteinLevel(column, 1)).configure(
                label_for_charts="一方无效, 差1位 / one invalid, 1 edit", u_probability=RARE_U
            ),
            # A single slip of the pen is one substitution or one swap of neighbours; two
            # edits is not one typo of that number, and EM gives it the weight it earns.
            cll.And(one_invalid, cll.DamerauLevenshteinLevel(column, 1)).configure(
                label_for_charts="一方无效, 相邻对调 / one invalid, neighbours swapped",
                u_probability=RARE_U,
            ),
            cll.And(one_invalid, cll.LevenshteinLevel(column, 2)).configure(
                label_for_charts="一方无效, 差2位 / one invalid, 2 edits", u_probability=RARE_U
            ),
        ]
    else:
        levels += [
            cll.LevenshteinLevel(column, 1).configure(
                label_for_charts="差1位 / 1 edit", u_probability=RARE_U
            ),
            cll.DamerauLevenshteinLevel(column, 1).configure(
                label_for_charts="相邻对调 / neighbours swapped", u_probability=RARE_U
            ),
            cll.LevenshteinLevel(column, 2).configure(
                label_for_charts="差2位 / 2 edits", u_probability=RARE_U
            ),
        ]
    levels.append(_else_level())
    return cl.CustomComparison(
        comparison_levels=levels, output_column_name=column, comparison_description=label
    )


def person_settings(*, checksum_aware: bool = True) -> Any:
    """The person model: dedupe within and link across the department datasets."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_description="姓名 / name",
        comparison_levels=[
            cll.NullLevel("name"),
            # No term-frequency adjustment: a model saved with one does not predict on Spark
            # (Splink 5 then leaves out the frequency table), and the birth date beside the
            # name already separates the many 王伟 of a county.
            cll.ExactMatchLevel("name").configure(label_for_charts="相同 / exact"),
            cll.ExactMatchLevel("name_pinyin").configure(
                label_for_charts="拼音相同(同音字) / same pinyin"
            ),
            cll.ExactMatchLevel("name_fuzzy").configure(
                label_for_charts="模糊音相同(陈/程) / fuzzy pinyin"
            ),
            cll.JaroWinklerLevel("name_pinyin", 0.9).configure(
                label_for_charts="拼音相近 / pinyin Jaro-Winkler ≥ 0.9"
            ),
            _else_level(),
        ],
    )
    birth = cl.CustomComparison(
        output_column_name="birth_date",
        comparison_description="出生日期 / birth date",
        comparison_levels=[
            cll.NullLevel("birth_date"),
            cll.ExactMatchLevel("birth_date").configure(label_for_charts="相同 / exact"),
            cll.CustomLevel(
                "substr(birth_date_l, 1, 4) = substr(birth_date_r, 1, 4)"
                " AND substr(birth_date_l, 6, 2) = substr(birth_date_r, 9, 2)"
                " AND substr(birth_date_l, 9, 2) = substr(birth_date_r, 6, 2)",
                base_dialect_str="duckdb",
            ).configure(label_for_charts="月日对调 / day and month swapped"),
            cll.ExactMatchLevel("birth_year").configure(
                label_for_charts="同年 / same year", m_probability=0.002
            ),
            _else_level(),
        ],
    )
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_description="住址区划 / address region",
        comparison_levels=[
            cll.NullLevel("township_code"),
            cll.ExactMatchLevel("village_code").configure(label_for_charts="同村 / same village"),
            cll.ExactMatchLevel("township_code").configure(
                label_for_charts="同乡镇 / same township"
            ),
            cll.ExactMatchLevel("county_code").configure(label_for_charts="同县 / same county"),
            _else_level(),
        ],
    )
    phone = cl.CustomComparison(
        output_column_name="phone",
        comparison_description="电话 / phone",
        comparison_levels=[
            cll.NullLevel("phone"),
            cll.ExactMatchLevel("phone").configure(label_for_charts="相同 / exact"),
            cll.LevenshteinLevel("phone", 1).configure(
                label_for_charts="差1位 / 1 edit", u_probability=RARE_U
            ),
            _else_level(),
        ],
    )
    return SettingsCreator(
        link_type="link_and_dedupe",
        unique_id_column_name="record_id",
        probability_two_random_records_match=1e-6,
        comparisons=[
            _id_comparison(
                "id18", "id_valid", checksum_aware=checksum_aware, label="身份证号 / ID number"
            ),
            name,
            birth,
            cl.CustomComparison(
                output_column_name="sex",
                comparison_description="性别 / sex",
                comparison_levels=[
                    cll.NullLevel("sex"),
                    cll.ExactMatchLevel("sex").configure(label_for_charts="相同 / same"),
                    _else_level(),
                ],
            ),
            address,
            phone,
        ],
        blocking_rules_to_generate_predictions=[
            block_on("id18"),
            # ID prefix and birth date (the first 14 characters) with the surname: catches
            # typos in the sequence number or the check character.
            block_on("id_stem", "surname_pinyin"),
            # Homophones and traditional characters share pinyin; the year survives swapped
            # day and month.
            block_on("name_pinyin", "birth_year"),
            # Children share the household's phone: with the birth year, siblings stay apart.
            block_on("phone", "birth_year"),
            # A name typo and an ID typo in one record: same birth date and village.
            block_on("birth_date", "village_code"),
        ],
        additional_columns_to_retain=["true_id"],
        retain_intermediate_calculation_columns=True,
        max_iterations=20,
        em_convergence=0.001,
    )


def entity_settings(*, checksum_aware: bool = True) -> Any:
    """The legal-entity model: credit code, name without legal form and place, legal
    representative, township."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.CustomComparison(
        output_column_name="name_core",
        comparison_description="名称 / name",
        comparison_levels=[
            cll.NullLevel("name_core"),
            cll.ExactMatchLevel("name").configure(label_for_charts="全称相同 / exact"),
            cll.ExactMatchLevel("name_core").configure(label_for_charts="字号相同 / same core"),
            cll.JaroWinklerLevel("name_core", 0.9).configure(
                label_for_charts="字号相近 / Jaro-Winkler ≥ 0.9"
            ),
            _else_level(),
        ],
    )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_id",
        probability_two_random_records_match=1e-4,
        comparisons=[
            _id_comparison(
                "credit_code",
                "credit_code_valid",
                checksum_aware=checksum_aware,
                label="统一社会信用代码 / credit code",
            ),
            name,
            cl.ExactMatch("legal_rep_pinyin"),
            cl.ExactMatch("township_code"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("credit_code"),
            block_on("name_core"),
            block_on("legal_rep_pinyin"),
        ],
        additional_columns_to_retain=["true_id"],
        retain_intermediate_calculation_columns=True,
    )


@dataclass
class LinkageRun:
    """One linkage of a standardised table (persons or entities).

    ``model`` is a trained model (a path to its JSON or the dict); without it, :meth:`train`
    estimates one from the data (EM, no labels needed).
    """

    table: pa.Table
    kind: str = "person"  # "person" | "entity"
    backend: Backend = "duckdb"
    checksum_aware: bool = True
    model: str | Path | dict[str, Any] | None = None
    settings: LinkageSettings | None = None
    progress: Progress | None = None
    seed: int = 5
    # Random pairs sampled to estimate u; small tests may take fewer.
    u_max_pairs: float = 1e6
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from splink import Linker

        self._db_api = make_db_api(self.backend, self.settings)
        if self.model is not None:
            settings: Any = _portable_model(
                json.loads(Path(self.model).read_text("utf-8"))
                if isinstance(self.model, str | Path)
                else self.model,
                self.kind,
                self._db_api.sql_dialect.sql_dialect_str,
            )
        elif self.kind == "person":
            settings = person_settings(checksum_aware=self.checksum_aware)
        else:
            settings = entity_settings(checksum_aware=self.checksum_aware)
        if self.kind == "person":
            # One input table per department: Splink links across them and dedupes within.
            sources = sorted(set(self.table["source"].to_pylist()))
            inputs = [
                self._db_api.register(
                    self.table.filter(pc.equal(self.table["source"], source)),
                    dataset_display_name=source,
                )
                for source in sources
            ]
        else:
            inputs = [self._db_api.register(self.table, dataset_display_name="entities")]
        if len(inputs) == 1:
            if isinstance(settings, dict):
                settings = {**settings, "link_type": "dedupe_only"}
            else:
                settings.link_type = "dedupe_only"
        self.linker = Linker(
            inputs if len(inputs) > 1 else inputs[0], settings, log_level=logging.ERROR
        )
        self.predictions: Any = None
        self.clusters: Any = None

    # -- steps ----------------------------------------------------------------------------

    STEPS = ("prior", "u", "em_id", "em_name", "predict", "cluster")

    def _step(self, label: str, done: int) -> None:
        if self.progress is not None:
            self.progress(label, done, len(self.STEPS))

    def _timed(self, name: str, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        result = fn()
        self.timings[name] = time.perf_counter() - start
        return result

    def train(self) -> None:
        """Estimate the model: the prior from exact identifier matches, u by random sampling,
        m by expectation maximisation on two blocking passes (each pass learns the
        comparisons it does not block on)."""
        from splink import block_on

        training = self.linker.training
        id_column = "id18" if self.kind == "person" else "credit_code"
        second = ("name_pinyin", "birth_date") if self.kind == "person" else ("name_core",)
        self._step("估计先验 / prior", 0)
        self._timed(
            "train_prior",
            lambda: training.estimate_probability_two_random_records_match(
                [block_on(id_column)], recall=0.9
            ),
        )
        self._step("估计 u / u by sampling", 1)
        self._timed(
            "train_u",
            lambda: training.estimate_u_using_random_sampling(
                max_pairs=self.u_max_pairs, seed=self.seed
            ),
        )
        self._step("EM: 按证件号分块 / EM blocked on ID", 2)
        self._em("train_em_id", block_on(id_column))
        self._step("EM: 按姓名分块 / EM blocked on name", 3)
        self._em("train_em_name", block_on(*second))

    def _em(self, name: str, blocking_rule: Any) -> None:
        """One EM session; a small dataset may have no pair under the rule, and then the
        comparisons keep their starting m values (noted in ``warnings``)."""
        from splink.internals.exceptions import EMTrainingException

        try:
            self._timed(
                name,
                lambda: self.linker.training.estimate_parameters_using_expectation_maximisation(
                    blocking_rule, fix_u_probabilities=True
                ),
            )
        except EMTrainingException as exc:
            self.warnings.append(f"{name}: {exc}")

    def predict(self) -> Any:
        self._step("预测 / predict", 4)
        self.predictions = self._timed(
            "predict",
            lambda: self.linker.inference.predict(
                threshold_match_weight=PREDICT_MIN_MATCH_WEIGHT, warning_mode="never"
            ),
        )
        return self.predictions

    def cluster(self, threshold_probability: float = DEFAULT_CLUSTER_PROBABILITY) -> pa.Table:
        """Connected components of the links at or above the threshold: a table of
        ``record_id``, ``cluster_id`` (and ``true_id`` where the input had it)."""
        if self.predictions is None:
            self.predict()
        self._step("聚类 / cluster", 5)
        self.clusters = self._timed(
            "cluster",
            lambda: self.linker.clustering.cluster_pairwise_predictions_at_threshold(
                self.predictions, threshold_match_probability=threshold_probability
            ),
        )
        table = self.clusters.query_sql(
            "select record_id, cluster_id, true_id from {this}"
        ).as_pyarrow_table()
        self._step("完成 / done", 6)
        return table

    def run(self, threshold_probability: float = DEFAULT_CLUSTER_PROBABILITY) -> pa.Table:
        if self.model is None:
            self.train()
        self.predict()
        return self.cluster(threshold_probability)

    # -- the model and its explanations ---------------------------------------------------

    def model_dict(self) -> dict[str, Any]:
        return self.linker.misc.save_model_to_json()

    def save_model(self, path: str | Path) -> None:
        self.linker.misc.save_model_to_json(str(path), overwrite=True)

    def predicted_pairs(self, threshold_probability: float) -> list[tuple[str, str]]:
        table = self.predictions.as_pyarrow_table()
        table = table.filter(pc.greater_equal(table["match_probability"], threshold_probability))
        return list(
            zip(table["record_id_l"].to_pylist(), table["record_id_r"].to_pylist(), strict=True)
        )

    def explain(self, record_id_l: str, record_id_r: str) -> list[dict[str, Any]]:
        """The waterfall of one scored pair: the prior, then each comparison's level, its
        match weight (log2 of the Bayes factor) and the two values compared, then the total.

        Empty if the pair was not scored (the blocking never brought it together).
        """
        from splink.internals.waterfall_chart import records_to_waterfall_data

        if self.predictions is None:
            self.predict()
        rows = [
            row
            for row in self._pair_rows(record_id_l, record_id_r)
            if {row["record_id_l"], row["record_id_r"]} == {record_id_l, record_id_r}
        ]
        if not rows:
            return []
        data = records_to_waterfall_data(rows[:1], self.linker._settings_obj, False)
        return [
            {
                "comparison": bar["column_name"],
                "level": bar["label_for_charts"],
                "gamma": bar["comparison_vector_value"],
                "match_weight": _finite(bar["log2_bayes_factor"]),
                "m": bar["m_probability"],
                "u": bar["u_probability"],
                "left": bar["value_l"],
                "right": bar["value_r"],
            }
            for bar in data
        ]

    def _pair_rows(self, left: str, right: str) -> list[dict[str, Any]]:
        for a, b in ((left, right), (right, left)):
            quoted_a, quoted_b = (v.replace("'", "''") for v in (a, b))
            rows = self.predictions.query_sql(
                f"select * from {{this}} where record_id_l = '{quoted_a}'"
                f" and record_id_r = '{quoted_b}'"
            ).as_record_list()
            if rows:
                return rows
        return []


def _portable_model(model: dict[str, Any], kind: str, dialect: str) -> dict[str, Any]:
    """A saved model, rebuilt for the backend at hand.

    Splink writes the comparison levels' SQL in the dialect the model was trained on without
    saying so, and DuckDB's SQL does not run on Spark (quoted names are string literals there,
    the similarity functions have other names). So the comparisons are built afresh from this
    module's definitions for ``dialect`` and the trained parameters (the prior, each level's m
    and u) are copied over by position. A model whose comparisons are not this module's is
    returned as it is (it then runs on the backend it was saved from).
    """
    aware = any(
        "both valid" in str(level.get("label_for_charts"))
        for comparison in model.get("comparisons", [])
        for level in comparison["comparison_levels"]
    )
    build = person_settings if kind == "person" else entity_settings
    fresh = build(checksum_aware=aware).get_settings(dialect).as_dict()
    saved = {c["output_column_name"]: c for c in model.get("comparisons", [])}
    shape = {c["output_column_name"]: len(c["comparison_levels"]) for c in fresh["comparisons"]}
    if {name: len(c["comparison_levels"]) for name, c in saved.items()} != shape:
        return model
    for comparison in fresh["comparisons"]:
        levels = saved[comparison["output_column_name"]]["comparison_levels"]
        for level, trained in zip(comparison["comparison_levels"], levels, strict=True):
            for key in ("m_probability", "u_probability"):
                if key in trained:
                    level[key] = trained[key]
    fresh["probability_two_random_records_match"] = model["probability_two_random_records_match"]
    fresh["link_type"] = model.get("link_type", fresh["link_type"])
    return fresh


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else (40.0 if value > 0 else -40.0)
