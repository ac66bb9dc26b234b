"""The freeze: a write-order-consistent image of a group, taken by suspending every member's
gate, snapshotting every member's LV, and resuming the gates (see `cohort.freeze.protocol`)."""
