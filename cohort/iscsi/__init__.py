"""iSCSI exports: LIO through rtslib-fb, and the portals it listens on."""
