"""A helper process of database_csv: it reads its share of a SQLite export's ranges of lines.

database_csv starts it as a script (`python -I sqlite_helper.py`), so it needs only the standard
library and starts in milliseconds. It reads one JSON job on stdin:

    {"database": "file:///...?mode=ro", "sql": query, "params": [...], "bounds": [i, j],
     "ranges": [[low, high], ...]}

where params[i] and params[j] take each range's low and high id. For each range, in order, it
writes to stdout the length of the range's lines (8 bytes, little-endian), then the lines. A
process, not a thread: two threads reading SQLite in one process contend for SQLite's global
allocator lock and end slower than one.
"""

from __future__ import annotations

import json
import sqlite3
import struct
import sys
from operator import itemgetter

LENGTH = struct.Struct("<q")
BATCH = 2_000  # lines fetched at a time


def main() -> None:
    """Answer one job (see the module's docstring)."""
    job = json.loads(sys.stdin.buffer.readline())
    params = list(job["params"])
    low, high = job["bounds"]
    out = sys.stdout.buffer
    connection = sqlite3.connect(job["database"], uri=True)
    try:
        connection.execute("PRAGMA busy_timeout = 10000")
        connection.execute("PRAGMA query_only = ON")
        for start, stop in job["ranges"]:
            params[low], params[high] = start, stop
            # The whole range is read before it is written: the caller reads it only in its turn.
            cursor = connection.execute(job["sql"], params)
            parts = []
            while lines := cursor.fetchmany(BATCH):
                parts.append(b"".join(map(itemgetter(0), lines)))
            out.write(LENGTH.pack(sum(map(len, parts))))
            out.writelines(parts)
            out.flush()
    finally:
        connection.close()


if __name__ == "__main__":
    main()
