"""Checks that one resource of a Terraform graph waits for others.

Reads the DOT text of `terraform graph` on stdin (an edge "A" -> "B" means A depends on B) and
fails, naming what is missing, unless FIRST depends, directly or through others, on each THEN.
Usage: terraform graph | python3 depends_on.py FIRST THEN...
"""

import re
import sys
from collections import defaultdict

EDGE = re.compile(r'^\s*"([^"]+)"\s*->\s*"([^"]+)"')


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    first, wanted = sys.argv[1], sys.argv[2:]
    needs = defaultdict(set)
    for line in sys.stdin:
        match = EDGE.match(line)
        if match:
            needs[match.group(1)].add(match.group(2))
    if first not in needs:
        sys.exit(f"{first} is not in the graph, or depends on nothing")
    reached, todo = set(), [first]
    while todo:
        for node in needs[todo.pop()] - reached:
            reached.add(node)
            todo.append(node)
    missing = [node for node in wanted if node not in reached]
    if missing:
        sys.exit(f"{first} does not wait for: {', '.join(missing)}")
    print(f"{first} waits for {len(wanted)} resources")


if __name__ == "__main__":
    main()
