"""Staff pages: browse the region tree, search, add a grid cell."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.regions.fixtures import ANJI, YUHUA, ZHANGWU
from tests.security.fixtures import login_as


def test_pages_need_a_signed_in_user(client: TestClient) -> None:
    r = client.get(f"/regions/{ANJI}", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")


def test_home_lists_the_callers_regions_and_searches(client: TestClient) -> None:
    login_as(client, "township_clerk")
    page = client.get("/regions")
    assert page.status_code == 200
    assert f'href="/regions/{ZHANGWU}"' in page.text
    found = client.get("/regions", params={"q": "安吉"})
    assert f'href="/regions/{ANJI}"' in found.text
    none = client.get("/regions", params={"q": "不存在的地方"})
    results = none.text.split('id="results-title"')[1].split("</section>")[0]
    assert "不存在的地方" in results and "/regions/3" not in results


def test_region_page_shows_path_children_and_class(client: TestClient) -> None:
    login_as(client, "dispatcher")
    page = client.get(f"/regions/{ZHANGWU}")
    assert page.status_code == 200
    assert f'href="/regions/{ANJI}"' in page.text  # breadcrumb
    assert f'href="/regions/{YUHUA}"' in page.text  # child
    village = client.get(f"/regions/{YUHUA}")
    assert "乡村" in village.text and "按名称推断" in village.text
    # a dispatcher may not add grid cells: no form
    assert 'action="/regions/' not in village.text
    assert client.get("/regions/330523999000").status_code == 404


def test_data_officer_adds_a_grid_through_the_form(client: TestClient) -> None:
    csrf = login_as(client, "data_officer")
    page = client.get(f"/regions/{YUHUA}")
    assert f'action="/regions/{YUHUA}/grids"' in page.text
    r = client.post(
        f"/regions/{YUHUA}/grids",
        data={"name": "第一网格", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/regions/{YUHUA}"
    after = client.get(f"/regions/{YUHUA}")
    assert "第一网格" in after.text and f"{YUHUA}001" in after.text


def test_the_grid_form_needs_the_csrf_token(client: TestClient) -> None:
    login_as(client, "data_officer")
    r = client.post(f"/regions/{YUHUA}/grids", data={"name": "第一网格"}, follow_redirects=False)
    assert r.status_code == 403
