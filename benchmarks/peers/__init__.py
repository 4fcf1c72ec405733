"""Runners for the peers' own code, timed beside sqlfoundry in the same benchmark run."""
