"""iSCSI exports through the kernel's LIO target: targets (rtslib-fb), portals, CHAP secrets."""
