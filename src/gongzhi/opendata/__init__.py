"""Open data: the catalogue's open datasets published for everyone — the CKAN Action API
subset (``ckan.py``), a DCAT JSON-LD export (``dcat.py``), CSV downloads and the citizens'
portal (``pages.py``). Everything here only reads the data hub (``gongzhi.data``)."""
