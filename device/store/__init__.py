"""The model store (store layer): installed bundles, atomic activation and rollback, trials,
signature checks and the crash-safe file operations they rest on. See README.md beside this file."""
