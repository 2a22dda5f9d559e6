"""``python -m winbuild COMMAND``: the computed steps of ``installer/windows/build.sh``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from winbuild import bundle, icon, registry, signer, version, wxs

ROOT = Path(__file__).resolve().parents[3]


def _resources(args) -> int:
    v = version.project_version(ROOT / "pyproject.toml")
    for exe, path in version.write_version_files(v, args.out).items():
        print(f"version resource for {exe}: {path}")
    print(f"icon: {icon.write_icon(args.out / 'biller-console.ico')}")
    return 0


def _check(args) -> int:
    try:
        files = bundle.check_bundle(args.bundle, source=ROOT / "console", wine_test=Path(__file__).parents[1] / "wine-test")
    except bundle.BundleError as exc:
        for p in exc.problems:
            print(f"bundle check FAILED: {p}", file=sys.stderr)
        return 1
    size = sum(f.size for f in files)
    print(f"bundle check: OK — {len(files)} files, {size / 1e6:.1f} MB; Qt plugins "
          f"{', '.join(bundle.REQUIRED_PLUGINS)} present; no Wine stand-in")
    return 0


def _wxs(args) -> int:
    """Run from the bundle's parent folder: wixl takes only relative source paths."""
    files = bundle.file_list(Path(args.bundle))
    v = args.version or version.project_version(ROOT / "pyproject.toml")
    Path(args.out).write_text(wxs.wxs(files, version=v, bundle=args.bundle, icon=args.icon), encoding="utf-8")
    print(f"{args.out}: {len(files)} files, version {version.msi_version(v)}")
    return 0


def _signer(args) -> int:
    try:
        who = signer.require_signer(args.file, args.org)
    except signer.SignerError as exc:
        print(f"signature check FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"{args.file.name}: signed by {who}, digest matches")
    return 0


def _entry(args) -> int:
    problems = registry.entry_problems(args.system_reg.read_text(encoding="utf-8", errors="replace"),
                                       version=None if args.absent else args.version)
    for p in problems:
        print(f"uninstall entry check FAILED: {p}", file=sys.stderr)
    if not problems:
        print("uninstall entry: none" if args.absent else f"uninstall entry: {args.version}, {registry.PUBLISHER}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="winbuild")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("version", help="print the product version").set_defaults(
        func=lambda a: print(version.project_version(ROOT / "pyproject.toml")) or 0)
    r = sub.add_parser("resources", help="write the version resources and the icon into OUT")
    r.add_argument("out", type=Path)
    r.set_defaults(func=_resources)
    c = sub.add_parser("check-bundle", help="fail when Qt plugins are missing or a stand-in is in the bundle")
    c.add_argument("bundle", type=Path)
    c.set_defaults(func=_check)
    w = sub.add_parser("wxs", help="write the MSI's WiX source for a bundle (paths relative to the current folder)")
    w.add_argument("bundle")
    w.add_argument("icon")
    w.add_argument("out")
    w.add_argument("--version", help="another version than pyproject.toml's (the upgrade test's older MSI)")
    w.set_defaults(func=_wxs)
    s = sub.add_parser("check-signer", help="the file's Authenticode signature is intact and from ORG")
    s.add_argument("file", type=Path)
    s.add_argument("org")
    s.set_defaults(func=_signer)
    e = sub.add_parser("check-uninstall-entry", help="one uninstall entry with VERSION and our publisher (or none)")
    e.add_argument("system_reg", type=Path)
    g = e.add_mutually_exclusive_group(required=True)
    g.add_argument("--version")
    g.add_argument("--absent", action="store_true")
    e.set_defaults(func=_entry)
    args = p.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
