"""The recipe tests; a package so that its helper modules import as tests.cells and tests.helpers."""
