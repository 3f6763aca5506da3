#!/usr/bin/python3
"""Summarizes a differential run: the failures of every group, grouped by
what rollsafe said against what the protobuf-c reader expects, and the
records where protobuf-c and Python disagree.

Usage: summarize.py WORK_ROOT   (build/tests/differential-work)
"""
import collections
import json
import os
import sys


def main():
    root = sys.argv[1]
    failures, disagreements = [], []
    for group in sorted(os.listdir(root)):
        path = os.path.join(root, group, "failures.jsonl")
        if os.path.exists(path):
            with open(path) as f:
                failures += [json.loads(line) for line in f if line.strip()]
        path = os.path.join(root, group, "runtime-disagreements.txt")
        if os.path.exists(path):
            with open(path) as f:
                disagreements += [line.rstrip("\n") for line in f if line.strip()]
    by_cause = collections.defaultdict(set)
    counts = collections.Counter()
    for x in failures:
        cause = (x.get("check"), x.get("stored"), x.get("reader"),
                 x.get("expected"), x.get("got"))
        by_cause[cause].add(x.get("case"))
        counts[cause] += 1
    print("%d failures" % len(failures))
    for cause, n in counts.most_common():
        check, stored, reader, expected, got = cause
        print("\n%4d  %s, stored %s, reader %s: expected %s, rollsafe %s"
              % (n, check, stored, reader, expected, got))
        print("      cases: " + ", ".join(sorted(c for c in by_cause[cause] if c)))
    print("\n%d records where protobuf-c and Python disagree:" % len(disagreements))
    for line in disagreements:
        print("  " + line)


if __name__ == "__main__":
    main()
