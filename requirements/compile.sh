#!/usr/bin/env bash
# Regenerates requirements/apply.txt: the exact, hash-checked dependencies the jobs holding the
# apply role install (pip install --require-hashes -r requirements/apply.txt), from pyproject.toml.
# Needs pip-tools (pip install pip-tools) in the current environment. Run from anywhere; pass
# --upgrade to move every pin to the newest release allowed by pyproject.toml.
#
# PyPI only, whatever this machine's pip configuration adds (a local mirror or a find-links
# folder would add hashes of files GitHub's runners never see). The resolution is for the
# interpreter running it: use Python 3.11 on Linux x86_64, as the workflows' runners do.
set -euo pipefail
cd "$(dirname "$0")/.."
python - <<'PY'
import platform
import sys

if sys.version_info[:2] != (3, 11) or (platform.system(), platform.machine()) != ("Linux", "x86_64"):
    sys.exit(
        "requirements/compile.sh: run it with Python 3.11 on Linux x86_64, as on the runners "
        f"(this is Python {platform.python_version()} on {platform.system()} {platform.machine()})"
    )
PY
export CUSTOM_COMPILE_COMMAND="bash requirements/compile.sh"
env -u PIP_FIND_LINKS -u PIP_CONSTRAINT -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null \
  pip-compile --no-config --quiet --generate-hashes --allow-unsafe --strip-extras \
  --build-deps-for=wheel --index-url=https://pypi.org/simple --no-emit-find-links \
  --output-file=requirements/apply.txt "$@" pyproject.toml
