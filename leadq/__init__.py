"""leadq: batch lead scoring with fit filters, engagement points and MQL lists."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("leadq")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
