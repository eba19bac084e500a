"""Record linkage: one master index of persons and legal entities across department datasets.

Plain records in, clusters out; no database tables of its own (the data hub stores the
clusters with its dataset versions). Method and thresholds: docs/linkage.md.

Input contract — person records (mappings or an Arrow table of strings; missing keys and
empty strings are "unknown"):

    record_id     unique across all inputs of one run (e.g. "<dataset>:<row>")
    source        the dataset the record comes from (linked across, deduplicated within)
    name          as written: spaces, full-width forms, traditional characters are fine
    id_number     citizen ID number, 18 or 15 characters, full-width or lower-case x allowed
    sex           男/女, 1/2 (GB/T 2261.1), M/F
    birth_date    19850312, 1985-03-12, 1985/3/12, 1985年3月12日
    phone         mainland mobile number, any spacing, +86 allowed
    region_code   12-digit region code of any level (village, township or county), or empty
    address       free text, used when region_code is empty (resolved by the caller's
                  resolver, e.g. the regions domain's, or ``VillageDirectory``)
    true_id       optional: the known entity (synthetic data), to measure quality

Legal-entity records: record_id, source, name, credit_code (GB 32100), legal_rep,
region_code / address, true_id.

Output: ``LinkageRun.run()`` → an Arrow table of record_id, cluster_id, true_id; the scored
pairs (``predictions``) and ``explain(left, right)`` for the match-weight waterfall of a pair.

Modules: ``synthetic`` (demo datasets with a known truth), ``standardise`` (records → the
compared columns), ``ids`` (GB 11643 / GB 32100 checks), ``engine`` (Splink models and runs),
``backends`` (DuckDB / Spark), ``quality`` (precision, recall, F1 against a truth), ``cli``.
"""
