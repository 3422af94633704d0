"""discover and drift: the stage file written from AWS or Terraform, and checked against AWS before load.

`stagegate discover` (discover/cli.py) reads an HTTP API (discover/aws_http.py) or a REST API
(discover/aws_rest.py, discover/rest_contract.py) with read-only calls, or a Terraform module
(discover/hcl.py, discover/terraform.py), into the records of discover/model.py, which
discover/writer.py renders as a stage file and contracts. `stagegate drift` and the gate compare a
stage file with the deployed stage (discover/drift.py).
"""

from discover.drift import DriftResult, drift_lines, gate_drift
from discover.errors import DiscoverError, HclError

__all__ = ["DiscoverError", "DriftResult", "HclError", "drift_lines", "gate_drift"]
