"""Dataset tooling for the manifest format of product.md §7.

A dataset is a folder with ``manifest.csv``: columns ``path,label,defect_type,group``
plus an optional ``mask``; paths are relative to the manifest's folder, ``label`` is
1 (defective) or 0, ``group`` is the board or capture that must not straddle a
train/val/test split.

- `read_manifest` / `write_manifest`: rows as frozen `Sample` values (absolute paths
  in memory, relative paths on disk);
- `validate_manifest`: every problem, each naming the file and the row number;
- `import_class_folders`: a folder of class folders -> a manifest dataset;
- `dedupe`: drop exact duplicates by sha256 of the decoded pixels (or file bytes);
- `split_groups` / `write_split`: seeded, group-aware, class-stratified 60/20/20;
- `summarize`: counts per label, defect type and group, image size distribution.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import shutil
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

COLUMNS: tuple[str, ...] = ("path", "label", "defect_type", "group")
OPTIONAL_COLUMNS: tuple[str, ...] = ("mask",)
IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
)
SPLITS: tuple[str, ...] = ("train", "val", "test")


@dataclass(frozen=True)
class Sample:
    """One manifest row. `path` and `mask` are absolute in memory."""

    path: Path
    label: int
    defect_type: str
    group: str
    mask: Path | None = None


@dataclass(frozen=True)
class ManifestIssue:
    """One problem of a manifest: file, 1-based line (0 = whole file), message."""

    file: Path
    row: int
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, row {self.row}" if self.row else str(self.file)
        return f"{where}: {self.message}"


class ManifestError(ValueError):
    """A manifest that cannot be used; `issues` lists every problem found."""

    def __init__(self, issues: Sequence[ManifestIssue]) -> None:
        self.issues = list(issues)
        head = str(self.issues[0]) if self.issues else "invalid manifest"
        more = len(self.issues) - 1
        text = head if more <= 0 else f"{head} (and {more} more problem(s))"
        if more > 0:
            text += "\n" + "\n".join(f"  {i}" for i in self.issues[1:21])
        super().__init__(text)


def _manifest_file(path: str | Path) -> Path:
    path = Path(path)
    return path / "manifest.csv" if path.is_dir() else path


def _parse(
    path: Path, *, check_files: bool, stop_at_first: bool
) -> tuple[list[Sample], list[ManifestIssue]]:
    issues: list[ManifestIssue] = []
    samples: list[Sample] = []

    def problem(row: int, message: str) -> bool:
        issues.append(ManifestIssue(path, row, message))
        return stop_at_first

    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        problem(0, "manifest file not found")
        return samples, issues
    except (OSError, UnicodeDecodeError) as exc:
        problem(0, f"cannot read manifest ({exc})")
        return samples, issues
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        problem(0, "empty manifest (no header row)")
        return samples, issues
    header = [c.strip() for c in rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        problem(
            1,
            f"missing header column(s) {', '.join(missing)}; expected "
            f"{','.join(COLUMNS)}[,mask], got {','.join(header) or '(empty)'}",
        )
        return samples, issues
    col = {name: header.index(name) for name in header}
    root = path.parent
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            if problem(line, f"expected {len(header)} columns, got {len(row)}"):
                break
            continue
        rel = row[col["path"]].strip()
        if not rel:
            if problem(line, "empty path"):
                break
            continue
        label_text = row[col["label"]].strip()
        if label_text not in ("0", "1"):
            if problem(line, f"label must be 0 or 1, got {label_text!r}"):
                break
            continue
        img = (root / rel).resolve() if not Path(rel).is_absolute() else Path(rel)
        if check_files and not img.is_file():
            if problem(line, f"image file not found: {rel}"):
                break
            continue
        mask: Path | None = None
        if "mask" in col:
            mrel = row[col["mask"]].strip()
            if mrel:
                mask = (root / mrel).resolve()
                if check_files and not mask.is_file():
                    if problem(line, f"mask file not found: {mrel}"):
                        break
                    continue
        samples.append(
            Sample(
                path=img,
                label=int(label_text),
                defect_type=row[col["defect_type"]].strip(),
                group=row[col["group"]].strip(),
                mask=mask,
            )
        )
    return samples, issues


def read_manifest(
    path: str | Path, *, check_files: bool = True, collect_errors: bool = False
) -> list[Sample]:
    """Read a manifest (file or dataset folder) into `Sample` rows.

    Args:
        path: ``manifest.csv`` or the folder holding it.
        check_files: also check that every image (and mask) file exists.
        collect_errors: go through the whole file and report every problem in one
            `ManifestError`, instead of stopping at the first.

    Raises:
        ManifestError: naming the file and the 1-based row of each problem.
    """
    mpath = _manifest_file(path)
    samples, issues = _parse(
        mpath, check_files=check_files, stop_at_first=not collect_errors
    )
    if issues:
        raise ManifestError(issues)
    return samples


def validate_manifest(
    path: str | Path, *, check_files: bool = True
) -> list[ManifestIssue]:
    """Every problem of a manifest (empty list when it is valid)."""
    _samples, issues = _parse(
        _manifest_file(path), check_files=check_files, stop_at_first=False
    )
    return issues


def write_manifest(samples: Iterable[Sample], path: str | Path) -> Path:
    """Write rows as ``manifest.csv``, paths relative to its folder; returns the path.

    The ``mask`` column is written only when at least one row has a mask.
    """
    mpath = Path(path)
    if mpath.suffix.lower() != ".csv":
        mpath = mpath / "manifest.csv"
    mpath.parent.mkdir(parents=True, exist_ok=True)
    rows = list(samples)
    root = mpath.parent.resolve()
    with_mask = any(s.mask is not None for s in rows)

    def rel(p: Path) -> str:
        return Path(os.path.relpath(Path(p).resolve(), root)).as_posix()

    with mpath.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([*COLUMNS, *(["mask"] if with_mask else [])])
        for s in rows:
            row = [rel(s.path), str(int(s.label)), s.defect_type, s.group]
            if with_mask:
                row.append(rel(s.mask) if s.mask is not None else "")
            writer.writerow(row)
    return mpath


# ---------------------------------------------------------------------------
# Import


def import_class_folders(
    src: str | Path,
    out: str | Path,
    label_map: Mapping[str, tuple[int, str] | int],
    *,
    group_fn: Callable[[Path], str] | None = None,
    skip_unknown: bool = False,
) -> Path:
    """Turn a folder of class folders into a manifest dataset (images are copied).

    Args:
        src: folder whose sub-folders are classes (``src/<class>/<image>``).
        out: dataset folder to create; images land in ``out/images/<class>/``.
        label_map: class folder name -> ``(label, defect_type)``, or just the label
            (then the defect type is the class name, or "" for label 0).
        group_fn: file -> group id; default: ``<class>/<file stem>`` (one group per
            image: pass a function when images share a board or capture).
        skip_unknown: ignore class folders not in `label_map` (default: error).

    Returns:
        The manifest path.

    Raises:
        ValueError: naming the folder that is not in the map, or an empty source.
    """
    src, out = Path(src), Path(out)
    if not src.is_dir():
        msg = f"{src}: not a folder"
        raise ValueError(msg)
    classes = sorted(p for p in src.iterdir() if p.is_dir())
    if not classes:
        msg = f"{src}: no class folders inside"
        raise ValueError(msg)
    samples: list[Sample] = []
    for cdir in classes:
        if cdir.name not in label_map:
            if skip_unknown:
                log.info("skipping class folder %s (not in the label map)", cdir)
                continue
            known = sorted(label_map)
            msg = f"{cdir}: class {cdir.name!r} is not in the label map {known}"
            raise ValueError(msg)
        entry = label_map[cdir.name]
        if isinstance(entry, tuple):
            label, dtype = int(entry[0]), str(entry[1])
        else:
            label, dtype = int(entry), (cdir.name if int(entry) else "")
        if label not in (0, 1):
            msg = f"label_map[{cdir.name!r}]: label must be 0 or 1, got {label}"
            raise ValueError(msg)
        dest = out / "images" / cdir.name
        dest.mkdir(parents=True, exist_ok=True)
        for f in sorted(cdir.rglob("*")):
            if not f.is_file() or f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            rel = f.relative_to(cdir)
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)
            group = (
                group_fn(f)
                if group_fn
                else f"{cdir.name}/{rel.with_suffix('').as_posix()}"
            )
            samples.append(Sample(target.resolve(), label, dtype, group))
    if not samples:
        msg = f"{src}: no images found in the class folders"
        raise ValueError(msg)
    return write_manifest(samples, out / "manifest.csv")


# ---------------------------------------------------------------------------
# De-duplication


def content_hash(path: str | Path, *, by: str = "pixels") -> str:
    """sha256 of an image: of its decoded pixels (shape, dtype, data) or its file bytes.

    `by="pixels"` finds the same picture saved twice under other names or with
    other PNG compression; it decodes with OpenCV, unchanged (bit depth, channels).
    """
    path = Path(path)
    data = path.read_bytes()
    if by == "bytes":
        return hashlib.sha256(data).hexdigest()
    if by != "pixels":
        msg = f"by must be 'pixels' or 'bytes', got {by!r}"
        raise ValueError(msg)
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        msg = f"{path}: cannot decode image"
        raise ValueError(msg)
    h = hashlib.sha256()
    h.update(f"{arr.shape}|{arr.dtype}|".encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class Duplicate:
    """A dropped row and the first row with the same content that was kept."""

    dropped: Sample
    kept: Sample
    sha256: str


def dedupe(
    samples: Sequence[Sample], *, by: str = "pixels"
) -> tuple[list[Sample], list[Duplicate]]:
    """Drop rows whose image content repeats an earlier row (first one is kept).

    Returns:
        (kept rows in their order, dropped duplicates with the row they repeat).
        Duplicates whose labels disagree are logged as warnings.
    """
    seen: dict[str, Sample] = {}
    kept: list[Sample] = []
    dropped: list[Duplicate] = []
    for s in samples:
        digest = content_hash(s.path, by=by)
        first = seen.get(digest)
        if first is None:
            seen[digest] = s
            kept.append(s)
            continue
        if first.label != s.label:
            log.warning(
                "duplicate images with different labels: %s and %s", first.path, s.path
            )
        dropped.append(Duplicate(s, first, digest))
    return kept, dropped


# ---------------------------------------------------------------------------
# Split


@dataclass
class Split:
    """A group-aware split: rows per part, and which part each group went to."""

    train: list[Sample] = field(default_factory=list)
    val: list[Sample] = field(default_factory=list)
    test: list[Sample] = field(default_factory=list)
    group_split: dict[str, str] = field(default_factory=dict)

    def parts(self) -> dict[str, list[Sample]]:
        """``{"train": [...], "val": [...], "test": [...]}``."""
        return {"train": self.train, "val": self.val, "test": self.test}

    def sizes(self) -> dict[str, int]:
        """Rows per part."""
        return {k: len(v) for k, v in self.parts().items()}


def split_groups(
    samples: Sequence[Sample],
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    seed: int = 0,
    *,
    singleton_groups: Collection[str] = (),
) -> Split:
    """Seeded group-aware, class-stratified split (no group straddles two parts).

    Greedy: groups are shuffled (seeded), sorted by size (largest first), and each
    goes to the part that is furthest below its target, measured on rows and on
    defective rows together. With many small groups the sizes land within a few
    percent of the fractions and the defect ratio is kept per part; a group that is
    a large share of the data (e.g. one "unknown" group) cannot be split and shows
    up as a skewed part: read `Split.sizes()`.

    `singleton_groups` names groups that are not real captures (e.g. ulger-smd's
    "unknown", which holds every defect): each of their rows becomes its own group.
    That gives up leak protection for those rows; say so when you report numbers.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or sum(fractions) <= 0:
        msg = f"fractions must be three non-negative numbers, got {tuple(fractions)}"
        raise ValueError(msg)
    frac = np.asarray(fractions, float) / float(sum(fractions))
    groups: dict[str, list[Sample]] = {}
    singles = set(singleton_groups)
    for i, s in enumerate(samples):
        key = f"{s.group}\x00{i}" if s.group in singles else s.group
        groups.setdefault(key, []).append(s)
    rng = np.random.default_rng(seed)
    names = list(groups)
    order = rng.permutation(len(names))
    keyed = sorted(
        ((len(groups[names[i]]), int(rank), names[i]) for rank, i in enumerate(order)),
        key=lambda t: (-t[0], t[1]),
    )
    n_total = len(samples)
    pos_total = sum(s.label for s in samples)
    n = np.zeros(3)
    pos = np.zeros(3)
    result = Split()
    for size, _rank, name in keyed:
        gpos = sum(s.label for s in groups[name])
        # Fill deficit as a fraction of each part's target, rows and positives.
        need_n = (frac * n_total - n) / np.maximum(frac * n_total, 1e-9)
        need_p = (
            (frac * pos_total - pos) / np.maximum(frac * pos_total, 1e-9)
            if pos_total
            else np.zeros(3)
        )
        w_pos = gpos / size if size else 0.0
        score = (1.0 - w_pos) * need_n + w_pos * need_p + 0.5 * need_n
        score[frac == 0] = -np.inf
        k = int(np.argmax(score))
        n[k] += size
        pos[k] += gpos
        part = SPLITS[k]
        result.group_split[name.split("\x00")[0]] = part
        result.parts()[part].extend(groups[name])
    # Keep the manifest order inside each part.
    index = {id(s): i for i, s in enumerate(samples)}
    for rows in result.parts().values():
        rows.sort(key=lambda s: index[id(s)])
    return result


def write_split(split: Split, out_dir: str | Path, *, manifests: bool = True) -> Path:
    """Write ``split.csv`` (path,split) and, if `manifests`, ``manifest_<part>.csv``.

    Paths are written relative to `out_dir` (use the dataset folder so the part
    manifests are valid datasets). Returns the path of ``split.csv``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    root = out.resolve()
    path = out / "split.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["path", "split"])
        for part, rows in split.parts().items():
            for s in rows:
                writer.writerow([Path(os.path.relpath(s.path, root)).as_posix(), part])
    if manifests:
        for part, rows in split.parts().items():
            write_manifest(rows, out / f"manifest_{part}.csv")
    return path


# ---------------------------------------------------------------------------
# Summary


def summarize(samples: Sequence[Sample], *, image_sizes: bool = True) -> dict[str, Any]:
    """Counts per label, defect type and group, plus the image size distribution.

    Image sizes come from the file headers (PIL, no decoding).
    """
    labels = Counter(s.label for s in samples)
    dtypes = Counter(s.defect_type for s in samples)
    groups = Counter(s.group for s in samples)
    gsizes = np.array(sorted(groups.values())) if groups else np.zeros(0)
    out: dict[str, Any] = {
        "n": len(samples),
        "per_label": {str(k): v for k, v in sorted(labels.items())},
        "defective_fraction": round(labels.get(1, 0) / len(samples), 4)
        if samples
        else 0.0,
        "per_defect_type": dict(sorted(dtypes.items())),
        "n_groups": len(groups),
        "group_size": {
            "min": int(gsizes.min()) if gsizes.size else 0,
            "median": float(np.median(gsizes)) if gsizes.size else 0.0,
            "max": int(gsizes.max()) if gsizes.size else 0,
        },
        "largest_groups": dict(groups.most_common(5)),
        "with_mask": sum(1 for s in samples if s.mask is not None),
    }
    if image_sizes and samples:
        from PIL import Image

        ws, hs, unreadable = [], [], []
        for s in samples:
            try:
                with Image.open(s.path) as im:
                    ws.append(im.width)
                    hs.append(im.height)
            except OSError:
                unreadable.append(str(s.path))
        if ws:
            wa, ha = np.array(ws), np.array(hs)
            out["image_size"] = {
                "width": _dist(wa),
                "height": _dist(ha),
                "most_common": [
                    [f"{w}x{h}", c]
                    for (w, h), c in Counter(zip(ws, hs, strict=True)).most_common(5)
                ],
            }
        out["unreadable"] = unreadable
    return out


def _dist(a: np.ndarray) -> dict[str, float]:
    return {
        "min": int(a.min()),
        "p05": float(np.percentile(a, 5)),
        "median": float(np.median(a)),
        "p95": float(np.percentile(a, 95)),
        "max": int(a.max()),
    }
