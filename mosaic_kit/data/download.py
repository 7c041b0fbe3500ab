"""Official MedMNIST files fetched from their Zenodo records, checked against medmnist's MD5,
never left half-written."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Optional

from .registry import DatasetInfo, get_info

__all__ = ["download"]


def _download_hint(info: DatasetInfo, size: int, root: Path) -> str:
    return (
        f"Download it with `python -m mosaic_kit download --set datasets={info.name} "
        f"--set {'size_3d' if info.is_3d else 'size'}={size} --set data_root={root}` "
        f"(or train with --set download=true), or fetch {info.url(size)} by hand "
        f"(md5 {info.md5(size)}) and put it in {root}."
    )


def download(name: str, size: int, root: str | Path, url: Optional[str] = None) -> Path:
    """Download one official npz into ``root``, checked against medmnist's MD5; no-op if present.

    The file is streamed to a temporary name and renamed only once its MD5 matches, so an
    interrupted or corrupt download never leaves a file that looks complete. ``url`` overrides
    medmnist's (mirrors, tests).
    """
    import urllib.request

    from ..utils.progress import progress_bar

    info = get_info(name)
    _check_size(info, size)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    target = root / info.file_name(size)
    if target.exists():
        return target
    src, md5 = url or info.url(size), info.md5(size)
    tmp = target.with_name(f".{target.name}.part")
    digest = hashlib.md5()
    try:
        with urllib.request.urlopen(src, timeout=60) as resp, open(tmp, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with progress_bar(total=total, unit="B", unit_scale=True, desc=target.name) as bar:
                while chunk := resp.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        if digest.hexdigest() != md5:
            raise RuntimeError(
                f"Downloaded {src} but its md5 {digest.hexdigest()} is not the official {md5}; "
                "nothing was kept. Retry, or fetch the file by hand."
            )
        os.replace(tmp, target)
    except OSError as err:
        raise RuntimeError(
            f"Download of {src} failed ({err}). " + _download_hint(info, size, root)
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _check_size(info: DatasetInfo, size: int) -> None:
    if size not in info.sizes:
        raise ValueError(
            f"{info.name} is offered at sizes {', '.join(map(str, info.sizes))}, not {size}."
        )
