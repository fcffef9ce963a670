"""Publish a folder laid out as a Hub repo (dataset or model) to any Hub endpoint, in one commit.

`publish(folder, "ORG/pakner")` makes the remote branch hold exactly the folder's files:
- the repo (and the branch) are created if needed;
- the local files are compared with the remote tree by content (sha256 for LFS files, the git
  blob id for regular ones), so an unchanged folder makes no commit at all;
- changed and new files are uploaded (large/binary ones through LFS, as `huggingface_hub`
  decides with the Hub's preupload answer) and remote files that are no longer in the folder are
  deleted (no stale shards), all in ONE commit whose parent is the head we compared against: if
  an upload fails nothing is committed, and if the branch moved meanwhile the commit is refused.

The endpoint is `endpoint=`, else `$HF_ENDPOINT` (read at call time), else huggingface.co; the
token is `token=`, else the usual `huggingface_hub` login (`$HF_TOKEN`, `hf auth login`). The
token is never printed: errors say what failed, not with which credentials. Self-hosted endpoints
that do not speak Xet need `HF_HUB_DISABLE_XET=1` (set before `huggingface_hub` is imported).
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from hubkit.errors import HubkitError
from hubkit.hub.gitignore import gitignore_matcher
from hubkit.redact import redact

REPO_TYPES = ("dataset", "model")
# Files the Hub manages itself in every repo: kept remotely even when the folder lacks them.
HUB_MANAGED = {".gitattributes"}
# Local clutter that is never part of a repo.
SKIP_DIRS = {".git", ".cache", ".huggingface", "__pycache__", ".ipynb_checkpoints"}
SKIP_FILES = {".DS_Store"}
CHUNK = 1 << 20


class PublishError(HubkitError):
    """Publishing failed; the message says which step and which file, never the token."""


class PublishAuthError(PublishError):
    """The endpoint refused the credentials (missing, invalid or without write access)."""


@dataclass
class PublishResult:
    repo_id: str
    repo_type: str
    revision: str
    endpoint: str
    commit_oid: str  # the branch head after publishing (the old head when nothing changed)
    parent_oid: str | None  # the branch head we compared against and committed on top of
    commit_url: str | None  # None when no commit was made
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    created_repo: bool = False
    tag: str | None = None

    @property
    def committed(self) -> bool:
        return self.commit_url is not None

    def summary(self) -> str:
        kind = "datasets/" if self.repo_type == "dataset" else ""
        where = f"{self.endpoint}/{kind}{self.repo_id} @ {self.revision}"
        counts = (f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
                  f"{self.unchanged} unchanged")
        lines = [f"{'created ' if self.created_repo else ''}{where}"]
        if self.committed:
            lines.append(f"commit {self.commit_oid}: {counts}")
            lines.append(f"  {self.commit_url}")
        else:
            lines.append(f"no changes, no commit: head stays {self.commit_oid} ({counts})")
        if self.tag:
            lines.append(f"tag {self.tag} -> {self.commit_oid}")
        return "\n".join(lines)


def local_files(folder: Path) -> dict[str, Path]:
    """Repo path (posix) -> local file: what a publish of `folder` uploads.

    Skips VCS/cache clutter and what the folder's own `.gitignore` ignores.
    """
    gitignore = folder / ".gitignore"
    ignored = gitignore_matcher(gitignore.read_text(encoding="utf-8")) if gitignore.is_file() else None
    out: dict[str, Path] = {}
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            if name in SKIP_FILES:
                continue
            path = Path(root) / name
            rel = path.relative_to(folder).as_posix()
            if ignored is None or not ignored(rel):
                out[rel] = path
    return out


def _hashes(path: Path) -> tuple[str, str]:
    """(sha256, git blob sha1) of a file, in one read."""
    size = path.stat().st_size
    sha256, sha1 = hashlib.sha256(), hashlib.sha1(b"blob %d\0" % size)
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            sha256.update(chunk)
            sha1.update(chunk)
    return sha256.hexdigest(), sha1.hexdigest()


def _scrub(text: str, token: str | None) -> str:
    return redact(text, token)


def _http_status(err: BaseException) -> int | None:
    response = getattr(err, "response", None)
    return getattr(response, "status_code", None)


def _explain(err: BaseException, step: str, endpoint: str, token: str | None) -> PublishError:
    """Turn a huggingface_hub/httpx error into a PublishError that names the step and the cause,
    with every credential scrubbed, whatever the path."""
    explained = _explain_unscrubbed(err, step, endpoint)
    return type(explained)(_scrub(str(explained), token))


def _explain_unscrubbed(err: BaseException, step: str, endpoint: str) -> PublishError:
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    status = _http_status(err)
    server_says = (err.response.headers.get("X-Error-Message") or "") if status else ""
    bad_token = server_says.startswith("Invalid credentials")
    if status == 401 and (bad_token or not isinstance(err, RepositoryNotFoundError)):
        return PublishAuthError(
            f"authentication failed while {step} at {endpoint} (HTTP 401: {server_says or 'unauthorized'}). "
            "Log in with `hf auth login` or set HF_TOKEN to a token with write access.")
    if status == 403:
        return PublishAuthError(
            f"authentication failed while {step} at {endpoint}: the token has no write access to this repo "
            f"(HTTP 403{': ' + server_says if server_says else ''}).")
    if status == 412:
        return PublishError(f"{step} refused: the branch moved while publishing (someone else committed); "
                            "run publish again")
    if isinstance(err, RevisionNotFoundError):
        return PublishError(f"{step} failed: revision not found at {endpoint}")
    # the causes chain: RuntimeError("Error while uploading 'x.parquet' ...") <- httpx error
    causes, cur = [], err
    while cur is not None and len(causes) < 2:
        text = " ".join(line.strip() for line in str(cur).strip().splitlines()[:3] if line.strip())
        cause = f"{type(cur).__name__}: {text}".rstrip(": ")
        if cause not in causes:
            causes.append(cause)
        cur = cur.__cause__ or cur.__context__
    return PublishError(f"{step} failed: " + " <- ".join(causes))


def publish(
    folder: str | os.PathLike,
    repo_id: str,
    repo_type: str = "dataset",
    revision: str | None = None,
    private: bool = False,
    commit_message: str | None = None,
    tag: str | None = None,
    token: str | None = None,
    endpoint: str | None = None,
    progress: bool = True,
) -> PublishResult:
    """Make branch `revision` (default `main`) of `repo_id` hold exactly the files of `folder`.

    Creates the repo (private if `private`) and the branch when missing. Returns a PublishResult
    (commit oid/url, added/changed/removed paths). Raises PublishAuthError when the endpoint
    refuses the token, PublishError for any other failure (the remote is then unchanged).
    """
    from huggingface_hub import HfApi, constants, get_token
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"publish: {folder} is not a folder")
    if repo_type not in REPO_TYPES:
        raise ValueError(f"publish: repo_type must be one of {REPO_TYPES}, not {repo_type!r}")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ValueError(f"publish: repo_id must look like 'ORG/name', not {repo_id!r}")
    local = local_files(folder)
    if not local:
        raise ValueError(f"publish: {folder} holds no files")
    if repo_type == "dataset" and "README.md" not in local:
        print(f"publish: warning: {folder} has no README.md (dataset card with the `configs:` YAML)",
              file=sys.stderr)

    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")
    branch = revision or "main"
    api = HfApi(endpoint=endpoint, token=token, library_name="hubkit")
    secret = token or get_token()  # only used to scrub it out of error messages
    bars_were_off = are_progress_bars_disabled()
    if not progress:
        disable_progress_bars()
    try:
        return _publish(api, local, repo_id, repo_type, branch, private, commit_message, tag, endpoint,
                        secret, progress)
    finally:
        if not progress and not bars_were_off:
            enable_progress_bars()


@dataclass
class _Remote:
    """One repo on one endpoint: every call's failure becomes a PublishError that says which step
    failed, with the token scrubbed."""

    api: object
    repo_id: str
    repo_type: str
    endpoint: str
    secret: str | None

    def call(self, step: str, fn, *args, **kwargs):
        from huggingface_hub.errors import HfHubHTTPError

        try:
            return fn(*args, **kwargs)
        except (HfHubHTTPError, _http_client().HTTPError, OSError, RuntimeError, ValueError) as err:
            if isinstance(err, PublishError):
                raise
            raise _explain(err, step, self.endpoint, self.secret) from None

    def explain(self, err: Exception, step: str) -> PublishError:
        return _explain(err, step, self.endpoint, self.secret)


def _publish(api, local: dict[str, Path], repo_id: str, repo_type: str, branch: str, private: bool,
             commit_message: str | None, tag: str | None, endpoint: str, secret: str | None,
             progress: bool) -> PublishResult:
    remote = _Remote(api, repo_id, repo_type, endpoint, secret)
    created = _ensure_repo(remote, private)
    refs, head = _ensure_branch(remote, branch)
    added, changed, removed, unchanged, sha256s = _diff(remote, local, branch, head, progress)
    result = PublishResult(repo_id, repo_type, branch, endpoint, head, head, None, added, changed, removed,
                           unchanged, created, tag)
    # an existing tag must already name what we publish: check before committing anything
    tags = {t.name: t.target_commit for t in refs.tags}
    will_commit = bool(added or changed or removed)
    if tag and tag in tags and (will_commit or tags[tag] != head):
        raise PublishError(f"publish: tag {tag!r} already exists on {repo_id} (at {tags[tag]}); choose another tag")
    if will_commit:
        info = _commit(remote, local, result, sha256s, commit_message)
        result.commit_oid, result.commit_url = info.oid, info.commit_url
    if tag and tag not in tags:  # idempotent when the tag already names this commit
        remote.call(f"tagging {result.commit_oid} as {tag}", api.create_tag, repo_id, tag=tag,
                    revision=result.commit_oid, repo_type=repo_type)
    return result


def _ensure_repo(remote: _Remote, private: bool) -> bool:
    """Create the repo when it does not exist; True when it was created."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    try:
        info = remote.api.repo_info(remote.repo_id, repo_type=remote.repo_type)
    except RepositoryNotFoundError as err:
        if _http_status(err) == 401 and (err.response.headers.get("X-Error-Message") or "").startswith("Invalid"):
            raise remote.explain(err, f"reading {remote.repo_id}") from None
        remote.call(f"creating {remote.repo_type} repo {remote.repo_id}", remote.api.create_repo, remote.repo_id,
                    repo_type=remote.repo_type, private=private, exist_ok=True)
        return True
    except (HfHubHTTPError, _http_client().HTTPError) as err:
        raise remote.explain(err, f"reading {remote.repo_id}") from None
    if private and not info.private:
        print(f"publish: warning: {remote.repo_id} already exists and is public; --private only applies to new repos",
              file=sys.stderr)
    return False


def _ensure_branch(remote: _Remote, branch: str):
    """(refs, head commit of `branch`), creating the branch when missing."""
    from huggingface_hub.errors import HfHubHTTPError

    api, repo_id, repo_type = remote.api, remote.repo_id, remote.repo_type
    refs = remote.call(f"listing the refs of {repo_id}", api.list_repo_refs, repo_id, repo_type=repo_type)
    if branch not in {b.name for b in refs.branches}:
        if branch in {t.name for t in refs.tags} or _looks_like_commit(branch):
            raise PublishError(f"publish: revision {branch!r} is a tag or a commit; publish to a branch")
        remote.call(f"creating branch {branch}", api.create_branch, repo_id, branch=branch, repo_type=repo_type)
    try:
        return refs, api.repo_info(repo_id, repo_type=repo_type, revision=branch).sha
    except (HfHubHTTPError, _http_client().HTTPError) as err:
        raise remote.explain(err, f"reading the head of {repo_id}@{branch}") from None


def _diff(remote: _Remote, local: dict[str, Path], branch: str, head: str, progress: bool):
    """(added, changed, removed, unchanged count, sha256 per local file) against the tree at `head`."""
    theirs_by_path = {
        f.path: f for f in remote.call(f"listing the files of {remote.repo_id}@{branch}", lambda: list(
            remote.api.list_repo_tree(remote.repo_id, repo_type=remote.repo_type, revision=head, recursive=True)))
        if hasattr(f, "blob_id")
    }
    added, changed, unchanged = [], [], 0
    sha256s: dict[str, str] = {}
    for path, local_path in tqdm(local.items(), desc="comparing with the remote", unit="file",
                                 disable=not progress or len(local) < 50):
        sha256, git_oid = _hashes(local_path)
        sha256s[path] = sha256
        theirs = theirs_by_path.get(path)
        if theirs is None:
            added.append(path)
        elif (theirs.lfs.sha256 if theirs.lfs else theirs.blob_id) == (sha256 if theirs.lfs else git_oid):
            unchanged += 1
        else:
            changed.append(path)
    removed = sorted(p for p in theirs_by_path if p not in local and p not in HUB_MANAGED)
    return added, changed, removed, unchanged, sha256s


def _commit(remote: _Remote, local: dict[str, Path], result: PublishResult, sha256s: dict[str, str],
            commit_message: str | None):
    """One commit with every change, on top of the head the diff was taken against."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    added, changed, removed = result.added, result.changed, result.removed
    operations = []
    for path in added + changed:
        op = CommitOperationAdd(path_in_repo=path, path_or_fileobj=str(local[path]))
        op.upload_info.sha256 = bytes.fromhex(sha256s[path])  # already hashed: skip a second read
        operations.append(op)
    operations += [CommitOperationDelete(path_in_repo=p) for p in removed]
    message = commit_message or (f"hubkit publish: {len(added)} added, {len(changed)} changed, "
                                 f"{len(removed)} removed")
    description = "\n".join([f"added: {p}" for p in added] + [f"changed: {p}" for p in changed]
                            + [f"removed: {p}" for p in removed])
    return remote.call(f"committing to {remote.repo_id}@{result.revision} (nothing was committed; the remote is "
                       "unchanged)", remote.api.create_commit, remote.repo_id, operations, commit_message=message,
                       commit_description=description, repo_type=remote.repo_type, revision=result.revision,
                       parent_commit=result.parent_oid)


def _http_client():
    """The HTTP library huggingface_hub runs on (httpx2 in recent releases, httpx before)."""
    try:
        import httpx2
    except ImportError:  # pragma: no cover - older huggingface_hub
        import httpx as httpx2
    return httpx2


def _looks_like_commit(revision: str) -> bool:
    return len(revision) == 40 and all(c in "0123456789abcdef" for c in revision)


# -- CLI -------------------------------------------------------------------------------------------
def add_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "publish", help="push a dataset or model repo folder to the Hub (one commit, only what changed)",
        description="Push FOLDER (laid out as a Hub repo: e.g. the output of `hubkit build`, or a saved model) to "
                    "REPO_ID on the Hub. The repo and branch are created if needed. Only changed files are "
                    "uploaded; remote files no longer in FOLDER are deleted; everything lands in ONE commit, and "
                    "an unchanged folder makes no commit. Endpoint: --endpoint, else $HF_ENDPOINT, else "
                    "https://huggingface.co. Token: $HF_TOKEN or `hf auth login` (never printed). For a "
                    "self-hosted endpoint without Xet storage, set HF_HUB_DISABLE_XET=1.",
        epilog="example: hubkit publish build/pakner ORG/pakner --tag v1.0")
    p.add_argument("folder", type=Path, help="the repo folder to publish")
    p.add_argument("repo_id", help="ORG/name on the Hub")
    p.add_argument("--repo-type", choices=REPO_TYPES, default="dataset", help="default: dataset")
    p.add_argument("--revision", default=None, help="branch to publish to (default: main; created if missing)")
    p.add_argument("--private", action="store_true", help="create the repo as private (new repos only)")
    p.add_argument("--tag", default=None, help="tag the published commit (e.g. v1.0)")
    p.add_argument("--message", default=None,
                   help="commit message (default: 'hubkit publish: N added, N changed, N removed')")
    p.add_argument("--endpoint", default=None, help="Hub endpoint URL (default: $HF_ENDPOINT or huggingface.co)")
    p.set_defaults(func=_run_cli)


def _run_cli(args) -> int:
    result = publish(args.folder, args.repo_id, repo_type=args.repo_type, revision=args.revision,
                     private=args.private, commit_message=args.message, tag=args.tag, endpoint=args.endpoint)
    print(result.summary())
    return 0
