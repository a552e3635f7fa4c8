"""Every notebook's setup cell, run as Colab runs it. Used by `make test-setup-cells`.

1. Every notebook opens with a markdown title cell, then the setup cell, and every setup cell has
   the same form, up to the name of its extra (one declared in pyproject.toml, read from the
   installed package's metadata).
2. In a fresh venv that holds only Colab's preinstalled packages (requirements-colab.txt), the
   setup cell of each extra is executed with RNN_RECIPES_SOURCE pointing at a wheel of this
   checkout (in Colab it is the git URL): it
   must install rnn-recipes with that extra, leave every installed version as it was (Colab
   then asks for no restart), and add no package of another topic's extra.
3. Run again, the cell finds everything and calls pip no more (the source is then unreachable).
Exits non-zero on the first failure.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import email
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXTRA_LINE = re.compile(r'^EXTRA = "([a-z]+)"  # this notebook\'s packages: pip install "rnn-recipes\[\1\]"$',
                        re.M)
# The extras that only list other extras of the package, or that we never run alone.
UNION_EXTRAS = {"all", "course"}


def setup_cells():
    cells = {}
    for path in sorted((ROOT / "notebooks").glob("**/*.ipynb")):
        nb = json.loads(path.read_text())
        first, second = nb["cells"][0], nb["cells"][1]
        if first["cell_type"] != "markdown" or not "".join(first["source"]).startswith("# "):
            sys.exit(f"{path.name}: the first cell must be the markdown title")
        if second["cell_type"] != "code":
            sys.exit(f"{path.name}: the second cell must be the setup cell")
        cells[path.name] = "".join(second["source"])
    return cells


def header(source):
    """The shared part: the backend, the extra and the install, up to invalidate_caches()."""
    marker = "    importlib.invalidate_caches()\n"
    if marker not in source:
        return None
    return source[: source.index(marker) + len(marker)]


def freeze(python):
    out = subprocess.run([python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                         check=True, capture_output=True, text=True).stdout
    return {item["name"].lower().replace("_", "-"): item["version"] for item in json.loads(out)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", default=None, help="constraints for what the cells install")
    args = parser.parse_args()

    cells, forms, extra_of = setup_cells(), {}, {}
    for name, source in cells.items():
        shared = header(source)
        match = EXTRA_LINE.search(shared or "")
        if match is None:
            sys.exit(f"{name}: the setup cell does not have the shared form (the backend, the "
                     f"EXTRA line, then the install)")
        extra_of[name] = match.group(1)
        forms.setdefault(shared.replace(f'"{match.group(1)}"', '"?"').replace(
            f"[{match.group(1)}]", "[?]"), []).append(name)
    if len(forms) != 1:
        sys.exit("setup cells differ beyond their extra: " + "; ".join(", ".join(v) for v in forms.values()))
    print(f"{len(cells)} setup cells share one form; extras used: {sorted(set(extra_of.values()))}")

    with tempfile.TemporaryDirectory() as tmp:
        python = sys.executable
        # The package built once, as a wheel: the cells install it from there (pip takes a
        # "name[extra] @ file://...whl" URL as it takes the git URL in Colab).
        subprocess.run([python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp, str(ROOT)], check=True)
        wheel = next(Path(tmp).glob("rnn_recipes-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            metadata = email.message_from_bytes(archive.read(name))
        extras_declared = {e: set() for e in metadata.get_all("Provides-Extra")}
        for line in metadata.get_all("Requires-Dist"):
            marker = re.search(r"""extra == ['"]([^'"]+)['"]""", line)
            if marker:
                extras_declared[marker.group(1)].add(re.match(r"[A-Za-z0-9._-]+", line)[0].lower())
        for name, extra in extra_of.items():
            if extra not in extras_declared or extra in UNION_EXTRAS:
                sys.exit(f"{name}: EXTRA = {extra!r} is not a topic extra of pyproject.toml")
        top_level = {extra: names - {"rnn-recipes"} for extra, names in extras_declared.items()}
        order = sorted(set(extra_of.values()), key=lambda e: (e != "notebook", e))
        env = {**os.environ, "RNN_RECIPES_SOURCE": wheel.as_uri()}
        if args.lock:
            env["PIP_CONSTRAINT"] = str(Path(args.lock).resolve())
        installed_extras = set()
        for extra in order:
            notebook = next(name for name, e in extra_of.items() if e == extra)
            before = freeze(python)
            subprocess.run([python, "-c", header(cells[notebook])], check=True, env=env, cwd=tmp)
            after = freeze(python)
            changed = {n: (v, after.get(n)) for n, v in before.items() if after.get(n) != v}
            if changed:
                sys.exit(f"{notebook} ({extra}): the setup cell changed installed versions: {changed}")
            added = set(after) - set(before)
            if "rnn-recipes" not in after:
                sys.exit(f"{notebook} ({extra}): rnn-recipes was not installed")
            installed_extras.add(extra)
            own = set().union(*(top_level[e] for e in installed_extras))
            foreign = {pkg for e, pkgs in top_level.items() if e not in installed_extras | UNION_EXTRAS
                       for pkg in pkgs} - own
            if added & foreign:
                sys.exit(f"{notebook} ({extra}): installed packages of other extras: {sorted(added & foreign)}")
            again = subprocess.run([python, "-c", header(cells[notebook])], env={
                **env, "RNN_RECIPES_SOURCE": "file:///nonexistent/rnn-recipes"}, cwd=tmp,
                capture_output=True, text=True)
            if again.returncode != 0:
                sys.exit(f"{notebook} ({extra}): run again, the setup cell tried to install:\n{again.stderr}")
            print(f"{notebook}: [{extra}] added {len(added)} packages, changed none of the "
                  f"{len(before)} installed; a second run installs nothing")


if __name__ == "__main__":
    main()
