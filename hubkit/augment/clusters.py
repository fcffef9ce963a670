"""K-Means clusters of entity mentions per language and type, and their cross-lingual alignment.

Each distinct mention of a (language, type) group is a point (the mean of its FastText token
vectors, L2-normalised so Euclidean K-Means behaves like cosine K-Means), weighted by its
frequency. K is given, or picked by the silhouette score over a range. Groups above a size
threshold use MiniBatchKMeans. Replacing an entity by another member of its cluster keeps the
sentence plausible (a city for a city, a woman's name for a woman's name).

Alignment: each target-language cluster is matched to the nearest cluster(s) of each allowed
source language of the same type (cosine of centroids, kept above a threshold); a language
always feeds itself. Default sources follow the paper: Urdu, the largest corpus, feeds the
others.
"""

from __future__ import annotations

import csv
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from hubkit.augment.bank import Bank
from hubkit.augment.embeddings import mention_matrix

DEFAULT_K_RANGE = (2, 3, 4, 6, 8, 10, 12, 16, 20)
MINIBATCH_THRESHOLD = 10_000
SILHOUETTE_SAMPLE = 2_000


@dataclass
class ClusterGroup:
    lang: str
    etype: str
    surfaces: list[tuple[str, ...]]
    freqs: list[int]
    labels: np.ndarray  # cluster of each surface
    centroids: np.ndarray  # (k, dim), L2-normalised
    silhouette: float | None = None
    vectors: np.ndarray | None = None  # (n, dim) normalised member vectors, for plots
    _index: dict = field(default_factory=dict, repr=False)

    @property
    def k(self) -> int:
        return len(self.centroids)

    def cluster_id(self, c: int) -> str:
        return f"{self.lang}/{self.etype}/{c}"

    def cluster_of(self, surface: Sequence[str]) -> int | None:
        if not self._index:
            self._index = {s: int(c) for s, c in zip(self.surfaces, self.labels)}
        return self._index.get(tuple(surface))

    def members(self, c: int) -> list[int]:
        return [i for i, lab in enumerate(self.labels) if lab == c]

    def sizes(self) -> list[int]:
        return np.bincount(self.labels, minlength=self.k).tolist() if len(self.labels) else [0] * self.k


@dataclass
class Clustering:
    groups: dict[tuple[str, str], ClusterGroup] = field(default_factory=dict)
    no_vector: dict[str, int] = field(default_factory=dict)  # "lang/type" -> mentions left out

    def save(self, folder: str | Path) -> Path:
        """clusters.json (members, labels, sizes) + centroids.npz, in `folder`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"no_vector": self.no_vector, "groups": []}
        arrays = {}
        for (lang, etype), g in self.groups.items():
            meta["groups"].append({
                "lang": lang, "type": etype, "k": g.k, "silhouette": g.silhouette, "sizes": g.sizes(),
                "members": [{"surface": list(s), "freq": f, "cluster": int(c)}
                            for s, f, c in zip(g.surfaces, g.freqs, g.labels)]})
            arrays[f"{lang}/{etype}"] = g.centroids
            if g.vectors is not None:
                arrays[f"{lang}/{etype}/vectors"] = g.vectors
        (folder / "clusters.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        np.savez(folder / "centroids.npz", **arrays)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "Clustering":
        folder = Path(folder)
        meta = json.loads((folder / "clusters.json").read_text(encoding="utf-8"))
        arrays = np.load(folder / "centroids.npz")
        out = cls(no_vector=meta["no_vector"])
        for g in meta["groups"]:
            out.groups[(g["lang"], g["type"])] = ClusterGroup(
                g["lang"], g["type"], [tuple(m["surface"]) for m in g["members"]], [m["freq"] for m in g["members"]],
                np.array([m["cluster"] for m in g["members"]], dtype=int), arrays[f"{g['lang']}/{g['type']}"],
                g["silhouette"], arrays.get(f"{g['lang']}/{g['type']}/vectors"))
        return out


def _normalise(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1, norms)


def _fit(x: np.ndarray, w: np.ndarray, k: int, seed: int, minibatch_threshold: int) -> np.ndarray:
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if k <= 1:
        return np.zeros(len(x), dtype=int)
    if len(x) > minibatch_threshold:
        km = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=2048)
    else:
        km = KMeans(n_clusters=k, random_state=seed, n_init=3)
    with warnings.catch_warnings():  # duplicate points (same vector) -> fewer distinct clusters: harmless
        warnings.simplefilter("ignore")
        return km.fit_predict(x, sample_weight=w).astype(int)


def cluster_points(x: np.ndarray, weights: Sequence[int], k: int | None = None,
                   k_range: Iterable[int] = DEFAULT_K_RANGE, seed: int = 0,
                   minibatch_threshold: int = MINIBATCH_THRESHOLD) -> tuple[np.ndarray, float | None]:
    """(labels, silhouette) for normalised points `x`; K given, or the silhouette-best K of `k_range`."""
    from sklearn.metrics import silhouette_score

    n = len(x)
    w = np.asarray(weights, dtype=float)
    if n < 3:
        return np.zeros(n, dtype=int), None
    cap = max(1, n // 2)  # at least two mentions per cluster on average
    if k is not None:
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        k = min(k, cap)
        labels = _fit(x, w, k, seed, minibatch_threshold)
        sil = None
        if 1 < len(set(labels.tolist())) < n:
            sil = float(silhouette_score(x, labels, sample_size=min(n, SILHOUETTE_SAMPLE), random_state=seed))
        return labels, sil
    best: tuple[float, np.ndarray] | None = None
    for kk in sorted({min(int(c), cap) for c in k_range if c >= 2}):
        if kk < 2:
            continue
        labels = _fit(x, w, kk, seed, minibatch_threshold)
        if not 1 < len(set(labels.tolist())) < n:
            continue
        sil = float(silhouette_score(x, labels, sample_size=min(n, SILHOUETTE_SAMPLE), random_state=seed))
        if best is None or sil > best[0] + 1e-12:
            best = (sil, labels)
    if best is None:
        return np.zeros(n, dtype=int), None
    return best[1], best[0]


def _centroids(x: np.ndarray, w: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    c = np.zeros((k, x.shape[1]), dtype=np.float32)
    for j in range(k):
        mask = labels == j
        if mask.any():
            c[j] = np.average(x[mask], axis=0, weights=w[mask])
    return _normalise(c)


def cluster_bank(bank: Bank, kv, k: int | None = None, k_range: Iterable[int] = DEFAULT_K_RANGE, seed: int = 0,
                 minibatch_threshold: int = MINIBATCH_THRESHOLD, progress: bool = True) -> Clustering:
    """Cluster every (language, type) group of the bank in the shared vector space."""
    from tqdm.auto import tqdm

    out = Clustering()
    k_range = tuple(k_range)
    for (lang, etype), group in tqdm(sorted(bank.groups.items()), desc="clustering", unit="group", disable=not progress):
        entries = list(group.values())
        x, kept = mention_matrix(kv, [e.surface for e in entries])
        out.no_vector[f"{lang}/{etype}"] = sum(entries[i].freq for i in set(range(len(entries))) - set(kept))
        if not kept:
            continue
        w = np.array([entries[i].freq for i in kept], dtype=float)
        labels, sil = cluster_points(x, w, k, k_range, seed, minibatch_threshold)
        # Relabel 0..k-1 in order of first appearance (KMeans may leave a label unused).
        remap = {old: new for new, old in enumerate(dict.fromkeys(labels.tolist()))}
        labels = np.array([remap[lab] for lab in labels.tolist()], dtype=int)
        kk = len(remap)
        out.groups[(lang, etype)] = ClusterGroup(lang, etype, [entries[i].surface for i in kept], w.astype(int).tolist(),
                                                 labels, _centroids(x, w, labels, kk), sil, x)
    return out


# ---------------------------------------------------------------- alignment

def default_sources(languages: Iterable[str], feeder: str = "urdu") -> dict[str, list[str]]:
    """The paper's setting: each language feeds itself, and Urdu (the largest) feeds every other one."""
    langs = list(languages)
    return {t: [t] + ([feeder] if feeder in langs and t != feeder else []) for t in langs}


def parse_sources(spec: str, languages: Iterable[str]) -> dict[str, list[str]]:
    """`"pashto=urdu,sindhi;sindhi=urdu"` -> {target: [target, sources...]} (targets not named: defaults)."""
    langs = list(languages)
    out = default_sources(langs)
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        if "=" not in part:
            raise ValueError(f"--sources: {part!r} is not TARGET=SRC1,SRC2")
        target, srcs = part.split("=", 1)
        target = target.strip()
        names = [s.strip() for s in srcs.split(",") if s.strip()]
        for name in [target] + names:
            if name not in langs:
                raise ValueError(f"--sources: unknown language {name!r} (languages: {', '.join(langs)})")
        out[target] = [target] + [s for s in names if s != target]
    return out


@dataclass(frozen=True)
class Link:
    source_lang: str
    cluster: int
    cosine: float


Alignment = dict  # (target_lang, type, cluster) -> list[Link], the target's own cluster first


def align_clusters(clustering: Clustering, sources: Mapping[str, Sequence[str]], threshold: float = 0.5,
                   top: int = 1) -> Alignment:
    """Match each target cluster to the `top` nearest clusters (cosine >= threshold) of each source language."""
    out: Alignment = {}
    for (lang, etype), g in clustering.groups.items():
        links: dict[int, list[Link]] = {c: [Link(lang, c, 1.0)] for c in range(g.k)}
        for src in sources.get(lang, [lang]):
            sg = clustering.groups.get((src, etype))
            if src == lang or sg is None:
                continue
            cos = g.centroids @ sg.centroids.T  # (k_target, k_source)
            for c in range(g.k):
                for j in np.argsort(-cos[c], kind="stable")[:top]:
                    if cos[c, j] >= threshold:
                        links[c].append(Link(src, int(j), float(cos[c, j])))
        for c, lst in links.items():
            out[(lang, etype, c)] = lst
    return out


# ---------------------------------------------------------------- report

def _top(g: ClusterGroup, c: int, n: int = 10) -> list[tuple[str, int]]:
    idx = sorted(g.members(c), key=lambda i: (-g.freqs[i], g.surfaces[i]))[:n]
    return [(" ".join(g.surfaces[i]), g.freqs[i]) for i in idx]


def write_report(clustering: Clustering, alignment: Alignment | None, folder: str | Path, n_top: int = 10) -> list[Path]:
    """clusters.md (sizes, top members, alignment), clusters_review.csv (for a native speaker),
    projection-<TYPE>.png (2-D PCA of the mentions, one panel per language)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    md = ["# Entity clusters", "",
          "Per language and type: K, silhouette, and per cluster its size (distinct forms) and most frequent members.",
          ""]
    rows = []
    for (lang, etype), g in sorted(clustering.groups.items()):
        sil = f"{g.silhouette:.3f}" if g.silhouette is not None else "n/a"
        md += [f"## {lang} {etype}: K={g.k}, silhouette {sil}, {len(g.surfaces)} forms", "",
               "| cluster | size | top members | aligned to |", "|---|---|---|---|"]
        for c, size in enumerate(g.sizes()):
            top = ", ".join(f"{s} ({f})" for s, f in _top(g, c, n_top))
            links = (alignment or {}).get((lang, etype, c), [])
            aligned = ", ".join(f"{l.source_lang}/{l.cluster} ({l.cosine:.2f})" for l in links if l.source_lang != lang)
            md.append(f"| {c} | {size} | {top} | {aligned or '-'} |")
            rows.append([lang, etype, c, size, " | ".join(s for s, _ in _top(g, c, n_top)), "", ""])
        md.append("")
    paths = [folder / "clusters.md", folder / "clusters_review.csv"]
    paths[0].write_text("\n".join(md), encoding="utf-8")
    with open(paths[1], "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["lang", "type", "cluster", "size", "top members", "pure (y/n)", "notes"])
        w.writerows(rows)
    paths += plot_projections(clustering, folder)
    return paths


def plot_projections(clustering: Clustering, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    paths = []
    for etype in sorted({t for _, t in clustering.groups}):
        groups = [g for (l, t), g in sorted(clustering.groups.items()) if t == etype]
        fig, axes = plt.subplots(1, len(groups), figsize=(4.5 * len(groups), 4.2), squeeze=False)
        for ax, g in zip(axes[0], groups):
            ax.set_title(f"{g.lang} {etype} (K={g.k}, {len(g.surfaces)} forms)", fontsize=9)
            pts = g.vectors
            if pts is None or len(pts) < 2:
                ax.text(0.5, 0.5, "too few points", ha="center")
                continue
            xy = PCA(n_components=2, random_state=0).fit_transform(pts)
            ax.scatter(xy[:, 0], xy[:, 1], c=g.labels, s=6, cmap="tab20", alpha=0.7)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(f"{etype} mentions, 2-D PCA, coloured by cluster")
        fig.tight_layout()
        path = folder / f"projection-{etype}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths
