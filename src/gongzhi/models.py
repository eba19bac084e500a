"""Imports every domain's models so ``Base.metadata`` knows all tables (Alembic, tests)."""

from gongzhi.audit import models as audit_models  # noqa: F401
from gongzhi.cases import classify as classifier_models  # noqa: F401  (classifier_model)
from gongzhi.cases import duplicates as duplicates_models  # noqa: F401  (merges, supporters)
from gongzhi.cases import models as cases_models  # noqa: F401
from gongzhi.cases import open311 as open311_models  # noqa: F401  (the API key table)
from gongzhi.cases import rollup_models  # noqa: F401  (the indicators' daily roll-up)
from gongzhi.cases import summons as summons_models  # noqa: F401  (case_summons, …)
from gongzhi.data import (
    findings_models,  # noqa: F401  (contradictions between departments)
    master_index_models,  # noqa: F401  (the master index)
)
from gongzhi.data import models as data_models  # noqa: F401
from gongzhi.data.sharing import models as sharing_models  # noqa: F401
from gongzhi.notify import models as notify_models  # noqa: F401
from gongzhi.org import models as org_models  # noqa: F401
from gongzhi.people import models as people_models  # noqa: F401
from gongzhi.privacy import models as privacy_models  # noqa: F401
from gongzhi.regions import models as regions_models  # noqa: F401
from gongzhi.security import models as security_models  # noqa: F401
