"""`vagrant/testbed up --vagrant`: the same guest, brought up through Vagrant and vagrant-libvirt.

The cached image is packed as a local box (box.img + metadata.json + kernel and initrd + a box
Vagrantfile booting them directly), libvirtd and virtlogd are started by hand when they are not
running (this host has no systemd), and vagrant/Vagrantfile runs in its loopback mode: no libvirt
network, QEMU user networking with forwards on 127.0.0.1 only (FIELD-NOTES, "Vagrant").
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import testbed as tb  # type: ignore[import-not-found]

HOST_PACKAGES = {
    "vagrant": "vagrant",
    "libvirtd": "libvirt-daemon-system",
    "virsh": "libvirt-clients",
    "rsync": "rsync",
}
EXTRA_PACKAGES = ["vagrant-libvirt", "libvirt-daemon-driver-qemu", "dnsmasq-base", "iptables",
                  "ebtables"]  # fmt: skip
QEMU_CONF = Path("/etc/libvirt/qemu.conf")
QEMU_CONF_LINES = ['user = "root"', 'group = "root"']
SMOKE_ARGS = "-p no:cacheprovider tests/guest/test_smoke.py"
VAGRANT_UP_TIMEOUT = float(os.environ.get("COHORT_TESTBED_VAGRANT_TIMEOUT", "1200"))

BOX_VAGRANTFILE = f"""\
# The cohort test bed's box: a bare ext4 root file system booted straight into its kernel.
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |libvirt|
    libvirt.kernel = File.join(__dir__, "vmlinuz")
    libvirt.initrd = File.join(__dir__, "initrd.img")
    libvirt.cmd_line = "{tb.KERNEL_CMDLINE}"
  end
end
"""


def ensure_host() -> None:
    missing = [pkg for cmd, pkg in HOST_PACKAGES.items() if shutil.which(cmd) is None]
    if missing or not Path("/usr/share/doc/vagrant-libvirt").exists():
        tb.apt_install(sorted(set(missing)) + EXTRA_PACKAGES)
    # libvirt re-probes QEMU on every define while it runs as another user (48 s each here,
    # because /dev/kvm is present but unusable); as root a define takes 0.02 s.
    text = QEMU_CONF.read_text()
    if not all(re.search(rf"^{re.escape(line)}$", text, re.M) for line in QEMU_CONF_LINES):
        tb.log(f"setting {', '.join(QEMU_CONF_LINES)} in {QEMU_CONF}")
        QEMU_CONF.write_text(text + "\n# vagrant/testbed\n" + "\n".join(QEMU_CONF_LINES) + "\n")
        restart_own_libvirtd()


def daemon_pid(pidfile: Path, name: str) -> int | None:
    try:
        pid = int(pidfile.read_text())
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ValueError):
        return None
    return pid if comm == name else None


def start_daemons(state: dict) -> None:
    """virtlogd and libvirtd, unless they run already; the ones started here are stopped by down."""
    tb.HOME.mkdir(parents=True, exist_ok=True)
    for name in ("virtlogd", "libvirtd"):
        if subprocess.run(["pgrep", "-x", name], capture_output=True).returncode == 0:
            continue
        pidfile = tb.HOME / f"{name}.pid"
        tb.run([name, "-d", "-p", pidfile])
        for _ in range(50):
            if daemon_pid(pidfile, name):
                break
            time.sleep(0.1)
        state.setdefault("daemons", {})[name] = str(pidfile)
    version = ["virsh", "-c", "qemu:///system", "version"]
    for _ in range(100):
        if subprocess.run(version, capture_output=True).returncode == 0:
            return
        time.sleep(0.2)
    raise tb.TestbedError("libvirtd does not answer")


def restart_own_libvirtd() -> None:
    pid = daemon_pid(tb.HOME / "libvirtd.pid", "libvirtd")
    if pid:
        os.kill(pid, signal.SIGTERM)
        time.sleep(1)


def stop_daemons(state: dict) -> None:
    for name, pidfile in state.get("daemons", {}).items():
        pid = daemon_pid(Path(pidfile), name)
        if pid:
            os.kill(pid, signal.SIGTERM)
            tb.log(f"{name} {pid} stopped")


def ensure_box(image: Path, disk: Path, env: dict) -> str:
    """The guest disk (the image, or its dependency layer flattened) as a local box named after
    it, added to Vagrant once."""
    name = f"cohort-testbed-{disk.stem if disk.parent != image else image.name}"
    boxes = subprocess.run(["vagrant", "box", "list"], env=env, capture_output=True, text=True)
    if re.search(rf"^{re.escape(name)}\s", boxes.stdout, re.M):
        return name
    work = tb.HOME / "boxes" / name
    box = work.with_suffix(".box")
    if not box.exists():
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        tb.run(["qemu-img", "convert", "-c", "-O", "qcow2", "-o", "compression_type=zstd",
                disk, work / "box.img"])  # fmt: skip
        metadata = {"provider": "libvirt", "format": "qcow2", "virtual_size": 4}
        (work / "metadata.json").write_text(json.dumps(metadata))
        (work / "Vagrantfile").write_text(BOX_VAGRANTFILE)
        shutil.copy(image / "vmlinuz", work)
        shutil.copy(image / "initrd.img", work)
        tmp = box.with_suffix(".tmp")
        with tarfile.open(tmp, "w") as tar:
            for member in ("box.img", "metadata.json", "Vagrantfile", "vmlinuz", "initrd.img"):
                tar.add(work / member, member)
        tmp.rename(box)
        shutil.rmtree(work)
    tb.run(["vagrant", "box", "add", "--force", "--name", name, box], env=env, stdout=sys.stderr)
    return name


def vagrant_env(run: tb.Run, state: dict) -> dict:
    env = dict(os.environ)
    env.update(
        VAGRANT_CWD=str(tb.HERE),
        VAGRANT_DOTFILE_PATH=str(run.dir / "vagrant"),
        VAGRANT_HOME=str(tb.HOME / "vagrant.d"),
        VAGRANT_DEFAULT_PROVIDER="libvirt",
        VAGRANT_CHECKPOINT_DISABLE="1",
        COHORT_LIBVIRT_DRIVER="qemu",
        COHORT_SSH_PORT=str(state["ssh_port"]),
        COHORT_GRPC_PORT=str(state["grpc_port"]),
        COHORT_SHARE=str(run.share),
        COHORT_BACKEND=tb.backend_kind(),
    )
    if state.get("box"):
        env["COHORT_BOX"] = state["box"]
    return env


def insecure_key(run: tb.Run) -> str:
    """A copy (mode 0600, or ssh refuses it) of Vagrant's insecure private key."""
    gems = Path("/usr/share/rubygems-integration/all/gems")
    for key in sorted(gems.glob("vagrant-*/keys/vagrant")):
        copy = run.dir / "ssh" / "vagrant"
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(key, copy)
        copy.chmod(0o600)
        return str(copy)
    raise tb.TestbedError(f"Vagrant's insecure private key not found in {gems}")


def up(run: tb.Run) -> dict:
    tb.ensure_tools(tb.HOST_TOOLS)
    ensure_host()
    image = tb.ensure_image()
    lock = tb.flock(tb.HOME / "guest.lock", tb.LOCK_WAIT, "the guest lock (one guest at a time)")
    started = time.monotonic()
    try:
        deps = tb.prepare_run(run)
        disk = image / "base.qcow2"
        if deps:
            disk = tb.ensure_layer(image, deps, run.share / "wheels")
        state = {
            "mode": "vagrant",
            "image": str(image),
            "checkout": str(tb.CHECKOUT),
            "ssh_port": tb.free_port(),
            "grpc_port": tb.free_port(),
            "ssh_user": "vagrant",
            "ssh_key": insecure_key(run),
        }
        state["lock_holder"] = tb.hold_lock(run, lock)
        run.save(state)
        start_daemons(state)
        run.save(state)
        env = vagrant_env(run, state)
        state["box"] = ensure_box(image, disk, env)
        run.save(state)
        env = vagrant_env(run, state)
        vagrant_started = time.monotonic()
        with open(run.dir / "vagrant.log", "wb") as out:
            tb.log(f"vagrant up (log: {run.dir / 'vagrant.log'})")
            done = subprocess.run(
                ["vagrant", "up", "--provider=libvirt"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=VAGRANT_UP_TIMEOUT,
            )
        if done.returncode != 0:
            sys.stderr.write((run.dir / "vagrant.log").read_text()[-4000:])
            raise tb.TestbedError(f"vagrant up failed with exit code {done.returncode}")
        state["vagrant_up_seconds"] = round(time.monotonic() - vagrant_started, 1)
        tb.log(f"vagrant up took {state['vagrant_up_seconds']}s")
        if deps:
            tb.wait_for_serving(run, state)
        state["ready_seconds"] = round(time.monotonic() - started, 1)
        run.save(state)
        tb.write_env(run, state, bool(deps))
    except BaseException:
        tb.down(run)
        raise
    finally:
        os.close(lock)
    smoke = tb.guest_exec(
        run,
        state,
        [f"cd /src && {tb.GUEST_TEST_ENV} exec {tb.GUEST_VENV_PYTHON} -m pytest {SMOKE_ARGS}"],
        timeout=tb.TEST_TIMEOUT,
        stdin=subprocess.DEVNULL,
        stdout=sys.stderr,
    )
    if smoke != 0:
        raise tb.TestbedError(
            f"the smoke test failed in the Vagrant guest (exit code {smoke}); it is left running"
            " for a look (`vagrant/testbed exec -- journalctl -u cohortd`): `vagrant/testbed down`"
        )
    return state


def down(run: tb.Run, state: dict) -> None:
    env = vagrant_env(run, state)
    if (run.dir / "vagrant").exists():
        tb.run(
            ["vagrant", "destroy", "-f"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sys.stderr,
            timeout=300,
        )
    ssh = tb.ssh_base(run, state)
    subprocess.run([*ssh[:-1], "-O", "exit", ssh[-1]], capture_output=True)
    stop_daemons(state)
    # The lock holder exits once testbed's down has removed the run's state.
