"""json.dumps / json.loads round trips of a mid-sized document.

Mostly C code (the _json accelerator) allocating Python objects: many allocations per Python
line, short Python stacks. Size: number of round trips.
"""

import json

from _size import size


def document():
    return {
        "users": [
            {"id": i, "name": f"user{i}", "tags": ["a", "b", str(i)], "score": i / 7,
             "active": i % 2 == 0, "address": {"city": "Paris", "zip": f"{75000 + i % 20}"}}
            for i in range(2000)
        ]
    }


if __name__ == "__main__":
    doc = document()
    for _ in range(size(40)):
        text = json.dumps(doc)
        doc = json.loads(text)
    print(len(text))
