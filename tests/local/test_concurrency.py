"""No valid event is lost: several threads post through a served stack; stored == accepted."""

from __future__ import annotations

import http.client
import json
from concurrent.futures import ThreadPoolExecutor

from tests.local.conftest import Site


def test_concurrent_posting_loses_nothing(prod_site: Site) -> None:
    host, port = prod_site.server.server_address[:2]

    def client(worker: int) -> int:
        accepted = 0
        conn = http.client.HTTPConnection(str(host), int(port), timeout=30)
        for i in range(15):
            # distinct page views: the same one again within 30 s would be taken for a retry (docs/storage.md)
            batch = [{"name": "pageview", "url": f"https://example.com/p{(worker + i + j) % 7}?n={i}.{j}",
                      "domain": "example.com"} for j in range(1 + (i % 4))]
            batch.append({"name": "pageview", "url": "not a url", "domain": "example.com"})  # always rejected
            conn.request("POST", "/api/events", body=json.dumps(batch),
                         headers={"Content-Type": "application/json", "User-Agent": f"Mozilla/5.0 w{worker}"})
            resp = conn.getresponse()
            answer = json.loads(resp.read())
            assert resp.status == 202, answer
            assert len(answer["rejected"]) == 1
            accepted += answer["accepted"]
        conn.close()
        return accepted

    with ThreadPoolExecutor(max_workers=8) as pool:
        accepted = sum(pool.map(client, range(8)))
    stored = [i for i in prod_site.provider.client("dynamodb").scan(TableName="liveinsight-events-prod")["Items"]
              if i["pk"]["S"].startswith("EV#example.com#") and "guard" not in i]
    assert accepted == 8 * sum(1 + (i % 4) for i in range(15))
    assert len(stored) == accepted
