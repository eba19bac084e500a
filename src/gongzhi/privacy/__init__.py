"""Privacy: what every data field is (classification), who may see a personal value unmasked
and for what purpose (each such view an audit event), the citizen's "who used my data" list
with its Merkle proofs, and citizens' requests under PIPL Art. 44–47. See docs/privacy.md.

``classification`` depends on nothing above ``crypto``, so that any domain may mask through
it; the rest of the package reads the domains whose data it guards (cases, people, org).
"""
