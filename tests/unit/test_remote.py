import subprocess

from labgen.remote import parse_ssh_config, wrap_command

SSH_CONFIG = """Host ubuntu-1
  HostName 10.0.3.57
  User vagrant
  Port 22
  UserKnownHostsFile /dev/null
  IdentityFile "/root/.vagrant.d/insecure private key"
  IdentitiesOnly yes

Host ubuntu-2
  HostName 10.0.3.58
  User vagrant
  Port 22
"""


def test_parse_ssh_config_per_host():
    hosts = parse_ssh_config(SSH_CONFIG)
    assert list(hosts) == ["ubuntu-1", "ubuntu-2"]
    assert hosts["ubuntu-1"]["hostname"] == "10.0.3.57"
    assert hosts["ubuntu-1"]["identityfile"] == "/root/.vagrant.d/insecure private key"
    assert hosts["ubuntu-2"]["user"] == "vagrant"


def test_wrap_command_keeps_multiline_scripts_and_quotes_intact(tmp_path):
    script = "a='it''s'\necho \"$a\" $((1+2))\necho 'x;y' `printf z`"
    wire = wrap_command(script, sudo=False)
    out = subprocess.run(["sh", "-c", wire], capture_output=True, text=True, check=True).stdout
    assert out == "its 3\nx;y z\n"
    assert wrap_command("id", sudo=True).startswith("sudo -n sh -c ")
