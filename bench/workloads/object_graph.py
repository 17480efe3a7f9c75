"""An object graph built, walked and dropped: ~1M small objects live at the peak.

Measures the profiler's memory per live block (it must remember every live allocation),
and the cost of a large free at the end. Size: number of nodes (each node is a small
__slots__ object plus an int that does not fit the small-int cache).
"""

from _size import size


class Node:
    __slots__ = ("value", "next", "child")

    def __init__(self, value, next_node):
        self.value = value
        self.next = next_node
        self.child = None


def build(n):
    head = None
    for i in range(n):
        head = Node(i + 1000, head)
        if i % 8 == 0:
            head.child = Node(-i - 1000, None)
    return head


def walk(head):
    total = count = 0
    while head is not None:
        total += head.value
        count += 1
        head = head.next
    return count, total


if __name__ == "__main__":
    graph = build(size(700_000))
    print(walk(graph))
    del graph
