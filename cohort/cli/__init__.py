"""cohortctl: the command-line client of cohortd."""
