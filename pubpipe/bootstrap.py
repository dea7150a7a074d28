"""Set up what the pipeline needs on a fresh Debian/Ubuntu machine, idempotently.

Standard library only: this runs before the virtual environment exists. It
installs missing system packages (fonts, gettext, Java for EPUBCheck), makes
`.venv/`, installs the pinned Python packages when pyproject.toml changed,
then re-executes the command inside the virtual environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

BUILD_PACKAGES = ["poppler-utils", "gettext"]  # gettext: update writes catalogs as msgcat does; fonts: font_packages()
# the outside referees of the tests and the verify stage: Java (EPUBCheck, the Nu checker), qpdf, biber,
# LibreOffice (reads the DOCX back), Debian's chromium (axe-core, DAISY Ace, serve) and node for tools/referees
TEST_PACKAGES = ["default-jre-headless", "qpdf", "biber", "libreoffice-writer-nogui", "libreoffice-math-nogui",
                 "chromium", "nodejs", "npm"]  # math: LibreOffice draws the DOCX formulas (OMML) only with it
REFEREES = Path("tools") / "referees"  # package.json + package-lock.json: the npm referees, pinned
TEST_FIXTURES = Path("tests") / "fixtures"  # publications of the tests (scripts-sampler): their fonts too, for `test`
FONT_TABLE = Path(__file__).resolve().parent / "render" / "scripts.json"  # the table pubpipe.render.fonts reads
CODE_FACE = "Noto Sans Mono"
LANGUAGE_KEY = r"[\"']?([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)[\"']?[ \t]*(?::|$)"  # `fr:`, `- "zh-Hans"`
PREVIEW_PACKAGES = ["chromium", "libreoffice-writer-nogui", "libreoffice-math-nogui"]  # DOCX page 1: LibreOffice
MARKER = "PUBPIPE_IN_VENV"


def _installed(package: str) -> bool:
    if package == "default-jre-headless" and shutil.which("java"):
        return True
    if package == "gettext" and shutil.which("msgfmt"):
        return True
    if package == "poppler-utils" and shutil.which("pdftotext"):
        return True
    if package == "chromium" and shutil.which("chromium"):
        return True
    if package in ("nodejs", "npm", "qpdf", "biber") and shutil.which(package.replace("nodejs", "node")):
        return True
    if package == "libreoffice-writer-nogui" and shutil.which("soffice"):
        return True
    result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return result.returncode == 0 and "install ok installed" in result.stdout


def ensure_system_packages(packages: list[str]) -> None:
    if not shutil.which("dpkg-query"):
        print(f"note: not a Debian system; make sure these are installed: {' '.join(packages)}", file=sys.stderr)
        return
    missing = [p for p in packages if not _installed(p)]
    if not missing:
        return
    prefix = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if prefix is None:
        print(f"error: missing system packages {' '.join(missing)}; install them as root:\n"
              f"  apt-get install -y --no-install-recommends {' '.join(missing)}", file=sys.stderr)
        return  # the font check names the package again if the build needs it
    print(f"setting up: apt-get install {' '.join(missing)}", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = prefix + ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]
    if subprocess.run(install, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(prefix + ["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
        if subprocess.run(install, env=env, stdout=subprocess.DEVNULL).returncode != 0:
            print(f"error: could not install {' '.join(missing)} with apt-get", file=sys.stderr)


def declared_languages(content: Path) -> list[str]:
    """The `languages:` keys of every content/*/publication.yaml, by a small scan (no YAML parser yet):
    the indented `tag:` keys under a top-level `languages:` mapping, or the items of a `languages:` list."""
    tags: list[str] = []
    for path in sorted(content.glob("*/publication.yaml")):
        block = re.search(r"^languages:[ \t]*(?:#.*)?\n((?:[ \t]+.*\n|[ \t]*\n)*)", path.read_text(encoding="utf-8")
                          + "\n", re.M)
        if not block:
            continue
        indent = min((len(line) - len(line.lstrip()) for line in block.group(1).splitlines() if line.strip()),
                     default=0)
        for line in block.group(1).splitlines():
            found = re.match(rf"^[ \t]{{{indent}}}(?:-[ \t]+)?{LANGUAGE_KEY}", line)
            if found and found.group(1) not in tags:
                tags.append(found.group(1))
    return tags


def font_packages(languages: list[str]) -> list[str]:
    """The Debian font packages the languages need, from the font table: each language's script
    (its script subtag, else the table's `languages`, else Latin), plus Latin and the code face."""
    table = json.loads(FONT_TABLE.read_text(encoding="utf-8"))
    package_of = {family: package for package, families in table["packages"].items() if package != "default"
                  for family in families}
    keys = ["Latn"]
    for tag in languages:
        parts = tag.split("-")
        script = next((p for p in parts[1:] if len(p) == 4 and p[:1].isupper()), None)
        key = table["languages"].get(tag) or table["languages"].get(f"{parts[0]}-{script}" if script else "") \
            or (script if script in table["scripts"] else None) or table["languages"].get(parts[0], "Latn")
        keys.append(key)
    families = [table["scripts"][key][slot] for key in keys for slot in ("serif", "sans")
                if table["scripts"][key].get(slot)] + [CODE_FACE]
    packages = [package_of.get(family, table["packages"]["default"]) for family in families]
    return sorted(p for p in set(packages) if p.startswith("fonts-"))


# pubpipe is installed editable as a plain path in a .pth file: setuptools' default editable mode installs an
# import hook instead, which every start of the venv's Python imports (22 -> 10 ms per start, measured)
EDITABLE = ["--config-settings", "editable_mode=compat"]


def ensure_venv(root: Path, extras: str) -> Path:
    venv = root / ".venv"
    python = venv / "bin" / "python"
    if not python.exists():
        print("setting up: python -m venv .venv", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pyproject = (root / "pyproject.toml").read_bytes()
    stamp = venv / f".installed-{extras or 'base'}"
    digest = hashlib.sha256(pyproject + " ".join(EDITABLE).encode()).hexdigest()
    done = [s for s in (stamp, venv / ".installed-test") if s.exists() and s.read_text() == digest]
    if not done:  # the test install includes the base one
        target = f".[{extras}]" if extras else "."
        print(f"setting up: pip install -e '{target}' (pinned in pyproject.toml)", file=sys.stderr, flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", target,
                        *EDITABLE], cwd=root, check=True)
        stamp.write_text(digest)
    return python


def ensure_referees(root: Path) -> None:
    """`npm ci` the pinned npm referees once per lock file; install scripts off (nothing is downloaded:
    puppeteer and electron would fetch browsers), Debian's chromium is used instead."""
    folder = root / REFEREES
    lock = folder / "package-lock.json"
    stamp = folder / "node_modules" / ".installed"
    if not lock.exists() or not shutil.which("npm"):
        return  # the tests that need them say so and skip (or fail under CI)
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    print("setting up: npm ci in tools/referees (pinned in package-lock.json)", file=sys.stderr, flush=True)
    env = {**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1", "ELECTRON_SKIP_BINARY_DOWNLOAD": "1"}
    result = subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                            cwd=folder, env=env, stdout=subprocess.DEVNULL)
    if result.returncode == 0:
        stamp.write_text(digest)
    else:
        print("error: npm ci failed in tools/referees; the browser and validator tests cannot run", file=sys.stderr)


def setup_key(root: Path, packages: list[str], for_tests: bool) -> str:
    """What a finished set-up depended on: the system packages asked for, pyproject.toml, the npm lock file."""
    lock = root / REFEREES / "package-lock.json"
    parts = [" ".join(sorted(packages)), hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest(),
             " ".join(EDITABLE),
             hashlib.sha256(lock.read_bytes()).hexdigest() if for_tests and lock.exists() else "", sys.version]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def ensure(root: Path, for_tests: bool, previews: bool = False) -> None:
    """Make sure everything is installed, then continue inside .venv (re-exec once, unless already there).

    A set-up that finished is stamped (.venv/.setup-<kind>) with a key over its inputs; while the key
    matches, no dpkg-query or pip runs: the already-set-up path costs a scan of the publications."""
    if os.environ.get(MARKER) == "1":
        return
    languages = declared_languages(root / "content") + (declared_languages(root / TEST_FIXTURES) if for_tests else [])
    packages = font_packages(languages) + BUILD_PACKAGES + (TEST_PACKAGES if for_tests else []) \
        + (PREVIEW_PACKAGES if previews else [])
    venv = root / ".venv"
    python = venv / "bin" / "python"
    stamp = venv / f".setup-{'test' if for_tests else 'build'}{'-previews' if previews else ''}"
    key = setup_key(root, packages, for_tests)
    if not (python.exists() and stamp.exists() and stamp.read_text() == key):
        ensure_system_packages(packages)
        python = ensure_venv(root, "test" if for_tests else "")
        if for_tests:
            ensure_referees(root)
        checkable = shutil.which("dpkg-query") is not None
        if not checkable or not [p for p in packages if not _installed(p)]:  # stamped once nothing is missing
            stamp.write_text(key)
    os.environ[MARKER] = "1"
    if Path(sys.prefix).resolve() == venv.resolve():
        return  # already the virtual environment's interpreter: no second start-up
    os.execv(str(python), [str(python), *sys.argv])
