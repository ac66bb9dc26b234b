"""cohort: a storage-host daemon for thin LVM volumes, Cinder-style groups and consistent group
snapshots, served over gRPC."""

__version__ = "0.1.0"
