"""pip-audit over deploy/requirements.lock, the exact pins the image installs. Run by CI (`make audit`).

Exit 1 when a pinned version has a known vulnerability. When the vulnerability service cannot be reached
(no network, or a package index that does not serve per-version metadata), say so plainly and exit 0:
an unreachable service is not a finding, but it must never pass for a clean audit.

    python scripts/audit_dependencies.py [--service pypi|osv]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "deploy" / "requirements.lock"


def pip_audit() -> str:
    found = shutil.which("pip-audit", path=str(Path(sys.executable).parent)) or shutil.which("pip-audit")
    if found is None:
        sys.exit("audit: pip-audit is not installed; it comes with the dev extras (pip install -e .[dev])")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--service", default="pypi", choices=["pypi", "osv"])
    args = parser.parse_args(argv)
    command = [pip_audit(), "-r", str(LOCK), "--no-deps", "--disable-pip", "--progress-spinner", "off",
               "--format", "json", "--vulnerability-service", args.service]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        print(
            f"audit: NOT AUDITED: the {args.service} vulnerability service could not be reached ({last[:300]})"
        )
        return 0
    dependencies = report.get("dependencies", [])
    audited = [d for d in dependencies if "skip_reason" not in d]
    skipped = [d for d in dependencies if "skip_reason" in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
            print(f"audit: {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})")
    print(f"audit: {len(audited)} of {len(dependencies)} pinned packages audited against {args.service}, "
          f"{len(vulnerable)} with known vulnerabilities")  # fmt: skip
    if skipped:
        names = ", ".join(str(d["name"]) for d in skipped[:8])
        more = f" and {len(skipped) - 8} more" if len(skipped) > 8 else ""
        print(f"audit: NOT AUDITED ({len(skipped)}): {names}{more}; reason: {skipped[0]['skip_reason']}")
        if not audited:
            print(f"audit: the {args.service} vulnerability service did not answer for any package "
                  "(offline, or an index without per-version metadata): nothing was checked")  # fmt: skip
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
