"""A small Hugging Face Hub-compatible HTTP server (stdlib only): `hubkit hub-server`, `make demo`, the tests.

It speaks the subset of the Hub API that `huggingface_hub`, `datasets` and `transformers` call to
publish and load dataset and model repos: repo create/info, tree listing (paginated with a `Link`
header), paths-info, preupload, validate-yaml, the LFS batch API (basic transfer: PUT + verify),
the ndjson commit endpoint (with `parentCommit` checks), refs, branches, tags, commit history and
`resolve` downloads (HEAD, Range, `X-Repo-Commit`, `ETag`, `X-Linked-Etag`/`X-Linked-Size`).
Errors carry `X-Error-Code` / `X-Error-Message` headers and a JSON `{"error": ...}` body, which
is how the clients turn them into `RepositoryNotFoundError`, `RevisionNotFoundError`, ...

Storage: file contents are kept content-addressed (by sha256) in a temp folder; every commit is a
full snapshot `{path: FileEntry}`, so any old revision (commit sha, branch or tag) stays loadable.
Writes need `Authorization: Bearer <token>` equal to the server's token (so do reads of private
repos). No Xet: clients must run with HF_HUB_DISABLE_XET=1.

Test hooks: `drop_lfs_uploads = n` cuts the connection during the next n LFS PUTs (a transient
network drop: the client's retry then succeeds); `fail_next_lfs_upload = True` cuts the next one
and expires its upload URL, as when an upload session is lost (the client's retry gets 403 and the
publish fails). `requests` records (method, path) of every request handled.

    with HubServer() as hub:   # or hub = HubServer().start(); ...; hub.stop()
        publish(folder, "demo/pakner", endpoint=hub.url, token=hub.token)
"""

from __future__ import annotations

import base64
import datetime as _dt
import fnmatch
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from hubkit.files import cache_root, write_bytes_atomically
from hubkit.hub.gitignore import gitignore_matcher
from hubkit.options import PORT, ranged

try:  # only used to expose `cardData` in repo info; the server works without it
    import yaml
except ImportError:  # pragma: no cover
    yaml = None

REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
LFS_THRESHOLD = 10 * 1024 * 1024  # the Hub stores files of 10 MiB and more in LFS
HEX40 = re.compile(r"^[0-9a-f]{40}$")
HEXPREFIX = re.compile(r"^[0-9a-f]{7,40}$")

# The .gitattributes the Hub writes into a new repo: these patterns go to LFS.
DEFAULT_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in [
        "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib",
        "*.lfs.*", "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot",
        "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar", "*.safetensors",
        "saved_model/**/*", "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip",
        "*.zst", "*tfevents*", "*.png", "*.jpg", "*.jpeg", "*.gif", "*.webp", "*.wav", "*.mp3",
        "*.flac", "*.ogg",
    ]
)


class HubError(Exception):
    """An HTTP error answered the way the Hub does (status, X-Error-Code, JSON body)."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers or {}


def git_blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
class FileEntry:
    sha256: str  # content address in the object store
    size: int
    lfs: bool

    @property
    def pointer(self) -> bytes:
        return lfs_pointer(self.sha256, self.size)

    def git_oid(self, store: "ObjectStore") -> str:
        # git stores the pointer for LFS files, the content itself otherwise
        return git_blob_oid(self.pointer) if self.lfs else store.git_oid(self.sha256)


@dataclass
class Commit:
    oid: str
    parents: list[str]
    title: str
    message: str
    date: str
    files: dict[str, FileEntry]


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    created_at: str
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class ObjectStore:
    """Blobs on disk, named by their sha256."""

    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._git_oids: dict[str, str] = {}

    def path(self, sha256: str) -> Path:
        return self.root / sha256

    def has(self, sha256: str, size: int | None = None) -> bool:
        p = self.path(sha256)
        return p.is_file() and (size is None or p.stat().st_size == size)

    def put_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if not self.has(sha):
            write_bytes_atomically(self.path(sha), data)
        return sha

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def git_oid(self, sha256: str) -> str:
        if sha256 not in self._git_oids:
            self._git_oids[sha256] = git_blob_oid(self.read(sha256))
        return self._git_oids[sha256]


def _lfs_patterns(gitattributes: str | None) -> list[str]:
    out = []
    for line in (gitattributes or "").splitlines():
        fields = line.split()
        if len(fields) >= 2 and "filter=lfs" in fields[1:]:
            out.append(fields[0])
    return out


def _matches_attr(path: str, pattern: str) -> bool:
    if "/" in pattern:
        return fnmatch.fnmatchcase(path, pattern.replace("**/", "*"))
    return fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern)


class HubState:
    """All repos; every mutation holds `lock`."""

    def __init__(self, root: Path):
        self.store = ObjectStore(root / "objects")
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lock = threading.RLock()
        self._counter = 0

    # -- repos and revisions ---------------------------------------------------------------
    def get_repo(self, repo_type: str, repo_id: str) -> Repo:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None:
            raise HubError(404, f"Repository not found: {repo_type} {repo_id}", "RepoNotFound")
        return repo

    def resolve(self, repo: Repo, revision: str) -> Commit:
        revision = unquote(revision)
        if revision in repo.branches:
            return repo.commits[repo.branches[revision]]
        if revision in repo.tags:
            return repo.commits[repo.tags[revision]]
        if HEX40.match(revision) and revision in repo.commits:
            return repo.commits[revision]
        if HEXPREFIX.match(revision):
            found = [oid for oid in repo.commits if oid.startswith(revision)]
            if len(found) == 1:
                return repo.commits[found[0]]
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def new_commit(self, repo: Repo, parent: Commit | None, title: str, message: str,
                   files: dict[str, FileEntry]) -> Commit:
        self._counter += 1
        date = _now()
        seed = json.dumps([parent.oid if parent else None, title, message, date, self._counter,
                           sorted((p, e.sha256) for p, e in files.items())])
        oid = hashlib.sha1(seed.encode()).hexdigest()
        commit = Commit(oid, [parent.oid] if parent else [], title, message, date, dict(files))
        repo.commits[oid] = commit
        return commit

    def create_repo(self, repo_type: str, repo_id: str, private: bool) -> Repo:
        with self.lock:
            if (repo_type, repo_id) in self.repos:
                raise HubError(409, "You already created this repo", None)
            repo = Repo(repo_type, repo_id, private, _now())
            sha = self.store.put_bytes(DEFAULT_GITATTRIBUTES.encode())
            files = {".gitattributes": FileEntry(sha, len(DEFAULT_GITATTRIBUTES.encode()), False)}
            first = self.new_commit(repo, None, "initial commit", "", files)
            repo.branches["main"] = first.oid
            self.repos[(repo_type, repo_id)] = repo
            return repo

    def read_text(self, commit: Commit, path: str) -> str | None:
        entry = commit.files.get(path)
        return self.store.read(entry.sha256).decode("utf-8", "replace") if entry else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    # -- plumbing ----------------------------------------------------------------------------
    def log_message(self, format, *args):  # keep pytest output quiet
        pass

    def setup(self):
        super().setup()
        with self.server.conn_lock:
            self.server.connections.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.conn_lock:
                self.server.connections.discard(self.connection)

    def _dispatch(self, method: str) -> None:
        hub = self.server.hub
        split = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        self.query_multi = parse_qs(split.query, keep_blank_values=True)
        # split the raw path first: revisions and tree paths arrive %2F-quoted
        self.segments = [unquote(s) for s in split.path.split("/")[1:]]
        hub.requests.append((method, self.path))  # with the query string
        self._body_consumed = False
        try:
            self._check_token()
            self._route(method)
        except HubError as err:
            self._drain_body()
            self._send_error(err)
        except (ConnectionError, BrokenPipeError):
            self.close_connection = True
        except Exception as err:  # a bug in the server: answer 500 with the reason
            self._drain_body()
            self._send_error(HubError(500, f"internal error: {type(err).__name__}: {err}", None))

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _check_token(self) -> None:
        auth = self.headers.get("Authorization", "")
        self.authed = False
        if auth:
            given = auth[7:] if auth.startswith("Bearer ") else ""
            if not secrets.compare_digest(given, self.server.hub.token):
                echo = f": {auth}" if self.server.hub.echo_credentials else ""
                raise HubError(401, f"Invalid credentials in Authorization header{echo}", None)
            self.authed = True

    def _require_write(self) -> None:
        if not self.authed:
            raise HubError(401, "You must be authenticated (a write token in the Authorization header) "
                                "to write to this repo", None)

    def _read_body(self) -> bytes:
        self._body_consumed = True
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _drain_body(self) -> None:
        if not self._body_consumed and self.command in ("POST", "PUT"):
            try:
                self._read_body()
            except Exception:
                self.close_connection = True

    def _json_body(self) -> dict:
        raw = self._read_body()
        ctype = self.headers.get("Content-Type", "")
        if "application/x-www-form-urlencoded" in ctype:
            return {k: v for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
        try:
            return json.loads(raw or b"{}")
        except json.JSONDecodeError as err:
            raise HubError(400, f"invalid JSON body: {err}", None) from err

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None,
              content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, obj, status: int = 200, headers: dict | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers)

    def _send_error(self, err: HubError) -> None:
        headers = {"X-Error-Message": err.message, **err.headers}
        if err.code:
            headers["X-Error-Code"] = err.code
        self._send_json({"error": err.message}, err.status, headers)

    # -- routing -----------------------------------------------------------------------------
    def _route(self, method: str) -> None:
        s = self.segments
        hub = self.server.hub
        if s[:2] == ["api", "whoami-v2"] and method == "GET":
            return self._whoami()
        if s[:3] == ["api", "repos", "create"] and method == "POST":
            return self._create_repo()
        if s[:3] == ["api", "repos", "delete"] and method == "DELETE":
            return self._delete_repo()
        if s[:2] == ["api", "validate-yaml"] and method == "POST":
            return self._validate_yaml()
        if s[:1] == ["lfs-storage"] and len(s) == 3 and method == "PUT":
            return self._lfs_put(s[1], s[2])
        if s[:1] == ["lfs-verify"] and method == "POST":
            return self._lfs_verify()
        if len(s) >= 4 and s[0] == "api" and s[1] in REPO_TYPES:
            repo_type, repo_id, rest = REPO_TYPES[s[1]], f"{s[2]}/{s[3]}", s[4:]
            return self._api_repo(method, repo_type, repo_id, rest)
        # git-lfs batch: /{prefix}{ns}/{name}.git/info/lfs/objects/batch
        if s[-4:] == ["info", "lfs", "objects", "batch"] and method == "POST":
            head = s[:-4]
            repo_type = REPO_TYPES.get(head[0], "model") if len(head) == 3 else "model"
            ns, name = head[-2], head[-1]
            if not name.endswith(".git"):
                raise HubError(404, "Not found", None)
            return self._lfs_batch(repo_type, f"{ns}/{name[:-4]}")
        # resolve: /{ns}/{name}/resolve/{rev}/{path} or /datasets/{ns}/{name}/resolve/...
        if method in ("GET", "HEAD"):
            repo_type = "model"
            t = s
            if t and t[0] in REPO_TYPES and len(t) > 3 and t[3] == "resolve":
                repo_type, t = REPO_TYPES[t[0]], t[1:]
            if len(t) >= 5 and t[2] == "resolve":
                return self._resolve(repo_type, f"{t[0]}/{t[1]}", t[3], "/".join(t[4:]))
        if method == "GET" and hub.find_repo_page(s):  # web pages the clients link to (commit URLs)
            return self._send(200, b"<html>hubkit test hub</html>", content_type="text/html")
        raise HubError(404, f"Not found: {method} {self.path}", None)

    def _api_repo(self, method: str, repo_type: str, repo_id: str, rest: list[str]) -> None:
        hub = self.server.hub
        with hub.state.lock:
            repo = hub.state.get_repo(repo_type, repo_id)
            if repo.private and not self.authed:
                raise HubError(401, f"Repository not found: {repo_id}", "RepoNotFound")
            action = rest[0] if rest else ""
            if method == "GET" and action in ("", "revision"):
                rev = rest[1] if action == "revision" and len(rest) > 1 else "main"
                return self._repo_info(repo, rev)
            if method == "GET" and action == "tree":
                return self._tree(repo, rest[1] if len(rest) > 1 else "main", "/".join(rest[2:]))
            if method == "GET" and action == "refs":
                return self._refs(repo)
            if method == "GET" and action == "commits":
                return self._commits(repo, rest[1] if len(rest) > 1 else "main")
            if method == "POST" and action == "paths-info":
                return self._paths_info(repo, rest[1] if len(rest) > 1 else "main")
            if method == "POST" and action == "preupload":
                return self._preupload(repo, rest[1] if len(rest) > 1 else "main")
            if method == "POST" and action == "commit":
                return self._commit(repo, rest[1] if len(rest) > 1 else "main")
            if method == "POST" and action == "branch" and len(rest) > 1:
                return self._create_branch(repo, rest[1])
            if method == "POST" and action == "tag" and len(rest) > 1:
                return self._create_tag(repo, rest[1])
            if method == "PUT" and action == "settings":
                self._require_write()
                body = self._json_body()
                if "private" in body:
                    repo.private = bool(body["private"])
                return self._send_json({"private": repo.private})
        raise HubError(404, f"Not found: {method} {self.path}", None)

    # -- endpoints ---------------------------------------------------------------------------
    def _whoami(self) -> None:
        if not self.authed:
            raise HubError(401, "Invalid credentials in Authorization header", None)
        self._send_json({"type": "user", "id": "0" * 24, "name": "hubkit-test", "fullname": "hubkit test",
                         "orgs": [], "auth": {"type": "access_token",
                                              "accessToken": {"displayName": "test", "role": "write"}}})

    def _create_repo(self) -> None:
        self._require_write()
        body = self._json_body()
        name, org = body.get("name"), body.get("organization")
        repo_type = body.get("type") or "model"
        if not name or repo_type not in URL_PREFIX:
            raise HubError(400, "Invalid repo name or type", None)
        repo_id = f"{org or 'hubkit-test'}/{name}"
        private = body.get("private", body.get("visibility") == "private")
        self.server.hub.state.create_repo(repo_type, repo_id, bool(private))
        self._send_json({"url": f"{self.server.hub.url}/{URL_PREFIX[repo_type]}{repo_id}", "name": repo_id,
                         "id": repo_id})

    def _delete_repo(self) -> None:
        self._require_write()
        body = self._json_body()
        repo_id = f"{body.get('organization') or 'hubkit-test'}/{body.get('name')}"
        with self.server.hub.state.lock:
            key = (body.get("type") or "model", repo_id)
            if key not in self.server.hub.state.repos:
                raise HubError(404, f"Repository not found: {repo_id}", "RepoNotFound")
            del self.server.hub.state.repos[key]
        self._send_json({})

    def _validate_yaml(self) -> None:
        body = self._json_body()
        content = body.get("content", "")
        match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", content, re.S)
        if match and yaml is not None:
            try:
                meta = yaml.safe_load(match.group(1))
            except yaml.YAMLError as err:
                return self._send_json({"errors": [{"message": f"Invalid YAML in README.md: {err}"}]}, 400)
            if meta is not None and not isinstance(meta, dict):
                return self._send_json({"errors": [{"message": "YAML metadata must be a mapping"}]}, 400)
        self._send_json({"errors": [], "warnings": []})

    def _entry_json(self, path: str, entry: FileEntry, repo: Repo | None = None,
                    commit: Commit | None = None, expand: bool = False) -> dict:
        store = self.server.hub.state.store
        out = {"type": "file", "oid": entry.git_oid(store), "size": entry.size, "path": path}
        if entry.lfs:
            out["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": len(entry.pointer)}
        if expand and repo is not None and commit is not None:
            out["lastCommit"] = self._last_commit(repo, commit, lambda c: c.files.get(path))
            out["securityFileStatus"] = {"status": "safe", "avScan": {"virusFound": False, "virusNames": None},
                                         "pickleImportScan": None}
        return out

    def _dir_json(self, path: str, commit: Commit, repo: Repo | None = None, expand: bool = False) -> dict:
        inside = sorted((p, e.sha256) for p, e in commit.files.items() if p.startswith(path + "/"))
        out = {"type": "directory", "oid": hashlib.sha1(json.dumps(inside).encode()).hexdigest(), "size": 0,
               "path": path}
        if expand and repo is not None:
            key = lambda c: sorted((p, e.sha256) for p, e in c.files.items() if p.startswith(path + "/"))  # noqa: E731
            out["lastCommit"] = self._last_commit(repo, commit, key)
        return out

    @staticmethod
    def _last_commit(repo: Repo, commit: Commit, key) -> dict:
        """The oldest commit, walking back from `commit`, since which `key(commit)` is unchanged."""
        current, value = commit, key(commit)
        while current.parents:
            parent = repo.commits[current.parents[0]]
            if key(parent) != value:
                break
            current = parent
        return {"id": current.oid, "title": current.title, "date": current.date}

    def _repo_info(self, repo: Repo, revision: str) -> None:
        state = self.server.hub.state
        commit = state.resolve(repo, revision)
        blobs = self.query.get("blobs", "").lower() in ("1", "true")
        siblings = []
        for path in sorted(commit.files):
            entry = commit.files[path]
            sib = {"rfilename": path}
            if blobs:
                sib.update({"size": entry.size, "blobId": entry.git_oid(state.store)})
                if entry.lfs:
                    sib["lfs"] = {"size": entry.size, "sha256": entry.sha256, "pointerSize": len(entry.pointer)}
            siblings.append(sib)
        card = None
        readme = state.read_text(commit, "README.md")
        if readme and yaml is not None:
            match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", readme, re.S)
            try:
                card = yaml.safe_load(match.group(1)) if match else None
            except yaml.YAMLError:
                card = None
        ns = repo.repo_id.split("/")[0]
        info = {"_id": hashlib.md5(repo.repo_id.encode()).hexdigest()[:24], "id": repo.repo_id, "author": ns,
                "sha": commit.oid, "lastModified": commit.date, "createdAt": repo.created_at,
                "private": repo.private, "gated": False, "disabled": False, "downloads": 0, "likes": 0,
                "tags": [], "siblings": siblings}
        if isinstance(card, dict):
            info["cardData"] = card
        if repo.repo_type == "model":
            info["modelId"] = repo.repo_id
            info["library_name"] = card.get("library_name") if isinstance(card, dict) else None
        self._send_json(info)

    def _tree(self, repo: Repo, revision: str, path: str) -> None:
        state = self.server.hub.state
        commit = state.resolve(repo, revision)
        path = path.strip("/")
        recursive = self.query.get("recursive", "").lower() in ("1", "true")
        expand = self.query.get("expand", "").lower() in ("1", "true")
        prefix = path + "/" if path else ""
        if path and not any(p.startswith(prefix) for p in commit.files):
            raise HubError(404, f"Entry not found: {path} is not a folder at {revision}", "EntryNotFound",
                           {"X-Repo-Commit": commit.oid})
        entries: dict[str, dict] = {}
        for p, entry in commit.files.items():
            if not p.startswith(prefix):
                continue
            rel = p[len(prefix):].split("/")
            # folders on the way to this file
            depth = len(rel) - 1 if recursive else min(1, len(rel) - 1)
            for i in range(depth):
                d = prefix + "/".join(rel[: i + 1])
                if d not in entries:
                    entries[d] = self._dir_json(d, commit, repo, expand)
            if recursive or len(rel) == 1:
                entries[p] = self._entry_json(p, entry, repo, commit, expand)
        # folders first, then files, each sorted by path (as the Hub lists them)
        ordered = sorted(entries.values(), key=lambda e: (e["type"] != "directory", e["path"]))
        limit = self.server.hub.tree_page_size
        start = int(self.query.get("cursor", "0") or 0)
        page = ordered[start:start + limit]
        headers = {}
        if start + limit < len(ordered):
            params = "&".join(f"{k}={quote(v)}" for k, v in self.query.items() if k != "cursor")
            url = f"{self.server.hub.url}{urlsplit(self.path).path}?{params}&cursor={start + limit}"
            headers["Link"] = f'<{url}>; rel="next"'
        self._send_json(page, headers=headers)

    def _paths_info(self, repo: Repo, revision: str) -> None:
        commit = self.server.hub.state.resolve(repo, revision)
        body = self._json_body()
        paths = body.get("paths", [])
        paths = [paths] if isinstance(paths, str) else paths
        expand = body.get("expand", False)
        expand = (expand[-1] if isinstance(expand, list) else expand) in (True, "true", "True", "1")
        out = []
        for path in paths:
            path = path.strip("/")
            if path in commit.files:
                out.append(self._entry_json(path, commit.files[path], repo, commit, expand))
            elif any(p.startswith(path + "/") for p in commit.files):
                out.append(self._dir_json(path, commit, repo, expand))
        self._send_json(out)

    def _refs(self, repo: Repo) -> None:
        self._send_json({
            "branches": [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": c} for n, c in repo.branches.items()],
            "tags": [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": c} for n, c in repo.tags.items()],
            "converts": [], "pullRequests": [],
        })

    def _commits(self, repo: Repo, revision: str) -> None:
        commit = self.server.hub.state.resolve(repo, revision)
        out = []
        while True:
            out.append({"id": commit.oid, "title": commit.title, "message": commit.message, "date": commit.date,
                        "authors": [{"user": "hubkit-test"}]})
            if not commit.parents:
                break
            commit = repo.commits[commit.parents[0]]
        self._send_json(out)

    def _preupload(self, repo: Repo, revision: str) -> None:
        self._require_write()
        state = self.server.hub.state
        commit = state.resolve(repo, revision)
        body = self._json_body()
        gitignore = body.get("gitIgnore")
        ignored = gitignore_matcher(gitignore if gitignore is not None else state.read_text(commit, ".gitignore"))
        lfs_patterns = _lfs_patterns(state.read_text(commit, ".gitattributes"))
        files = []
        for f in body.get("files", []):
            path, size = f["path"], int(f.get("size", 0))
            sample = base64.b64decode(f.get("sample", ""))
            lfs = size >= LFS_THRESHOLD or b"\0" in sample or any(_matches_attr(path, p) for p in lfs_patterns)
            remote = commit.files.get(path)
            oid = None
            if remote is not None:
                oid = remote.sha256 if remote.lfs else remote.git_oid(state.store)
            files.append({"path": path, "uploadMode": "lfs" if lfs else "regular",
                          "shouldIgnore": ignored(path), "oid": oid})
        self._send_json({"files": files, "commitOid": commit.oid})

    def _commit(self, repo: Repo, revision: str) -> None:
        self._require_write()
        hub = self.server.hub
        state = hub.state
        branch = unquote(revision)
        if self.query.get("create_pr") in ("1", "true"):
            raise HubError(400, "pull requests are not supported by this test server", None)
        if branch not in repo.branches:
            state.resolve(repo, branch)  # 404 RevisionNotFound if it is nothing at all
            raise HubError(400, f"Can only commit to a branch, not to {branch!r}", None)
        lines = [json.loads(line) for line in self._read_body().splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "the first ndjson line must be the commit header", None)
        header = lines[0]["value"]
        parent = repo.commits[repo.branches[branch]]
        expected = header.get("parentCommit")
        if expected and not parent.oid.startswith(expected):
            raise HubError(412, f"A commit has happened since. Please refresh and try again. "
                                f"(parentCommit {expected} is not the head {parent.oid} of {branch})", None)
        files = dict(parent.files)
        for line in lines[1:]:
            key, value = line.get("key"), line.get("value", {})
            path = value.get("path", "").strip("/")
            if key == "file":
                if value.get("encoding", "base64") != "base64":
                    raise HubError(400, f"unsupported encoding for {path}", None)
                data = base64.b64decode(value["content"])
                files[path] = FileEntry(state.store.put_bytes(data), len(data), False)
            elif key == "lfsFile":
                oid = value["oid"]
                size = value.get("size")
                if not state.store.has(oid, size):
                    raise HubError(422, f"LFS object {oid} for {path} was never uploaded", None)
                size = size if size is not None else state.store.path(oid).stat().st_size
                files[path] = FileEntry(oid, int(size), True)
            elif key == "deletedFile":
                if path not in files:
                    raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                del files[path]
            elif key == "deletedFolder":
                doomed = [p for p in files if p.startswith(path + "/")]
                if not doomed:
                    raise HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
                for p in doomed:
                    del files[p]
            else:
                raise HubError(400, f"unknown commit operation {key!r}", None)
        commit = state.new_commit(repo, parent, header.get("summary") or "update",
                                  header.get("description", ""), files)
        repo.branches[branch] = commit.oid
        url = f"{hub.url}/{URL_PREFIX[repo.repo_type]}{repo.repo_id}/commit/{commit.oid}"
        self._send_json({"success": True, "commitOid": commit.oid, "commitUrl": url, "hookOutput": ""})

    def _create_branch(self, repo: Repo, branch: str) -> None:
        self._require_write()
        body = self._json_body()
        if branch in repo.branches:
            raise HubError(409, f"Branch {branch} already exists", None)
        start = body.get("startingPoint")
        repo.branches[branch] = self.server.hub.state.resolve(repo, start or "main").oid
        self._send_json({})

    def _create_tag(self, repo: Repo, revision: str) -> None:
        self._require_write()
        body = self._json_body()
        tag = body.get("tag")
        if not tag:
            raise HubError(400, "missing tag name", None)
        if tag in repo.tags:
            raise HubError(409, f"Tag {tag} already exists", None)
        repo.tags[tag] = self.server.hub.state.resolve(repo, revision).oid
        self._send_json({})

    # -- LFS ---------------------------------------------------------------------------------
    def _lfs_batch(self, repo_type: str, repo_id: str) -> None:
        self._require_write()
        hub = self.server.hub
        with hub.state.lock:
            hub.state.get_repo(repo_type, repo_id)
        body = self._json_body()
        if body.get("operation") != "upload":
            raise HubError(400, "only the upload operation is supported", None)
        objects = []
        for obj in body.get("objects", []):
            oid, size = obj["oid"], int(obj["size"])
            item = {"oid": oid, "size": size, "authenticated": True}
            if not hub.state.store.has(oid, size):
                ticket = secrets.token_urlsafe(16)
                hub.tickets[ticket] = (oid, size)
                item["actions"] = {
                    "upload": {"href": f"{hub.url}/lfs-storage/{oid}/{ticket}"},
                    "verify": {"href": f"{hub.url}/lfs-verify"},  # the client sends its own auth headers
                }
            objects.append(item)
        self._send(200, json.dumps({"transfer": "basic", "objects": objects}).encode(),
                   content_type="application/vnd.git-lfs+json")

    def _lfs_put(self, oid: str, ticket: str) -> None:
        hub = self.server.hub
        ticket_info = hub.tickets.get(ticket)
        if ticket_info is None or ticket_info[0] != oid:
            raise HubError(403, "upload URL expired or invalid: request a new one from the LFS batch endpoint", None)
        size = ticket_info[1]
        if hub.drop_lfs_uploads > 0 or hub.fail_next_lfs_upload:
            if hub.fail_next_lfs_upload:
                hub.fail_next_lfs_upload = False
                hub.tickets.pop(ticket, None)
            else:
                hub.drop_lfs_uploads -= 1
            hub.dropped_uploads += 1
            # read a little of the body, then cut the connection without answering
            self.rfile.read(min(size, 1024) // 2)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        data = self._read_body()
        if len(data) != size or hashlib.sha256(data).hexdigest() != oid:
            raise HubError(400, f"uploaded content does not match oid {oid} / size {size}", None)
        hub.state.store.put_bytes(data)
        hub.tickets.pop(ticket, None)
        self._send(200, b"", {"ETag": f'"{oid}"'})

    def _lfs_verify(self) -> None:
        self._require_write()
        body = self._json_body()
        if not self.server.hub.state.store.has(body.get("oid", ""), body.get("size")):
            raise HubError(404, f"LFS object {body.get('oid')} not found", None)
        self._send_json({"message": "Everything is fine"})

    # -- downloads ---------------------------------------------------------------------------
    def _resolve(self, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        state = self.server.hub.state
        with state.lock:
            repo = state.get_repo(repo_type, repo_id)
            if repo.private and not self.authed:
                raise HubError(401, f"Repository not found: {repo_id}", "RepoNotFound")
            commit = state.resolve(repo, revision)
            entry = commit.files.get(path)
            if entry is None:
                raise HubError(404, f"Entry not found: {path} at {revision}", "EntryNotFound",
                               {"X-Repo-Commit": commit.oid})
            git_oid = entry.git_oid(state.store)
        size = entry.size
        headers = {"X-Repo-Commit": commit.oid, "Accept-Ranges": "bytes", "ETag": f'"{git_oid}"'}
        if entry.lfs:
            headers.update({"ETag": f'"{entry.sha256}"', "X-Linked-Etag": f'"{entry.sha256}"',
                            "X-Linked-Size": str(size)})
        start, end, status = 0, size - 1, 200
        rng = self.headers.get("Range")
        if rng:
            m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())
            if not m or (not m.group(1) and not m.group(2)):
                raise HubError(416, f"invalid Range {rng}", None, {"Content-Range": f"bytes */{size}"})
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            else:  # suffix: the last n bytes
                start = max(0, size - int(m.group(2)))
            if start >= size or start > end:
                raise HubError(416, "Range Not Satisfiable", None, {"Content-Range": f"bytes */{size}"})
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = max(0, end - start + 1)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command == "HEAD" or length == 0:
            return
        with open(state.store.path(entry.sha256), "rb") as fh:
            fh.seek(start)
            left = length
            while left:
                chunk = fh.read(min(left, 1 << 20))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    hub: "HubServer"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.connections: set[socket.socket] = set()  # open keep-alive connections, closed on stop
        self.conn_lock = threading.Lock()


class HubServer:
    """The server and its state. `start()` binds 127.0.0.1 on a free port and serves in a thread."""

    def __init__(self, token: str | None = None, root: str | Path | None = None, tree_page_size: int = 1000,
                 port: int = 0):
        self.token = token or "hf_test_" + secrets.token_hex(12)
        self._own_root = root is None
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="hubkit-hub-"))
        self.state = HubState(self.root)
        self.tree_page_size = tree_page_size
        self.tickets: dict[str, tuple[str, int]] = {}
        self.echo_credentials = False  # test hook: 401 messages repeat the Authorization header, as some servers do
        self.drop_lfs_uploads = 0
        self.fail_next_lfs_upload = False
        self.dropped_uploads = 0
        self.requests: list[tuple[str, str]] = []
        self.port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "HubServer":
        self._httpd = _Server(("127.0.0.1", self.port), _Handler)
        self._httpd.hub = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="hub-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            with self._httpd.conn_lock:  # clients keep connections alive: cut them, or they stay served
                for conn in list(self._httpd.connections):
                    try:
                        conn.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            self._httpd = None
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "HubServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def find_repo_page(self, segments: list[str]) -> bool:
        """GET /{ns}/{name} or /datasets/{ns}/{name}[/commit/<oid>] (the web pages the clients link to)."""
        t = segments
        repo_type = "model"
        if t and t[0] in REPO_TYPES:
            repo_type, t = REPO_TYPES[t[0]], t[1:]
        return len(t) >= 2 and (repo_type, f"{t[0]}/{t[1]}") in self.state.repos

    # helpers for tests: read the server's own view, bypassing HTTP
    def head(self, repo_id: str, repo_type: str = "dataset", branch: str = "main") -> str:
        with self.state.lock:
            return self.state.get_repo(repo_type, repo_id).branches[branch]

    def files(self, repo_id: str, repo_type: str = "dataset", revision: str = "main") -> dict[str, FileEntry]:
        with self.state.lock:
            repo = self.state.get_repo(repo_type, repo_id)
            return dict(self.state.resolve(repo, revision).files)

    def commit_count(self, repo_id: str, repo_type: str = "dataset") -> int:
        with self.state.lock:
            return len(self.state.get_repo(repo_type, repo_id).commits)


def write_token_file(token: str, path: Path) -> None:
    """The write token, readable by its owner only (never printed: it goes into HF_TOKEN)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")


def _stop_on_sigterm(*_) -> None:
    raise KeyboardInterrupt  # the same clean stop as Ctrl-C


def _cli_serve(args) -> int:
    import signal
    import time

    token = Path(args.token_file).read_text().strip() if Path(args.token_file).is_file() else None
    hub = HubServer(token=token, root=args.root, port=args.port)
    hub.start()
    if token is None:
        write_token_file(hub.token, Path(args.token_file))
    print(f"Hub-compatible server on {hub.url}\n"
          f"  export HF_ENDPOINT={hub.url} HF_HUB_DISABLE_XET=1 HF_HUB_OFFLINE=0\n"
          f"  export HF_TOKEN=$(cat {args.token_file})\n"
          "Ctrl-C stops it.", flush=True)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        hub.stop()
    return 0


def add_cli(subparsers) -> None:
    """Register `hubkit hub-server`."""
    p = subparsers.add_parser(
        "hub-server", help="run a Hub-compatible server on 127.0.0.1 for your own datasets and models",
        description="A small Hugging Face Hub-compatible server (huggingface_hub, datasets and transformers "
                    "talk to it through HF_ENDPOINT) for teams that keep corpora and models on their own "
                    "machines. Storage is a folder; the write token is kept in --token-file (mode 600).")
    p.add_argument("--port", type=ranged(PORT), default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--root", default=None, help="storage folder for uploaded files (default: a temporary one, "
                                                "removed when the server stops)")
    p.add_argument("--token-file", default=str(cache_root() / "hub-server-token"),
                   help="file holding the write token; created with a new random token when missing")
    p.set_defaults(func=_cli_serve)
