"""Benchmark: the whoosh search index against SQLite FTS5 (trigram) on one generated corpus.

Run: python bench/search_bench.py [--docs 50000] [--seed 7]

The corpus is lessons of mixed Tibetan, Chinese and English sentences: Tibetan and
English lesson text from bench/corpus/, Chinese sentences from the seed document
(../shared/seed/). Both engines index the same documents in the same run; the script
prints build time, p50/p95 latency over 200 fixed queries, the ratios whoosh/FTS5, and
recall@10 on 50 queries whose right answers were planted in the corpus.
"""

import argparse
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as windex

from lms.search.analysis import analyzer
from lms.search.index import SearchIndex
from lms.search.query import build_query
from lms.search.schema import SEARCH_FIELDS

ROOT = Path(__file__).resolve().parents[1]

CORPUS = ROOT / "bench" / "corpus"
SEED = ROOT.parent / "shared" / "seed" / "000_a1380ae713a92194.txt"
TSHEG_SHAD = re.compile(r"[\u0f0b-\u0f14\s]+")
REGIONS = ["lhasa", "shigatse", "chamdo", "nyingchi", "shannan", "nagqu", "ngari"]
TRAINING_TYPES = ["employment", "upgrading", "entrepreneurship"]
STOP = {"the", "and", "for", "with", "are", "from", "that", "this", "you", "your", "into", "its"}


@dataclass
class Corpus:
    docs: list[dict]
    latency_queries: list[tuple[str, str]]
    recall_queries: list[tuple[str, str, set[str]]]


def read_lines(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def seed_sentences(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    pieces = re.split(r"[。;;!?\n]", text)
    return [p.strip() for p in pieces if len(re.findall(r"[\u4e00-\u9fff]", p)) >= 8]


def tibetan_syllables(sentence: str) -> list[str]:
    return [s for s in TSHEG_SHAD.split(sentence) if s]


def chinese_words(sentence: str) -> list[str]:
    return [
        t.text for t in analyzer()(sentence, mode="query") if re.match(r"[\u4e00-\u9fff]", t.text)
    ]


def english_words(sentence: str) -> list[str]:
    return re.findall(r"[A-Za-z]+", sentence)


def make_corpus(n_docs: int, seed: int, seed_file: Path) -> Corpus:
    rng = random.Random(seed)
    pools = {
        "bo": read_lines(CORPUS / "bo_lessons.txt"),
        "zh": seed_sentences(seed_file),
        "en": read_lines(CORPUS / "en_crafts.txt"),
    }
    docs = []
    for i in range(n_docs):
        primary = rng.choices(["bo", "zh", "en"], weights=[4, 4, 2])[0]
        others = [lang for lang in pools if lang != primary]
        body = [
            rng.choice(pools[primary] if rng.random() < 0.7 else pools[rng.choice(others)])
            for _ in range(rng.randint(6, 14))
        ]
        languages = sorted({primary, *(rng.sample(others, 1) if rng.random() < 0.3 else [])})
        docs.append(
            {
                "doc_id": f"lesson:{i}",
                "kind": "lesson",
                "course_id": i // 12,
                "url": f"/lessons/{i}",
                f"title_{primary}": rng.choice(pools[primary])[:40],
                "body": " ".join(body),
                "training_type": rng.choice(TRAINING_TYPES),
                "skill_level": str(rng.randint(1, 5)),
                "institution_id": str(rng.randint(1, 40)),
                "region": rng.choice(REGIONS),
                "language": languages,
            }
        )
    vocab = {
        "bo": sorted({s for line in pools["bo"] for s in tibetan_syllables(line)}),
        "zh": sorted({w for line in pools["zh"] for w in chinese_words(line) if len(w) >= 2}),
        "en": sorted({w.lower() for line in pools["en"] for w in english_words(line)} - STOP),
    }
    joined = {"bo": "་", "zh": "", "en": " "}
    every_text = "\n".join(line for lines in pools.values() for line in lines)
    recall, targets_used = [], set()
    for k in range(50):
        lang = ["bo", "zh", "en"][k % 3]
        while True:
            words = rng.sample(vocab[lang], 3)
            phrase = joined[lang].join(words)
            if phrase.lower() not in every_text.lower():
                break
        targets = set()
        while len(targets) < 2:
            n = rng.randrange(n_docs)
            if n not in targets_used:
                targets.add(n)
                targets_used.add(n)
        for n in targets:
            sentences = docs[n]["body"].split(" ")
            sentences.insert(
                rng.randrange(len(sentences) + 1), phrase + ("།" if lang == "bo" else ".")
            )
            docs[n]["body"] = " ".join(sentences)
        # Distractors hold the same words apart, each between other sentences: matching
        # all the words is not enough to rank first, the phrase has to count.
        for n in rng.sample(range(n_docs), min(20, n_docs)):
            if n not in targets_used:
                pieces = docs[n]["body"].split(" ")
                places = sorted(rng.sample(range(len(pieces) + 1), 3), reverse=True)
                for place, word in zip(places, words, strict=True):
                    pieces.insert(place, word + ("།" if lang == "bo" else ""))
                docs[n]["body"] = " ".join(pieces)
        typed = phrase + "།" if lang == "bo" and k % 2 else phrase
        recall.append((lang, typed, {f"lesson:{n}" for n in targets}))
    latency = []
    for k in range(200):
        lang = "bo" if k < 70 else "zh" if k < 140 else "en"
        line = rng.choice(pools[lang])
        words = {"bo": tibetan_syllables, "zh": chinese_words, "en": english_words}[lang](line)
        words = [w for w in words if w.lower() not in STOP] or words
        start, size = rng.randrange(len(words)), rng.choice([1, 1, 2, 3])
        latency.append((lang, joined[lang].join(words[start : start + size])))
    return Corpus(docs, latency, recall)


def build_fts(path: Path, docs: list[dict]) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(doc_id UNINDEXED, title, body, tokenize='trigram')"
    )
    conn.execute(
        "CREATE TABLE meta (id INTEGER PRIMARY KEY, kind, training_type, skill_level,"
        " institution_id, region, language)"
    )
    for n, doc in enumerate(docs, start=1):
        title = " ".join(doc.get(f"title_{c}", "") for c in ("bo", "zh", "en")).strip()
        conn.execute(
            "INSERT INTO docs(rowid, doc_id, title, body) VALUES (?, ?, ?, ?)",
            (n, doc["doc_id"], title, doc["body"]),
        )
        conn.execute(
            "INSERT INTO meta VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                n,
                doc["kind"],
                doc["training_type"],
                doc["skill_level"],
                doc["institution_id"],
                doc["region"],
                " ".join(doc["language"]),
            ),
        )
    conn.commit()
    return conn


def fts_parts(text: str) -> list[str]:
    parts = [p.strip("་༌") for p in re.split(r"[\s།༎,.;:!?\"'()\[\]{}*^~]+", text)]
    return [p for p in parts if p]


def fts_where(parts: list[str]) -> tuple[str, list[str]]:
    """Match every part: as a quoted trigram phrase, or with instr() below three characters,
    which trigrams cannot match."""
    long, short = [p for p in parts if len(p) >= 3], [p for p in parts if len(p) < 3]
    where, params = [], []
    if long:
        where.append("docs MATCH ?")
        params.append(" AND ".join('"' + p.replace('"', '""') + '"' for p in long))
    for p in short:
        where.append("(instr(title, ?) > 0 OR instr(body, ?) > 0)")
        params += [p, p]
    return " AND ".join(where) or "0", params


def fts_ranked(conn: sqlite3.Connection, parts: list[str], limit: int) -> list[str]:
    where, params = fts_where(parts)
    order = " ORDER BY rank" if "MATCH" in where else ""
    sql = f"SELECT doc_id FROM docs WHERE {where}{order} LIMIT {limit}"
    return [row[0] for row in conn.execute(sql, params)]


def fts_top10(conn: sqlite3.Connection, text: str) -> list[str]:
    """A fair FTS5 counterpart of the whoosh query: the words as one phrase first, then
    documents that have all the words, each ranked by bm25."""
    parts = fts_parts(text)
    if len(parts) < 2:
        return fts_ranked(conn, parts, 10)
    found = fts_ranked(conn, [" ".join(parts)], 10)
    if len(found) < 10:
        found += [d for d in fts_ranked(conn, parts, 10) if d not in found][: 10 - len(found)]
    return found


def fts_page(conn: sqlite3.Connection, text: str) -> int:
    """Top 10 with snippets, the total, and six facet counts: what a results page needs."""
    fts_top10(conn, text)
    where, params = fts_where(fts_parts(text))
    snippet = "snippet(docs, 2, '<mark>', '</mark>', '…', 16)" if "MATCH" in where else "''"
    conn.execute(f"SELECT title, {snippet} FROM docs WHERE {where} LIMIT 10", params).fetchall()
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS hits (id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM hits")
    conn.execute(f"INSERT INTO hits SELECT rowid FROM docs WHERE {where}", params)
    total = conn.execute("SELECT count(*) FROM hits").fetchone()[0]
    for column in ("kind", "training_type", "skill_level", "institution_id", "region", "language"):
        conn.execute(
            f"SELECT m.{column}, count(*) FROM meta m JOIN hits h ON h.id = m.id"
            f" GROUP BY m.{column}"
        ).fetchall()
    return total


def timed(action: Callable[[str], object], queries: list[str]) -> tuple[float, float]:
    for text in queries[:10]:
        action(text)  # warm caches, as a running server would have them
    samples = []
    for text in queries:
        start = time.perf_counter()
        action(text)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seed-file", type=Path, default=SEED)
    args = parser.parse_args()
    if not args.seed_file.is_file():
        sys.exit(f"seed document not found at {args.seed_file}; pass --seed-file")

    corpus = make_corpus(args.docs, args.seed, args.seed_file)
    chars = sum(len(d["body"]) for d in corpus.docs)
    print(f"corpus: {len(corpus.docs)} lessons, {chars / 1e6:.1f} M characters of body text")

    with tempfile.TemporaryDirectory(prefix="search-bench-") as tmp:
        index = SearchIndex(Path(tmp) / "whoosh", writer_memory_mb=256)
        start = time.perf_counter()
        index.rebuild(corpus.docs)
        whoosh_build = time.perf_counter() - start
        start = time.perf_counter()
        conn = build_fts(Path(tmp) / "fts.sqlite", corpus.docs)
        fts_build = time.perf_counter() - start
        sizes = {
            "whoosh": sum(p.stat().st_size for p in (Path(tmp) / "whoosh").rglob("*")),
            "fts5": (Path(tmp) / "fts.sqlite").stat().st_size,
        }

        generation = (index.path / "CURRENT").read_text().strip()
        searcher = windex.open_dir(str(index.path / generation)).searcher()

        def whoosh_top10(text: str) -> list[str]:
            query = build_query(text, list(SEARCH_FIELDS), index.schema)
            if query is None:
                return []
            return [hit["doc_id"] for hit in searcher.search(query, limit=10)]

        texts = [text for _, text in corpus.latency_queries]
        figures = {
            "top-10": (timed(whoosh_top10, texts), timed(lambda t: fts_top10(conn, t), texts)),
            "results page": (
                timed(lambda t: index.search(t, per_page=10), texts),
                timed(lambda t: fts_page(conn, t), texts),
            ),
        }
        recall = {"whoosh": [], "fts5": []}
        by_lang: dict[str, list[tuple[float, float]]] = {}
        for lang, text, right in corpus.recall_queries:
            got_whoosh = set(whoosh_top10(text))
            got_fts = set(fts_top10(conn, text))
            recall["whoosh"].append(len(got_whoosh & right) / len(right))
            recall["fts5"].append(len(got_fts & right) / len(right))
            by_lang.setdefault(lang, []).append((recall["whoosh"][-1], recall["fts5"][-1]))
        searcher.close()
        conn.close()

    print(f"\n{'':24}{'whoosh':>12}{'FTS5':>12}{'whoosh/FTS5':>14}")
    print(
        f"{'index build (s)':24}{whoosh_build:12.2f}{fts_build:12.2f}"
        f"{whoosh_build / fts_build:14.2f}"
    )
    print(
        f"{'index size (MB)':24}{sizes['whoosh'] / 1e6:12.1f}{sizes['fts5'] / 1e6:12.1f}"
        f"{sizes['whoosh'] / sizes['fts5']:14.2f}"
    )
    for name, ((w50, w95), (f50, f95)) in figures.items():
        print(f"{name + ' p50 (ms)':24}{w50:12.2f}{f50:12.2f}{w50 / f50:14.2f}")
        print(f"{name + ' p95 (ms)':24}{w95:12.2f}{f95:12.2f}{w95 / f95:14.2f}")
    w_recall = statistics.mean(recall["whoosh"])
    f_recall = statistics.mean(recall["fts5"])
    print(
        f"{'recall@10 (50 queries)':24}{w_recall:12.3f}{f_recall:12.3f}"
        f"{w_recall / max(f_recall, 1e-9):14.2f}"
    )
    for lang, pairs in sorted(by_lang.items()):
        w, f = (statistics.mean(column) for column in zip(*pairs, strict=True))
        print(f"{'  recall@10, ' + lang:24}{w:12.3f}{f:12.3f}")
    print(f"recall goal >= 0.95: {'met' if w_recall >= 0.95 else 'NOT met'}")
    print(
        "\nqueries: 200 latency queries (70 bo, 70 zh, 60 en: 1-3 words from lesson text);"
        "\n'results page' = whoosh SearchIndex.search (total, 6 facets, highlights,"
        " did-you-mean)\n  vs FTS5 top 10 with snippet(), count and 6 facet GROUP BYs."
    )


if __name__ == "__main__":
    main()
