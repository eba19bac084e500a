"""People (自然人): the one table of natural persons that other domains link to.

Citizen ID numbers, names and phones are sealed at rest and found through keyed indexes.
"""
