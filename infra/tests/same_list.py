"""Checks that two list-of-strings locals of the Terraform code hold the same strings.

Each argument is FILE:NAME, a `NAME = [ "...", ... ]` assignment in FILE; fails, naming what
differs, unless all of them hold the same set. For lists that two configurations applied apart
must keep equal (the application's DynamoDB actions in the stack and in the deploy role's
boundary), where Terraform cannot read one from the other.
Usage: python3 same_list.py FILE:NAME FILE:NAME...
"""

import re
import sys


def strings_of(argument):
    path, name = argument.rsplit(":", 1)
    with open(path, encoding="utf-8") as source:
        text = source.read()
    found = re.findall(rf"^\s*{re.escape(name)}\s*=\s*\[(.*?)\]", text, re.MULTILINE | re.DOTALL)
    if len(found) != 1:
        sys.exit(f"{argument}: expected one list assignment, found {len(found)}")
    return set(re.findall(r'"([^"]*)"', found[0]))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    first, *others = sys.argv[1:]
    expected = strings_of(first)
    if not expected:
        sys.exit(f"{first} holds no string")
    for other in others:
        got = strings_of(other)
        if got != expected:
            sys.exit(
                f"{other} differs from {first}: only in {other}: {sorted(got - expected)}, "
                f"only in {first}: {sorted(expected - got)}"
            )
    print(f"{', '.join(sys.argv[1:])}: the same {len(expected)} strings")


if __name__ == "__main__":
    main()
