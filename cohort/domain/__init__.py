"""The domain: volumes, groups, snapshots, their statuses and rules. Imports neither gRPC nor
SQLAlchemy."""
