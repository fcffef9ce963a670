"""The .gitignore rules the Hub applies to a repo, for the client (publish) and the local server alike."""

from __future__ import annotations

import fnmatch


def gitignore_matcher(content: str | None):
    """`path -> ignored?` for a .gitignore: globs, `!` negation, anchored (`a/b`, `/a`) and folder (`a/`) rules.

    The Hub skips files its .gitignore matches (preupload's `shouldIgnore`): the local server does
    the same, and publish leaves them out up front, so that they are neither uploaded nor counted
    as changes on every publish.
    """
    rules = []
    for line in (content or "").splitlines():
        line = line.rstrip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        line = line[1:] if negate else line
        folder_only = line.endswith("/")
        line = line.strip("/") if folder_only else line
        rules.append((line.lstrip("/"), negate, folder_only, "/" in line.lstrip("/")))

    def ignored(path: str) -> bool:
        parts = path.split("/")
        parents = ["/".join(parts[: i + 1]) for i in range(len(parts) - 1)]
        result = False
        for pattern, negate, folder_only, anchored in rules:
            candidates = parents if folder_only else [path] + parents
            if any(fnmatch.fnmatchcase(c if anchored else c.rsplit("/", 1)[-1], pattern) for c in candidates):
                result = not negate
        return result

    return ignored
