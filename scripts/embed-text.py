#!/usr/bin/env python3
"""Writes a C header that holds a text file as one string constant (the build runs it):

    embed-text.py IN OUT NAME    ->    static const char NAME[] = "...";

The file must be ASCII (what a C string literal holds without surprises)."""
import os
import sys


def escape(line):
    return (line.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
            .replace("\n", "\\n"))


def main():
    src, out, name = sys.argv[1:4]
    with open(src, encoding="ascii") as f:
        text = f.read()
    lines = [f"/* Generated from {os.path.basename(src)} by scripts/embed-text.py: edit that file. */",
             f"static const char {name}[] ="]
    lines += [f'    "{escape(line)}"' for line in text.splitlines(keepends=True)] or ['    ""']
    lines[-1] += ";"
    with open(out, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
