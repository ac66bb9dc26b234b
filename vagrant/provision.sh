#!/bin/bash
# provision.sh: the one recipe for a cohort storage guest (Debian 12).
#
# Used three ways, always as root:
#   - by vagrant/testbed while it builds the cached image, inside the image's chroot
#     (`COHORT_IMAGE_BUILD=1 provision.sh system`: also the boot tuning for a fast emulated guest);
#   - by vagrant/testbed in the running guest, over ssh (`provision.sh cohort ...`);
#   - by the Vagrantfile's shell provisioners (`system`, then `cohort ...`), on a public Debian 12
#     box or on the box vagrant/testbed packs from its image.
#
# Subcommands:
#   packages                 print the Debian packages a guest needs, one a line
#   system                   install them; the LVM filter; the venv /opt/cohort (and, with
#                            COHORT_IMAGE_BUILD=1, the test bed image's boot tuning and ssh)
#   dependencies --share DIR install cohort's dependencies only, from DIR/wheels
#   cohort [options]         install the checkout's cohort into /opt/cohort, the systemd unit and
#                            /etc/cohort/cohortd.toml, create the pool, (re)start cohortd
#     --src DIR              the checkout (default: this script's parent directory)
#     --share DIR            a directory with wheels/ (offline install), tls/{ca.crt,server.crt,
#                            server.key}; without wheels/, cohort is installed from --src online
#     --backend KIND         sim or lvm (default: lvm)
#     --pool-device DEV      make DEV the PV of volume group "cohort" with thin pool "pool" when
#                            it is blank, and configure the lvm backend to use them
#     --tcp-address H:P      serve gRPC on H:P with the TLS material from --share (mutual TLS)
set -euo pipefail

PACKAGES=(
    linux-image-amd64 initramfs-tools systemd-sysv udev dbus kmod iproute2 procps
    lvm2 thin-provisioning-tools
    targetcli-fb python3-rtslib-fb open-iscsi sg3-utils
    python3 python3-venv python3-pip
    openssh-server sudo rsync qemu-guest-agent
)
# What the guest suite (tests/guest, run with /opt/cohort/bin/python -m pytest) needs beyond
# cohort; vagrant/testbed's wheelhouse has them (cohort's [test] and [guest] extras).
GUEST_TEST_PACKAGES=(pytest hypothesis os-brick)
VENV=/opt/cohort
ETC=/etc/cohort
UNIT_DIR=/etc/systemd/system

log() { printf 'provision: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

install_packages() {
    local missing=() pkg
    for pkg in "${PACKAGES[@]}"; do
        dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# LVM must scan only the pool's physical volumes: never the gates (dm devices cohort suspends
# during a group snapshot: a scan of a suspended device blocks in D state) nor the iSCSI LUNs
# attached on this host (tenant PVs inside volumes must not be activated here).
configure_lvm() {
    local conf=/etc/lvm/lvm.conf begin='# cohort: begin' end='# cohort: end'
    sed -i "/^\t${begin} /,/^\t${end}\$/d" "$conf"
    awk -v begin="$begin" -v end="$end" '
        !done && /^devices \{/ {
            print
            print "\t" begin " (vagrant/provision.sh): scan only the pool PVs"
            print "\tglobal_filter = [ \"a|^/dev/vd[b-z]$|\", \"a|^/dev/loop[0-9]+$|\", \"r|.*|\" ]"
            print "\tignore_suspended_devices = 1"
            print "\t" end
            done = 1
            next
        }
        { print }' "$conf" >"$conf.new"
    mv "$conf.new" "$conf"
    [[ $(lvmconfig devices/ignore_suspended_devices) == *=1 ]] ||
        die "could not set devices/ignore_suspended_devices in $conf"
}

# LIO (the kernel's iSCSI target) and the local initiator the guest suite logs in with.
# cohort restores LIO itself (after its gates exist), so Debian's restore of /etc/target
# (rtslib-fb-targetctl.service) stays masked, and so does open-iscsi.service (it logs in to
# every recorded node at boot); iscsid itself is socket-activated for iscsiadm and os-brick.
configure_iscsi() {
    printf '%s\n' configfs target_core_mod target_core_iblock iscsi_target_mod \
        >/etc/modules-load.d/cohort-lio.conf
    # The initiator's name: os-brick's connector properties omit the initiator without it.
    if ! grep -qs '^InitiatorName=' /etc/iscsi/initiatorname.iscsi; then
        echo "InitiatorName=$(iscsi-iname)" >/etc/iscsi/initiatorname.iscsi
        chmod 0644 /etc/iscsi/initiatorname.iscsi
    fi
    systemctl mask rtslib-fb-targetctl.service open-iscsi.service
    systemctl unmask iscsid.socket iscsid.service
    systemctl enable iscsid.socket
}

configure_venv() {
    # --system-site-packages: Debian's python3-rtslib-fb (the LIO library) is importable too.
    [[ -x $VENV/bin/python ]] || python3 -m venv --system-site-packages "$VENV"
}

create_vagrant_user() {
    id vagrant &>/dev/null && return 0
    useradd --create-home --shell /bin/bash vagrant
    echo 'vagrant ALL=(ALL) NOPASSWD: ALL' >/etc/sudoers.d/vagrant
    chmod 0440 /etc/sudoers.d/vagrant
    install -d -m 0700 -o vagrant -g vagrant /home/vagrant/.ssh
    # Vagrant's well-known insecure key: the box is for local test beds only.
    echo 'ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key' \
        >/home/vagrant/.ssh/authorized_keys
    chown vagrant:vagrant /home/vagrant/.ssh/authorized_keys
    chmod 0600 /home/vagrant/.ssh/authorized_keys
}

# Only while building the test bed's image: how it boots fast and quietly under emulation
# (see FIELD-NOTES: fixed machine-id, masked timers and gettys, small initrd, DHCP on every NIC,
# the 9p shares of vagrant/testbed).
tune_image() {
    echo cohort-guest >/etc/hostname
    printf '127.0.0.1 localhost\n127.0.1.1 cohort-guest\n' >/etc/hosts
    echo 0c0e0a7e5eed4b1d8a5b0c0ffee0cafe >/etc/machine-id
    mkdir -p /src /mnt/testbed
    cat >/etc/fstab <<'EOF'
/dev/vda / ext4 rw,errors=remount-ro 0 1
# vagrant/testbed's shares (absent under Vagrant: nofail)
src /src 9p trans=virtio,version=9p2000.L,msize=262144,ro,nofail,x-systemd.before=ssh.service 0 0
testbed /mnt/testbed 9p trans=virtio,version=9p2000.L,msize=262144,nofail,x-systemd.before=ssh.service 0 0
EOF
    printf '9p\n9pnet_virtio\n' >/etc/modules-load.d/testbed-9p.conf

    # DHCP on every NIC: QEMU user networking is eth0 under vagrant/testbed, eth1 under Vagrant.
    cat >/etc/systemd/network/80-dhcp.network <<'EOF'
[Match]
Name=eth*

[Network]
DHCP=ipv4
EOF
    systemctl enable systemd-networkd.service
    systemctl mask systemd-networkd-wait-online.service

    # root logs in with the per-run key vagrant/testbed puts on its share.
    cat >/etc/ssh/sshd_config.d/cohort-testbed.conf <<'EOF'
PermitRootLogin prohibit-password
AuthorizedKeysFile .ssh/authorized_keys /mnt/testbed/ssh/authorized_keys
UseDNS no
EOF
    create_vagrant_user

    systemctl mask getty@tty1.service serial-getty@ttyS0.service \
        apt-daily.timer apt-daily-upgrade.timer man-db.timer fstrim.timer \
        e2scrub_all.timer e2scrub_reap.service
    # Boot straight into the kernel with a small initrd.
    echo 'MODULES=list' >/etc/initramfs-tools/conf.d/cohort-testbed
    printf 'virtio_pci\nvirtio_blk\nvirtio_net\next4\n' >/etc/initramfs-tools/modules
    update-initramfs -u -k all
    apt-get clean
    rm -rf /var/lib/apt/lists/*
}

cmd_system() {
    install_packages
    configure_lvm
    configure_iscsi
    configure_venv
    if [[ ${COHORT_IMAGE_BUILD:-0} == 1 ]]; then
        tune_image
    fi
    log "system ready"
}

create_pool() {
    local dev=$1
    [[ -b $dev ]] || die "$dev is not a block device"
    if vgs cohort &>/dev/null; then
        return 0
    fi
    [[ -z $(blkid -p -o value -s TYPE "$dev" || true) ]] || die "$dev is not blank"
    log "creating volume group cohort with thin pool pool on $dev"
    pvcreate -q "$dev"
    vgcreate -q cohort "$dev"
    lvcreate -q --type thin-pool -l 90%FREE --name pool cohort
}

write_config() {
    local backend=$1 tcp_address=$2 pool_device=$3 tls_dir=$4
    local tls_cert='' tls_key='' tls_client_ca='' volume_group='' thin_pool=''
    if [[ -n $tcp_address ]]; then
        tls_cert=$tls_dir/server.crt tls_key=$tls_dir/server.key tls_client_ca=$tls_dir/ca.crt
    fi
    if [[ -n $pool_device ]]; then
        volume_group=cohort thin_pool=pool
    fi
    install -d -m 0755 "$ETC"
    cat >"$ETC/cohortd.toml.new" <<EOF
# Written by vagrant/provision.sh
[server]
socket = "/run/cohort/cohortd.sock"
tcp_address = "$tcp_address"
tls_cert = "$tls_cert"
tls_key = "$tls_key"
tls_client_ca = "$tls_client_ca"

[state]
directory = "/var/lib/cohort"

[logging]
level = "info"

[backend]
kind = "$backend"

[backend.lvm]
volume_group = "$volume_group"
thin_pool = "$thin_pool"

[exports]
# Loopback only: 127.0.0.1, and any other address on lo (pyroute2 looks at each export).
portals = ["127.0.0.1"]
interfaces = ["lo"]
key_file = "$ETC/exports.key"
EOF
    mv "$ETC/cohortd.toml.new" "$ETC/cohortd.toml"
}

pip=("$VENV/bin/pip" install -q --disable-pip-version-check)

# What `cohort` installs, less cohort itself: vagrant/testbed caches a guest disk layer with
# them, so that a run installs only cohort's own wheel.
cmd_dependencies() {
    [[ ${1:-} == --share && -d ${2:-}/wheels ]] || die "usage: provision.sh dependencies --share DIR"
    configure_venv
    "${pip[@]}" --no-index --find-links "$2/wheels" cohort "${GUEST_TEST_PACKAGES[@]}"
    "$VENV/bin/pip" uninstall -q -y cohort
    log "dependencies installed in $VENV"
}

install_cohort() {
    local src=$1 share=$2
    configure_venv
    if compgen -G "$VENV/lib/python3*/site-packages/cohort-*.dist-info" >/dev/null; then
        "$VENV/bin/pip" uninstall -q -y cohort
    fi
    if [[ -n $share && -d $share/wheels ]]; then
        # Offline, from the wheels vagrant/testbed built of the checkout.
        "${pip[@]}" --no-index --find-links "$share/wheels" cohort "${GUEST_TEST_PACKAGES[@]}"
    else
        "${pip[@]}" "$src" "${GUEST_TEST_PACKAGES[@]}"
    fi
    ln -sf "$VENV/bin/cohortd" /usr/local/bin/cohortd
    [[ ! -e $VENV/bin/cohortctl ]] || ln -sf "$VENV/bin/cohortctl" /usr/local/bin/cohortctl
    [[ ! -e $VENV/bin/cohort-guard ]] || ln -sf "$VENV/bin/cohort-guard" /usr/local/bin/cohort-guard
}

cmd_cohort() {
    local src share='' backend=lvm pool_device='' tcp_address=''
    src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    while (($#)); do
        case $1 in
        --src) src=$2; shift 2 ;;
        --share) share=$2; shift 2 ;;
        --backend) backend=$2; shift 2 ;;
        --pool-device) pool_device=$2; shift 2 ;;
        --tcp-address) tcp_address=$2; shift 2 ;;
        *) die "unknown option $1" ;;
        esac
    done
    [[ -f $src/systemd/cohortd.service ]] || die "$src/systemd/cohortd.service not found"

    install_cohort "$src" "$share"
    if [[ -n $tcp_address ]]; then
        [[ -f $share/tls/server.crt ]] || die "--tcp-address needs --share with tls/"
        install -d -m 0750 "$ETC/tls"
        install -m 0644 "$share/tls/ca.crt" "$share/tls/server.crt" "$ETC/tls/"
        install -m 0600 "$share/tls/server.key" "$ETC/tls/"
    fi
    [[ -z $pool_device ]] || create_pool "$pool_device"
    write_config "$backend" "$tcp_address" "$pool_device" "$ETC/tls"

    install -m 0644 "$src/systemd/cohortd.service" "$UNIT_DIR/cohortd.service"
    if [[ -f $src/systemd/cohort-guard.service ]]; then
        install -m 0644 "$src/systemd/cohort-guard.service" "$UNIT_DIR/cohort-guard.service"
    fi
    systemctl daemon-reload
    if [[ -f $UNIT_DIR/cohort-guard.service ]]; then
        systemctl enable -q cohort-guard.service
        systemctl restart cohort-guard.service || {
            journalctl -u cohort-guard.service -n 50 --no-pager >&2 || true
            die "cohort-guard did not start"
        }
    fi
    systemctl enable -q cohortd.service
    # Type=notify: returns once cohortd reported READY=1 (or failed).
    systemctl restart cohortd.service || {
        journalctl -u cohortd.service -n 50 --no-pager >&2 || true
        die "cohortd did not start"
    }
    log "cohortd is active"
}

case ${1:-} in
packages) printf '%s\n' "${PACKAGES[@]}" ;;
system) cmd_system ;;
cohort) shift; cmd_cohort "$@" ;;
dependencies) shift; cmd_dependencies "$@" ;;
*) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
esac
