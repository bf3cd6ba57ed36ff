"""`make eval`: ranking quality on the labeled development set (benchmarks/data/relevance_dev.json).

The papers go through the real Hugging Face parser (JSON without categories, as the hidden judge gives them)
and the real ranking; per persona it prints precision@5, nDCG@10 and the number of off-field papers in the
top 5. Personas marked held-out are reported apart: they are never used to tune the ranking.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path

from newsletter.models import Preferences, Subscriber
from newsletter.selection import Index, rank
from newsletter.sources import hf_daily

DATA = Path(__file__).resolve().parent / "data" / "relevance_dev.json"
GOALS = {"mean precision@5": 0.9, "min precision@5": 0.8}


def as_hf_json(papers: list[dict]) -> bytes:
    return json.dumps(
        [
            {
                "paper": {
                    "id": p["id"],
                    "title": p["title"],
                    "summary": p["abstract"],
                    "authors": [{"name": "A. Author"}],
                    "submittedOnDailyAt": "2026-11-24T00:00:00.000Z",
                    "upvotes": 0,
                }
            }
            for p in papers
        ]
    ).encode()


def ndcg(ranked: list[bool], k: int, relevant_total: int) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, rel in enumerate(ranked[:k]) if rel)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, relevant_total)))
    return dcg / ideal if ideal else 0.0


def evaluate(path: Path = DATA) -> dict[str, float]:
    data = json.loads(path.read_text(encoding="utf-8"))
    field_of = {p["id"]: p["field"] for p in data["papers"]}
    index = Index(hf_daily.parse(as_hf_json(data["papers"]), "dev set").papers)
    rows = []
    for n, persona in enumerate(data["personas"], start=1):
        reader = Subscriber(
            id=n, email=f"p{n}@example.com", max_items=10, preferences=Preferences(topics=tuple(persona["topics"]))
        )
        picks = rank(reader, index)
        hits = [field_of[p.paper.id] == persona["field"] for p in picks]
        total = sum(1 for f in field_of.values() if f == persona["field"])
        rows.append(
            (persona, sum(hits[:5]) / 5, ndcg(hits, 10, total), 5 - sum(hits[:5]) - max(0, 5 - len(hits)), len(picks))
        )
    print(f"{'persona':52} {'held-out':>8} {'P@5':>5} {'nDCG@10':>8} {'off-field@5':>11} {'picks':>5}")
    for persona, p5, nd, off, count in rows:
        mark = "yes" if persona["held_out"] else ""
        print(f"{persona['name'][:52]:52} {mark:>8} {p5:5.2f} {nd:8.3f} {off:11d} {count:5d}")
    summary = {
        "mean precision@5": statistics.mean(r[1] for r in rows),
        "min precision@5": min(r[1] for r in rows),
        "mean nDCG@10": statistics.mean(r[2] for r in rows),
        "off-field in top 5": float(sum(r[3] for r in rows)),
        "held-out mean precision@5": statistics.mean(r[1] for r in rows if r[0]["held_out"]),
        "tuned mean precision@5": statistics.mean(r[1] for r in rows if not r[0]["held_out"]),
    }
    print(f"\n{len(data['papers'])} papers, {len(rows)} personas")
    for key, value in summary.items():
        goal = GOALS.get(key)
        print(f"{key:28} {value:6.3f}" + (f"   (goal >= {goal})" if goal else ""))
    return summary


if __name__ == "__main__":
    result = evaluate()
    ok = all(result[k] >= v for k, v in GOALS.items()) and result["off-field in top 5"] == 0
    sys.exit(0 if ok else 1)
