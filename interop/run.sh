#!/usr/bin/env bash
# The interop suite (part of `make test`): Lumen against the reference tools' own clients, in a venv.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-interop
# mlflow-skinny 3 or later: the logged-model API (mlflow.entities.logged_model) is what test_mlflow_logged_models drives;
# an older venv fails that import and is rebuilt. SimpleITK and pydicom-data: the geometry and modality interop tests.
# tritonclient[http]: the official Triton/KServe V2 client that test_serving drives (numpy comes with it and pandas).
# schemathesis and openapi-spec-validator: test_openapi checks /openapi.json and fuzzes every operation; selenium: ui/test_docs_page.
# evidently: test_embedding_drift compares the embedding drift methods with its own; aiosmtpd: test_alerts receives alert e-mail;
# axe-selenium-python (bundles axe-core, offline): ui/test_ui_pages checks each page for serious accessibility violations.
bash scripts/venv.sh "$VENV" "mlflow, mlflow.entities.logged_model, pandas, pytest, requests, pydicom, nibabel, PIL, pylibjpeg, libjpeg, openjpeg, sklearn, SimpleITK, data_store, tritonclient.http, schemathesis, openapi_spec_validator, selenium, evidently, aiosmtpd, axe_selenium_python" \
  "mlflow-skinny>=3" "pandas<3" "evidently>=0.7,<0.8" pytest requests pydicom nibabel pillow pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg scikit-learn SimpleITK pydicom-data "tritonclient[http]" \
  schemathesis openapi-spec-validator selenium aiosmtpd axe-selenium-python
# Prometheus (Debian's package, with promtool): test_prometheus has a real server scrape `lumen serve`'s /metrics.
# The test runs its own on a free port; a system service the install starts (systemd hosts) is stopped and disabled.
if ! command -v prometheus >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -q --no-install-recommends prometheus
  if [ -d /run/systemd/system ]; then $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
fi
# Chromium and its WebDriver (Debian's packages): ui/test_docs_page drives the /docs page headless through selenium.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver
fi
# An empty parametrize list (a reference package that yields no files) fails collection instead of skipping; -rs lists any skip.
LUMEN_BIN="${LUMEN_BIN:-$(swift build --show-bin-path)/lumen}" "$VENV/bin/python" -m pytest -q -rs -o empty_parameter_set_mark=fail_at_collect interop --ignore=interop/torch --ignore=interop/pipelines "$@"
