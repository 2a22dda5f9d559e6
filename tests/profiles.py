"""A production profile's values that pass every check, and a supervisor to save with them:
for the tests that save a "cityhall" profile."""

from __future__ import annotations

from types import MappingProxyType

from console.config import Operator, hash_pin, sandbox_profile

SUPERVISOR = Operator("sup", "Sue", "supervisor", hash_pin("4321", iterations=1000))

# Read-only: a test copies it ({**VALID, ...}) to change a value.
VALID = MappingProxyType({
    "caselle_url": "https://caselle.example.gov/graphql", "caselle_client_id": "abc",
    "invoicecloud_biller_id": "CITY01", "invoicecloud_api_url": "https://ic.example.com/api",
    "invoicecloud_gateway_url": "https://gw.example.com", "transfer_host": "sftp.example.com",
    "transfer_user": "city",
})

# The sandbox profile's demo operators, by what a test has them do (services refuse an action
# the operator's role does not allow, so every test that acts names who acts).
CASHIER, CLERK, SUPPORT, SUPERVISOR_ID = "cashier1", "clerk1", "support1", "super1"
POSTER = CLERK  # posts and imports (billing work)
# A support person as the GUI hands it to a service (diagnostics, support bundle, audit view)
SUPPORT_DESK = Operator(SUPPORT, "Pat Support", "support")
# (profile, operator, audit) a dialog saves with when a clerk is signed in to the sandbox
CLERK_ACTING = (sandbox_profile(), CLERK, None)
