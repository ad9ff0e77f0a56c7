"""The Python peer of trendlake's transform, for the benchmark: JSON pages -> NFC rows -> Parquet bytes.

What a careful hand-written script does with json + unicodedata + pyarrow: the same columns and
rules as trendlake's lake schema, and each page kept as received for a raw archive (gzip at its
fastest level, with its CRC-32 and SHA-256, as trendlake's raw pages are). Usage: peer_transform.py PAGES_JSON ROUNDS; prints videos/s.
"""
import gzip
import hashlib
import io
import json
import zlib
import re
import sys
import time
import unicodedata
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

CC = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CC_DESC = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
DUR = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def title(s):
    return unicodedata.normalize("NFC", CC.sub("", s)).strip()


def desc(s):
    return unicodedata.normalize("NFC", CC_DESC.sub("", s.replace("\r\n", "\n")))


def duration(s):
    if s is None:
        return None
    m = DUR.match(s)
    if not m:
        return None
    d, h, mi, se = (int(x) if x else 0 for x in m.groups())
    return ((d * 24 + h) * 60 + mi) * 60 + se


def count(s):
    return None if s is None else int(s)


def transform(pages, region):
    cols = {k: [] for k in (
        "region rank video_id title description channel_id channel_title category_id published_at "
        "duration_s live_broadcast_content view_count like_count comment_count tags default_language "
        "default_audio_language thumbnail_url definition caption licensed_content fetched_at").split()}
    rank = 0
    archive = []
    for raw in pages:
        body = raw.encode()
        archive.append((gzip.compress(body, compresslevel=1), zlib.crc32(body), hashlib.sha256(body).hexdigest()))
        page = json.loads(raw)
        fetched = datetime.now()
        for it in page["items"]:
            rank += 1
            sn, cd, st = it["snippet"], it.get("contentDetails", {}), it.get("statistics", {})
            th = sn.get("thumbnails", {})
            best = next((th[k]["url"] for k in ("maxres", "standard", "high", "medium", "default") if k in th), None)
            cols["region"].append(region)
            cols["rank"].append(rank)
            cols["video_id"].append(it["id"])
            cols["title"].append(title(sn["title"]))
            cols["description"].append(desc(sn.get("description", "")))
            cols["channel_id"].append(sn["channelId"])
            cols["channel_title"].append(title(sn.get("channelTitle", "")))
            cols["category_id"].append(int(sn["categoryId"]) if "categoryId" in sn else None)
            cols["published_at"].append(datetime.fromisoformat(sn["publishedAt"].replace("Z", "+00:00")))
            cols["duration_s"].append(duration(cd.get("duration")))
            cols["live_broadcast_content"].append(sn.get("liveBroadcastContent", "none"))
            cols["view_count"].append(count(st.get("viewCount")))
            cols["like_count"].append(count(st.get("likeCount")))
            cols["comment_count"].append(count(st.get("commentCount")))
            tags = sn.get("tags")
            cols["tags"].append([unicodedata.normalize("NFC", t) for t in tags] if tags is not None else None)
            cols["default_language"].append(sn.get("defaultLanguage"))
            cols["default_audio_language"].append(sn.get("defaultAudioLanguage"))
            cols["thumbnail_url"].append(best)
            cols["definition"].append(cd.get("definition"))
            cap = cd.get("caption")
            cols["caption"].append(None if cap is None else cap == "true")
            cols["licensed_content"].append(cd.get("licensedContent"))
            cols["fetched_at"].append(fetched)
    return pa.table(cols)


def main():
    pages = json.load(open(sys.argv[1]))  # {"REGION": [page_json_text, ...], ...}
    rounds = int(sys.argv[2])
    videos = 0
    start = time.perf_counter()
    for _ in range(rounds):
        tables = []
        for region, region_pages in sorted(pages.items()):
            t = transform(region_pages, region)
            videos += t.num_rows
            tables.append(t)
        buf = io.BytesIO()
        with pq.ParquetWriter(buf, tables[0].schema, compression="zstd", compression_level=1) as w:
            for t in tables:
                w.write_table(t)
    elapsed = time.perf_counter() - start
    print(f"{videos / elapsed:.0f}")


if __name__ == "__main__":
    main()
